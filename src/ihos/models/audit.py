"""The operation log (AD-08): append-only and hash-chained with SM3.

Entries are written in the transaction of the action they record, without a hash, so that busy
transactions never queue on one chain lock. A single sealer (``ihos.audit.service.seal``) then
chains committed entries in order: ``entry_hash = SM3(prev_hash | canonical entry)``. Database
triggers refuse deleting an entry and changing a sealed one; ``ihos audit verify`` finds the first
broken link if either is done anyway.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ihos.models.base import Base, IdMixin


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_entries"

    occurred_at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[str] = mapped_column(String(12))  # anonymous, patient, staff, system, cli
    actor_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_label: Mapped[str | None] = mapped_column(String(80))  # masked display name
    actor_roles: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_kind: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64), index=True)
    result: Mapped[str] = mapped_column(String(12))  # success, denied, failure
    client_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The last sealed link; one row. The sealer updates it with a conditional UPDATE."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
