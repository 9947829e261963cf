"""The public API is honest: faces import only what the package namespaces export, and `__all__` says exactly that.

The faces (app/, action/, swarm_cli/) import from package namespaces (`swarm_core`,
`swarm_core.github`, ...), never from a module behind one. Each public package's
`__all__` lists exactly the names it exports: those it defines, those it imports from its
own modules, and those it loads on first use (`_EXPORTS`); each of them resolves, a lazy
one to the object its module defines.
"""

from __future__ import annotations

import ast
from importlib import import_module
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT

FACES = ("app", "action", "swarm_cli")
PUBLIC = (
    "swarm_core",
    "swarm_core.agents",
    "swarm_core.config",
    "swarm_core.evaluation",
    "swarm_core.github",
    "swarm_core.issue",
    "swarm_core.learnings",
    "swarm_core.mutation",
    "swarm_core.providers",
    "swarm_core.render",
    "swarm_core.store",
    "swarm_core.store.queue",
)


def _face_imports() -> list[tuple[str, str, str]]:
    """(file, module, name) for every `from swarm_core... import name` in a face, lazy ones included."""
    found = []
    for face in FACES:
        for path in sorted((ROOT / face).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found += [
                        (str(path.relative_to(ROOT)), a.name, "")
                        for a in node.names
                        if a.name.split(".")[0] == "swarm_core"
                    ]
                elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "swarm_core":
                    found += [(str(path.relative_to(ROOT)), str(node.module), a.name) for a in node.names]
    return found


def _init_tree(package: ModuleType) -> ast.Module:
    return ast.parse(Path(str(package.__file__)).read_text(encoding="utf-8"))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _exported(name: str) -> bool:
    return not name.startswith("_") or name == "__version__"


def _exports(package: ModuleType) -> set[str]:
    """What a package exports: names its `__init__` defines or imports from its own modules, and lazy ones."""
    names = set(getattr(package, "_EXPORTS", {}))
    for node in _init_tree(package).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package.__name__ + "."):
            names.update(a.asname or a.name for a in node.names)
    return {n for n in names if _exported(n)}


def _type_checking_imports(package: ModuleType) -> dict[str, str]:
    """Each name imported under `if TYPE_CHECKING:` and the module (relative to the package) it comes from."""
    found = {}
    for node in _init_tree(package).body:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for inner in node.body:
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    module = inner.module.removeprefix(package.__name__ + ".")
                    found.update({a.name: module for a in inner.names})
    return found


def test_faces_import_from_public_packages_only() -> None:
    outside = sorted(f"{path}: {module}" for path, module, _ in _face_imports() if module not in PUBLIC)
    assert outside == []


def test_faces_import_no_private_module() -> None:
    private = sorted(
        f"{path}: {module}"
        for path, module, _ in _face_imports()
        if any(part.startswith("_") for part in module.split("."))
    )
    assert private == []


def test_every_name_a_face_imports_is_exported() -> None:
    missing = sorted(
        f"{path}: {module}.{name}"
        for path, module, name in _face_imports()
        if module in PUBLIC and name not in import_module(module).__all__
    )
    assert missing == []


@pytest.mark.parametrize("name", PUBLIC)
def test_all_lists_exactly_the_exports(name: str) -> None:
    package = import_module(name)
    listed = list(package.__all__)
    assert len(listed) == len(set(listed)), "a name is listed twice"
    assert set(listed) == _exports(package)
    unresolved = [n for n in listed if not hasattr(package, n)]
    assert unresolved == []


@pytest.mark.parametrize("name", PUBLIC)
def test_lazy_names_resolve_to_their_modules(name: str) -> None:
    package = import_module(name)
    lazy: dict[str, str] = getattr(package, "_EXPORTS", {})
    assert {n: getattr(package, n) for n in lazy} == {
        n: getattr(import_module(f"{name}.{module}"), n) for n, module in lazy.items()
    }
    # Type checkers read the TYPE_CHECKING imports instead of `_EXPORTS`: the two must agree.
    assert _type_checking_imports(package) == lazy
    # A submodule, once imported, is bound on its package under its own name and would hide
    # a lazy name spelled the same.
    assert {n for n in lazy if (ROOT / name.replace(".", "/") / f"{n}.py").exists()} == set()
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = package.Nope
    assert set(package.__all__) <= set(dir(package))


def test_faces_use_what_the_packages_export() -> None:
    """The scan is not vacuous: it sees the faces' imports, lazy ones inside functions included."""
    seen = {(module, name) for _, module, name in _face_imports()}
    assert {
        ("swarm_core", "build_engine"),
        ("swarm_core.github", "verify"),
        ("swarm_core.render", "LiveProgress"),
        ("swarm_core.store.queue", "JobQueue"),
    } <= seen
