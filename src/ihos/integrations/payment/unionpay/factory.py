"""Wiring of the UnionPay channel: the live client or the sandbox, from ``UnionPaySettings``."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment.unionpay.client import UnionPayChannel, UnionPayConfig
from ihos.integrations.payment.unionpay.sandbox import (
    SANDBOX_FILE_GATEWAY,
    SANDBOX_GATEWAY,
    SANDBOX_MERCHANT_ID,
    SandboxPayment,
    UnionPaySandbox,
    sandbox_pki,
)
from ihos.integrations.payment.unionpay.settings import UnionPaySettings
from ihos.integrations.payment.unionpay.signing import (
    UnionPayKeyError,
    cert_id,
    load_certificate,
    load_pfx,
    load_private_key,
)


def unionpay_channel(session: AsyncSession, settings: UnionPaySettings | None = None) -> UnionPayChannel:
    """The channel for one use, in the caller's transaction (submissions, the replay guard and the
    sandbox's ledger are written to it).

    Raises ``UnionPayKeyError`` when a configured key or certificate cannot be read or a live one is
    missing."""
    settings = settings or UnionPaySettings()
    if settings.provider == "live":
        if not settings.merchant_id:
            raise UnionPayKeyError("the UnionPay merchant_id is not set")
        key, certificate_id = _live_signing(settings)
        root = _certificate(settings.root_certificate, settings.root_certificate_path, "root_certificate")
        middle = _certificate(
            settings.middle_certificate, settings.middle_certificate_path, "middle_certificate"
        )
        config = _config(settings, settings.merchant_id, key, certificate_id, root, middle)
        return UnionPayChannel(session, _with_gateways(config, settings.gateway, settings.file_gateway))
    sandbox = get_unionpay_sandbox(session, settings)
    pfx = _pfx(settings)
    key = pfx[0] if pfx else sandbox.pki.merchant_key
    config = _config(
        settings,
        sandbox.merchant_id,
        key,
        cert_id(sandbox.merchant_certificate),
        sandbox.pki.root,
        sandbox.pki.middle,
    )
    return UnionPayChannel(
        session,
        _with_gateways(config, SANDBOX_GATEWAY, SANDBOX_FILE_GATEWAY),
        transport=sandbox.transport(),
        on_front_form=sandbox.register_front_form,
    )


def get_unionpay_sandbox(session: AsyncSession, settings: UnionPaySettings | None = None) -> UnionPaySandbox:
    """The fake UnionPay, whatever the provider: callers decide whether to expose it (demo mode only).
    It verifies the configured .pfx's certificate when there is one, otherwise the generated one."""
    settings = settings or UnionPaySettings()
    pki = sandbox_pki()
    pfx = _pfx(settings)
    return UnionPaySandbox(
        session,
        settings=settings.sandbox,
        merchant_id=settings.merchant_id or SANDBOX_MERCHANT_ID,
        merchant_certificate=pfx[1] if pfx else pki.merchant_certificate,
        pki=pki,
    )


async def simulate_payment(
    session: AsyncSession, order_number: str, *, settings: UnionPaySettings | None = None
) -> SandboxPayment:
    """The cardholder pays ``order_number`` in the sandbox; the notification follows after commit."""
    return await get_unionpay_sandbox(session, settings).simulate_payment(order_number)


def _pfx(settings: UnionPaySettings) -> tuple[rsa.RSAPrivateKey, x509.Certificate] | None:
    if settings.signing_certificate_path is None:
        return None
    return load_pfx(
        settings.signing_certificate_path.read_bytes(),
        settings.signing_certificate_password.get_secret_value(),
    )


def _live_signing(settings: UnionPaySettings) -> tuple[rsa.RSAPrivateKey, str]:
    pfx = _pfx(settings)
    if pfx is not None:
        return pfx[0], cert_id(pfx[1])
    text = _value_or_file(settings.signing_key.get_secret_value(), settings.signing_key_path)
    if not text or not settings.signing_cert_id:
        raise UnionPayKeyError("the UnionPay signing certificate (.pfx, or key and cert id) is not set")
    return load_private_key(text), settings.signing_cert_id


def _certificate(value: str, path: Path | None, name: str) -> x509.Certificate:
    if path is not None:
        return load_certificate(path.read_bytes())
    if not value:
        raise UnionPayKeyError(f"UnionPay's {name} is not set")
    return load_certificate(value)


def _config(
    settings: UnionPaySettings,
    merchant_id: str,
    key: rsa.RSAPrivateKey,
    certificate_id: str,
    root: x509.Certificate,
    middle: x509.Certificate,
) -> UnionPayConfig:
    return UnionPayConfig(
        merchant_id=merchant_id,
        signing_key=key,
        cert_id=certificate_id,
        root_certificate=root,
        middle_certificate=middle,
        check_certificate_name=settings.check_certificate_name,
        front_return_url=settings.front_return_url,
        timeout=settings.timeout_seconds,
        notification_max_age=timedelta(seconds=settings.notification_max_age_seconds),
        notification_clock_skew=timedelta(seconds=settings.notification_clock_skew_seconds),
    )


def _with_gateways(config: UnionPayConfig, gateway: str, file_gateway: str) -> UnionPayConfig:
    return replace(config, gateway=gateway.rstrip("/"), file_gateway=file_gateway)


def _value_or_file(value: str, path: Path | None) -> str:
    return path.read_text(encoding="utf-8") if path is not None else value
