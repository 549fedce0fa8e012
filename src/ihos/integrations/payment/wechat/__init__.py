"""WeChat Pay API v3 (微信支付): ``wechat_pay_channel(session, settings)`` gives the configured
``PaymentChannel``.

``live`` calls WeChat Pay with the merchant's keys; ``sandbox`` (the default) runs the same SDK,
signatures and all, against an in-process fake WeChat Pay whose patient pays with
``simulate_payment(session, order_number)``. See docs/operator/payments-wechat.md.

The names below are loaded on first use, so that ``ihos.integrations.settings`` (imported by
``ihos.config`` at start-up) can import ``ihos.integrations.payment.wechat.settings`` without
pulling in the SDK, the models and the other integrations, which import the settings in turn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ihos.integrations.payment.wechat.channel import (
        DatabaseNonceStore,
        NonceStore,
        WeChatPayChannel,
        purge_expired_nonces,
    )
    from ihos.integrations.payment.wechat.factory import (
        merchant_config,
        simulate_payment,
        wechat_pay_channel,
        wechat_pay_sandbox,
    )
    from ihos.integrations.payment.wechat.sandbox import (
        SandboxPayment,
        SandboxRefused,
        WeChatPaySandbox,
        WeChatPaySandboxControl,
        control,
    )
    from ihos.integrations.payment.wechat.settings import WeChatPaySandboxSettings, WeChatPaySettings
    from ihos.integrations.payment.wechat.wire import WeChatPayKeyError

_HOMES = {
    "DatabaseNonceStore": "channel",
    "NonceStore": "channel",
    "WeChatPayChannel": "channel",
    "purge_expired_nonces": "channel",
    "merchant_config": "factory",
    "simulate_payment": "factory",
    "wechat_pay_channel": "factory",
    "wechat_pay_sandbox": "factory",
    "SandboxPayment": "sandbox",
    "SandboxRefused": "sandbox",
    "WeChatPaySandbox": "sandbox",
    "WeChatPaySandboxControl": "sandbox",
    "control": "sandbox",
    "WeChatPaySandboxSettings": "settings",
    "WeChatPaySettings": "settings",
    "WeChatPayKeyError": "wire",
}

__all__ = [
    "DatabaseNonceStore",
    "NonceStore",
    "SandboxPayment",
    "SandboxRefused",
    "WeChatPayChannel",
    "WeChatPayKeyError",
    "WeChatPaySandbox",
    "WeChatPaySandboxControl",
    "WeChatPaySandboxSettings",
    "WeChatPaySettings",
    "control",
    "merchant_config",
    "purge_expired_nonces",
    "simulate_payment",
    "wechat_pay_channel",
    "wechat_pay_sandbox",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
