"""Running the gate: coverage once, then each mutant's tests in a copy of the checkout, in parallel.

Each worker copies the checkout once into a temporary directory, then for each mutant
writes the mutated file, runs the test command with a per-mutant timeout (its whole
process group is killed when it expires) and writes the file back. The tests see a
scrubbed environment (`sandbox.scrubbed_environment`); the checkout itself is never written.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from swarm_core.changeset import ChangeSet
from swarm_core.config import MutationConfig
from swarm_core.mutation.coverage import coverage_command, executed_lines, read_report
from swarm_core.mutation.operators import Mutant, apply
from swarm_core.mutation.plan import ChangedFile, Plan, changed_files, plan
from swarm_core.mutation.sandbox import hide_own_environment, refusal, scrubbed_environment

__all__ = ["GateResult", "Outcome", "run_gate", "run_process"]

_IGNORED = shutil.ignore_patterns(
    ".git", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache"
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one mutant fared: killed (a test failed), survived, or timeout (killed by the clock)."""

    mutant: Mutant
    status: str
    seconds: float


@dataclass(frozen=True)
class GateResult:
    """What the gate did. `status`: ran, refused, skipped (nothing to mutate) or broken
    (the tests fail, or cannot be run, without any mutation); `reason` says why for the last three."""

    status: str
    command: str
    reason: str = ""
    plan: Plan | None = None
    outcomes: tuple[Outcome, ...] = ()
    not_run: int = 0
    seconds: float = 0.0
    coverage_seconds: float = 0.0
    mutant_timeout: float = 0.0
    workers: int = 0
    notes: tuple[str, ...] = field(default=())

    def count(self, status: str) -> int:
        """How many mutants ended with `status`."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def survivors(self) -> tuple[Outcome, ...]:
        """The mutants no test noticed."""
        return tuple(o for o in self.outcomes if o.status == "survived")

    @property
    def score(self) -> float | None:
        """Killed (timeouts included) over mutants run; None when none ran."""
        if not self.outcomes:
            return None
        return 1 - len(self.survivors) / len(self.outcomes)


Runner = Callable[[list[str], Path, Mapping[str, str], float], tuple[str, int, str]]


def run_process(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float) -> tuple[str, int, str]:
    """Run one command in its own process group: ("ok" | "timeout", exit code, output tail)."""
    try:
        proc = subprocess.Popen(  # the workflow owner's test command, no shell
            argv,
            cwd=cwd,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        return "ok", 127, f"cannot start {argv[0]!r}: {exc.strerror or exc}"
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):  # it may have ended since
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", -9, ""
    return "ok", proc.returncode, out.decode("utf-8", "replace")[-2000:]


def run_gate(
    change: ChangeSet,
    config: MutationConfig,
    root: Path,
    *,
    event: str,
    environ: Mapping[str, str],
    secrets: Iterable[str] = (),
    workers: int | None = None,
    runner: Runner = run_process,
) -> GateResult:
    """Mutation-test the change's Python lines with the tests of the checkout at `root`.

    Args:
        change: the change; its head must be what `root` holds.
        config: the `mutation:` section.
        root: the checkout (never written: the tests run in copies).
        event: the GitHub event (`pull_request_target` is refused), or "local".
        environ: the job's environment, scrubbed before the tests see it.
        secrets: values no test may see, whatever their variable's name.
        workers: parallel copies (default: the CPUs available).
        runner: how one command is run (tests pass a recording one).

    Raises:
        MutationError: the test command does not run Python.
    """
    started = time.monotonic()
    deadline = started + config.timeout_minutes * 60
    command = config.test_command
    why = refusal(event, root)
    if why is not None:
        return GateResult("refused", command, why)
    if event != "local":
        hide_own_environment()  # in CI this process holds the job's token and keys
    files, notes = _matching(changed_files(change, config), root)
    if not any(f.lines for f in files):
        return GateResult("skipped", command, "no changed lines of Python source to mutate", notes=notes)
    with tempfile.TemporaryDirectory(prefix="swarm-mutation-") as temp:
        base = Path(temp) / "w0"
        shutil.copytree(root, base, symlinks=True, ignore=_IGNORED)
        env = scrubbed_environment(environ, base, secrets)
        data, report = Path(temp) / "coverage.data", Path(temp) / "coverage.json"
        argv = coverage_command(command, data, [base / f.path for f in files], env.get("PATH"))
        measured = time.monotonic()
        status, code, tail = runner(argv, base, env, max(deadline - measured, 1))
        coverage_seconds = time.monotonic() - measured
        if status == "timeout" or code != 0:
            what = "did not finish in the gate's time" if status == "timeout" else f"exited {code}"
            return GateResult(
                "broken",
                command,
                f"the tests fail without any mutation ({what}); the gate needs a passing suite:\n{tail}",
                seconds=coverage_seconds,
                coverage_seconds=coverage_seconds,
                notes=notes,
            )
        json_argv = [*argv[: argv.index("run")], "json", f"--data-file={data}", "-o", str(report), "-q"]
        status, code, tail = runner(json_argv, base, env, 120)
        if (status == "timeout" or code != 0) and "No data to report" not in tail:
            return GateResult("broken", command, f"coverage could not write its report:\n{tail}", notes=notes)
        executed = executed_lines(read_report(report), base, [f.path for f in files])
        chosen = plan(files, executed, config.max_mutants)
        per_mutant = config.mutant_timeout_seconds or 3 * coverage_seconds + 10
        count = min(workers or os.cpu_count() or 1, len(chosen.mutants))
        run = _Run(
            {f.path: f.source for f in files},
            shlex.split(command),
            lambda copy: scrubbed_environment(environ, copy, secrets),
            per_mutant,
            deadline,
            runner,
        )
        outcomes = run.all(chosen.mutants, Path(temp), count)
    not_run = len(chosen.mutants) - len(outcomes)
    if not_run:
        notes += (f"{not_run} mutant(s) were not run: the gate reached timeout_minutes",)
    return GateResult(
        "ran",
        command,
        plan=chosen,
        outcomes=outcomes,
        not_run=not_run,
        seconds=time.monotonic() - started,
        coverage_seconds=coverage_seconds,
        mutant_timeout=per_mutant,
        workers=count,
        notes=notes,
    )


def _matching(files: Sequence[ChangedFile], root: Path) -> tuple[list[ChangedFile], tuple[str, ...]]:
    """The files whose checkout copy is the change's head; others would mutate the wrong lines."""
    kept, notes = [], []
    for f in files:
        try:
            text = (root / f.path).read_bytes().decode("utf-8", "replace")
        except OSError:
            text = None
        if text == f.source:
            kept.append(f)
        else:
            notes.append(
                f"{f.path} was not mutated: the checkout's copy is not the change's head "
                "(check out the pull request's head commit)"
            )
    return kept, tuple(notes)


@dataclass(frozen=True)
class _Run:
    """How each mutant is run: the original sources, the command, its environment and clocks."""

    sources: Mapping[str, str]
    argv: list[str]
    env_for: Callable[[Path], dict[str, str]]
    per_mutant: float
    deadline: float
    runner: Runner

    def all(self, mutants: Sequence[Mutant], temp: Path, count: int) -> tuple[Outcome, ...]:
        """Every mutant run by `count` workers, each in its own copy of `temp/w0`; in mutant order."""
        todo: Iterator[Mutant] = iter(mutants)
        lock = threading.Lock()
        done: list[Outcome] = []

        def work(index: int) -> None:
            copy = temp / f"w{index}"
            if index:
                shutil.copytree(temp / "w0", copy, symlinks=True, ignore=_IGNORED)
            env = self.env_for(copy)
            while time.monotonic() < self.deadline:
                with lock:
                    mutant = next(todo, None)
                if mutant is None:
                    return
                outcome = self.one(mutant, copy, env)
                with lock:
                    done.append(outcome)

        if count:
            with ThreadPoolExecutor(max_workers=count, thread_name_prefix="swarm-mutant") as pool:
                for future in [pool.submit(work, i) for i in range(count)]:
                    future.result()
        order = {id(m): i for i, m in enumerate(mutants)}
        return tuple(sorted(done, key=lambda o: order[id(o.mutant)]))

    def one(self, mutant: Mutant, copy: Path, env: Mapping[str, str]) -> Outcome:
        """Patch the copy, run the tests, put the file back."""
        target = copy / mutant.path
        original = self.sources[mutant.path]
        target.write_bytes(apply(original, mutant).encode("utf-8"))
        started = time.monotonic()
        try:
            timeout = min(self.per_mutant, max(self.deadline - started, 1))
            status, code, _ = self.runner(self.argv, copy, env, timeout)
        finally:
            target.write_bytes(original.encode("utf-8"))
        result = "timeout" if status == "timeout" else "survived" if code == 0 else "killed"
        return Outcome(mutant, result, time.monotonic() - started)
