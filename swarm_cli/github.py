"""GitHub references on the command line (--pr, --issue) and the token-authenticated client they use."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import click

from swarm_core import ConfigError

if TYPE_CHECKING:
    from swarm_core.github import GitHubClient

PR_URL = re.compile(r"^https?://[^/]+/([\w.-]+/[\w.-]+)/pull/(\d+)/?$")
ISSUE_URL = re.compile(r"^https?://[^/]+/([\w.-]+/[\w.-]+)/issues/(\d+)/?$")
SHORT_REF = re.compile(r"^([\w.-]+/[\w.-]+)#(\d+)$")


def parse_ref(ref: str, url: re.Pattern[str], option: str, what: str) -> tuple[str, int]:
    """owner/repo and number from a URL or owner/repo#N.

    Raises:
        click.UsageError: neither form matches.
    """
    m = url.match(ref.strip()) or SHORT_REF.match(ref.strip())
    if m is None:
        raise click.UsageError(f"{option} {ref!r}: give {what} URL or owner/repo#N")
    return m.group(1), int(m.group(2))


def token_client(option: str) -> GitHubClient:
    """A client with GITHUB_TOKEN (or GH_TOKEN) against GITHUB_API_URL.

    Raises:
        ConfigError: no token is set.
    """
    from swarm_core.github import GitHubClient

    token = os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN")
    if not token:
        raise ConfigError(f"{option} needs GITHUB_TOKEN (a token that can read the repository)")
    return GitHubClient.for_token(token, os.environ.get("GITHUB_API_URL", "https://api.github.com"))
