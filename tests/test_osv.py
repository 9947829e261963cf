"""The OSV client and advisory parsing, against a fake OSV on loopback serving recorded real answers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from swarm_core.analyzers.advisories import (
    Advisory,
    Package,
    cvss3_score,
    parse_advisory,
    severity_of,
    version_key,
)
from swarm_core.analyzers.osv import BATCH_LIMIT, OsvClient
from swarm_core.errors import AdvisoryUnavailable, AnalyzerError
from swarm_core.models import Severity
from tests.fakes.osv import OSV_FIXTURES, FakeOSV

LODASH = Package("npm", "lodash", "4.17.19")
EXPRESS = Package("npm", "express", "4.17.1")
LEFT_PAD = Package("npm", "left-pad", "1.3.0")
LODASH_IDS = [
    "GHSA-29mw-wpgm-hmr9",
    "GHSA-35jh-r3h4-6jhm",
    "GHSA-f23m-r3pf-42rh",
    "GHSA-r5fr-rjxr-66jc",
    "GHSA-xxjr-mmjv-4gpg",
]


def record(vuln_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OSV_FIXTURES / "vulns" / f"{vuln_id}.json").read_text("utf-8"))
    return data


class Sleeps:
    """An async sleep that records how long it was asked to wait, and does not."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def lookup(client: OsvClient, packages: list[Package]) -> dict[Package, list[dict[str, Any]]]:
    return asyncio.run(client.lookup(packages))


# -- parsing ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),  # GHSA-35jh-r3h4-6jhm (NVD: 7.2)
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3),  # GHSA-29mw-wpgm-hmr9 (NVD: 5.3)
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),  # GHSA-rv95-896h-c2vc (NVD: 6.1)
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:L", 5.0),  # GHSA-qw6h-vgh9-j6wx (GitHub: 5.0)
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L", None),
        ("CVSS:3.1/AV:X/AC:L", None),
    ],
)
def test_cvss3_base_scores_match_the_published_ones(vector: str, score: float | None) -> None:
    assert cvss3_score(vector) == score


def test_severity_prefers_the_database_label_then_cvss_then_medium() -> None:
    assert severity_of(record("GHSA-35jh-r3h4-6jhm")) is Severity.HIGH  # label HIGH
    assert severity_of(record("GHSA-29mw-wpgm-hmr9")) is Severity.MEDIUM  # label MODERATE
    vector_only = {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]}
    assert severity_of(vector_only) is Severity.CRITICAL
    assert (
        severity_of(
            {"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}]}
        )
        is Severity.LOW
    )
    assert severity_of({"id": "PYSEC-2021-66"}) is Severity.MEDIUM
    assert severity_of({"database_specific": {"severity": "UNKNOWN"}}) is Severity.MEDIUM


def test_versions_sort_in_their_ecosystems_order() -> None:
    npm = ["5.0.0", "5.0.0-beta.3", "5.0.0-alpha.1", "4.20.0", "4.9.0", "5.0.0-beta.10"]
    assert sorted(npm, key=lambda v: version_key("npm", v) or ()) == [
        "4.9.0",
        "4.20.0",
        "5.0.0-alpha.1",
        "5.0.0-beta.3",
        "5.0.0-beta.10",
        "5.0.0",
    ]
    pypi = ["2.11.3", "2.11.3rc1", "2.2", "2.10", "3.0.0a1"]
    assert sorted(pypi, key=lambda v: version_key("PyPI", v) or ()) == [
        "2.2",
        "2.10",
        "2.11.3rc1",
        "2.11.3",
        "3.0.0a1",
    ]
    assert version_key("Go", "v1.2.3+incompatible") == version_key("Go", "1.2.3")
    assert version_key("PyPI", "not a version") is None
    assert version_key("crates.io", "latest") is None


def test_an_advisory_offers_the_smallest_fix_above_the_version_in_use() -> None:
    qw6h, rv95 = record("GHSA-qw6h-vgh9-j6wx"), record("GHSA-rv95-896h-c2vc")
    assert parse_advisory(qw6h, EXPRESS) == Advisory(
        id="GHSA-qw6h-vgh9-j6wx",
        aliases=("CVE-2024-43796",),
        summary="express vulnerable to XSS via response.redirect()",
        severity=Severity.MEDIUM,
        fixed="4.20.0",
        cwes=(79,),
    )
    assert parse_advisory(rv95, EXPRESS).fixed == "4.19.2"
    beta = Package("npm", "express", "5.0.0-beta.1")
    assert (parse_advisory(qw6h, beta).fixed, parse_advisory(rv95, beta).fixed) == ("5.0.0", "5.0.0-beta.3")
    # Another package's ranges in the same record (lodash-es, lodash-rails) are not this one's.
    ranges_of_others = parse_advisory(record("GHSA-29mw-wpgm-hmr9"), Package("npm", "lodash.trim", "4.5.1"))
    assert ranges_of_others.fixed is None
    assert parse_advisory({"id": "GHSA-f23m-r3pf-42rh"}, LODASH).known is False


# -- the client ---------------------------------------------------------------------------------
def test_several_packages_go_in_one_batch_and_each_gets_its_records() -> None:
    with FakeOSV() as osv:
        found = lookup(OsvClient(osv.url), [LODASH, EXPRESS, LEFT_PAD])
    assert osv.batches() == [
        [
            {"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.19"},
            {"package": {"ecosystem": "npm", "name": "express"}, "version": "4.17.1"},
            {"package": {"ecosystem": "npm", "name": "left-pad"}, "version": "1.3.0"},
        ]
    ]
    assert [r["id"] for r in found[LODASH]] == LODASH_IDS
    assert found[EXPRESS] == [record("GHSA-qw6h-vgh9-j6wx"), record("GHSA-rv95-896h-c2vc")]
    assert found[LEFT_PAD] == []
    # Records the fixtures lack get OSV's 404: they stay, by id alone.
    assert found[LODASH][2:] == [{"id": i} for i in LODASH_IDS[2:]]
    gets = sorted(r.path for r in osv.requests if r.method == "GET")
    assert gets == sorted(
        f"/v1/vulns/{i}" for i in [*LODASH_IDS, "GHSA-qw6h-vgh9-j6wx", "GHSA-rv95-896h-c2vc"]
    )


def test_a_version_without_vulnerabilities_asks_for_no_record() -> None:
    with FakeOSV() as osv:
        assert lookup(OsvClient(osv.url), [LEFT_PAD]) == {LEFT_PAD: []}
        assert lookup(OsvClient(osv.url), []) == {}
    assert [r.method for r in osv.requests] == ["POST"]


def test_pages_of_a_partial_batch_answer_are_followed_for_the_queries_that_have_more() -> None:
    with FakeOSV() as osv:
        osv.page_size = 2
        found = lookup(OsvClient(osv.url), [LODASH, EXPRESS, LEFT_PAD])
    batches = osv.batches()
    assert [len(b) for b in batches] == [3, 1, 1]  # lodash has 5 ids: pages of 2, 2 and 1
    assert batches[1] == [
        {"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.19", "page_token": "2"}
    ]
    assert [r["id"] for r in found[LODASH]] == LODASH_IDS
    assert [r["id"] for r in found[EXPRESS]] == ["GHSA-qw6h-vgh9-j6wx", "GHSA-rv95-896h-c2vc"]


def test_batches_stay_within_osvs_limit() -> None:
    many = [Package("PyPI", f"pkg{i}", "1.0") for i in range(BATCH_LIMIT + 1)]
    with FakeOSV() as osv:
        found = lookup(OsvClient(osv.url), many)
    assert [len(b) for b in osv.batches()] == [BATCH_LIMIT, 1]
    assert set(found) == set(many)


def test_a_timeout_after_every_retry_makes_the_check_unavailable() -> None:
    sleeps = Sleeps()
    with FakeOSV() as osv:
        osv.hang = 0.5
        client = OsvClient(osv.url, timeout_s=0.1, retries=2, sleep=sleeps)
        with pytest.raises(AdvisoryUnavailable) as err:
            lookup(client, [LODASH])
    assert (
        str(err.value) == f"OSV at {osv.url} could not be reached (no answer within 0.1 s after 2 attempt(s))"
    )
    assert isinstance(err.value, AnalyzerError)
    assert sleeps.waits == [0.5]


def test_5xx_answers_are_retried_with_backoff_and_a_cap() -> None:
    sleeps = Sleeps()
    with FakeOSV() as osv:
        osv.fail.extend([503, 502])
        found = lookup(OsvClient(osv.url, retries=3, sleep=sleeps), [EXPRESS])
        assert [r["id"] for r in found[EXPRESS]] == ["GHSA-qw6h-vgh9-j6wx", "GHSA-rv95-896h-c2vc"]
        assert sleeps.waits == [0.5, 1.0]
        osv.fail.extend([500, 500, 500])
        with pytest.raises(AdvisoryUnavailable, match=r"HTTP 500 after 3 attempt\(s\)"):
            lookup(OsvClient(osv.url, retries=3, sleep=sleeps), [EXPRESS])


def test_a_429_is_retried_and_a_400_is_not() -> None:
    with FakeOSV() as osv:
        osv.fail.append(429)
        assert lookup(OsvClient(osv.url, sleep=Sleeps()), [LEFT_PAD]) == {LEFT_PAD: []}
        osv.fail.append(400)
        with pytest.raises(AdvisoryUnavailable, match="OSV refused POST /v1/querybatch: HTTP 400"):
            lookup(OsvClient(osv.url, sleep=Sleeps()), [LEFT_PAD])
    assert len(osv.batches()) == 3


def test_a_malformed_answer_makes_the_check_unavailable() -> None:
    with FakeOSV() as osv:
        osv.garbage = True
        with pytest.raises(AdvisoryUnavailable, match="is not valid JSON"):
            lookup(OsvClient(osv.url), [LODASH])


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"results": []}, "OSV answered 0 results for 1 queries"),
        ({"vulns": []}, "OSV answered no results for 1 queries"),
        ({"results": ["GHSA-x"]}, "a result that is not an object"),
        ({"results": [{"vulns": {"id": "x"}}]}, "`vulns` that is not a list"),
        ({"results": [{"vulns": [{"modified": "2024-01-01T00:00:00Z"}]}]}, "a vulnerability without an id"),
    ],
)
def test_answers_of_the_wrong_shape_make_the_check_unavailable(answer: Any, message: str) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    with pytest.raises(AdvisoryUnavailable, match=message):
        lookup(OsvClient("https://osv.test", transport=transport), [LODASH])


def test_a_record_that_is_not_the_one_asked_for_makes_the_check_unavailable() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/querybatch":
            return httpx.Response(200, json={"results": [{"vulns": [{"id": "GHSA-35jh-r3h4-6jhm"}]}]})
        return httpx.Response(200, json={"id": "GHSA-other"})

    with pytest.raises(AdvisoryUnavailable, match="GHSA-35jh-r3h4-6jhm does not parse"):
        lookup(OsvClient("https://osv.test", transport=httpx.MockTransport(answer)), [LODASH])


def test_a_dns_failure_or_a_refused_connection_makes_the_check_unavailable() -> None:
    def no_such_host(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    client = OsvClient("https://osv.invalid", transport=httpx.MockTransport(no_such_host), sleep=Sleeps())
    with pytest.raises(AdvisoryUnavailable) as err:
        lookup(client, [LODASH])
    assert str(err.value) == (
        "OSV at https://osv.invalid could not be reached (cannot connect "
        "(ConnectError: [Errno -2] Name or service not known) after 3 attempt(s))"
    )
    with FakeOSV() as osv:
        closed = osv.url
    with pytest.raises(AdvisoryUnavailable, match="cannot connect"):
        lookup(OsvClient(closed, retries=1), [LODASH])


def test_retry_after_is_honoured_up_to_a_cap() -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"retry-after": "7"}),
            httpx.Response(503, headers={"retry-after": "3600"}),
            httpx.Response(200, json={"results": [{}]}),
        ]
    )
    sleeps = Sleeps()
    client = OsvClient(
        "https://osv.test", transport=httpx.MockTransport(lambda r: next(answers)), sleep=sleeps
    )
    assert lookup(client, [LEFT_PAD]) == {LEFT_PAD: []}
    assert sleeps.waits == [7.0, 30.0]


def test_an_id_from_the_answer_can_only_name_a_record() -> None:
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        if request.url.path == "/v1/querybatch":
            return httpx.Response(200, json={"results": [{"vulns": [{"id": "../../admin?x=1"}]}]})
        return httpx.Response(404, json={"code": 5, "message": "Bug not found."})

    found = lookup(OsvClient("https://osv.test", transport=httpx.MockTransport(answer)), [LODASH])
    assert paths == ["/v1/querybatch", "/v1/vulns/..%2F..%2Fadmin%3Fx%3D1"]
    assert found == {LODASH: [{"id": "../../admin?x=1"}]}


def test_an_answer_that_pages_forever_is_cut_off() -> None:
    pages: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        pages.append(1)
        return httpx.Response(200, json={"results": [{"vulns": [], "next_page_token": "again"}]})

    with pytest.raises(AdvisoryUnavailable, match="OSV kept paging after 20 pages"):
        lookup(OsvClient("https://osv.test", transport=httpx.MockTransport(answer)), [LODASH])
    assert len(pages) == 20
