"""Terminal output with rich: findings grouped by severity, and a live progress display."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from swarm_core.models import AnalyzerStatus, ProgressEvent, Review, Severity, Verdict, Verification
from swarm_core.providers.base import summarize

__all__ = ["LiveProgress", "render_terminal"]

_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
}
_VERDICT_STYLE = {
    Verdict.APPROVE: "bold green",
    Verdict.APPROVE_WITH_NOTES: "green",
    Verdict.REQUEST_CHANGES: "bold red",
    Verdict.BLOCK: "bold white on red",
}
_DONE = {
    "ok": "[green]✓[/]",
    "deterministic": "[green]✓[/]",
    "skipped": "[dim]–[/]",
    "disabled": "[dim]–[/]",
    "timeout": "[red]⏱[/]",
    "error": "[red]✗[/]",
    "failed": "[red]✗[/]",
    "cut": "[yellow]✂[/]",
}


def render_terminal(review: Review, console: Console) -> None:
    """Print a review for a person at a terminal."""
    counts = review.counts()
    summary = Text.assemble(
        ("swarm review  ", "bold"),
        (review.verdict.value, _VERDICT_STYLE[review.verdict]),
        f"   {review.source}\n",
        f"{len(review.confirmed())} finding(s): ",
        *[(f"{counts[s.value]} {s.value}  ", _STYLE[s]) for s in Severity],
        f"\n{review.files_reviewed} file(s) reviewed, +{review.additions} −{review.deletions}",
        f" in {review.timings.get('total_s', 0):.2f} s",
    )
    console.print(Panel(summary, expand=False))
    for severity in Severity:
        group = [f for f in review.findings if f.severity is severity]
        if not group:
            continue
        console.print(Text(f"\n{severity.value.upper()} ({len(group)})", style=_STYLE[severity]))
        for f in group:
            where = f.location() + ("" if f.anchored else "  (file-level)")
            if f.verification is not Verification.CONFIRMED:
                where += f"  ({f.verification.value.lower()}: summary only)"
            console.print(f"  [bold]{escape(where)}[/]  [dim]{escape(f.rule)} · {f.lane.value}[/]")
            console.print(f"    {escape(f.title)}")
            if f.evidence:
                console.print(Text("    │ " + f.evidence.strip()[:160], style="dim"))
            if f.also_reported_by:
                console.print(f"    [dim]also: {escape(', '.join(f.also_reported_by))}[/]")
    table = Table(title="analyzers", show_header=True, header_style="bold", expand=False)
    for col in ("analyzer", "status", "findings", "time", "note"):
        table.add_column(col)
    for a in review.analyzers:
        style = (
            "" if a.status is AnalyzerStatus.OK else "dim" if a.status is AnalyzerStatus.SKIPPED else "red"
        )
        table.add_row(
            a.name,
            a.status.value,
            str(a.count),
            f"{a.duration_s:.2f}s",
            escape(a.reason[:80]),
            style=style,
        )
    console.print()
    console.print(table)
    if any(lane.model for lane in review.lanes):
        lanes = Table(title="lanes", show_header=True, header_style="bold", expand=False)
        for col in ("lane", "status", "model", "calls", "tokens", "cost", "time", "note"):
            lanes.add_column(col)
        for lane in review.lanes:
            u = lane.usage
            lanes.add_row(
                lane.lane.value,
                lane.status.value,
                escape(lane.model or "-"),
                str(u.calls),
                f"{u.total_tokens:,}",
                f"${u.cost_usd:.4f}",
                f"{lane.duration_s:.2f}s",
                escape(summarize(lane.note, 60)),
            )
        console.print(lanes)
    if review.skipped_files:
        console.print(
            f"[dim]{len(review.skipped_files)} file(s) not reviewed (binary, excluded or over limits)[/]"
        )
    if review.suppressed:
        console.print(f"[dim]{review.suppressed} finding(s) below the thresholds were not reported[/]")
    for note in review.notes:
        console.print(f"[dim]ℹ {escape(note)}[/]")
    if review.run_id:
        console.print(f"[dim]run {review.run_id} stored; `swarm runs show {review.run_id}`[/]")


class LiveProgress:
    """A live table of analyzers and lanes as they start and finish (only on a terminal)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._rows: dict[tuple[str, str], tuple[str, str]] = {}
        self._live: Live | None = None

    def _render(self) -> Group:
        lines = []
        for (stage, name), (state, detail) in self._rows.items():
            mark: Spinner | Text = (
                Spinner("dots") if state == "started" else Text.from_markup(_DONE.get(state, "·"))
            )
            row = Table.grid(padding=(0, 1))
            row.add_row(mark, Text(f"{stage:<8} {name:<26}"), Text(detail[:60], style="dim"))
            lines.append(row)
        return Group(*lines)

    def __call__(self, event: ProgressEvent) -> None:
        """Record an event and refresh the display."""
        self._rows[(event.stage, event.name)] = (
            event.state,
            event.detail if event.state != "started" else "",
        )
        if self._live is not None:
            self._live.update(self._render())

    def __enter__(self) -> LiveProgress:
        if self._console.is_terminal:
            self._live = Live(self._render(), console=self._console, refresh_per_second=12, transient=True)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None
