"""Recording, sealing and verifying the operation log (AD-08, MLPS level 3 audit).

``record`` adds an entry inside the caller's transaction, so a rolled-back action leaves no entry;
a refusal is recorded through ``denied``/``failed`` callbacks that the request runs after its
rollback (see ``ihos.errors``). ``seal`` chains committed entries; ``verify`` walks the chain.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.errors import Recorder
from ihos.kit.ids import uuid7
from ihos.kit.prepared import Prepared
from ihos.kit.time import now
from ihos.models.audit import AuditChainHead, AuditEntry
from ihos.security.gm import sm3

if TYPE_CHECKING:
    from ihos.auth.caller import Caller

GENESIS_HASH = "0" * 64
SEAL_BATCH = 500


async def record(
    session: AsyncSession,
    caller: Caller,
    action: str,
    *,
    target_kind: str | None = None,
    target_id: object | None = None,
    result: str = "success",
    details: dict[str, Any] | None = None,
) -> None:
    """Add an entry for ``action`` by ``caller``. Details must already be masked.

    One INSERT statement, not the ORM's unit of work: every state change writes one, including on
    the busiest paths (the booking rush).
    """
    await insert_entry(
        session,
        entry_values(
            caller, action, target_kind=target_kind, target_id=target_id, result=result, details=details
        ),
    )


async def insert_entry(session: AsyncSession, values: dict[str, Any]) -> None:
    """Write an entry made by ``entry_values``."""
    await _INSERT_ENTRY.rows(session, **values)


def entry_values(
    caller: Caller,
    action: str,
    *,
    target_kind: str | None = None,
    target_id: object | None = None,
    result: str = "success",
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An entry's columns, for ``record`` or for a statement that writes the entry together with the
    change it records (the booking rush's hold)."""
    return {
        "id": uuid7(),
        "occurred_at": now(),
        "actor_kind": caller.kind,
        "actor_id": caller.id,
        "actor_label": caller.label,
        "actor_roles": ",".join(sorted(caller.roles)) or None,
        "action": action,
        "target_kind": target_kind,
        "target_id": str(target_id) if target_id is not None else None,
        "result": result,
        "client_address": caller.client_address,
        "details": details or {},
    }


ENTRY_FIELDS = (
    "id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "actor_roles",
    "action",
    "target_kind",
    "target_id",
    "result",
    "client_address",
    "details",
)
_INSERT_ENTRY = Prepared(
    insert(cast(Table, AuditEntry.__table__)).values({key: bindparam(key) for key in ENTRY_FIELDS})
)


def recorder(caller: Caller, action: str, *, result: str, **kwargs: Any) -> Recorder:
    """A callback for ``IhosError(record=…)``: records the refusal after the request rolled back."""

    async def run(session: AsyncSession) -> None:
        await record(session, caller, action, result=result, **kwargs)

    return run


def denied(caller: Caller, action: str, **kwargs: Any) -> Recorder:
    return recorder(caller, action, result="denied", **kwargs)


def failed(caller: Caller, action: str, **kwargs: Any) -> Recorder:
    return recorder(caller, action, result="failure", **kwargs)


def _canonical(entry: AuditEntry, seq: int) -> bytes:
    fields = {
        "seq": seq,
        "id": str(entry.id),
        "occurred_at": entry.occurred_at.isoformat(timespec="microseconds"),
        "actor_kind": entry.actor_kind,
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_label": entry.actor_label,
        "actor_roles": entry.actor_roles,
        "action": entry.action,
        "target_kind": entry.target_kind,
        "target_id": entry.target_id,
        "result": entry.result,
        "client_address": entry.client_address,
        "details": entry.details,
    }
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def link_hash(prev_hash: str, entry: AuditEntry, seq: int) -> str:
    return sm3(prev_hash.encode() + b"|" + _canonical(entry, seq)).hex()


async def _chain_head(session: AsyncSession) -> AuditChainHead:
    head = await session.get(AuditChainHead, 1)
    if head is None:
        head = AuditChainHead(id=1, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
        await session.flush()
    return head


async def seal(session: AsyncSession) -> int:
    """Chain the committed, unsealed entries in time order; returns how many were sealed.

    The head row is advanced with a conditional UPDATE on the sequence it started from, so two
    sealers running at once cannot both extend the chain: the loser's transaction is refused.
    """
    head = await _chain_head(session)
    start_seq, prev_hash = head.last_seq, head.last_hash
    entries = (
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.chain_seq.is_(None))
            .order_by(AuditEntry.occurred_at, AuditEntry.id)
            .limit(SEAL_BATCH)
        )
    ).all()
    if not entries:
        return 0
    seq = start_seq
    for entry in entries:
        seq += 1
        entry.chain_seq = seq
        entry.prev_hash = prev_hash
        entry.entry_hash = prev_hash = link_hash(prev_hash, entry, seq)
    await session.flush()
    moved = await session.execute(
        update(AuditChainHead)
        .where(AuditChainHead.id == 1, AuditChainHead.last_seq == start_seq)
        .values(last_seq=seq, last_hash=prev_hash)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise RuntimeError("another sealer extended the audit chain; this batch is discarded")
    await session.refresh(head)
    return len(entries)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    unsealed: int
    first_broken_seq: int | None
    problem: str | None

    @property
    def is_intact(self) -> bool:
        return self.first_broken_seq is None


async def verify(session: AsyncSession) -> ChainReport:
    """Walk the chain from the start and report the first link that does not hold.

    Detects an edited entry (its hash no longer matches), a deleted entry (a gap in the sequence or a
    ``prev_hash`` that does not match), and a truncated tail (the head points past the last entry).
    """
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    result = await session.stream_scalars(
        select(AuditEntry).where(AuditEntry.chain_seq.is_not(None)).order_by(AuditEntry.chain_seq)
    )
    async for entry in result:
        seq = entry.chain_seq or 0
        if seq != expected_seq:
            return ChainReport(checked, 0, expected_seq, f"第 {expected_seq} 条记录缺失")
        if entry.prev_hash != expected_prev:
            return ChainReport(checked, 0, seq, f"第 {seq} 条记录与前一条不衔接")
        if entry.entry_hash != link_hash(expected_prev, entry, seq):
            return ChainReport(checked, 0, seq, f"第 {seq} 条记录的内容被修改")
        expected_prev, expected_seq, checked = entry.entry_hash, seq + 1, checked + 1
    head = await session.get(AuditChainHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != expected_prev):
        return ChainReport(checked, 0, checked + 1, f"链尾缺失：应有 {head.last_seq} 条已封存记录")
    unsealed = await session.scalar(select(func.count()).where(AuditEntry.chain_seq.is_(None))) or 0
    return ChainReport(checked, unsealed, None, None)


@dataclass(frozen=True)
class AuditQuery:
    actor_id: uuid.UUID | None = None
    actor_kind: str | None = None
    action: str | None = None
    target_kind: str | None = None
    target_id: str | None = None
    result: str | None = None
    since: datetime | None = None
    until: datetime | None = None
