"""Alipay sign-in (支付宝授权登录): ``get_alipay_login(session).exchange_auth_code(code)``.

``live`` calls Alipay's OpenAPI gateway; ``sandbox`` (the default) runs the same client, signatures
and all, against an in-process fake gateway whose codes come from
``get_alipay_sandbox(session).issue_auth_code(user_hint)``.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings
from ihos.integrations.alipay.base import AlipayLogin, AlipayLoginError, AlipayUser
from ihos.integrations.alipay.client import AlipayConfig, AlipayLoginClient
from ihos.integrations.alipay.sandbox import SANDBOX_APP_ID, SANDBOX_GATEWAY, AlipaySandbox, generated_key
from ihos.integrations.alipay.signing import AlipayKeyError, load_private_key, load_public_key
from ihos.integrations.settings import AlipaySettings

__all__ = [
    "AlipayKeyError",
    "AlipayLogin",
    "AlipayLoginError",
    "AlipaySandbox",
    "AlipayUser",
    "get_alipay_login",
    "get_alipay_sandbox",
    "issue_sandbox_auth_code",
]


def get_alipay_login(session: AsyncSession, *, settings: AlipaySettings | None = None) -> AlipayLogin:
    """The sign-in exchange for one use; only the sandbox uses ``session`` (its issued codes).

    Raises ``AlipayKeyError`` when a configured key cannot be read."""
    settings = settings or get_settings().integrations.alipay
    if settings.provider == "live":
        config = AlipayConfig(
            app_id=settings.app_id,
            app_private_key=app_private_key(settings),
            alipay_public_key=alipay_public_key(settings),
            gateway=settings.gateway,
        )
        return AlipayLoginClient(config, timeout=settings.timeout_seconds)
    sandbox = get_alipay_sandbox(session, settings=settings)
    config = AlipayConfig(
        app_id=sandbox.app_id,
        app_private_key=app_private_key(settings),
        alipay_public_key=sandbox.alipay_private_key.public_key(),
        gateway=SANDBOX_GATEWAY,
    )
    return AlipayLoginClient(config, timeout=settings.timeout_seconds, transport=sandbox.transport())


def get_alipay_sandbox(session: AsyncSession, *, settings: AlipaySettings | None = None) -> AlipaySandbox:
    """The fake Alipay gateway, for the endpoint that plays the user's consent in the H5 demo and
    for tests. Available whatever the provider: callers decide whether to expose it (demo mode only)."""
    settings = settings or get_settings().integrations.alipay
    app_public_key = (
        load_public_key(settings.app_public_key)
        if settings.app_public_key
        else app_private_key(settings).public_key()
    )
    return AlipaySandbox(
        session,
        settings=settings.sandbox,
        app_id=settings.app_id or SANDBOX_APP_ID,
        app_public_key=app_public_key,
        alipay_private_key=generated_key("alipay"),
    )


async def issue_sandbox_auth_code(
    session: AsyncSession, user_hint: str | None = None, *, settings: AlipaySettings | None = None
) -> str:
    """The sandbox's ``my.getAuthCode``: an auth_code for the sandbox user named by ``user_hint``."""
    return await get_alipay_sandbox(session, settings=settings).issue_auth_code(user_hint)


def app_private_key(settings: AlipaySettings) -> rsa.RSAPrivateKey:
    """The configured app private key; in sandbox mode without one, the process's generated key."""
    text = _value_or_file(settings.app_private_key.get_secret_value(), settings.app_private_key_path)
    if text:
        return load_private_key(text)
    if settings.provider == "live":
        raise AlipayKeyError("IHOS_INTEGRATIONS__ALIPAY__APP_PRIVATE_KEY is not set")
    return generated_key("app")


def alipay_public_key(settings: AlipaySettings) -> rsa.RSAPublicKey:
    text = _value_or_file(settings.alipay_public_key, settings.alipay_public_key_path)
    if not text:
        raise AlipayKeyError("IHOS_INTEGRATIONS__ALIPAY__ALIPAY_PUBLIC_KEY is not set")
    return load_public_key(text)


def _value_or_file(value: str, path: Path | None) -> str:
    return path.read_text(encoding="utf-8") if path is not None else value
