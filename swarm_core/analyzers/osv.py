"""The OSV client: which known vulnerabilities affect a set of package versions (api.osv.dev).

Two calls of OSV's documented API (https://google.github.io/osv.dev/api/): `POST
/v1/querybatch` (up to 1,000 queries per request, ids only, a `next_page_token` per query
that has more) and `GET /v1/vulns/{id}` for each record. All HTTP goes through
`OsvClient._send`, the one seam: it retries 429 and 5xx answers, timeouts and failed
connections a capped number of times and turns every other failure into
`AdvisoryUnavailable`, so a review can say the check was skipped and why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from swarm_core.analyzers.advisories import Package
from swarm_core.errors import AdvisoryUnavailable

__all__ = ["BATCH_LIMIT", "DEFAULT_OSV_URL", "AdvisoryCache", "OsvClient", "Records"]

DEFAULT_OSV_URL = "https://api.osv.dev"
# OSV's documented maximum of queries in one querybatch request.
BATCH_LIMIT = 1000
# A query's pages are followed this far; OSV pages after 1,000 ids, so this is never reached in practice.
_MAX_PAGES = 20
_DETAIL_CONCURRENCY = 8
_MAX_RETRY_AFTER_S = 30.0

# The OSV records that affect each package version (an empty list: none known).
Records = dict[Package, list[dict[str, Any]]]


class AdvisoryCache(Protocol):
    """Answers kept per (ecosystem, package, version), so a re-review asks OSV nothing new."""

    def get(self, packages: Sequence[Package], *, max_age_s: float) -> Records:
        """The stored answers no older than `max_age_s` for those of `packages` that have one."""
        ...

    def put(self, records: Mapping[Package, list[dict[str, Any]]]) -> None:
        """Store (or replace) the answers for these packages, stamped now."""
        ...


def _query(package: Package, page_token: str | None) -> dict[str, Any]:
    query: dict[str, Any] = {
        "package": {"ecosystem": package.ecosystem, "name": package.name},
        "version": package.version,
    }
    if page_token:
        query["page_token"] = page_token
    return query


class OsvClient:
    """Looks package versions up in OSV.

    Args:
        base_url: OSV's API root (a mirror's, or a fake's in tests).
        timeout_s: the limit for each HTTP request.
        retries: attempts per request for 429, 5xx, timeouts and failed connections.
        backoff_s: the first wait between attempts; it doubles each time (Retry-After wins).
        transport: an httpx transport (tests); None for the network.
        sleep: the async sleep used between attempts.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_OSV_URL,
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout_s
        self._retries = max(1, retries)
        self._backoff = backoff_s
        self._transport = transport
        self._sleep = sleep

    async def lookup(self, packages: Sequence[Package]) -> Records:
        """The OSV records that affect each package version.

        Raises:
            AdvisoryUnavailable: OSV could not be reached or gave an answer that does not parse.
        """
        wanted = list(dict.fromkeys(packages))
        if not wanted:
            return {}
        async with httpx.AsyncClient(
            base_url=self.base_url, timeout=self._timeout, transport=self._transport
        ) as http:
            ids = await self._ids(http, wanted)
            unique = sorted({i for found in ids.values() for i in found})
            gate = asyncio.Semaphore(_DETAIL_CONCURRENCY)

            async def one(vuln_id: str) -> dict[str, Any]:
                async with gate:
                    return await self._record(http, vuln_id)

            records = dict(zip(unique, await asyncio.gather(*(one(i) for i in unique)), strict=True))
        return {pkg: [records[i] for i in ids[pkg]] for pkg in wanted}

    async def _ids(self, http: httpx.AsyncClient, packages: list[Package]) -> dict[Package, list[str]]:
        found: dict[Package, list[str]] = {pkg: [] for pkg in packages}
        pending: list[tuple[Package, str | None]] = [(pkg, None) for pkg in packages]
        for _ in range(_MAX_PAGES):
            if not pending:
                return found
            more: list[tuple[Package, str | None]] = []
            for start in range(0, len(pending), BATCH_LIMIT):
                chunk = pending[start : start + BATCH_LIMIT]
                body = {"queries": [_query(pkg, token) for pkg, token in chunk]}
                answer = await self._send(http, "POST", "/v1/querybatch", body)
                results = answer.get("results") if isinstance(answer, dict) else None
                if not isinstance(results, list) or len(results) != len(chunk):
                    raise AdvisoryUnavailable(
                        f"OSV answered {len(results) if isinstance(results, list) else 'no'} results "
                        f"for {len(chunk)} queries"
                    )
                for (pkg, _token), result in zip(chunk, results, strict=True):
                    for vuln in _vulns(result):
                        if vuln not in found[pkg]:
                            found[pkg].append(vuln)
                    token = result.get("next_page_token") if isinstance(result, dict) else None
                    if isinstance(token, str) and token:
                        more.append((pkg, token))
            pending = more
        raise AdvisoryUnavailable(f"OSV kept paging after {_MAX_PAGES} pages")

    async def _record(self, http: httpx.AsyncClient, vuln_id: str) -> dict[str, Any]:
        # The id comes from the answer: quoted, it can only ever name a record.
        answer = await self._send(http, "GET", f"/v1/vulns/{quote(vuln_id, safe='')}", None, missing_ok=True)
        if answer is None:
            return {"id": vuln_id}  # listed by the query but gone since: reported by id alone
        if not isinstance(answer, dict) or answer.get("id") != vuln_id:
            raise AdvisoryUnavailable(f"OSV's record {vuln_id} does not parse as an OSV record")
        return answer

    async def _send(
        self,
        http: httpx.AsyncClient,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        *,
        missing_ok: bool = False,
    ) -> Any:
        """One request with capped retries; the JSON answer, or None for a 404 when `missing_ok`."""
        problem, retry_after = "", ""
        for attempt in range(self._retries):
            if attempt:
                await self._sleep(self._wait(attempt, retry_after))
            try:
                response = await http.request(method, path, json=body)
            except httpx.TimeoutException:
                problem, retry_after = f"no answer within {self._timeout:g} s", ""
                continue
            except httpx.TransportError as exc:
                problem, retry_after = f"cannot connect ({type(exc).__name__}: {exc})", ""
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                retry_after = response.headers.get("retry-after", "")
                continue
            if response.status_code == 404 and missing_ok:
                return None
            if response.status_code != 200:
                raise AdvisoryUnavailable(f"OSV refused {method} {path}: HTTP {response.status_code}")
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise AdvisoryUnavailable(f"OSV's answer to {method} {path} is not valid JSON") from None
        raise AdvisoryUnavailable(
            f"OSV at {self.base_url} could not be reached ({problem} after {self._retries} attempt(s))"
        )

    def _wait(self, attempt: int, retry_after: str) -> float:
        # Retry-After in seconds wins over the doubling backoff; both are capped.
        wait = float(retry_after) if retry_after.strip().isdigit() else self._backoff * 2 ** (attempt - 1)
        return min(wait, _MAX_RETRY_AFTER_S)


def _vulns(result: Any) -> list[str]:
    if not isinstance(result, dict):
        raise AdvisoryUnavailable("OSV's querybatch answer holds a result that is not an object")
    vulns = result.get("vulns") or []
    if not isinstance(vulns, list):
        raise AdvisoryUnavailable("OSV's querybatch answer holds `vulns` that is not a list")
    ids = [v.get("id") for v in vulns if isinstance(v, dict)]
    if len(ids) != len(vulns) or not all(isinstance(i, str) and i for i in ids):
        raise AdvisoryUnavailable("OSV's querybatch answer holds a vulnerability without an id")
    return [str(i) for i in ids]
