"""The App's redactor: every secret this process was configured with, for text that leaves it."""

from __future__ import annotations

from app.settings import Settings
from swarm_core import Redactor, url_passwords

__all__ = ["redactor_for"]


def redactor_for(settings: Settings) -> Redactor:
    """A redactor that knows the provider keys, the App's secrets and the database password.

    Base URLs the operator configured (a self-hosted model, a proxy) are internal: PR readers
    see "[model endpoint]" instead. The public default URLs are left as they are.
    """
    secrets = set(settings.secrets())
    secrets.update(url_passwords(settings.database_url))
    return Redactor(sorted(secrets), settings.provider_keys().internal_urls())
