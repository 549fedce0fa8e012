"""The factories: the configured channel, the sandbox, and the sandbox patient's payment."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.payment.base import PaymentChannel
from ihos.integrations.payment.wechat import wire
from ihos.integrations.payment.wechat.channel import (
    DatabaseNonceStore,
    LiveWeChatPay,
    MerchantConfig,
    NonceStore,
    PlatformKey,
    WeChatPayChannel,
)
from ihos.integrations.payment.wechat.sandbox import SandboxPayment, WeChatPaySandbox, sandbox_merchant
from ihos.integrations.payment.wechat.settings import WeChatPaySettings
from ihos.integrations.payment.wechat.wire import WeChatPayKeyError

_ENV = "IHOS_INTEGRATIONS__WECHAT_PAY__"


def wechat_pay_channel(
    session: AsyncSession, settings: WeChatPaySettings, *, nonces: NonceStore | None = None
) -> PaymentChannel:
    """The channel for one unit of work. ``session`` keeps the notification nonces (unless
    ``nonces`` is given) and, in sandbox mode, the sandbox's ledger and its notifications.

    Raises ``WeChatPayKeyError`` when a configured key cannot be read or a live setting is missing."""
    nonces = nonces or DatabaseNonceStore(session)
    if settings.provider == "live":
        platform = PlatformKey(
            key_id=_required(settings.wechatpay_public_key_id, "WECHATPAY_PUBLIC_KEY_ID"),
            public_key=wire.load_public_key(
                _required(
                    _value_or_file(settings.wechatpay_public_key, settings.wechatpay_public_key_path),
                    "WECHATPAY_PUBLIC_KEY",
                )
            ),
        )
        counterpart = LiveWeChatPay(platform=platform, gateway=settings.endpoint)
        return WeChatPayChannel(merchant_config(settings), counterpart=counterpart, nonces=nonces)
    sandbox = wechat_pay_sandbox(session, settings)
    return WeChatPayChannel(sandbox.merchant, counterpart=sandbox, nonces=nonces)


def wechat_pay_sandbox(session: AsyncSession, settings: WeChatPaySettings | None = None) -> WeChatPaySandbox:
    """The fake WeChat Pay, for the demo's "pay" button and for tests. Available whatever the
    provider: callers decide whether to expose it (demo mode only)."""
    settings = settings or WeChatPaySettings()
    return WeChatPaySandbox(
        session, settings=settings.sandbox, merchant=merchant_config(settings, sandbox=True)
    )


async def simulate_payment(
    session: AsyncSession,
    order_number: str,
    *,
    settings: WeChatPaySettings | None = None,
    amount_fen: int | None = None,
) -> SandboxPayment:
    """The patient paid ``order_number`` in WeChat (sandbox): the order is SUCCESS in the sandbox's
    ledger and a TRANSACTION.SUCCESS notification is queued to its notify URL. Raises
    ``SandboxRefused`` for an unknown, paid, closed or expired order."""
    return await wechat_pay_sandbox(session, settings).simulate_payment(order_number, amount_fen=amount_fen)


def merchant_config(settings: WeChatPaySettings, *, sandbox: bool | None = None) -> MerchantConfig:
    """The merchant's identity and keys; in sandbox mode, the sandbox's own for anything unset."""
    text = _value_or_file(
        settings.merchant_private_key.get_secret_value(), settings.merchant_private_key_path
    )
    private_key = wire.load_private_key(text) if text else None
    apiv3_key = settings.apiv3_key.get_secret_value()
    if sandbox is None:
        sandbox = settings.provider == "sandbox"
    if sandbox:
        return sandbox_merchant(
            mchid=settings.mchid,
            appid=settings.appid,
            private_key=private_key,
            certificate_serial=settings.merchant_certificate_serial,
            apiv3_key=apiv3_key,
            timeout=settings.timeout_seconds,
        )
    if private_key is None:
        raise WeChatPayKeyError(f"{_ENV}MERCHANT_PRIVATE_KEY is not set")
    return MerchantConfig(
        mchid=_required(settings.mchid, "MCHID"),
        appid=_required(settings.appid, "APPID"),
        private_key=private_key,
        certificate_serial=_required(settings.merchant_certificate_serial, "MERCHANT_CERTIFICATE_SERIAL"),
        apiv3_key=wire.check_apiv3_key(_required(apiv3_key, "APIV3_KEY")),
        timeout=settings.timeout_seconds,
    )


def _required(value: str, name: str) -> str:
    if not value.strip():
        raise WeChatPayKeyError(f"{_ENV}{name} is not set")
    return value.strip()


def _value_or_file(value: str, path: Path | None) -> str:
    return path.read_text(encoding="utf-8") if path is not None else value
