"""Lint gate: ruff on changed Python files, reporting only violations that are new versus base."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from swarm_core.analyzers.base import AnalyzerContext, is_source_path, safe_relpath
from swarm_core.analyzers.meaning import Issue, MatchPass, already_in_base
from swarm_core.analyzers.project import (
    configures_ruff,
    enables_ruff_preview,
    python_target,
    ruff_config_files,
)
from swarm_core.analyzers.ruff_defaults import CLASSIC_RULES, pin_classic_rules
from swarm_core.analyzers.ruff_version import newer_than_pin, pinned_ruff
from swarm_core.analyzers.tool_process import run_tool
from swarm_core.diff import FileDiff, FileStatus
from swarm_core.errors import AnalyzerError
from swarm_core.models import Finding, Lane, Severity, Side

__all__ = ["RuffAnalyzer", "ruff_binary"]

_MAX_LAYOUT_FILES = 20_000
# Parse errors carry no code in older ruff and `invalid-syntax` in newer ones.
_SYNTAX_CODES = frozenset({None, "", "invalid-syntax"})
# A rule's finding is old when base had it in the same file on the same code, on the code with
# its names renamed, or anywhere in that file (lines moved).
_LINT_PASSES = (MatchPass(True, "compact"), MatchPass(True, "blanked"), MatchPass(True, None))
_UNUSED_NOQA = "RUF100"
_RUNTIME_ERRORS = frozenset({"F821", "F822", "F823", "F704", "F706", "PLE0116", "PLE0117"})


def ruff_binary() -> str:
    """Path of the ruff executable shipped in the ruff wheel."""
    from ruff.__main__ import find_ruff_bin

    return str(find_ruff_bin())


# What ruff checks in a project that does not configure it: its long-standing defaults (syntax,
# undefined names, unused imports), pinned, because newer ruff releases select many more rules
# by default (pyupgrade, flake8-2020 ...): style choices the project never made, not findings.
_UNCONFIGURED_RULES = ",".join(CLASSIC_RULES)


def _rules_for(ctx: AnalyzerContext, configs: list[str]) -> list[str]:
    """ruff options for the project's rules: its own config when it has one, else the pinned set."""
    if configures_ruff(ctx, configs):
        return []
    target = python_target(ctx)
    pinned = [f"--select={_UNCONFIGURED_RULES}"]
    return pinned + ([f"--target-version=py{target[0]}{target[1]}"] if target else [])


def _severity_and_lane(code: str) -> tuple[Severity, Lane]:
    if code in _RUNTIME_ERRORS:
        return Severity.HIGH, Lane.CORRECTNESS
    if code.startswith("S"):
        return Severity.MEDIUM, Lane.SECURITY
    if code.startswith(("PERF", "C90")):
        return Severity.LOW, Lane.PERFORMANCE_ARCHITECTURE
    if code.startswith(("B", "PLE")):
        return Severity.MEDIUM, Lane.CORRECTNESS
    return Severity.LOW, Lane.CORRECTNESS


class RuffAnalyzer:
    """Runs ruff at base and head and reports the violations the change adds."""

    name = "ruff"

    def unavailable(self, ctx: AnalyzerContext) -> str | None:
        """Skipped when no Python file changed."""
        return None if self._files(ctx) else "no changed Python files"

    @staticmethod
    def _files(ctx: AnalyzerContext) -> list[FileDiff]:
        return [
            f
            for f in ctx.files
            if f.path.endswith((".py", ".pyi"))
            and f.status != FileStatus.DELETED
            and not f.binary
            and f.added
            and safe_relpath(f.path) is not None
        ]

    async def run(self, ctx: AnalyzerContext) -> list[Finding]:
        """Lint head and base versions concurrently and subtract what was already there."""
        files = self._files(ctx)
        binary = await asyncio.to_thread(ruff_binary)
        base_paths = [ctx.old_path(f) for f in files if f.status != FileStatus.ADDED]
        configs = await asyncio.to_thread(ruff_config_files, ctx, [f.path for f in files] + base_paths)
        head_root, base_root = await asyncio.gather(
            ctx.materialize(Side.RIGHT, [f.path for f in files]),
            ctx.materialize(Side.LEFT, base_paths),
        )
        await asyncio.to_thread(self._write_configs, ctx, configs, (head_root, base_root))
        await asyncio.to_thread(self._layout, ctx, Side.RIGHT, head_root)
        await asyncio.to_thread(self._layout, ctx, Side.LEFT, base_root)
        head_files = [f.path for f in files if (head_root / f.path).is_file()]
        base_files = [p for p in base_paths if (base_root / p).is_file()]
        rules = await asyncio.to_thread(_rules_for, ctx, configs)
        head, base = await asyncio.gather(
            self._ruff(binary, head_root, head_files, rules),
            self._ruff(binary, base_root, base_files, rules),
        )
        if {f.path for f in ctx.files} & set(configs):
            # Both sides are linted under the base's config, so a change cannot relax its own
            # rules; but "unused noqa" only means something under the config the code was
            # written for, and this change rewrote it (a rule it enables needs its noqa).
            head = [item for item in head if item.get("code") != _UNUSED_NOQA]
        head = await asyncio.to_thread(self._as_pinned, ctx, configs, binary, head)
        return self._new(ctx, files, head, base, head_root)

    @staticmethod
    def _as_pinned(
        ctx: AnalyzerContext, configs: list[str], binary: str, head: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The head's violations less those the project's pinned ruff would not report."""
        pin = pinned_ruff(ctx)
        if pin is None:
            return head
        preview = enables_ruff_preview(ctx, configs)
        return [
            item for item in head if not newer_than_pin(str(item.get("code")), pin, binary, preview=preview)
        ]

    @staticmethod
    def _write_configs(ctx: AnalyzerContext, configs: list[str], roots: tuple[Path, ...]) -> None:
        for name in configs:
            rel = safe_relpath(name)
            data = ctx.read(name, Side.LEFT)
            if data is None or rel is None:
                continue
            for root in roots:
                target = root.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(pin_classic_rules(name, data))

    @staticmethod
    def _layout(ctx: AnalyzerContext, side: Side, root: Path) -> None:
        """Empty stand-ins for the project's other Python files, so that isort knows first-party modules."""
        listing = ctx.paths(side)
        if listing is None:
            return
        for path in listing[:_MAX_LAYOUT_FILES]:
            rel = safe_relpath(path)
            if rel is None or not path.endswith(".py"):
                continue
            # isort resolves first-party imports against the package, not tests or docs; package
            # markers count everywhere (a test package is no namespace package, INP001).
            if not is_source_path(path) and rel.name != "__init__.py":
                continue
            target = root.joinpath(*rel.parts)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()

    @staticmethod
    async def _ruff(binary: str, root: Path, files: list[str], rules: list[str]) -> list[dict[str, Any]]:
        if not files:
            return []
        # --force-exclude: the project's `exclude` applies to files named on the command line too
        # (deliberate test inputs in a newer Python's syntax must not be linted).
        argv = [
            binary,
            "check",
            "--output-format",
            "json",
            "--exit-zero",
            "--no-cache",
            "--quiet",
            "--force-exclude",
            *rules,
        ]
        code, out, err = await run_tool([*argv, *files], root)
        try:
            data = json.loads(out or b"[]")
        except json.JSONDecodeError:
            tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise AnalyzerError(f"ruff failed (exit {code}): {tail[0]}") from None
        return list(data) if isinstance(data, list) else []

    def _new(
        self,
        ctx: AnalyzerContext,
        files: list[FileDiff],
        head: list[dict[str, Any]],
        base: list[dict[str, Any]],
        head_root: Path,
    ) -> list[Finding]:
        old_to_new = {ctx.old_path(f): f.path for f in files}

        def key(item: dict[str, Any], root_side: Side, path: str) -> tuple[str, str, str]:
            line = int((item.get("location") or {}).get("row", 0))
            data = ctx.read(path, root_side)
            return (path, str(item.get("code")), ctx.line_text(data, line).strip())

        def rel(item: dict[str, Any], root: Path) -> str:
            name = Path(str(item.get("filename", "")))
            try:
                return name.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                return name.as_posix()

        # A head finding is old when base had the same rule on the same code: first by the exact
        # text without whitespace, then with identifiers blanked (a rename), then anywhere in the
        # file (moved lines): each base finding pays for one head finding at most.
        before: list[Issue] = []
        for item in base:
            if item.get("code") in _SYNTAX_CODES:
                continue
            old = rel(item, head_root.parent / "base")
            _, base_code, text = key(item, Side.LEFT, old)
            before.append(Issue.of(old_to_new.get(old, old), base_code, text))
        by_path = {f.path: f for f in files}
        candidates = []
        for item in head:
            code = item.get("code")
            if code in _SYNTAX_CODES:  # the syntax analyzer owns parse errors (one finding per place)
                continue
            if code == "C901" and ctx.config.analyzers.complexity.enabled:
                continue  # the complexity analyzer owns it, at the same limit (crossings and steps)
            path = rel(item, head_root)
            if path in by_path:
                candidates.append((item, path, key(item, Side.RIGHT, path)))
        seen_before = already_in_base(
            before, [Issue.of(path, k[1], k[2]) for _, path, k in candidates], _LINT_PASSES
        )
        out = []
        for (item, path, k), was_there in zip(candidates, seen_before, strict=True):
            if was_there:
                continue
            code = item.get("code")
            row = int((item.get("location") or {}).get("row", 0)) or None
            end = int((item.get("end_location") or {}).get("row", 0)) or None
            severity, lane = _severity_and_lane(str(code))
            fix = item.get("fix") or {}
            out.append(
                Finding(
                    path=path,
                    line=row,
                    end_line=end if end and row and end > row else None,
                    severity=severity,
                    lane=lane,
                    category="lint",
                    rule=f"ruff/{code}",
                    title=f"{code}: {item.get('message', '')}",
                    message=str(item.get("message", ""))
                    + (f" (fix: {fix.get('message')})" if fix.get("message") else ""),
                    source=self.name,
                    evidence=k[2],
                    confidence=0.9,
                )
            )
        return out
