"""The eval report's HTML page: every part of a report shown, hostile text inert, charts drawn in a real browser."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from swarm_core.evaluation import render_html
from tests.conftest import FIXTURES, ROOT

SAMPLE = FIXTURES / "eval_report_sample.json"
CHARTS = ("lanes", "timeline", "costs", "regressions", "dataset")
# Each tries to run code that marks the page; none may succeed, each must be shown as text.
HOSTILE = (
    "</script><script>document.documentElement.setAttribute('data-owned','script')</script>",
    "<img src=x onerror=\"document.documentElement.setAttribute('data-owned','img')\">",
    "\"><svg onload=\"document.documentElement.setAttribute('data-owned','svg')\">",
    "' onmouseover='document.documentElement.setAttribute(`data-owned`,`attr`)' x='",
    "</script><!-- \u2028\u2029 --></style><style>*{display:none}</style>",
    "<a href=\"javascript:document.documentElement.setAttribute('data-owned','link')\">click</a>",
)
# Fields that hold structure, not text: left as they are so the hostile page has the same numbers.
_STRUCTURE = frozenset({"date", "generated_at", "status", "schema"})


def _sample() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return report


def _hostile(report: dict[str, Any]) -> dict[str, Any]:
    """The report with every text (keys of settings too) replaced by one of the HOSTILE strings, in turn."""
    payloads = iter(HOSTILE * 10_000)

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {(next(payloads) if key == "settings" else k): walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and key not in _STRUCTURE:
            return next(payloads)
        return value

    hostile: dict[str, Any] = walk(copy.deepcopy(report))
    return hostile


class Page(HTMLParser):
    """Every element (tag and attributes), the text a reader sees, and each script's source."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.styles: list[str] = []
        self._raw: str | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("script", "style"):
            self._raw = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._raw is not None:
            self.scripts.append((self.elements[-1][1] if self.elements[-1][0] == "script" else {}, self._raw))
        elif tag == "style" and self._raw is not None:
            self.styles.append(self._raw)
        self._raw = None

    def handle_data(self, data: str) -> None:
        if self._raw is not None:
            self._raw += data
        else:
            self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def chart_data(self) -> dict[str, Any]:
        [(_, data)] = [(a, s) for a, s in self.scripts if a.get("type") == "application/json"]
        loaded: dict[str, Any] = json.loads(data)
        return loaded


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    reviews = [*report["merged"]["changes"], *report["regressions"]["fixes"], *report["dataset"]["cases"]]
    return [f for review in reviews for f in review["findings"]]


def test_the_sample_report_shows_every_part() -> None:
    report = _sample()
    markup = render_html(report)
    page = Page(markup)
    done = [c for c in report["merged"]["changes"] if c["status"] == "done"]
    data = page.chart_data()
    assert [a["data-chart"] for a in page.find("figure") if "data-chart" in a] == list(CHARTS)
    assert data["lanes"] == [
        {"lane": row["lane"], "precision": row["precision_proxy"], "recall": row["recall"]}
        for row in report["per_lane"]
    ]
    assert [(p["sha"], p["findings"]) for p in data["timeline"]] == [
        (c["sha"][:10], len(c["findings"])) for c in done
    ]
    hits = sum(fix["hit"] for fix in report["regressions"]["fixes"])
    assert data["regressions"] == {"hit": hits, "missed": len(report["regressions"]["fixes"]) - hits}
    assert data["dataset"] == {k: report["dataset"]["summary"][k] for k in ("precision", "recall", "f1")}
    # The sample's model charged money: the cost chart shows dollars, for every review that ran.
    assert data["costs"]["unit"] == "usd"
    assert len(data["costs"]["reviews"]) == len(done) + len(report["regressions"]["fixes"])
    # Every finding has its own drill-down, with its code and its text.
    findings = _findings(report)
    assert len(page.find("details", **{"class": "finding"})) == len(findings)
    text = "".join(page.text)
    for f in findings:
        assert f["code"] in text and f["body"] in text and f["title"] in text
    failed = next(c for c in report["merged"]["changes"] if c["status"] == "failed")
    skipped = next(c for c in report["merged"]["changes"] if c["status"] == "skipped")
    assert f'<p class="failed">failed: {failed["error"]}</p>' in markup
    assert f'<p class="note">skipped: {skipped["error"]}</p>' in markup
    assert re.findall("<h2>(.*?)</h2>", markup) == [
        "Charts",
        "Per lane",
        "Per analyzer",
        "Merged changes",
        "Regression fixes, reversed",
        "Dataset: swarm-history-sample",
        "How this was measured",
    ]
    summary = report["merged"]["summary"]
    assert f"{summary['lines']:,} lines · 1 failed · 1 skipped" in text
    assert (
        f"On {summary['changes']} merged changes swarm would have blocked {summary['blocked']} and commented "
        f"{summary['findings']} times, {summary['later_changed']} of them on lines a later commit changed "
        "within 30 days."
    ) in text


def test_the_policy_allows_exactly_the_pages_own_style_and_script() -> None:
    page = Page(render_html(_sample()))
    [meta] = page.find("meta", **{"http-equiv": "Content-Security-Policy"})
    policy = dict(part.strip().split(" ", 1) for part in meta["content"].split(";"))
    [style] = page.styles
    [code] = [source for attrs, source in page.scripts if "type" not in attrs]

    def digest(source: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"

    assert policy == {
        "default-src": "'none'",
        "style-src": digest(style),
        "script-src": digest(code),
        "img-src": "data:",
        "base-uri": "'none'",
        "form-action": "'none'",
    }


def test_hostile_text_is_shown_as_text_and_never_becomes_markup() -> None:
    markup = render_html(_hostile(_sample()))
    page = Page(markup)
    assert [t for t, _ in page.elements if t in ("img", "iframe", "object", "embed", "base", "form")] == []
    assert len(page.find("script")) == 2 and len(page.styles) == 1
    handlers = [(t, k) for t, attrs in page.elements for k in attrs if k.startswith("on")]
    assert handlers == []
    assert [a["href"] for a in page.find("a") if not a["href"].startswith("https://github.com/")] == []
    # The JSON block cannot be closed early and parses back to the same strings.
    [(_, raw)] = [(a, s) for a, s in page.scripts if a.get("type") == "application/json"]
    assert not re.search("[<>&\u2028\u2029]", raw)
    assert {lane["lane"] for lane in page.chart_data()["lanes"]} <= set(HOSTILE)
    text = "".join(page.text)
    for payload in HOSTILE:
        assert payload in text


def test_a_finding_with_a_hostile_severity_or_verdict_gets_no_class_from_it() -> None:
    report = _sample()
    change = next(c for c in report["merged"]["changes"] if c["findings"])
    change["verdict"] = 'BLOCK" onclick="x'
    change["findings"][0]["severity"] = 'high" onclick="x'
    page = Page(render_html(report))
    classes = {a.get("class", "") for _, a in page.elements}
    assert not [c for c in classes if "onclick" in c or '"' in c]
    assert 'high" onclick="x'.upper() in "".join(page.text)


def test_a_finding_shows_its_span_and_an_unknown_later_change() -> None:
    report = _sample()
    change = next(c for c in report["merged"]["changes"] if c["findings"])
    finding = change["findings"][0]
    finding.update(
        line=12, end_line=15, later_changed=None, title="Span", code="   11  a\n   12> b < c\n   13  d"
    )
    markup = render_html(report)
    assert '<code>   11  a\n<mark class="at">   12&gt; b &lt; c</mark>\n   13  d</code>' in markup
    [summary] = re.findall(r"<summary><span[^>]*>\w+</span> Span · (.*?)</summary>", markup)
    assert summary == (
        f"<code>{finding['path']}:12–15</code> · {finding['lane']} · {finding['verdict']} · "
        'later changed: <span class="no">unknown</span>'
    )


def test_the_judges_verdicts_point_at_the_comment_and_the_finding_they_match() -> None:
    report = _sample()
    case = report["dataset"]["cases"][0]
    case["golden"] = [{"path": "a.py", "line": 3, "severity": "HIGH", "body": "b", "matched": True}]
    case["findings"] = [{**case["findings"][0], "path": "a.py", "line": 4, "matched": True}]
    case["judge"] = {
        "model": "openai/gpt-4o",
        "error": None,
        "verdicts": [
            {"golden": 0, "finding": 0, "reason": "Same <bug>."},
            {"golden": 7, "finding": None, "reason": "out of range"},
        ],
    }
    text = "".join(Page(render_html(report)).text)
    assert "The judge, openai/gpt-4o, said:golden a.py:3 ← finding a.py:4: Same <bug>." in text
    assert "golden #7 (none) ← finding none: out of range" in text
    case["judge"] = {"model": "openai/gpt-4o", "error": "the model budget is spent", "verdicts": []}
    assert "The judge failed: the model budget is spent" in "".join(Page(render_html(report)).text)


def test_commits_link_to_github_only_for_an_owner_name_repository_and_a_hex_sha() -> None:
    report = _sample()
    report["dataset"]["cases"][0].pop("judge")
    shas = [c["sha"] for c in report["merged"]["changes"]] + [
        f["sha"] for f in report["regressions"]["fixes"]
    ]
    assert Page(render_html(report)).find("a") == []  # "swarm" is a folder's name: no link
    report["repo"] = "acme/widgets"
    report["merged"]["changes"][0]["sha"] = "HEAD~1"
    links = [a["href"] for a in Page(render_html(report)).find("a")]
    assert links == [f"https://github.com/acme/widgets/commit/{sha}" for sha in shas[1:]]


def _bare(**parts: Any) -> dict[str, Any]:
    return {"schema": "swarm-eval/1", "repo": "acme/widgets", **parts}


def test_a_report_with_nothing_in_it_renders_every_absence() -> None:
    markup = render_html(_bare())
    page = Page(markup)
    text = "".join(page.text)
    assert [a for a in page.find("figure") if "data-chart" in a] == []
    for said in (
        "This report holds no reviewed changes.",
        "No per-lane numbers in this report.",
        "No reviewed merged changes with a date.",
        "No reviews.",
        "No regression fixes in this report.",
        "No merged changes were reviewed.",
        "model: none (deterministic lanes only)",
    ):
        assert said in text
    assert re.findall("<h2>(.*?)</h2>", markup) == ["Charts", "Merged changes", "How this was measured"]


def test_no_model_no_regressions_no_dataset_and_no_findings() -> None:
    report = _sample()
    report.update(model=None, regressions=None, dataset=None)
    for change in report["merged"]["changes"]:
        change.update(findings=[], tokens=0, cost_usd=0.0)
    page = Page(render_html(report))
    data = page.chart_data()
    charts = [a["data-chart"] for a in page.find("figure") if "data-chart" in a]
    assert charts == ["lanes", "timeline", "costs"]
    # Nothing was charged and no tokens spent: the cost chart shows the seconds each review took.
    assert data["costs"]["unit"] == "seconds"
    assert {p["findings"] for p in data["timeline"]} == {0}
    assert data["dataset"] == {"precision": None, "recall": None, "f1": None}
    assert page.find("details") == []
    assert "Per review: seconds (no model ran)" in "".join(page.text)


def test_values_of_the_wrong_type_read_as_missing() -> None:
    report = _bare(
        merged={"changes": [{"sha": 7, "date": "yesterday", "lines": "many", "findings": "none"}, "junk"]},
        regressions={"fixes": {"not": "a list"}, "summary": {"fixes": True, "hit": math.nan}},
        per_lane=[{"lane": ["x"], "precision_proxy": "0.5", "recall": math.inf}],
        totals={"cost_usd": -math.inf, "seconds": None},
        lanes="tests",
        settings=["last", 5],
    )
    page = Page(render_html(report))
    data = page.chart_data()
    assert data["lanes"] == [{"lane": "", "precision": None, "recall": None}]
    assert data["timeline"] == []  # a change without a real date is listed, not plotted
    assert data["regressions"] == {"hit": 0, "missed": 0}
    text = "".join(page.text)
    assert "Of — bug fixes, reversed, it flagged — at the fix's lines." in text
    assert "yesterday" in text
    assert "· lanes: —" in text  # a string is not a list of lanes


def test_a_report_of_another_schema_is_shown_with_a_warning() -> None:
    text = "".join(Page(render_html({**_bare(), "schema": "swarm-eval/9"})).text)
    assert "This report says its schema is “swarm-eval/9”; this page reads swarm-eval/1" in text


def test_a_report_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(TypeError, match="an eval report is a JSON object, not list"):
        render_html([])  # type: ignore[arg-type]


def test_the_readme_renders_a_json_report_to_a_page(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The eval report page", 1)[1].split("\n## ", 1)[0]
    [command] = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    shutil.copy(SAMPLE, tmp_path / "report.json")
    python = str(Path(sys.executable).parent)
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=tmp_path,
        env={"PATH": f"{python}:/usr/bin:/bin"},
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    page = Page((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert [a["data-chart"] for a in page.find("figure") if "data-chart" in a] == list(CHARTS)


# -- a real browser -------------------------------------------------------------------------------

_BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
)


def _browser() -> str:
    found = next((path for name in _BROWSERS if (path := shutil.which(name))), None)
    if found is None:
        pytest.skip("no chromium on PATH (.ci/run installs Debian's): the page is not opened in a browser")
    return found


def _open(browser: str, page: Path, *args: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [browser, *_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return done.stdout


def _marks(dom: Page, chart: str, mark: str) -> int:
    """How many data-bar/data-point marks the page's script drew in one chart."""
    inside = False
    found = 0
    for tag, attrs in dom.elements:
        if tag == "figure":
            inside = attrs.get("data-chart") == chart
        elif inside and mark in attrs:
            found += 1
    return found


@pytest.mark.slow
def test_a_real_browser_draws_every_chart_and_runs_nothing_from_the_report(tmp_path: Path) -> None:
    browser = _browser()
    report = _sample()
    page = tmp_path / "report.html"
    page.write_text(render_html(_hostile(report)), encoding="utf-8")
    dom = Page(_open(browser, page, "--dump-dom"))

    [(_, root)] = [(t, a) for t, a in dom.elements if t == "html"]
    assert root.get("data-charts") == "drawn"  # the page's own script ran to its end
    assert [a for _, a in dom.elements if "data-owned" in a] == []  # no hostile one did
    done = [c for c in report["merged"]["changes"] if c["status"] == "done"]
    lane_values = [
        v for row in report["per_lane"] for v in (row["precision_proxy"], row["recall"]) if v is not None
    ]
    fixes = report["regressions"]["fixes"]
    drawn = {
        "lanes": _marks(dom, "lanes", "data-bar"),
        "timeline": _marks(dom, "timeline", "data-point"),
        "costs": _marks(dom, "costs", "data-bar"),
        "regressions": _marks(dom, "regressions", "data-bar"),
        "dataset": _marks(dom, "dataset", "data-bar"),
    }
    assert drawn == {
        "lanes": len(lane_values),
        "timeline": len(done),
        "costs": len(done) + len(fixes),
        "regressions": 2,
        "dataset": 3,
    }
    assert {a["data-drawn"] for a in dom.find("figure") if "data-chart" in a} == {
        str(n) for n in drawn.values()
    }

    # A screenshot of the clean sample, to look at (pytest keeps tmp_path for the last runs).
    clean = tmp_path / "sample.html"
    clean.write_text(render_html(report), encoding="utf-8")
    shot = tmp_path / "sample.png"
    _open(browser, clean, "--window-size=1280,2400", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one


@pytest.mark.slow
def test_a_real_browser_draws_the_charts_of_a_report_with_one_change_and_nothing_spent(
    tmp_path: Path,
) -> None:
    browser = _browser()
    change = {
        "sha": "ab" * 20,
        "date": "2026-11-02T10:00:00Z",
        "status": "done",
        "findings": [],
        "seconds": 0,
    }
    fix = {"sha": "cd" * 20, "date": "2026-11-01T10:00:00Z", "status": "done", "hit": False, "findings": []}
    report = _bare(
        merged={"changes": [change]},
        regressions={"fixes": [fix]},
        dataset={"name": "d", "cases": [], "summary": {"precision": 0.0, "recall": None, "f1": None}},
        per_lane=[{"lane": "tests", "precision_proxy": None, "recall": 0.0}],
    )
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    dom = Page(_open(browser, page, "--dump-dom"))
    [(_, root)] = [(t, a) for t, a in dom.elements if t == "html"]
    assert root.get("data-charts") == "drawn"
    drawn = {a["data-chart"]: a["data-drawn"] for a in dom.find("figure") if "data-chart" in a}
    assert drawn == {"lanes": "1", "timeline": "1", "costs": "2", "regressions": "2", "dataset": "1"}
    assert "precision proxy: no data" in "".join(dom.text)
