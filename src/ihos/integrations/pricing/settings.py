"""Settings of the intranet pricing service (``IHOS_INTEGRATIONS__PRICING__…`` once ``IntegrationSettings``
carries them). Defaults run the sandbox intranet; docs/operator/payments-insurance-his.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


def _senior() -> dict[str, int]:
    return {"registration": 50, "consultation": 50}


def _service_member() -> dict[str, int]:
    return {"registration": 100, "consultation": 100, "examination": 20, "laboratory": 20, "treatment": 20}


class PricingSandboxSettings(BaseModel):
    """The sandbox intranet (院内身份与计价沙箱): the hospital's discount policy, as percent per item kind.

    Kinds: registration, consultation, examination, laboratory, treatment, drug, material, other (see
    ``intranet.json`` for the item codes). Who is a service member or family is not here: the intranet
    keeps that list to itself.
    """

    # none | unavailable (HTTP 503) | timeout
    failure_mode: Literal["none", "unavailable", "timeout"] = "none"
    senior_age: int = Field(default=65, ge=0)
    senior_discounts: dict[str, int] = Field(default_factory=_senior)
    service_member_discounts: dict[str, int] = Field(default_factory=_service_member)


class PricingSettings(BaseModel):
    provider: Literal["sandbox", "live"] = "sandbox"
    # The intranet service's quote URL, e.g. https://pricing.hospital.internal/v1/quotes
    endpoint: str = ""
    app_id: str = ""
    secret: SecretStr = SecretStr("")
    timeout_seconds: float = 5.0
    sandbox: PricingSandboxSettings = Field(default_factory=PricingSandboxSettings)
