"""Cancelling a session while patients are booking it, each in a transaction of its own: either the
cancellation wins and nobody holds a place, or a booker wins and the cancellation is refused with every
place as the bookers left it. Never a cancelled session with a live booking. Also two generations at once
make each session once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from ihos.booking import service as booking
from ihos.db import commit, rollback
from ihos.errors import IhosError
from ihos.kit.time import local_today
from ihos.models.booking import Booking
from ihos.models.scheduling import ClinicSession, Slot
from ihos.scheduling import service
from tests.booking.conftest import verified_booker
from tests.factories import make_org, patient_caller
from tests.scheduling.conftest import generated, make_kind, make_template

BOOKERS = 12


async def in_own_transaction(maker, work) -> str:  # type: ignore[no-untyped-def]
    async with maker() as session:
        try:
            await work(session)
        except IhosError as refused:
            await rollback(session)
            return refused.code
        await commit(session)
        return "done"


class TestCancelWhileBooking:
    async def test_a_cancelled_session_never_keeps_a_booking(self, own_database):
        async with own_database() as session:
            org = await make_org(session)
            clinic_id = (await generated(session, org, local_today() + timedelta(days=1), capacity=6)).id
            people = [await verified_booker(session) for _ in range(BOOKERS)]
            await commit(session)

        def holder(who):  # type: ignore[no-untyped-def]
            async def work(session):  # type: ignore[no-untyped-def]
                caller = patient_caller(type("A", (), {"id": who.account_id})())
                await booking.hold(
                    session, caller, booking.HoldRequest(clinic_id, who.patient_id, channel="app")
                )

            return work

        async def cancel(session):  # type: ignore[no-untyped-def]
            await service.cancel_clinic_session(session, org.admin, clinic_id, reason="临时停诊")

        jobs = (
            [holder(who) for who in people[: BOOKERS // 2]]
            + [cancel]
            + [holder(w) for w in people[BOOKERS // 2 :]]
        )
        answers = await asyncio.gather(*(in_own_transaction(own_database, job) for job in jobs))
        cancelled = answers[BOOKERS // 2]
        async with own_database() as session:
            state = await session.scalar(select(ClinicSession.state).where(ClinicSession.id == clinic_id))
            live = await session.scalar(
                select(func.count()).where(Booking.session_id == clinic_id, Booking.state == "held")
            )
            rows = await session.execute(
                select(Slot.status, func.count()).where(Slot.session_id == clinic_id).group_by(Slot.status)
            )
            places = dict(rows.tuples().all())
        if cancelled == "done":
            assert (state, live, places) == ("cancelled", 0, {"blocked": 6})
        else:
            assert cancelled == "clinic_session_has_bookings"
            assert state == "open"
            assert live == places.get("held", 0) > 0
            assert places.get("blocked", 0) == 0
            assert sum(places.values()) == 6


class TestGenerateTwiceAtOnce:
    async def test_each_session_once(self, own_database):
        async with own_database() as session:
            org = await make_org(session)
            for weekday in range(7):
                await make_template(
                    session, org, await make_kind(session, org, name=f"号别{weekday}"), weekday=weekday
                )
            await commit(session)
        today = local_today()

        async def generate(session):  # type: ignore[no-untyped-def]
            await service.generate(
                session,
                org.admin,
                date_from=today,
                date_to=today + timedelta(days=13),
                template_ids=None,
                preview=False,
            )

        answers = await asyncio.gather(*(in_own_transaction(own_database, generate) for _ in range(3)))
        assert answers == ["done"] * 3
        async with own_database() as session:
            made = await session.scalar(select(func.count()).select_from(ClinicSession))
            slots = await session.scalar(select(func.count()).select_from(Slot))
        assert (made, slots) == (14, 14 * 16)
