"""Package namespaces that import a name's module on first use (PEP 562).

A face imports `from swarm_core.github import GitHubClient`; the webhook receiver imports
`from swarm_core.github import verify`. With eager imports in the package's `__init__`, the
second would pay for PyGithub too, and `swarm --version` for SQLAlchemy. A lazy package
lists each name with the module that defines it and imports that module when the name is
first read.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from importlib import import_module

__all__ = ["lazy_namespace"]


def lazy_namespace(
    package: str, exports: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's module-level `__getattr__` and `__dir__` for its lazily loaded names.

    Args:
        package: the package's `__name__`.
        exports: each lazily loaded name and the submodule (relative to `package`) defining it.
        public: the package's `__all__`, for `dir()`.

    Returns:
        `(__getattr__, __dir__)`, to assign at the package's top level.
    """
    names = tuple(public)

    def __getattr__(name: str) -> object:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
