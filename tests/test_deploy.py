"""Deployment files stay true to the code: the manifest asks for what the App uses, the images run real commands."""

from __future__ import annotations

import re

import yaml

from swarm_cli.main import cli
from tests.conftest import ROOT


def test_app_manifest_permissions_and_events() -> None:
    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    assert manifest["default_permissions"] == {
        "pull_requests": "write",  # reviews and review comments (RULES 16)
        "checks": "write",  # check runs
        "issues": "write",  # the sticky summary and command replies are issue comments
        "contents": "read",  # file contents and the default branch's config
        "metadata": "read",
    }
    assert set(manifest["default_events"]) >= {
        "pull_request",
        "issue_comment",
        "pull_request_review_comment",  # `/swarm ask` on a line, replies in swarm's threads
        "check_run",
        "installation",
    }
    assert manifest["hook_attributes"]["url"].endswith("/github/webhook")


def test_images_run_real_commands() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    commands = [re.search(r'CMD \["swarm", "(\w+)"', dockerfile).group(1)]  # type: ignore[union-attr]
    commands += [svc["command"][1] for svc in compose["services"].values() if "command" in svc]
    assert set(commands) == {"serve", "worker"}
    assert all(c in cli.commands for c in commands)
    assert "USER swarm" in dockerfile and "HEALTHCHECK" in dockerfile
    env = compose["services"]["worker"]["environment"]
    assert env["SWARM_DATABASE_URL"].startswith("postgresql://")
