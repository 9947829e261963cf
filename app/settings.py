"""The App's settings, read once from the environment (pydantic-settings), with the names operators expect."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from swarm_core.budget import Budget
from swarm_core.errors import ConfigError

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Everything `swarm serve` and `swarm worker` need; a missing or invalid value stops start-up."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    github_app_id: int | None = Field(default=None, validation_alias="GITHUB_APP_ID")
    github_private_key: SecretStr | None = Field(default=None, validation_alias="GITHUB_PRIVATE_KEY")
    github_private_key_path: Path | None = Field(default=None, validation_alias="GITHUB_PRIVATE_KEY_PATH")
    github_webhook_secret: SecretStr | None = Field(default=None, validation_alias="GITHUB_WEBHOOK_SECRET")
    github_api_url: str = Field(default="https://api.github.com", validation_alias="GITHUB_API_URL")
    database_url: str | None = Field(default=None, validation_alias="SWARM_DATABASE_URL")
    data_dir: Path | None = Field(default=None, validation_alias="SWARM_DATA_DIR")
    api_token: SecretStr | None = Field(default=None, validation_alias="SWARM_API_TOKEN")
    model: str | None = Field(default=None, validation_alias="SWARM_MODEL")
    max_body_bytes: int = Field(
        default=25 * 1024 * 1024 + 1024, validation_alias="SWARM_MAX_BODY_BYTES", gt=0
    )
    api_rate_per_minute: int = Field(default=100, validation_alias="SWARM_API_RATE_PER_MINUTE", gt=0)
    per_installation: int = Field(default=4, validation_alias="SWARM_PER_INSTALLATION", gt=0)
    lease_seconds: float = Field(default=60.0, validation_alias="SWARM_LEASE_SECONDS", gt=0)
    installation_budget_usd: float | None = Field(
        default=None, validation_alias="SWARM_INSTALLATION_BUDGET_USD", gt=0
    )
    budget_window_days: float = Field(default=30.0, validation_alias="SWARM_BUDGET_WINDOW_DAYS", gt=0)

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
                ) from None
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
        raise ConfigError("; ".join(lines)) from None
