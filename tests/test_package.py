"""Package rules: a pure core, a complete public namespace."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys

import swarm_core
from tests.conftest import ROOT


def _core_modules() -> list[str]:
    # Migration scripts run inside alembic's context, never by import.
    return sorted(
        m.name
        for m in pkgutil.walk_packages(swarm_core.__path__, "swarm_core.")
        if not m.name.startswith("swarm_core.store.migrations")
    )


def test_core_imports_no_web_framework():
    code = (
        "import importlib, sys\n"
        f"for name in {_core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'fastapi', 'starlette', 'uvicorn', 'flask', 'django'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_core_never_reads_the_environment():
    offenders = []
    for path in (ROOT / "swarm_core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_public_namespace_is_complete():
    exported = set(swarm_core.__all__)
    public = {name for name in vars(swarm_core) if not name.startswith("_") and name[0].isupper()}
    assert public <= exported
    assert all(hasattr(swarm_core, name) for name in exported)


def test_every_module_has_a_docstring():
    missing = [
        str(p.relative_to(ROOT))
        for pkg in ("swarm_core", "swarm_cli", "app", "action")
        for p in (ROOT / pkg).rglob("*.py")
        if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert missing == []


# Modules over the limit whose split is under way on another branch (issue 12): each entry
# must still be over it, so the entry goes as soon as the split lands.
_SPLIT_UNDER_WAY: set[str] = set()
MAX_MODULE_LINES = 450


def test_no_product_module_over_450_lines():
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for pkg in ("swarm_core", "app", "action", "swarm_cli")
        for p in (ROOT / pkg).rglob("*.py")
    }
    over = {path: n for path, n in sizes.items() if n > MAX_MODULE_LINES}
    assert {path: n for path, n in over.items() if path not in _SPLIT_UNDER_WAY} == {}
    assert set(over) >= _SPLIT_UNDER_WAY, "a split landed: remove it from _SPLIT_UNDER_WAY"
