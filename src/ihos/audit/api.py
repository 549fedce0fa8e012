"""The operation log for the audit admin: search and verify the chain. Nothing here changes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, Field

from ihos.audit import repository, service
from ihos.auth.caller import Caller
from ihos.auth.deps import requires
from ihos.auth.permissions import Permission
from ihos.kit.http import DbSession
from ihos.kit.schema import Page, Schema

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[Caller, Depends(requires(Permission.AUDIT_READ))]


class AuditEntryOut(Schema):
    id: uuid.UUID
    occurred_at: datetime
    actor_kind: str
    actor_id: uuid.UUID | None
    actor_label: str | None
    actor_roles: str | None
    action: str
    target_kind: str | None
    target_id: str | None
    result: str
    client_address: str | None
    details: dict[str, Any]
    chain_seq: int | None = Field(description="封存序号；为空表示尚未封存")


class ChainReportOut(Schema):
    is_intact: bool
    checked: int
    unsealed: int
    first_broken_seq: int | None
    problem: str | None


@router.get("/entries", response_model=Page[AuditEntryOut], summary="查询操作日志")
async def search_entries(
    session: DbSession,
    caller: Auditor,
    actor_id: uuid.UUID | None = None,
    actor_kind: Annotated[str | None, Query(max_length=12)] = None,
    action: Annotated[str | None, Query(max_length=60, description="以“.”结尾按前缀查询，如 staff.")] = None,
    target_kind: Annotated[str | None, Query(max_length=40)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    result: Annotated[str | None, Query(pattern="^(success|denied|failure)$")] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[AuditEntryOut]:
    query = service.AuditQuery(
        actor_id=actor_id,
        actor_kind=actor_kind,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        result=result,
        since=since,
        until=until,
    )
    rows, total = await repository.search(session, query, offset=(page - 1) * page_size, limit=page_size)
    return Page(
        items=[AuditEntryOut.model_validate(r) for r in rows], total=total, page=page, page_size=page_size
    )


@router.post("/verify", response_model=ChainReportOut, summary="校验日志哈希链（SM3）")
async def verify_chain(session: DbSession, caller: Auditor) -> ChainReportOut:
    report = await service.verify(session)
    await service.record(
        session,
        caller,
        "audit.verify",
        result="success" if report.is_intact else "failure",
        details={"checked": report.checked, "first_broken_seq": report.first_broken_seq},
    )
    return ChainReportOut(
        is_intact=report.is_intact,
        checked=report.checked,
        unsealed=report.unsealed,
        first_broken_seq=report.first_broken_seq,
        problem=report.problem,
    )
