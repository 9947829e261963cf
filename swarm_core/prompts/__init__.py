"""Prompts of the lanes, verification passes and coordinator: data files read with importlib.resources."""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["prompt"]


@cache
def prompt(name: str) -> str:
    """A prompt file from this package (data, not code); read once per process."""
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
