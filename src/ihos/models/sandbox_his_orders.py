"""The sandbox HIS's exam and lab orders (检查检验申请): what doctors order in the fake HIS, read by ihos's
order feed to fill the exam and lab queues."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin, TimestampMixin
from ihos.security.fields import EncryptedString


class SandboxHisOrder(IdMixin, TimestampMixin, Base):
    """An order in the sandbox HIS: ``active`` until the doctor withdraws it (``cancelled``).

    ``changed_at`` moves on every change; the feed answers the orders changed since a time.
    """

    __tablename__ = "sandbox_his_orders"

    his_order_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # exam, lab
    patient_id_number: Mapped[str] = mapped_column(EncryptedString())
    patient_index: Mapped[str] = mapped_column(String(64), index=True)
    patient_name: Mapped[str] = mapped_column(EncryptedString())
    station_code: Mapped[str] = mapped_column(String(50))
    station_name: Mapped[str] = mapped_column(String(50))
    item_name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(60))
    doctor: Mapped[str] = mapped_column(String(60))
    ordered_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(10))  # active, cancelled
    changed_at: Mapped[datetime] = mapped_column(index=True)
