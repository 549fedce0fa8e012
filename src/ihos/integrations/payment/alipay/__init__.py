"""Alipay payment (支付宝支付): ``alipay_channel(session, settings)`` gives the channel.

``live`` calls Alipay's OpenAPI gateway through python-alipay-sdk; ``sandbox`` (the default) runs the
same channel, SDK and signatures included, against an in-process fake Alipay
(``get_alipay_pay_sandbox``; ``simulate_payment`` plays the patient paying).

Only the settings are imported eagerly: ``ihos.integrations.settings`` may import
``ihos.integrations.payment.alipay.settings`` while ``ihos.config`` is still loading, and the rest of the
package needs the configuration. Everything else loads on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ihos.integrations.payment.alipay.settings import AlipayPaySandboxSettings, AlipayPaySettings

if TYPE_CHECKING:
    from ihos.integrations.alipay.signing import AlipayKeyError
    from ihos.integrations.payment.alipay.client import AlipayPayChannel, AlipayPayConfig
    from ihos.integrations.payment.alipay.factory import (
        alipay_channel,
        get_alipay_pay_sandbox,
        simulate_payment,
    )
    from ihos.integrations.payment.alipay.sandbox import (
        AlipayPaySandbox,
        AlipayPaySandboxControl,
        SandboxPayment,
        SandboxPaymentError,
        control,
    )
    from ihos.integrations.payment.alipay.statement import (
        AlipayStatementLine,
        StatementFormatError,
        parse_bill,
    )

__all__ = [
    "AlipayKeyError",
    "AlipayPayChannel",
    "AlipayPayConfig",
    "AlipayPaySandbox",
    "AlipayPaySandboxControl",
    "AlipayPaySandboxSettings",
    "AlipayPaySettings",
    "AlipayStatementLine",
    "SandboxPayment",
    "SandboxPaymentError",
    "StatementFormatError",
    "alipay_channel",
    "control",
    "get_alipay_pay_sandbox",
    "parse_bill",
    "simulate_payment",
]

_HOMES = {
    "AlipayKeyError": "ihos.integrations.alipay.signing",
    "AlipayPayChannel": "ihos.integrations.payment.alipay.client",
    "AlipayPayConfig": "ihos.integrations.payment.alipay.client",
    "AlipayPaySandbox": "ihos.integrations.payment.alipay.sandbox",
    "AlipayPaySandboxControl": "ihos.integrations.payment.alipay.sandbox",
    "SandboxPayment": "ihos.integrations.payment.alipay.sandbox",
    "SandboxPaymentError": "ihos.integrations.payment.alipay.sandbox",
    "control": "ihos.integrations.payment.alipay.sandbox",
    "AlipayStatementLine": "ihos.integrations.payment.alipay.statement",
    "StatementFormatError": "ihos.integrations.payment.alipay.statement",
    "parse_bill": "ihos.integrations.payment.alipay.statement",
    "alipay_channel": "ihos.integrations.payment.alipay.factory",
    "get_alipay_pay_sandbox": "ihos.integrations.payment.alipay.factory",
    "simulate_payment": "ihos.integrations.payment.alipay.factory",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
