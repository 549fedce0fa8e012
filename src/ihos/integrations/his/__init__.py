"""The hospital information system (HIS) for payments: ``his_payments(session, settings)`` gives the
configured ``HisPayments`` (write-backs, charge status, clinic bills); ``his_orders(session, settings)``
the configured ``HisOrders`` (the exam and lab orders that fill the station queues).

``live`` talks to the HIS over ihos's generic HIS interface (``wire`` signing, ``mapping`` bodies);
``sandbox`` (the default) runs the same client against an in-process fake HIS with its own tables
(``create_clinic_bill`` and ``create_exam_order`` play the doctor). See
docs/operator/payments-insurance-his.md.

Importing this package (or its ``settings``) loads no database model: ``ihos.integrations.settings``
may import ``HisSettings`` at start-up. The sandbox is imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.integrations.his.base import (
    ChargeWriteBack,
    ClinicBill,
    ClinicBillLine,
    HisError,
    HisOrder,
    HisOrders,
    HisPayments,
    RefundWriteBack,
    WriteBackReceipt,
)
from ihos.integrations.his.client import HisConfig, HttpHisPayments
from ihos.integrations.his.settings import HisSandboxSettings, HisSettings

if TYPE_CHECKING:
    from ihos.integrations.his.sandbox import (
        cancel_clinic_bill,
        cancel_exam_order,
        create_clinic_bill,
        create_exam_order,
    )

__all__ = [
    "ChargeWriteBack",
    "ClinicBill",
    "ClinicBillLine",
    "HisError",
    "HisOrder",
    "HisOrders",
    "HisPayments",
    "HisSandboxSettings",
    "HisSettings",
    "RefundWriteBack",
    "WriteBackReceipt",
    "cancel_clinic_bill",
    "cancel_exam_order",
    "create_clinic_bill",
    "create_exam_order",
    "his_orders",
    "his_payments",
]

_SANDBOX_NAMES = frozenset(
    {"cancel_clinic_bill", "cancel_exam_order", "create_clinic_bill", "create_exam_order"}
)


def __getattr__(name: str) -> Any:
    if name in _SANDBOX_NAMES:
        return getattr(import_module("ihos.integrations.his.sandbox"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def his_payments(session: AsyncSession, settings: HisSettings) -> HisPayments:
    """The configured HIS. ``session``: where the sandbox HIS keeps its tables (the caller's transaction)."""
    return _client(session, settings)


def his_orders(session: AsyncSession, settings: HisSettings) -> HisOrders:
    """The configured HIS, for its exam and lab orders: the same client and sandbox as the payments."""
    return _client(session, settings)


def _client(session: AsyncSession, settings: HisSettings) -> HttpHisPayments:
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
            names = ", ".join(f"IHOS_INTEGRATIONS__HIS__{name}" for name in missing)
            raise ValueError(f"the live HIS needs {names}")
        config = HisConfig(
            endpoint=settings.endpoint, app_id=settings.app_id, secret=settings.secret.get_secret_value()
        )
        return HttpHisPayments(config, timeout=settings.timeout_seconds)
    from ihos.integrations.his.sandbox import HisSandbox

    sandbox = HisSandbox(session, settings=settings.sandbox)
    return HttpHisPayments(sandbox.config, timeout=settings.timeout_seconds, transport=sandbox.transport())
