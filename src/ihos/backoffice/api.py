"""System admin's desk (AD-08): dictionaries, rules, background-work failures, system clients; and, in
demo mode, the sandboxes' inboxes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from ihos import __version__
from ihos.audit import service as audit
from ihos.auth import system_clients
from ihos.auth.caller import Caller
from ihos.auth.deps import requires
from ihos.auth.permissions import Permission
from ihos.auth.system_clients import SystemCaller
from ihos.backoffice import dictionaries, rules
from ihos.config import get_settings
from ihos.jobs import FailedJob, discard_job, list_failed_jobs, retry_job
from ihos.kit.http import DbSession
from ihos.kit.schema import Page, Payload, Schema
from ihos.kit.time import now
from ihos.organization.service import first_hospital

router = APIRouter(tags=["system"])

DictionaryManager = Annotated[Caller, Depends(requires(Permission.DICTIONARY_MANAGE))]
RuleManager = Annotated[Caller, Depends(requires(Permission.RULE_MANAGE))]
JobManager = Annotated[Caller, Depends(requires(Permission.JOB_MANAGE))]
ClientManager = Annotated[Caller, Depends(requires(Permission.SYSTEM_CLIENT_MANAGE))]


class DictionaryOut(Schema):
    code: str
    name: str


class EntryOut(Schema):
    id: uuid.UUID
    dictionary: str
    code: str
    label: str
    sort_order: int
    is_active: bool


class EntryIn(Payload):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    label: str = Field(min_length=1, max_length=100)
    sort_order: int = Field(default=0, ge=0, le=10_000)


class EntryUpdate(Payload):
    label: str | None = Field(default=None, min_length=1, max_length=100)
    sort_order: int | None = Field(default=None, ge=0, le=10_000)
    is_active: bool | None = None


class RuleOut(Schema):
    key: str
    label: str
    description: str
    value: int
    default: int
    minimum: int
    maximum: int
    unit: str


class RuleValue(Payload):
    value: int


class SystemClientIn(Payload):
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["his", "kiosk", "other"]
    campus_id: uuid.UUID | None = None


class SystemClientOut(Schema):
    id: uuid.UUID
    name: str
    kind: str
    key_id: str
    campus_id: uuid.UUID | None
    is_active: bool
    last_used_at: datetime | None


class SystemClientIssued(Schema):
    client: SystemClientOut
    secret: str = Field(description="仅显示一次，请妥善交给对接方")


class SystemInfo(Schema):
    hospital_name: str | None
    version: str
    demo: bool = Field(description="演示模式：显示沙箱收件箱等演示辅助")


class Ping(Schema):
    client: str
    kind: str
    server_time: datetime


# dictionaries --------------------------------------------------------------------------------


@router.get("/dictionaries", response_model=list[DictionaryOut], summary="字典列表")
async def list_dictionaries() -> list[DictionaryOut]:
    return [DictionaryOut(code=code, name=name) for code, name in dictionaries.DICTIONARIES.items()]


@router.get(
    "/dictionaries/{dictionary}", response_model=list[EntryOut], summary="字典项（任何人可读，供下拉选择）"
)
async def dictionary_entries(
    dictionary: str, session: DbSession, include_inactive: bool = False
) -> list[EntryOut]:
    if dictionary not in dictionaries.DICTIONARIES:
        raise dictionaries.DictionaryNotFound()
    rows = await dictionaries.entries(session, dictionary, include_inactive=include_inactive)
    return [EntryOut.model_validate(row) for row in rows]


@router.post("/dictionaries/{dictionary}", status_code=201, response_model=EntryOut, summary="新增字典项")
async def add_entry(
    dictionary: str, body: EntryIn, session: DbSession, caller: DictionaryManager
) -> EntryOut:
    entry = await dictionaries.add_entry(session, caller, dictionary=dictionary, **body.model_dump())
    return EntryOut.model_validate(entry)


@router.patch("/dictionary-entries/{entry_id}", response_model=EntryOut, summary="修改字典项")
async def update_entry(
    entry_id: uuid.UUID, body: EntryUpdate, session: DbSession, caller: DictionaryManager
) -> EntryOut:
    entry = await dictionaries.update_entry(session, caller, entry_id, **body.model_dump(exclude_unset=True))
    return EntryOut.model_validate(entry)


# rules ---------------------------------------------------------------------------------------


def _rule_out(key: str, value: int) -> RuleOut:
    rule = rules.RULES[key]
    return RuleOut(
        key=key,
        label=rule.label,
        description=rule.description,
        value=value,
        default=rule.default,
        minimum=rule.minimum,
        maximum=rule.maximum,
        unit=rule.unit,
    )


@router.get("/rules", response_model=list[RuleOut], summary="系统规则")
async def list_rules(session: DbSession, caller: RuleManager) -> list[RuleOut]:
    return [_rule_out(key, value) for key, value in (await rules.all_rules(session)).items()]


@router.put("/rules/{key}", response_model=RuleOut, summary="修改系统规则")
async def set_rule(key: str, body: RuleValue, session: DbSession, caller: RuleManager) -> RuleOut:
    return _rule_out(key, await rules.set_rule(session, caller, key, body.value))


# background work -----------------------------------------------------------------------------


@router.get("/jobs/failed", response_model=Page[FailedJob], summary="后台任务失败记录")
async def failed_jobs(
    session: DbSession,
    caller: JobManager,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[FailedJob]:
    return await list_failed_jobs(session, page=page, page_size=page_size)


@router.post("/jobs/{job_id}/retry", status_code=204, summary="重试失败的后台任务")
async def retry_failed_job(job_id: uuid.UUID, session: DbSession, caller: JobManager) -> None:
    await retry_job(session, job_id)
    await audit.record(session, caller, "job.retry", target_kind="jobs", target_id=job_id)


@router.post("/jobs/{job_id}/discard", status_code=204, summary="放弃失败的后台任务")
async def discard_failed_job(job_id: uuid.UUID, session: DbSession, caller: JobManager) -> None:
    await discard_job(session, job_id)
    await audit.record(session, caller, "job.discard", target_kind="jobs", target_id=job_id)


# system clients ------------------------------------------------------------------------------


@router.get("/system-clients", response_model=list[SystemClientOut], summary="对接系统（HIS窗口、自助机）")
async def list_system_clients(session: DbSession, caller: ClientManager) -> list[SystemClientOut]:
    return [SystemClientOut.model_validate(c) for c in await system_clients.list_clients(session)]


@router.post(
    "/system-clients", status_code=201, response_model=SystemClientIssued, summary="新增对接系统并发放密钥"
)
async def create_system_client(
    body: SystemClientIn, session: DbSession, caller: ClientManager
) -> SystemClientIssued:
    issued = await system_clients.create_client(session, caller, **body.model_dump())
    return SystemClientIssued(client=SystemClientOut.model_validate(issued.client), secret=issued.secret)


@router.post("/system-clients/{client_id}/rotate", response_model=SystemClientIssued, summary="更换密钥")
async def rotate_system_client(
    client_id: uuid.UUID, session: DbSession, caller: ClientManager
) -> SystemClientIssued:
    issued = await system_clients.rotate_secret(session, caller, client_id)
    return SystemClientIssued(client=SystemClientOut.model_validate(issued.client), secret=issued.secret)


@router.post("/system-clients/{client_id}/deactivate", response_model=SystemClientOut, summary="停用对接系统")
async def deactivate_system_client(
    client_id: uuid.UUID, session: DbSession, caller: ClientManager
) -> SystemClientOut:
    return SystemClientOut.model_validate(
        await system_clients.set_active(session, caller, client_id, is_active=False)
    )


@router.get("/system/info", response_model=SystemInfo, summary="系统信息（公开）")
async def system_info(session: DbSession) -> SystemInfo:
    hospital = await first_hospital(session)
    return SystemInfo(
        hospital_name=hospital.name if hospital else None, version=__version__, demo=get_settings().demo
    )


@router.get("/system/ping", response_model=Ping, summary="对接方验证签名是否正确（签名请求）")
async def ping(caller: SystemCaller) -> Ping:
    kind = next(iter(caller.roles)).removeprefix("system:")
    return Ping(client=caller.label or "", kind=kind, server_time=now())
