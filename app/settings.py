"""The App's settings, read once from the environment (pydantic-settings), with the names operators expect."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from swarm_core import PROVIDER_ENV_NAMES, Budget, ConfigError, ProviderKeys

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Everything `swarm serve` and `swarm worker` need; a missing or invalid value stops start-up."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    github_app_id: int | None = Field(default=None, validation_alias="GITHUB_APP_ID")
    github_private_key: SecretStr | None = Field(default=None, validation_alias="GITHUB_PRIVATE_KEY")
    github_private_key_path: Path | None = Field(default=None, validation_alias="GITHUB_PRIVATE_KEY_PATH")
    github_webhook_secret: SecretStr | None = Field(default=None, validation_alias="GITHUB_WEBHOOK_SECRET")
    # The App's slug (its bot is `<slug>[bot]`); asked of GitHub (GET /app) when not set.
    github_app_slug: str | None = Field(default=None, validation_alias="GITHUB_APP_SLUG")
    github_api_url: str = Field(default="https://api.github.com", validation_alias="GITHUB_API_URL")
    database_url: str | None = Field(default=None, validation_alias="SWARM_DATABASE_URL")
    data_dir: Path | None = Field(default=None, validation_alias="SWARM_DATA_DIR")
    api_token: SecretStr | None = Field(default=None, validation_alias="SWARM_API_TOKEN")
    model: str | None = Field(default=None, validation_alias="SWARM_MODEL")
    max_body_bytes: int = Field(
        default=25 * 1024 * 1024 + 1024, validation_alias="SWARM_MAX_BODY_BYTES", gt=0
    )
    api_rate_per_minute: int = Field(default=100, validation_alias="SWARM_API_RATE_PER_MINUTE", gt=0)
    api_max_body_bytes: int = Field(default=1024 * 1024, validation_alias="SWARM_API_MAX_BODY_BYTES", gt=0)
    # /docs, /redoc and /openapi.json describe every route: off unless the operator wants them.
    api_docs: bool = Field(default=False, validation_alias="SWARM_API_DOCS")
    # /metrics (installation ids) and /readyz's queue depth: behind the API token unless opened.
    metrics_public: bool = Field(default=False, validation_alias="SWARM_METRICS_PUBLIC")
    per_installation: int = Field(default=4, validation_alias="SWARM_PER_INSTALLATION", gt=0)
    lease_seconds: float = Field(default=60.0, validation_alias="SWARM_LEASE_SECONDS", gt=0)
    # A GitHub wait (Retry-After, a rate-limit reset) longer than this releases the job to the
    # queue with a not-before time instead of keeping a worker asleep.
    # How the check run of a job that failed for good ends: neutral (the merge goes on without
    # swarm's verdict) or failure (a required check blocks the merge until a re-run passes).
    check_on_failure: Literal["neutral", "failure"] = Field(
        default="neutral", validation_alias="SWARM_CHECK_ON_FAILURE"
    )
    github_wait_seconds: float = Field(default=10.0, validation_alias="SWARM_GITHUB_WAIT_SECONDS", ge=0)
    installation_budget_usd: float | None = Field(
        default=None, validation_alias="SWARM_INSTALLATION_BUDGET_USD", gt=0
    )
    budget_window_days: float = Field(default=30.0, validation_alias="SWARM_BUDGET_WINDOW_DAYS", gt=0)
    redis_url: str | None = Field(default=None, validation_alias="SWARM_REDIS_URL")
    log_format: Literal["text", "json"] = Field(default="text", validation_alias="SWARM_LOG_FORMAT")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="SWARM_LOG_LEVEL"
    )
    opencode_password: SecretStr | None = Field(default=None, validation_alias="OPENCODE_SERVER_PASSWORD")
    # Where the known-vulnerability check asks (OSV or a mirror): the operator's choice, never a
    # repository's, so a repository config cannot point the App's requests at another host.
    osv_url: str = Field(
        default="https://api.osv.dev", validation_alias="SWARM_OSV_URL", pattern=r"^https?://"
    )
    # Provider keys and base URLs under the names the providers document (OPENAI_API_KEY, ...):
    # not one field each, so a provider added to KNOWN_PROVIDERS needs no change here.
    providers: dict[str, SecretStr] = Field(default_factory=dict, validation_alias="SWARM_PROVIDER_VARIABLES")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, plus the provider variables read from the environment."""
        return (
            init_settings,
            env_settings,
            _ProviderVariables(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    @model_validator(mode="before")
    @classmethod
    def _provider_variables(cls, data: Any) -> Any:
        # A mapping given to load_settings (tests) carries provider variables by name; like
        # every other setting, they win over the environment's.
        if isinstance(data, dict):
            given = _provider_values(data)
            if given:
                return {
                    **data,
                    "SWARM_PROVIDER_VARIABLES": {**data.get("SWARM_PROVIDER_VARIABLES", {}), **given},
                }
        return data

    def provider_keys(self) -> ProviderKeys:
        """The provider keys and base URLs, for the engine."""
        return ProviderKeys(dict(self.providers))

    def secrets(self) -> frozenset[str]:
        """Every configured secret value, for the log redaction filter."""
        values = {
            s.get_secret_value()
            for s in (
                self.github_private_key,
                self.github_webhook_secret,
                self.api_token,
                self.opencode_password,
            )
            if s is not None
        }
        for url in (self.database_url, self.redis_url):
            values.update(_url_password(url))
        values.update(self.provider_keys().secrets())
        if self.github_private_key is not None:
            # Logged text shows the key with real line breaks, while the setting may hold "\\n".
            values.add(self.private_key())
        return frozenset(v for v in values if v)

    def budget(self) -> Budget | None:
        """The per-installation model budget, when SWARM_INSTALLATION_BUDGET_USD is set."""
        if self.installation_budget_usd is None:
            return None
        return Budget(self.installation_budget_usd, self.budget_window_days)

    @model_validator(mode="after")
    def _key_file(self) -> Settings:
        if self.github_private_key is None and self.github_private_key_path is not None:
            try:
                text = self.github_private_key_path.expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(
                    f"GITHUB_PRIVATE_KEY_PATH {self.github_private_key_path}: {exc.strerror or exc}"
                ) from exc
            object.__setattr__(self, "github_private_key", SecretStr(text))
        return self

    def private_key(self) -> str:
        """The App's PEM private key (GITHUB_PRIVATE_KEY, or the file at GITHUB_PRIVATE_KEY_PATH)."""
        if self.github_private_key is None:
            raise ConfigError("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH is not set")
        return self.github_private_key.get_secret_value().replace("\\n", "\n")

    def require_app(self) -> None:
        """Stop start-up with one line naming what is missing for the GitHub App."""
        missing = [
            name
            for name, value in (
                ("GITHUB_APP_ID", self.github_app_id),
                ("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH", self.github_private_key),
                ("GITHUB_WEBHOOK_SECRET", self.github_webhook_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigError("missing setting(s): " + ", ".join(missing) + " (see README: GitHub App)")
        key = self.private_key()
        if "PRIVATE KEY-----" not in key:
            raise ConfigError("GITHUB_PRIVATE_KEY is not a PEM private key (-----BEGIN ... PRIVATE KEY-----)")


class _ProviderVariables(PydanticBaseSettingsSource):
    """OPENAI_API_KEY, OPENAI_BASE_URL, OLLAMA_HOST, ...: read from the environment by their own names."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Not used: `__call__` returns the one value this source provides."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {"SWARM_PROVIDER_VARIABLES": _provider_values(os.environ)}


def _provider_values(env: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in env.items() if k in PROVIDER_ENV_NAMES and v}


def _url_password(url: str | None) -> set[str]:
    if not url:
        return set()
    try:
        password = make_url(url).password
    except ArgumentError:
        return set()
    return {str(password)} if password else set()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Settings from the environment (or a given mapping, for tests).

    Raises:
        ConfigError: a value is invalid; one line per problem, naming the variable.
    """
    try:
        if env is None:
            return Settings()
        return Settings.model_validate(env)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "settings"
            lines.append(f"{name.upper()}: {str(err['msg']).removeprefix('Value error, ')}")
        raise ConfigError("; ".join(lines)) from exc
