"""Wiring of the Alipay payment channel: the live client or the sandbox, from ``AlipayPaySettings``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.alipay.sandbox import SANDBOX_APP_ID, SANDBOX_GATEWAY, generated_key
from ihos.integrations.alipay.signing import AlipayKeyError, load_private_key, load_public_key
from ihos.integrations.payment.alipay.client import AlipayPayChannel, AlipayPayConfig
from ihos.integrations.payment.alipay.sandbox import AlipayPaySandbox, SandboxPayment
from ihos.integrations.payment.alipay.settings import AlipayPaySettings


def alipay_channel(session: AsyncSession, settings: AlipayPaySettings | None = None) -> AlipayPayChannel:
    """The channel for one use, in the caller's transaction (the replay guard and the sandbox write to it).

    Raises ``AlipayKeyError`` when a configured key cannot be read or a live key is missing."""
    settings = settings or AlipayPaySettings()
    if settings.provider == "live":
        if not settings.app_id:
            raise AlipayKeyError("the Alipay payment app_id is not set")
        return AlipayPayChannel(
            session, _config(settings, settings.app_id, alipay_public_key(settings), None)
        )
    sandbox = get_alipay_pay_sandbox(session, settings)
    config = _config(settings, sandbox.app_id, sandbox.alipay_private_key.public_key(), SANDBOX_GATEWAY)
    return AlipayPayChannel(
        session, config, transport=sandbox.transport(), on_cashier=sandbox.register_cashier
    )


def get_alipay_pay_sandbox(
    session: AsyncSession, settings: AlipayPaySettings | None = None
) -> AlipayPaySandbox:
    """The fake Alipay, whatever the provider: callers decide whether to expose it (demo mode only)."""
    settings = settings or AlipayPaySettings()
    return AlipayPaySandbox(
        session,
        settings=settings.sandbox,
        app_id=settings.app_id or SANDBOX_APP_ID,
        app_public_key=app_private_key(settings).public_key(),
        alipay_private_key=generated_key("alipay"),
    )


async def simulate_payment(
    session: AsyncSession, order_number: str, *, settings: AlipayPaySettings | None = None
) -> SandboxPayment:
    """The patient pays ``order_number`` in the sandbox; the notification follows after commit."""
    return await get_alipay_pay_sandbox(session, settings).simulate_payment(order_number)


def app_private_key(settings: AlipayPaySettings) -> rsa.RSAPrivateKey:
    """The configured app private key; in sandbox mode without one, the process's generated key."""
    text = _value_or_file(settings.app_private_key.get_secret_value(), settings.app_private_key_path)
    if text:
        return load_private_key(text)
    if settings.provider == "live":
        raise AlipayKeyError("the Alipay payment app private key is not set")
    return generated_key("app")


def alipay_public_key(settings: AlipayPaySettings) -> rsa.RSAPublicKey:
    text = _value_or_file(settings.alipay_public_key, settings.alipay_public_key_path)
    if not text:
        raise AlipayKeyError("Alipay's public key (alipay_public_key) is not set")
    return load_public_key(text)


def _config(
    settings: AlipayPaySettings, app_id: str, alipay_key: rsa.RSAPublicKey, gateway: str | None
) -> AlipayPayConfig:
    return AlipayPayConfig(
        app_id=app_id,
        app_private_key=app_private_key(settings),
        alipay_public_key=alipay_key,
        gateway=gateway or settings.gateway,
        timeout=settings.timeout_seconds,
        h5_return_url=settings.h5_return_url,
        h5_quit_url=settings.h5_quit_url,
        notification_max_age=timedelta(seconds=settings.notification_max_age_seconds),
        notification_clock_skew=timedelta(seconds=settings.notification_clock_skew_seconds),
    )


def _value_or_file(value: str, path: Path | None) -> str:
    return path.read_text(encoding="utf-8") if path is not None else value
