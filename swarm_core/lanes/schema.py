"""What the model lanes and verification passes must answer: pydantic schemas, tolerant of case and extras."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "CoordinatorReply",
    "CriticJudgement",
    "CriticReply",
    "Judgement",
    "LaneFinding",
    "LaneReply",
    "MemoryNote",
    "ReviewerReply",
]

_LENIENT = ConfigDict(extra="ignore")


def _upper(value: object) -> object:
    return value.strip().upper().replace("-", "_").replace(" ", "_") if isinstance(value, str) else value


class LaneFinding(BaseModel):
    """One finding as a lane reports it."""

    model_config = _LENIENT

    path: str
    line: int | None = Field(default=None, ge=1)
    end_line: int | None = Field(default=None, ge=1)
    side: Literal["RIGHT", "LEFT"] = "RIGHT"
    severity: Literal["critical", "high", "medium", "low"]
    category: str = Field(min_length=1, max_length=80)
    title: str = Field(min_length=1, max_length=300)
    claim: str = ""
    evidence: str = ""
    symbols: list[str] = Field(default_factory=list)
    suggestion: str | None = None
    confidence: float = Field(default=0.7, ge=0.0, le=1.0)
    cwe: int | None = None

    @field_validator("severity", mode="before")
    @classmethod
    def _sev(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("side", mode="before")
    @classmethod
    def _side(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("cwe", mode="before")
    @classmethod
    def _cwe(cls, value: object) -> object:
        if isinstance(value, str):
            digits = value.upper().removeprefix("CWE-").strip()
            return int(digits) if digits.isdigit() else None
        return value


class MemoryNote(BaseModel):
    """A fact a lane shares with the other lanes of the run through swarm memory."""

    model_config = _LENIENT

    key: str = Field(min_length=1, max_length=120)
    value: str = Field(max_length=2000)


class LaneReply(BaseModel):
    """A lane's whole answer; `status` is set in council mode."""

    model_config = _LENIENT

    findings: list[LaneFinding] = Field(default_factory=list)
    notes: list[MemoryNote] = Field(default_factory=list)
    summary: str = ""
    status: Literal["EVIDENCE_FOUND", "SUSPICIOUS", "CLEAN"] | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: object) -> object:
        return _upper(value)


class Judgement(BaseModel):
    """The reviewer pass's call on one finding."""

    model_config = _LENIENT

    id: int
    verdict: Literal["CONFIRMED", "DISPROVED", "UNVERIFIED", "PRE_EXISTING"]
    reason: str = ""

    @field_validator("verdict", mode="before")
    @classmethod
    def _verdict(cls, value: object) -> object:
        return _upper(value)


class ReviewerReply(BaseModel):
    """The reviewer pass's answer."""

    model_config = _LENIENT

    judgements: list[Judgement]


class CriticJudgement(BaseModel):
    """The critic pass's call on one severe finding."""

    model_config = _LENIENT

    id: int
    verdict: Literal["UPHELD", "DOWNGRADED", "DISPROVED"]
    severity: Literal["critical", "high", "medium", "low"] | None = None
    reason: str = ""

    @field_validator("verdict", mode="before")
    @classmethod
    def _verdict(cls, value: object) -> object:
        return _upper(value)

    @field_validator("severity", mode="before")
    @classmethod
    def _sev(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class CriticReply(BaseModel):
    """The critic pass's answer."""

    model_config = _LENIENT

    judgements: list[CriticJudgement]


class CoordinatorReply(BaseModel):
    """The coordinator's focus per lane (hierarchical mode)."""

    model_config = _LENIENT

    focus: dict[str, str] = Field(default_factory=dict)
    summary: str = ""
