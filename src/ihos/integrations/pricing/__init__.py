"""The hospital's intranet identity-and-pricing service (SY-01): ``pricing_service(settings).quote(…)``.

``live`` calls the intranet over ihos's signed wire format (``wire``); ``sandbox`` (the default) runs the
same client against an in-process fake intranet that decides the discounts and keeps the reasons to
itself. See docs/operator/payments-insurance-his.md.

Importing this package (or its ``settings``) loads no database model: ``ihos.integrations.settings``
may import ``PricingSettings`` at start-up.
"""

from __future__ import annotations

from ihos.integrations.pricing.base import PricedItem, PricingError, PricingService, Quote
from ihos.integrations.pricing.client import HttpPricingService, PricingConfig
from ihos.integrations.pricing.settings import PricingSandboxSettings, PricingSettings

__all__ = [
    "PricedItem",
    "PricingError",
    "PricingSandboxSettings",
    "PricingService",
    "PricingSettings",
    "Quote",
    "pricing_service",
]


def pricing_service(settings: PricingSettings) -> PricingService:
    if settings.provider == "live":
        missing = [
            name
            for name, value in (
                ("ENDPOINT", settings.endpoint),
                ("APP_ID", settings.app_id),
                ("SECRET", settings.secret.get_secret_value()),
            )
            if not value
        ]
        if missing:
            names = ", ".join(f"IHOS_INTEGRATIONS__PRICING__{name}" for name in missing)
            raise ValueError(f"the live pricing service needs {names}")
        config = PricingConfig(
            endpoint=settings.endpoint, app_id=settings.app_id, secret=settings.secret.get_secret_value()
        )
        return HttpPricingService(config, timeout=settings.timeout_seconds)
    from ihos.integrations.pricing.sandbox import PricingSandbox

    sandbox = PricingSandbox(settings=settings.sandbox)
    return HttpPricingService(sandbox.config, timeout=settings.timeout_seconds, transport=sandbox.transport())
