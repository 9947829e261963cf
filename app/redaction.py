"""The App's redactor: every secret this process was configured with, for text that leaves it."""

from __future__ import annotations

from collections.abc import Mapping

from app.settings import Settings
from swarm_core.providers import endpoints_from_env
from swarm_core.redact import Redactor, url_passwords

__all__ = ["redactor_for"]


def redactor_for(settings: Settings, env: Mapping[str, str]) -> Redactor:
    """A redactor that knows the provider keys, the App's secrets and the database password.

    Base URLs the operator configured (a self-hosted model, a proxy) are internal: PR readers
    see "[model endpoint]" instead. The public default URLs are left as they are.
    """
    endpoints = endpoints_from_env(env).values()
    secrets = [ep.api_key.get_secret_value() for ep in endpoints if ep.api_key is not None]
    for value in (settings.github_webhook_secret, settings.api_token, settings.github_private_key):
        if value is not None:
            secrets.append(value.get_secret_value())
    secrets.extend(url_passwords(settings.database_url))
    return Redactor(secrets, [ep.base_url for ep in endpoints if ep.configured])
