"""UnionPay online payment (银联全渠道支付, 5.1.0): ``unionpay_channel(session, settings)`` gives the channel.

``live`` calls UnionPay's gateway; ``sandbox`` (the default) runs the same channel, signatures and
certificate checks included, against an in-process fake UnionPay (``get_unionpay_sandbox``;
``simulate_payment`` plays the cardholder paying).

Only the settings are imported eagerly: ``ihos.integrations.settings`` may import
``ihos.integrations.payment.unionpay.settings`` while ``ihos.config`` is still loading, and the rest of
the package needs the configuration. Everything else loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ihos.integrations.payment.unionpay.settings import UnionPaySandboxSettings, UnionPaySettings

if TYPE_CHECKING:
    from ihos.integrations.payment.unionpay.client import UnionPayChannel, UnionPayConfig
    from ihos.integrations.payment.unionpay.factory import (
        get_unionpay_sandbox,
        simulate_payment,
        unionpay_channel,
    )
    from ihos.integrations.payment.unionpay.sandbox import (
        SandboxPayment,
        SandboxPaymentError,
        UnionPaySandbox,
        UnionPaySandboxControl,
        control,
    )
    from ihos.integrations.payment.unionpay.signing import UnionPayKeyError
    from ihos.integrations.payment.unionpay.statement import (
        StatementFormatError,
        UnionPayStatementLine,
        parse_zip,
    )

__all__ = [
    "SandboxPayment",
    "SandboxPaymentError",
    "StatementFormatError",
    "UnionPayChannel",
    "UnionPayConfig",
    "UnionPayKeyError",
    "UnionPaySandbox",
    "UnionPaySandboxControl",
    "UnionPaySandboxSettings",
    "UnionPaySettings",
    "UnionPayStatementLine",
    "control",
    "get_unionpay_sandbox",
    "parse_zip",
    "simulate_payment",
    "unionpay_channel",
]

_HOMES = {
    "UnionPayChannel": "ihos.integrations.payment.unionpay.client",
    "UnionPayConfig": "ihos.integrations.payment.unionpay.client",
    "SandboxPayment": "ihos.integrations.payment.unionpay.sandbox",
    "SandboxPaymentError": "ihos.integrations.payment.unionpay.sandbox",
    "UnionPaySandbox": "ihos.integrations.payment.unionpay.sandbox",
    "UnionPaySandboxControl": "ihos.integrations.payment.unionpay.sandbox",
    "control": "ihos.integrations.payment.unionpay.sandbox",
    "UnionPayKeyError": "ihos.integrations.payment.unionpay.signing",
    "StatementFormatError": "ihos.integrations.payment.unionpay.statement",
    "UnionPayStatementLine": "ihos.integrations.payment.unionpay.statement",
    "parse_zip": "ihos.integrations.payment.unionpay.statement",
    "get_unionpay_sandbox": "ihos.integrations.payment.unionpay.factory",
    "simulate_payment": "ihos.integrations.payment.unionpay.factory",
    "unionpay_channel": "ihos.integrations.payment.unionpay.factory",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
