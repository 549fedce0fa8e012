"""The smart queue's errors, its queues and their rules.

Queues are standing places: a room (``room:<campus>:<room>``), a department's hall for clinics without a
room of their own (``hall:<department>``), an exam or lab station (``station:<campus>:<code>``). A
session's room and hall queues are made the first time a patient checks in; the outpatient office may
make them earlier (to bind a screen) and makes the stations, whose codes are the HIS's.

Check-in is in ``checkin``, the doctor's station in ``calling``, the event log in ``events``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller
from ihos.db import insert_unique
from ihos.errors import Conflict, Forbidden, InvalidInput, NotFound
from ihos.kit.time import hospital_zone
from ihos.models.organization import Department
from ihos.models.queueing import Queue, QueueEntry
from ihos.models.scheduling import ClinicSession
from ihos.queueing import events, repository
from ihos.queueing.rules import QueueRuleOverrides, overrides_of

KINDS = ("room", "hall", "exam", "lab")
STATION_KINDS = ("exam", "lab")
CHANNELS = ("kiosk", "phone", "nurse", "system")

# The actor of what the queue does by itself (the HIS order feed, the day's end).
SYSTEM = Caller(kind="system", label="排队叫号")


# -- errors ------------------------------------------------------------------------------------------------


class QueueNotFound(NotFound):
    code = "queue_not_found"
    default_message = "队列不存在"


class QueueEntryNotFound(NotFound):
    code = "queue_entry_not_found"
    default_message = "该患者不在队列中"


class QueueBookingNotFound(NotFound):
    code = "booking_not_found"
    default_message = "预约不存在"


class QueuePatientNotFound(NotFound):
    code = "patient_not_found"
    default_message = "未找到该患者，请核对证件或到人工窗口办理"


class NoBookingToday(NotFound):
    code = "no_booking_today"
    default_message = "未查到您今日的有效预约，请到挂号窗口办理"


class NoOrderHere(NotFound):
    code = "no_order_here"
    default_message = "未查到您今日在本处的检查检验申请"


class SeveralBookings(Conflict):
    code = "several_bookings"
    default_message = "您今日有多个预约，请选择要签到的预约"


class CheckInTooEarly(Conflict):
    code = "checkin_too_early"
    default_message = "尚未到签到时间"


class NotToday(Conflict):
    code = "not_today"
    default_message = "只能在就诊当日签到"


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"
    default_message = "您已签到，请留意叫号"


class AlreadyInQueue(Conflict):
    code = "already_in_queue"
    default_message = "该患者已在本队列中候诊"


class AlreadyVisited(Conflict):
    code = "already_visited"
    default_message = "该预约已就诊完毕"


class BookingNotConfirmed(Conflict):
    code = "booking_not_confirmed"
    default_message = "该预约未支付、已取消或已失效，不能签到"


class SessionNotOpen(Conflict):
    code = "session_not_open"
    default_message = "该出诊已停诊，不能签到"


class WrongDepartment(Conflict):
    code = "wrong_department"
    default_message = "该预约不属于本科室，请到对应科室签到"


class RemovedFromQueue(Conflict):
    code = "removed_from_queue"
    default_message = "您已过号并移出队列，请到分诊台重新签到"


class EntryStateConflict(Conflict):
    code = "queue_entry_state"
    default_message = "该患者当前状态不能进行此操作"


class QueueEmpty(Conflict):
    code = "queue_empty"
    default_message = "当前没有候诊患者"


class QueueInactive(Conflict):
    code = "queue_inactive"
    default_message = "该队列已停用"


class QueueExists(Conflict):
    code = "queue_exists"
    default_message = "该诊室或检查室的队列已存在"


class InvalidQueue(InvalidInput):
    code = "invalid_queue"
    default_message = "队列信息不正确"


class InvalidCheckinCode(InvalidInput):
    code = "invalid_checkin_code"
    default_message = "签到码无效，请在“我的预约”中重新打开签到码"


class NotYourBooking(Forbidden):
    code = "not_your_booking"
    default_message = "只能为自己或家庭就诊人的预约签到"


# -- helpers -----------------------------------------------------------------------------------------------


def minute_of(moment: datetime) -> int:
    """Minutes since the hospital's midnight."""
    local = moment.astimezone(hospital_zone())
    return local.hour * 60 + local.minute


def live_key(queue_id: uuid.UUID, patient_id: uuid.UUID, day: object) -> str:
    return f"{queue_id}:{patient_id}:{day}"


def scope_key(kind: str, *, campus_id: uuid.UUID, department_id: uuid.UUID | None, code: str) -> str:
    if kind == "room":
        return f"room:{campus_id}:{code}"
    if kind == "hall":
        return f"hall:{department_id}"
    return f"station:{campus_id}:{code}"


async def staff_queue(session: AsyncSession, caller: Caller, queue_id: uuid.UUID) -> Queue:
    """A queue at a campus the member of staff (or system client) may see."""
    queue = await session.get(Queue, queue_id)
    if queue is None or not caller.may_see_campus(queue.campus_id):
        raise QueueNotFound()
    return queue


async def staff_entry(session: AsyncSession, caller: Caller, entry_id: uuid.UUID) -> tuple[QueueEntry, Queue]:
    entry = await session.get(QueueEntry, entry_id, populate_existing=True)
    if entry is None:
        raise QueueEntryNotFound()
    queue = await session.get_one(Queue, entry.queue_id)
    if not caller.may_see_campus(queue.campus_id):
        raise QueueEntryNotFound()
    return entry, queue


# -- queues --------------------------------------------------------------------------------------------------


async def _ensure(session: AsyncSession, queue: Queue) -> Queue:
    """The queue with ``queue``'s scope: the existing one, or ``queue`` inserted (a race finds the winner)."""
    existing = await repository.queue_by_scope(session, queue.scope_key)
    if existing is not None:
        return existing
    if await insert_unique(session, queue):
        events.queue_list_changed(session, queue)
        return queue
    found = await repository.queue_by_scope(session, queue.scope_key)
    if found is None:  # pragma: no cover - the unique key refused it, so it exists
        raise QueueNotFound()
    return found


async def queue_for_session(session: AsyncSession, clinic: ClinicSession) -> Queue:
    """Where a session's patients wait: its room's queue, or its department's hall without a room."""
    department = await session.get_one(Department, clinic.department_id)
    if clinic.room:
        kind, code, name, place = "room", clinic.room, f"{department.name} {clinic.room}", clinic.room
    else:
        kind, code, name, place = "hall", "hall", f"{department.name}候诊区", f"{department.name}诊区"
    return await _ensure(
        session,
        Queue(
            kind=kind,
            campus_id=clinic.campus_id,
            department_id=clinic.department_id,
            code=code[:50],
            name=name[:50],
            place=place[:30],
            scope_key=scope_key(
                kind, campus_id=clinic.campus_id, department_id=clinic.department_id, code=code
            ),
            rules={},
        ),
    )


@dataclass(frozen=True)
class DoctorsQueue:
    queue: Queue
    session_ids: list[uuid.UUID]  # the doctor's own sessions whose patients wait in it
    other_doctors_session_ids: list[uuid.UUID]  # other named doctors' (call-next leaves them their patients)


async def queues_of_doctor(session: AsyncSession, caller: Caller, day: date) -> list[DoctorsQueue]:
    """The queues of the caller's open clinic sessions on ``day`` (a doctor's own rooms), those that exist:
    a room's queue is made at its first check-in, or ahead by the outpatient office."""
    own: dict[uuid.UUID, tuple[Queue, list[uuid.UUID]]] = {}
    for clinic in await repository.open_sessions_of_doctor(session, caller.subject_id, day):
        if not caller.may_see_campus(clinic.campus_id):
            continue
        kind, code = ("room", clinic.room) if clinic.room else ("hall", "hall")
        key = scope_key(kind, campus_id=clinic.campus_id, department_id=clinic.department_id, code=code)
        queue = await repository.queue_by_scope(session, key)
        if queue is not None and queue.is_active:
            own.setdefault(queue.id, (queue, []))[1].append(clinic.id)
    return [
        DoctorsQueue(
            queue,
            session_ids,
            await repository.other_doctors_sessions(session, caller.subject_id, queue, day),
        )
        for queue, session_ids in own.values()
    ]


async def create_queue(
    session: AsyncSession,
    caller: Caller,
    *,
    kind: str,
    department_id: uuid.UUID,
    code: str,
    name: str,
    place: str | None,
) -> Queue:
    """A room, hall or station queue made ahead (a station's ``code`` is the HIS's station code)."""
    department = await session.get(Department, department_id)
    if department is None or not caller.may_see_campus(department.campus_id):
        raise InvalidQueue("科室不存在")
    if kind not in KINDS:
        raise InvalidQueue("队列类型应为 room、hall、exam 或 lab")
    if kind == "hall":
        code = "hall"
    queue = Queue(
        kind=kind,
        campus_id=department.campus_id,
        department_id=department.id,
        code=code,
        name=name,
        place=place or (name if kind != "hall" else f"{department.name}诊区"),
        scope_key=scope_key(kind, campus_id=department.campus_id, department_id=department.id, code=code),
        rules={},
    )
    if not await insert_unique(session, queue):
        raise QueueExists()
    events.queue_list_changed(session, queue)
    await audit.record(
        session,
        caller,
        "queue.create",
        target_kind="queues",
        target_id=queue.id,
        details={"kind": kind, "code": code, "name": name},
    )
    return queue


async def update_queue(
    session: AsyncSession,
    caller: Caller,
    queue_id: uuid.UUID,
    *,
    name: str | None,
    place: str | None,
    is_active: bool | None,
) -> Queue:
    queue = await staff_queue(session, caller, queue_id)
    changes: dict[str, list[object]] = {}
    for field, value in (("name", name), ("place", place), ("is_active", is_active)):
        if value is not None and getattr(queue, field) != value:
            changes[field] = [getattr(queue, field), value]
            setattr(queue, field, value)
    await session.flush()
    if "is_active" in changes:
        events.queue_list_changed(session, queue)
    if changes:
        await audit.record(
            session, caller, "queue.update", target_kind="queues", target_id=queue.id, details=changes
        )
    return queue


async def set_queue_rules(
    session: AsyncSession, caller: Caller, queue_id: uuid.UUID, overrides: QueueRuleOverrides
) -> Queue:
    """Replace the queue's own rules (what is left out follows the department and the hospital)."""
    queue = await staff_queue(session, caller, queue_id)
    old = overrides_of(queue).stored()
    queue.rules = overrides.stored()
    await session.flush()
    await audit.record(
        session,
        caller,
        "queue.rules_update",
        target_kind="queues",
        target_id=queue.id,
        details={"old": old, "new": queue.rules},
    )
    return queue
