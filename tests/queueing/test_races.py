"""The races, for real: each request in its own session and transaction, on SQLite and PostgreSQL. Two
doctors calling next never get the same patient; concurrent check-ins give one order (by segment and
number, whatever the interleaving); a patient is never in one queue twice."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from ihos.db import commit
from ihos.models.queueing import QueueEntry, QueueEvent
from tests.factories import make_org
from tests.queueing.conftest import API, at, book, make_clinic, make_patient, member

PATIENTS = 8  # segments 08:00 (1, 2), 08:30 (3, 4), 09:00 (5, 6), 09:30 (7, 8)


async def setup(maker, *, patients: int = PATIENTS, same_patient: bool = False):  # type: ignore[no-untyped-def]
    async with maker() as session:
        org = await make_org(session)
        clinic = await make_clinic(session, org, capacity=PATIENTS)
        if same_patient:
            # Two clinics of one morning in one room, both booked by one patient.
            one = await make_patient(session)
            other = await make_clinic(session, org, name="内科专病门诊")
            bookings = [await book(session, clinic, patient=one), await book(session, other, patient=one)]
        else:
            bookings = [await book(session, clinic) for _ in range(patients)]
        nurse = await member(session, org, "nurse")
        doctors = [await member(session, org, "doctor") for _ in range(2)]
        await commit(session)
    return [str(b.id) for b in bookings], nurse, doctors


async def check_in(http, nurse, booking_id: str) -> str:  # type: ignore[no-untyped-def]
    response = await http.post(
        f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": booking_id}
    )
    return "ok" if response.status_code == 201 else response.json()["error"]


async def call_next(http, doctor, queue_id: str) -> str:  # type: ignore[no-untyped-def]
    response = await http.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
    return response.json()["entry"]["id"] if response.status_code == 200 else response.json()["error"]


async def the_queue(maker) -> str:  # type: ignore[no-untyped-def]
    async with maker() as session:
        return str(await session.scalar(select(QueueEntry.queue_id).limit(1)))


class TestTwoDoctorsCallingNext:
    async def test_never_the_same_patient(self, own_database, real_http):
        bookings, nurse, doctors = await setup(own_database, patients=6)
        at(8, 0)
        for booking_id in bookings:
            assert await check_in(real_http, nurse, booking_id) == "ok"
        queue_id = await the_queue(own_database)
        calls = [call_next(real_http, doctors[i % 2], queue_id) for i in range(10)]
        answers = await asyncio.gather(*calls)
        called = [a for a in answers if a != "queue_empty"]
        assert len(called) == 6 and len(set(called)) == 6
        assert Counter(answers)["queue_empty"] == 4
        async with own_database() as session:
            states = Counter((await session.scalars(select(QueueEntry.state))).all())
            twice = await session.scalar(select(func.count()).where(QueueEntry.call_count > 1))
            seqs = list((await session.scalars(select(QueueEvent.seq).order_by(QueueEvent.seq))).all())
        assert states == {"called": 6}
        assert twice == 0
        assert seqs == list(range(1, 13))  # 6 check-ins, 6 calls: one log, no gaps


class TestConcurrentCheckIns:
    async def test_one_order_whatever_the_interleaving(self, own_database, real_http):
        bookings, nurse, _doctors = await setup(own_database)
        at(9, 0)  # every window is open; 1 and 2 (08:00) are past their grace: late
        answers = await asyncio.gather(*(check_in(real_http, nurse, b) for b in reversed(bookings)))
        assert set(answers) == {"ok"}
        async with own_database() as session:
            order = list(
                (
                    await session.scalars(
                        select(QueueEntry.display_number).order_by(
                            QueueEntry.sort_key, QueueEntry.checked_in_at, QueueEntry.id
                        )
                    )
                ).all()
            )
            seqs = list((await session.scalars(select(QueueEvent.seq).order_by(QueueEvent.seq))).all())
        # The late ones at the end of the segment in progress (09:00), by number.
        assert order == [3, 4, 5, 6, 1, 2, 7, 8]
        assert seqs == list(range(1, PATIENTS + 1))


class TestAPatientIsNeverInAQueueTwice:
    async def test_the_same_booking_at_once(self, own_database, real_http):
        bookings, nurse, _doctors = await setup(own_database, patients=1)
        at(7, 30)
        answers = Counter(await asyncio.gather(*(check_in(real_http, nurse, bookings[0]) for _ in range(6))))
        assert answers["ok"] == 1
        assert set(answers) <= {"ok", "already_checked_in", "already_in_queue"}
        async with own_database() as session:
            assert await session.scalar(select(func.count()).select_from(QueueEntry)) == 1

    async def test_two_bookings_of_one_patient_in_one_room(self, own_database, real_http):
        bookings, nurse, _doctors = await setup(own_database, same_patient=True)
        at(7, 30)
        answers = Counter(await asyncio.gather(*(check_in(real_http, nurse, b) for b in bookings * 3)))
        assert answers["ok"] == 1
        assert set(answers) <= {"ok", "already_checked_in", "already_in_queue"}
        async with own_database() as session:
            live = await session.scalar(select(func.count()).where(QueueEntry.live_key.is_not(None)))
            assert live == 1
            patient = await session.scalar(select(func.count(func.distinct(QueueEntry.patient_id))))
            assert patient == 1
