"""`swarm agents list` and `swarm exec`: the agents the config defines, and a task run on them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from swarm_cli import environment, options
from swarm_cli.output import write

if TYPE_CHECKING:
    from swarm_core.agents import AgentEvent, ExecRun

_TERMINAL_OR_JSON = click.Choice(["terminal", "json"])


@click.group()
def agents() -> None:
    """Agents: the built-in lanes and council members, and those defined under `agents:`."""


@agents.command("list")
@options.config_option()
@options.format_option(_TERMINAL_OR_JSON)
def agents_list(config_path: Path | None, fmt: str) -> int:
    """Each agent, its backend, and the model the router would pick, with the reason."""
    from swarm_core import Router
    from swarm_core.agents import agent_table

    config = environment.find_config(config_path)
    engine = environment.engine(None)
    table = engine.table if engine.table is not None else environment.model_table()
    router = Router(table, config.models, engine.keys.pool().available, default=engine.model)
    rows = agent_table(config, router)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        click.echo(f"{r['name']:<26}{r['backend']:<10}{r['model']:<32}{r['reason']}")
    return 0


@click.command("exec")
@click.option("--task", required=True, help="What the agents should do.")
@click.option("--agents", "agent_names", required=True, help="Comma-separated agent names.")
@options.mode_option(default="parallel")
@click.option("--coordinator", help="The lead agent in hierarchical mode.")
@options.optimize_option()
@options.max_cost_option()
@options.model_option("Default model (default: SWARM_MODEL).")
@options.config_option()
@options.format_option(_TERMINAL_OR_JSON)
@options.no_store_option()
def exec_command(
    task: str,
    agent_names: str,
    mode: str,
    coordinator: str | None,
    optimize: str | None,
    max_cost: float | None,
    model: str | None,
    config_path: Path | None,
    fmt: str,
    no_store: bool,
) -> int:
    """Run a task on agents and print each one's result, status, time, tokens and cost.

    Progress (each agent's start, OpenCode's steps and tool calls, the end) goes to
    stderr in terminal format. The run is stored: `swarm runs show ID` prints it again,
    `--evidence` lists its model work, and `swarm runs cost` counts it.
    """
    import asyncio

    from rich.console import Console

    from swarm_core import merge
    from swarm_core.agents import OpenCode, run_agents

    config = environment.find_config(config_path)
    overrides: dict[str, Any] = {}
    if optimize:
        overrides["models"] = {"mode": optimize}
    if max_cost is not None:
        overrides["llm"] = {"limits": {"max_cost_usd": max_cost}}
    if os.environ.get("OPENCODE_URL"):
        overrides["opencode_url"] = os.environ["OPENCODE_URL"]
    if overrides:
        config = merge(config, overrides)
    names = [n.strip() for n in agent_names.split(",") if n.strip()]
    if mode == "hierarchical" and (not coordinator or coordinator not in names):
        raise click.UsageError("--mode hierarchical needs --coordinator NAME, one of --agents")
    engine = environment.engine(model)
    pool = engine.keys.pool()
    opencode = OpenCode(config.opencode_url, password=os.environ.get("OPENCODE_SERVER_PASSWORD") or None)
    console = Console(stderr=True, highlight=False)

    def progress(event: AgentEvent) -> None:
        if fmt == "terminal":
            console.print(f"[dim]· {event.agent}: {event.kind} {event.detail}[/]", markup=True)

    async def go() -> ExecRun:
        try:
            return await run_agents(
                task,
                names,
                config,
                pool,
                model=engine.model,
                mode=mode,
                coordinator=coordinator,
                table=engine.table,
                opencode=opencode,
                on_event=progress,
            )
        finally:
            await opencode.aclose()

    run = asyncio.run(go())
    if not no_store:
        environment.store_run(lambda store: run.save(store, names))
    print_exec(run.to_dict(), fmt, None)
    return 0 if run.status == "ok" else 1


def print_exec(document: dict[str, Any], fmt: str, output: Path | None) -> None:
    """An agents run (fresh or stored) as JSON or as text."""
    if fmt == "json":
        write(json.dumps(document, indent=2, ensure_ascii=False) + "\n", output)
        return
    lines = []
    for r in document.get("results", []):
        u = r.get("usage", {})
        tokens = int(u.get("input_tokens", 0)) + int(u.get("output_tokens", 0))
        lines.append(
            f"== {r['name']} [{r['backend']}] {r['status']} in {r['duration_s']:.2f} s, "
            f"{tokens} tokens, ${float(u.get('cost_usd', 0.0)):.4f} {r.get('model', '')}"
        )
        lines.append(r["output"] if r["status"] == "ok" else f"   {r.get('error', '')}")
    total = document.get("usage", {})
    tokens = int(total.get("input_tokens", 0)) + int(total.get("output_tokens", 0))
    lines.append(
        f"run {document.get('run_id') or '(not stored)'}: {document.get('status')} "
        f"in {float(document.get('duration_s', 0.0)):.2f} s, {int(document.get('requests', 0))} model "
        f"request(s), {int(document.get('answered', 0))} answered, {tokens} tokens, "
        f"${float(total.get('cost_usd', 0.0)):.4f}"
    )
    write("\n".join(lines) + "\n", output)
