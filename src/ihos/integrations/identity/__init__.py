"""Real-name verification (实名认证): ``get_identity_verifier().verify(name, id_number)``.

``live`` calls the configured provider over ihos's signed wire format (``wire``); ``sandbox`` (the
default) runs the same client against an in-process fake provider whose registry of demo people is
``people.json`` (``demo_people()``).
"""

from __future__ import annotations

from ihos.config import get_settings
from ihos.integrations.identity.base import (
    IdentityCheck,
    IdentityServiceError,
    IdentityStatus,
    IdentityVerifier,
)
from ihos.integrations.identity.client import HttpIdentityVerifier, IdentityConfig
from ihos.integrations.identity.sandbox import DemoPerson, IdentitySandbox, demo_people
from ihos.integrations.settings import IdentitySettings

__all__ = [
    "DemoPerson",
    "IdentityCheck",
    "IdentityServiceError",
    "IdentityStatus",
    "IdentityVerifier",
    "demo_people",
    "get_identity_verifier",
]


def get_identity_verifier(*, settings: IdentitySettings | None = None) -> IdentityVerifier:
    settings = settings or get_settings().integrations.identity
    if settings.provider == "live":
        config = IdentityConfig(
            endpoint=settings.endpoint, app_id=settings.app_id, secret=settings.secret.get_secret_value()
        )
        return HttpIdentityVerifier(config, timeout=settings.timeout_seconds)
    sandbox = IdentitySandbox(settings=settings.sandbox)
    return HttpIdentityVerifier(
        sandbox.config, timeout=settings.timeout_seconds, transport=sandbox.transport()
    )
