"""Evaluation of swarm on a repository's history: the HTML report."""

from swarm_core.evaluation.html import render_html

__all__ = ["render_html"]
