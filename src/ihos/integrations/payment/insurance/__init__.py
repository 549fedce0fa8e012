"""Medical-insurance mobile payment (医保移动支付), channel ``insurance``: ``insurance_channel(session,
settings)`` gives the configured ``InsuranceChannel``.

``live`` talks to the bureau's mobile payment centre; ``sandbox`` (the default) runs the same client
against an in-process fake centre with a ledger in the database (``sandbox.simulate_payment`` plays the
patient). See docs/operator/payments-insurance-his.md.

Importing this package (or its ``settings``) loads no database model: ``ihos.integrations.settings``
may import ``InsuranceSettings`` at start-up. The sandbox is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment.insurance.channel import InsuranceChannel, PayOrderReference, ReferenceLookup
from ihos.integrations.payment.insurance.client import InsuranceClient, InsuranceConfig
from ihos.integrations.payment.insurance.envelope import Party, load_private_key, load_public_key
from ihos.integrations.payment.insurance.settings import InsuranceSandboxSettings, InsuranceSettings

if TYPE_CHECKING:
    from ihos.integrations.payment.insurance.sandbox import InsuranceSandboxError, simulate_payment

__all__ = [
    "InsuranceChannel",
    "InsuranceSandboxError",
    "InsuranceSandboxSettings",
    "InsuranceSettings",
    "PayOrderReference",
    "ReferenceLookup",
    "insurance_channel",
    "live_config",
    "simulate_payment",
]

_SANDBOX_NAMES = frozenset({"InsuranceSandboxError", "simulate_payment"})


def __getattr__(name: str) -> Any:
    if name in _SANDBOX_NAMES:
        return getattr(import_module("ihos.integrations.payment.insurance.sandbox"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def live_config(settings: InsuranceSettings) -> InsuranceConfig:
    """The live channel's configuration; ``ValueError`` naming what is missing or malformed."""
    missing = [
        name
        for name, value in (
            ("ENDPOINT", settings.endpoint),
            ("APP_ID", settings.app_id),
            ("APP_SECRET", settings.app_secret.get_secret_value()),
            ("PRIVATE_KEY", settings.private_key.get_secret_value() or settings.private_key_path),
            ("PLATFORM_PUBLIC_KEY", settings.platform_public_key),
            ("ORG_CODE", settings.org_code),
        )
        if not value
    ]
    if missing:
        names = ", ".join(f"IHOS_INTEGRATIONS__INSURANCE__{name}" for name in missing)
        raise ValueError(f"live medical-insurance payment needs {names}")
    if len(settings.app_id.encode()) < 16:
        raise ValueError(
            "IHOS_INTEGRATIONS__INSURANCE__APP_ID: the bureau's appId has at least 16 characters"
        )
    private_text = (
        settings.private_key_path.read_text(encoding="ascii")
        if settings.private_key_path is not None
        else settings.private_key.get_secret_value()
    )
    party = Party(
        app_id=settings.app_id,
        app_secret=settings.app_secret.get_secret_value(),
        signing_key=load_private_key(private_text),
        peer_key=load_public_key(settings.platform_public_key),
        uid=settings.sm2_user_id.encode(),
    )
    return InsuranceConfig(
        endpoint=settings.endpoint,
        party=party,
        org_code=settings.org_code,
        org_name=settings.org_name,
        statement_path=settings.statement_path,
    )


def insurance_channel(
    session: AsyncSession, settings: InsuranceSettings, *, references: ReferenceLookup | None = None
) -> InsuranceChannel:
    """The configured channel. ``session``: where the sandbox keeps its ledger (the caller's
    transaction); ``references``: how to find an order's payOrdId/payToken again (see ``channel``)."""
    if settings.provider == "live":
        client = InsuranceClient(live_config(settings), timeout=settings.timeout_seconds)
        return InsuranceChannel(client, references=references)
    from ihos.integrations.payment.insurance.sandbox import InsuranceSandbox, sandbox_config

    sandbox = InsuranceSandbox(session, settings=settings.sandbox)
    client = InsuranceClient(
        sandbox_config(), timeout=settings.timeout_seconds, transport=sandbox.transport()
    )
    return InsuranceChannel(client, references=references)
