"""The intranet's priority level of a patient (院内优先级), asked at queue check-in:
``get_priority_service().priority_level(name, id_number)`` → a level 0…9, never the reason (SY-01).

``live`` calls the configured intranet over ihos's identity wire format; ``sandbox`` (the default) runs the
same client against ``PrioritySandbox``.
"""

from __future__ import annotations

from ihos.config import get_settings
from ihos.integrations.identity.base import PriorityAnswer, PriorityService
from ihos.integrations.identity.client import HttpPriorityService, IdentityConfig
from ihos.integrations.settings import PrioritySandboxSettings, PrioritySettings

__all__ = [
    "PriorityAnswer",
    "PrioritySandboxSettings",
    "PriorityService",
    "PrioritySettings",
    "get_priority_service",
]


def get_priority_service(*, settings: PrioritySettings | None = None) -> PriorityService:
    settings = settings or get_settings().integrations.priority
    if settings.provider == "live":
        if not (settings.endpoint and settings.app_id and settings.secret.get_secret_value()):
            raise ValueError(
                "the live priority interface needs IHOS_INTEGRATIONS__PRIORITY__ENDPOINT, APP_ID, SECRET"
            )
        config = IdentityConfig(
            endpoint=settings.endpoint, app_id=settings.app_id, secret=settings.secret.get_secret_value()
        )
        return HttpPriorityService(config, timeout=settings.timeout_seconds)
    from ihos.integrations.identity.sandbox import PrioritySandbox

    sandbox = PrioritySandbox(settings=settings.sandbox)
    return HttpPriorityService(
        sandbox.config, timeout=settings.timeout_seconds, transport=sandbox.transport()
    )
