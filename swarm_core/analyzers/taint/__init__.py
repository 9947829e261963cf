"""Taint analysis for Python web code: request data followed into sinks, the flow kept as evidence."""

from __future__ import annotations

from swarm_core.analyzers.taint.analyzer import TaintAnalyzer, flows_in, taint_overrules
from swarm_core.analyzers.taint.engine import Flow

__all__ = ["Flow", "TaintAnalyzer", "flows_in", "taint_overrules"]
