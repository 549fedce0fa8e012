"""The hospital's side of the queue: the doctor's station (call, recall, missed, visit, transfer), the
triage desk (check-in, remove, re-queue), every queue live and any day's history, and the outpatient
office's queues, rules and screens. Every change is audited."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.auth.deps import StaffCaller, requires
from ihos.auth.permissions import Permission
from ihos.backoffice.rules import definition, get_department_rule, get_rule, set_department_rule, set_rule
from ihos.errors import Forbidden, InvalidInput
from ihos.kit.http import DbSession
from ihos.kit.time import local_today
from ihos.models.organization import Department
from ihos.models.system import DepartmentRule
from ihos.queueing import calling, checkin, events, positions, repository, screens, service, views
from ihos.queueing.rules import QUEUE_RULES, QueueRuleOverrides, overrides_of, queue_rules
from ihos.queueing.schemas import (
    CallIn,
    CallOut,
    CheckInOut,
    DeskCheckInIn,
    FinishIn,
    IssuedScreenOut,
    QueueChangeIn,
    QueueCountsOut,
    QueueIn,
    QueueKind,
    QueueOut,
    QueueRuleOut,
    QueueRulesOut,
    RuleIn,
    ScreenIn,
    ScreenOut,
    StaffEntryOut,
    TransferIn,
)

router = APIRouter(tags=["queue-desk"])

Reader = Annotated[Caller, Depends(requires(Permission.QUEUE_READ))]
CheckInDesk = Annotated[Caller, Depends(requires(Permission.QUEUE_CHECKIN))]
Doctor = Annotated[Caller, Depends(requires(Permission.QUEUE_CALL))]
Office = Annotated[Caller, Depends(requires(Permission.QUEUE_MANAGE))]
QUEUE_RULE_KEYS = {rule.key for rule in QUEUE_RULES}


async def screen_manager(caller: StaffCaller) -> Caller:
    """The outpatient office or the system admin (IT) registers screens."""
    if not (caller.has(Permission.QUEUE_MANAGE) or caller.has(Permission.QUEUE_SCREEN_MANAGE)):
        raise Forbidden(
            record=audit.denied(caller, "access.denied", details={"permission": "queue_screen.manage"})
        )
    return caller


ScreenManager = Annotated[Caller, Depends(screen_manager)]


async def queue_lister(caller: StaffCaller) -> Caller:
    """Desks read the queues; IT, who binds a screen to a room's queue, lists them too (without patients)."""
    if not (caller.has(Permission.QUEUE_READ) or caller.has(Permission.QUEUE_SCREEN_MANAGE)):
        raise Forbidden(record=audit.denied(caller, "access.denied", details={"permission": "queue.read"}))
    return caller


QueueLister = Annotated[Caller, Depends(queue_lister)]


class NotAQueueRule(InvalidInput):
    code = "not_a_queue_rule"
    default_message = "这不是排队叫号规则"


# -- queues, live and past ------------------------------------------------------------------------------


@router.get("/queues", response_model=list[QueueCountsOut], summary="队列一览（含当日各状态人数）")
async def list_queues(
    session: DbSession,
    caller: QueueLister,
    day: Annotated[date | None, Query(alias="date", description="默认今日")] = None,
    department_id: uuid.UUID | None = None,
    kind: QueueKind | None = None,
) -> list[QueueCountsOut]:
    found = await repository.queues(
        session, campus_ids=caller.campus_ids, department_id=department_id, kind=kind
    )
    counted = await repository.counts(session, [queue.id for queue in found], day or local_today())
    return [QueueCountsOut(queue=views.queue_out(queue), **counted[queue.id]) for queue in found]


@router.get("/queues/mine", response_model=list[QueueCountsOut], summary="我今日出诊的队列（医生叫号台）")
async def my_queues(session: DbSession, caller: Reader) -> list[QueueCountsOut]:
    today = local_today()
    found = await service.queues_of_doctor(session, caller, today)
    counted = await repository.counts(session, [mine.queue.id for mine in found], today)
    return [
        QueueCountsOut(
            queue=views.queue_out(mine.queue),
            my_session_ids=mine.session_ids,
            other_doctors_session_ids=mine.other_doctors_session_ids,
            **counted[mine.queue.id],
        )
        for mine in found
    ]


@router.post(
    "/queues", status_code=201, response_model=QueueOut, summary="新建队列（诊室、候诊区、检查检验站点）"
)
async def create_queue(body: QueueIn, session: DbSession, caller: Office) -> QueueOut:
    queue = await service.create_queue(
        session,
        caller,
        kind=body.kind,
        department_id=body.department_id,
        code=body.code,
        name=body.name,
        place=body.place,
    )
    return views.queue_out(queue)


@router.patch("/queues/{queue_id}", response_model=QueueOut, summary="修改队列名称、播报位置，启用或停用")
async def change_queue(
    queue_id: uuid.UUID, body: QueueChangeIn, session: DbSession, caller: Office
) -> QueueOut:
    queue = await service.update_queue(
        session, caller, queue_id, name=body.name, place=body.place, is_active=body.is_active
    )
    return views.queue_out(queue)


@router.get(
    "/queues/{queue_id}/entries",
    response_model=list[StaffEntryOut],
    summary="队列中的患者（今日实时，或任一日的记录）",
)
async def queue_entries(
    queue_id: uuid.UUID,
    session: DbSession,
    caller: Reader,
    day: Annotated[date | None, Query(alias="date", description="默认今日")] = None,
) -> list[StaffEntryOut]:
    queue = await service.staff_queue(session, caller, queue_id)
    day = day or local_today()
    entries = await repository.entries_of_day(session, [queue.id], day)
    places = await positions.positions_in(session, queue.id, day)
    return [views.staff_entry_out(entry, places.get(entry.id)) for entry in entries]


@router.get("/queues/{queue_id}/events", summary="队列事件（断线后按序号补齐）")
async def queue_events(
    queue_id: uuid.UUID,
    session: DbSession,
    caller: Reader,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[dict[str, object]]:
    queue = await service.staff_queue(session, caller, queue_id)
    return await events.events_after(session, queue.id, after, limit=limit)


@router.get("/queues/{queue_id}/rules", response_model=QueueRulesOut, summary="队列的排队规则")
async def get_queue_rules(queue_id: uuid.UUID, session: DbSession, caller: Reader) -> QueueRulesOut:
    queue = await service.staff_queue(session, caller, queue_id)
    effective = await queue_rules(session, queue)
    return QueueRulesOut(queue_id=queue.id, effective=effective.__dict__, overrides=overrides_of(queue))


@router.put("/queues/{queue_id}/rules", response_model=QueueRulesOut, summary="设置队列自己的排队规则")
async def put_queue_rules(
    queue_id: uuid.UUID, body: QueueRuleOverrides, session: DbSession, caller: Office
) -> QueueRulesOut:
    queue = await service.set_queue_rules(session, caller, queue_id, body)
    effective = await queue_rules(session, queue)
    return QueueRulesOut(queue_id=queue.id, effective=effective.__dict__, overrides=overrides_of(queue))


# -- the triage desk ------------------------------------------------------------------------------------


@router.post("/queue-check-ins", status_code=201, response_model=CheckInOut, summary="分诊台签到")
async def desk_check_in(body: DeskCheckInIn, session: DbSession, caller: CheckInDesk) -> CheckInOut:
    checked = await checkin.check_in_by(
        session,
        caller,
        channel="nurse",
        booking_id=body.booking_id,
        booking_code=body.booking_code,
        booking_number=body.booking_number,
        id_number=body.id_number,
        card_number=body.card_number,
        department_id=body.department_id,
        station_queue_id=body.queue_id,
    )
    return await views.check_in_out(session, checked.entry, checked.queue)


@router.post("/queue-entries/{entry_id}/remove", response_model=StaffEntryOut, summary="患者离开（移出队列）")
async def remove(entry_id: uuid.UUID, session: DbSession, caller: CheckInDesk) -> StaffEntryOut:
    return views.staff_entry_out(await calling.remove(session, caller, entry_id=entry_id), None)


@router.post(
    "/queue-entries/{entry_id}/requeue", response_model=StaffEntryOut, summary="过号或离开的患者重新排队"
)
async def requeue(entry_id: uuid.UUID, session: DbSession, caller: CheckInDesk) -> StaffEntryOut:
    entry = await calling.requeue(session, caller, entry_id=entry_id)
    places = await positions.positions_in(session, entry.queue_id, entry.queue_date)
    return views.staff_entry_out(entry, places.get(entry.id))


# -- the doctor's station -------------------------------------------------------------------------------


@router.post("/queues/{queue_id}/call-next", response_model=CallOut, summary="叫下一位")
async def call_next(
    queue_id: uuid.UUID, session: DbSession, caller: Doctor, body: CallIn | None = None
) -> CallOut:
    called = await calling.call_next(session, caller, queue_id=queue_id, place=body.place if body else None)
    return CallOut(entry=views.staff_entry_out(called.entry, None), announcement=called.announcement)


@router.post("/queue-entries/{entry_id}/call", response_model=CallOut, summary="选择患者叫号")
async def call_entry(
    entry_id: uuid.UUID, session: DbSession, caller: Doctor, body: CallIn | None = None
) -> CallOut:
    called = await calling.call_entry(session, caller, entry_id=entry_id, place=body.place if body else None)
    return CallOut(entry=views.staff_entry_out(called.entry, None), announcement=called.announcement)


@router.post("/queue-entries/{entry_id}/recall", response_model=CallOut, summary="重呼")
async def recall(entry_id: uuid.UUID, session: DbSession, caller: Doctor) -> CallOut:
    called = await calling.recall(session, caller, entry_id=entry_id)
    return CallOut(entry=views.staff_entry_out(called.entry, None), announcement=called.announcement)


@router.post("/queue-entries/{entry_id}/miss", response_model=StaffEntryOut, summary="过号")
async def miss(entry_id: uuid.UUID, session: DbSession, caller: Doctor) -> StaffEntryOut:
    entry = await calling.mark_missed(session, caller, entry_id=entry_id)
    places = await positions.positions_in(session, entry.queue_id, entry.queue_date)
    return views.staff_entry_out(entry, places.get(entry.id))


@router.post("/queue-entries/{entry_id}/start", response_model=StaffEntryOut, summary="开始就诊")
async def start(entry_id: uuid.UUID, session: DbSession, caller: Doctor) -> StaffEntryOut:
    return views.staff_entry_out(await calling.start_visit(session, caller, entry_id=entry_id), None)


@router.post("/queue-entries/{entry_id}/finish", response_model=StaffEntryOut, summary="就诊结束")
async def finish(entry_id: uuid.UUID, body: FinishIn, session: DbSession, caller: Doctor) -> StaffEntryOut:
    entry = await calling.finish_visit(
        session, caller, entry_id=entry_id, awaiting_return=body.awaiting_return
    )
    return views.staff_entry_out(entry, None)


@router.post("/queue-entries/{entry_id}/transfer", response_model=StaffEntryOut, summary="转到其他诊室或队列")
async def transfer(
    entry_id: uuid.UUID, body: TransferIn, session: DbSession, caller: Doctor
) -> StaffEntryOut:
    entry = await calling.transfer(
        session, caller, entry_id=entry_id, to_queue_id=body.queue_id, placement=body.placement
    )
    places = await positions.positions_in(session, entry.queue_id, entry.queue_date)
    return views.staff_entry_out(entry, places.get(entry.id))


# -- the outpatient office's rules ------------------------------------------------------------------------


def _queue_rule(key: str) -> None:
    if key not in QUEUE_RULE_KEYS:
        raise NotAQueueRule()


async def _rule_out(session: DbSession, key: str, department_id: uuid.UUID | None = None) -> QueueRuleOut:
    rule = definition(key)
    if department_id is None:
        value, overridden = await get_rule(session, key), False
    else:
        value = await get_department_rule(session, key, department_id)
        overridden = await session.get(DepartmentRule, (department_id, key)) is not None
    return QueueRuleOut(
        key=key,
        label=rule.label,
        value=value,
        default=rule.default,
        minimum=rule.minimum,
        maximum=rule.maximum,
        unit=rule.unit,
        description=rule.description,
        is_overridden=overridden,
    )


@router.get("/queue-rules", response_model=list[QueueRuleOut], summary="排队叫号规则（全院默认）")
async def hospital_rules(session: DbSession, caller: Office) -> list[QueueRuleOut]:
    return [await _rule_out(session, rule.key) for rule in QUEUE_RULES]


@router.put("/queue-rules/{key}", response_model=QueueRuleOut, summary="修改排队叫号规则（全院默认）")
async def put_hospital_rule(key: str, body: RuleIn, session: DbSession, caller: Office) -> QueueRuleOut:
    _queue_rule(key)
    if body.value is None:
        raise InvalidInput("全院规则须填写数值")
    await set_rule(session, caller, key, body.value)
    return await _rule_out(session, key)


async def _department(session: DbSession, caller: Caller, department_id: uuid.UUID) -> Department:
    department = await session.get(Department, department_id)
    if department is None or not caller.may_see_campus(department.campus_id):
        raise service.InvalidQueue("科室不存在")
    return department


@router.get(
    "/departments/{department_id}/queue-rules",
    response_model=list[QueueRuleOut],
    summary="科室的排队叫号规则",
)
async def department_rules(
    department_id: uuid.UUID, session: DbSession, caller: Office
) -> list[QueueRuleOut]:
    department = await _department(session, caller, department_id)
    return [await _rule_out(session, rule.key, department.id) for rule in QUEUE_RULES]


@router.put(
    "/departments/{department_id}/queue-rules/{key}",
    response_model=QueueRuleOut,
    summary="设置科室的排队叫号规则（空值恢复全院设置）",
)
async def put_department_rule(
    department_id: uuid.UUID, key: str, body: RuleIn, session: DbSession, caller: Office
) -> QueueRuleOut:
    _queue_rule(key)
    department = await _department(session, caller, department_id)
    await set_department_rule(session, caller, key, department.id, body.value)
    return await _rule_out(session, key, department.id)


# -- screens ----------------------------------------------------------------------------------------------


@router.get("/queue-screens", response_model=list[ScreenOut], summary="叫号屏")
async def list_screens(session: DbSession, caller: ScreenManager) -> list[ScreenOut]:
    return [views.screen_out(screen) for screen in await screens.list_screens(session, caller)]


@router.post(
    "/queue-screens", status_code=201, response_model=IssuedScreenOut, summary="登记叫号屏（令牌只显示一次）"
)
async def create_screen(body: ScreenIn, session: DbSession, caller: ScreenManager) -> IssuedScreenOut:
    issued = await screens.create_screen(
        session, caller, name=body.name, queue_id=body.queue_id, department_id=body.department_id
    )
    return views.issued_screen_out(issued.screen, issued.token)


@router.post(
    "/queue-screens/{screen_id}/renew",
    response_model=IssuedScreenOut,
    summary="更换叫号屏令牌（旧令牌立即失效）",
)
async def renew_screen(screen_id: uuid.UUID, session: DbSession, caller: ScreenManager) -> IssuedScreenOut:
    issued = await screens.renew_token(session, caller, screen_id)
    return views.issued_screen_out(issued.screen, issued.token)


@router.post("/queue-screens/{screen_id}/deactivate", response_model=ScreenOut, summary="停用叫号屏")
async def deactivate_screen(screen_id: uuid.UUID, session: DbSession, caller: ScreenManager) -> ScreenOut:
    return views.screen_out(await screens.set_active(session, caller, screen_id, is_active=False))


@router.post("/queue-screens/{screen_id}/activate", response_model=ScreenOut, summary="启用叫号屏")
async def activate_screen(screen_id: uuid.UUID, session: DbSession, caller: ScreenManager) -> ScreenOut:
    return views.screen_out(await screens.set_active(session, caller, screen_id, is_active=True))
