"""What a GitHub Actions run tells swarm: the event, the token, where outputs go, and the action's inputs.

Composite actions do not get `INPUT_*` variables, so action.yml passes each input as a
`SWARM_INPUT_*` variable (RULES 44). Read once, here; nothing else reads the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from swarm_core import ConfigError, ProviderKeys
from swarm_core.github import ACTIONS_BOT

__all__ = ["LOG_FORMATS", "POSTS", "ActionEnv"]

POSTS = frozenset({"review", "check", "summary"})
MODES = frozenset({"review", "issue", "council", "auto"})
LOG_FORMATS = frozenset({"text", "json"})


@dataclass(frozen=True)
class ActionEnv:
    """The Actions environment and the action's inputs."""

    event_name: str
    event_path: Path
    repository: str
    token: SecretStr | None
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    step_summary: Path | None = None
    output: Path | None = None
    runner_temp: Path | None = None
    mode: str = "auto"
    model: str | None = None
    config: str | None = None
    config_from_workspace: bool = False  # the workflow owner accepts a config the PR can change
    workspace: Path | None = None
    fail_on: str | None = None
    lanes: tuple[str, ...] = ()
    sarif_file: Path | None = None
    post: frozenset[str] = field(default=POSTS)
    pr: int | None = None
    keys: ProviderKeys = field(default_factory=ProviderKeys)  # provider keys and base URLs
    log_format: str = "text"
    # Signs swarm's hidden markers (SWARM_MARKER_KEY, from a repository secret); see markers.py.
    marker_key: SecretStr | None = None
    bot_login: str = ACTIONS_BOT  # whom swarm writes as: GITHUB_TOKEN's account (SWARM_BOT_LOGIN)
    mutation: bool = False  # the workflow owner lets the mutation gate run the PR's tests
    # The whole environment, for the mutation gate's tests (scrubbed of credentials there).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def secrets(self) -> frozenset[str]:
        """The token, the marker key and the provider keys: what logs and GitHub must never see."""
        token = {self.token.get_secret_value()} if self.token is not None else set()
        if self.marker_key is not None:
            token.add(self.marker_key.get_secret_value())
        return frozenset(token) | self.keys.secrets()

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> ActionEnv:
        """Read the run's environment.

        Raises:
            ConfigError: something the workflow author must fix (one line saying what).
        """
        name = env.get("GITHUB_EVENT_NAME", "")
        path = env.get("GITHUB_EVENT_PATH", "")
        if not name or not path:
            raise ConfigError(
                "GITHUB_EVENT_NAME and GITHUB_EVENT_PATH are not set: `swarm action` runs inside "
                "GitHub Actions (use `swarm pr-review` elsewhere)"
            )
        mode = (env.get("SWARM_INPUT_MODE") or "auto").strip().lower()
        if mode not in MODES:
            raise ConfigError(f"input mode: {mode!r} is not one of {', '.join(sorted(MODES))}")
        post_text = env.get("SWARM_INPUT_POST") or ",".join(sorted(POSTS))
        post = frozenset(p.strip().lower() for p in post_text.replace(" ", ",").split(",") if p.strip()) - {
            "none"
        }
        unknown = sorted(post - POSTS)
        if unknown:
            raise ConfigError(f"input post: {unknown[0]!r} is not one of review, check, summary (or none)")
        pr_text = (env.get("SWARM_INPUT_PR") or "").strip()
        if pr_text and not pr_text.isdigit():
            raise ConfigError(f"input pr: {pr_text!r} is not a pull request number")
        token = env.get("SWARM_INPUT_TOKEN") or env.get("GITHUB_TOKEN")
        lanes = tuple(x.strip() for x in (env.get("SWARM_INPUT_LANES") or "").split(",") if x.strip())
        sarif = env.get("SWARM_INPUT_SARIF_FILE") or ""
        temp = env.get("RUNNER_TEMP")
        from_workspace = (env.get("SWARM_INPUT_CONFIG_FROM_WORKSPACE") or "false").strip().lower()
        if from_workspace not in {"true", "false"}:
            raise ConfigError(f"input config-from-workspace: {from_workspace!r} is not true or false")
        mutation = (env.get("SWARM_INPUT_MUTATION") or "false").strip().lower()
        if mutation not in {"true", "false"}:
            raise ConfigError(f"input mutation: {mutation!r} is not true or false")
        workspace = env.get("GITHUB_WORKSPACE")
        log_format = (env.get("SWARM_LOG_FORMAT") or "text").strip().lower()
        if log_format not in LOG_FORMATS:
            raise ConfigError(f"SWARM_LOG_FORMAT: {log_format!r} is not one of json, text")
        return cls(
            event_name=name,
            event_path=Path(path),
            repository=env.get("GITHUB_REPOSITORY", ""),
            token=SecretStr(token) if token else None,
            api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
            step_summary=Path(env["GITHUB_STEP_SUMMARY"]) if env.get("GITHUB_STEP_SUMMARY") else None,
            output=Path(env["GITHUB_OUTPUT"]) if env.get("GITHUB_OUTPUT") else None,
            runner_temp=Path(temp) if temp else None,
            mode=mode,
            model=env.get("SWARM_INPUT_MODEL") or env.get("SWARM_MODEL") or None,
            config=env.get("SWARM_INPUT_CONFIG") or None,
            config_from_workspace=from_workspace == "true",
            workspace=Path(workspace) if workspace else None,
            fail_on=(env.get("SWARM_INPUT_FAIL_ON") or "").strip().lower() or None,
            lanes=lanes,
            sarif_file=Path(sarif) if sarif else None,
            post=post,
            pr=int(pr_text) if pr_text else None,
            keys=ProviderKeys.from_mapping(env),
            log_format=log_format,
            marker_key=SecretStr(env["SWARM_MARKER_KEY"]) if env.get("SWARM_MARKER_KEY") else None,
            bot_login=env.get("SWARM_BOT_LOGIN") or ACTIONS_BOT,
            mutation=mutation == "true",
            environ=dict(env),
        )
