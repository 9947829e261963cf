"""The `mutation:` section: the opt-in mutation-testing gate the Action runs on changed lines."""

from __future__ import annotations

import shlex
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["MutationConfig", "MutationPathsConfig"]

_STRICT = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class MutationPathsConfig(BaseModel):
    """Which changed Python files are mutated: gitignore-style patterns; tests never are."""

    model_config = _STRICT

    include: tuple[str, ...] = ("**",)
    exclude: tuple[str, ...] = (
        "tests/**",
        "test/**",
        "**/tests/**",
        "**/test_*.py",
        "**/*_test.py",
        "**/conftest.py",
        "docs/**",
        "setup.py",
    )


class MutationConfig(BaseModel):
    """The mutation gate: the repository's tests run against small edits of the changed lines.

    It runs only in the Action, only when this is enabled and the workflow sets the
    `mutation: true` input (it executes the pull request's code), never on
    `pull_request_target` and never in the App.
    """

    model_config = _STRICT

    enabled: bool = False
    fail_action: Literal["FAIL", "WARN"] = Field(
        default="WARN", description="FAIL: surviving mutants or uncovered changed lines fail the check"
    )
    test_command: str = Field(
        default="python -m pytest -x -q -p no:cacheprovider",
        description="the tests, run from the checkout's root; must run Python (a script or python -m)",
    )
    max_mutants: int = Field(default=60, ge=1, le=2000, description="mutants run at most, spread over lines")
    timeout_minutes: float = Field(default=10.0, gt=0, le=360, description="the whole gate's time limit")
    mutant_timeout_seconds: float | None = Field(
        default=None, gt=0, description="per mutant (default: 3x the coverage run's time + 10 s)"
    )
    paths: MutationPathsConfig = MutationPathsConfig()

    @field_validator("fail_action", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("test_command")
    @classmethod
    def _command(cls, value: str) -> str:
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot be split into words like a shell would: {exc}") from None
        if not words:
            raise ValueError("must not be empty")
        return value

    @property
    def fails(self) -> bool:
        """True when surviving mutants fail the check run (fail_action FAIL)."""
        return self.fail_action == "FAIL"
