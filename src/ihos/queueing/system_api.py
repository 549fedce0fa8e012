"""The queue for the hospital's other systems (QU-06): kiosks and the HIS check patients in and ask where
they stand, with signed system-client requests (see docs/operator/queue-screens.md). ID numbers travel in
signed POST bodies, never in URLs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from ihos.auth.caller import Caller
from ihos.auth.system_clients import SystemCaller
from ihos.booking.counter import client_kind
from ihos.kit.http import DbSession
from ihos.kit.time import local_today
from ihos.patients import repository as patients
from ihos.queueing import checkin, positions, repository, service, views
from ihos.queueing.schemas import (
    CheckInOut,
    MyQueuesOut,
    PatientQueryIn,
    QueueCountsOut,
    QueueEntryOut,
    SystemCheckInIn,
)

router = APIRouter(tags=["queue-system"])


def channel_of(caller: Caller) -> str:
    return "kiosk" if client_kind(caller) == "kiosk" else "system"


@router.post(
    "/system/queue/check-ins", status_code=201, response_model=CheckInOut, summary="签到（自助机、对接系统）"
)
async def system_check_in(body: SystemCheckInIn, session: DbSession, caller: SystemCaller) -> CheckInOut:
    checked = await checkin.check_in_by(
        session,
        caller,
        channel=channel_of(caller),
        booking_id=body.booking_id,
        booking_code=body.booking_code,
        id_number=body.id_number,
        card_number=body.card_number,
        department_id=body.department_id,
        station_queue_id=body.queue_id,
    )
    return await views.check_in_out(session, checked.entry, checked.queue)


@router.post(
    "/system/queue/query", response_model=MyQueuesOut, summary="查询患者今日的候诊（自助机、对接系统）"
)
async def system_patient_queues(
    body: PatientQueryIn, session: DbSession, caller: SystemCaller
) -> MyQueuesOut:
    patient = await patients.patient_by_id_number(session, body.id_number)
    if patient is None:
        return MyQueuesOut(items=[], pending_orders=[])
    standings, pending = await positions.standings_of_patients(session, [patient])
    visible = [s for s in standings if caller.may_see_campus(s.queue.campus_id)]
    return MyQueuesOut(
        items=[views.standing_out(standing) for standing in visible],
        pending_orders=[views.order_out(order) for order in pending],
    )


@router.get("/system/queues", response_model=list[QueueCountsOut], summary="队列一览（对接系统）")
async def system_queues(
    session: DbSession, caller: SystemCaller, department_id: Annotated[uuid.UUID | None, Query()] = None
) -> list[QueueCountsOut]:
    found = await repository.queues(
        session, campus_ids=caller.campus_ids, department_id=department_id, active_only=True
    )
    counted = await repository.counts(session, [queue.id for queue in found], local_today())
    return [QueueCountsOut(queue=views.queue_out(queue), **counted[queue.id]) for queue in found]


@router.get(
    "/system/queues/{queue_id}/entries",
    response_model=list[QueueEntryOut],
    summary="队列今日的候诊患者（对接系统）",
)
async def system_queue_entries(
    queue_id: uuid.UUID, session: DbSession, caller: SystemCaller
) -> list[QueueEntryOut]:
    queue = await service.staff_queue(session, caller, queue_id)
    entries = await repository.entries_of_day(
        session, [queue.id], local_today(), states=repository.LIVE_STATES
    )
    return [views.entry_out(entry) for entry in entries]
