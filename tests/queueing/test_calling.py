"""The doctor's station (QU-03): call next, call a chosen patient, recall, missed calls, the visit,
transfers, and the triage desk's remove and re-queue; each change logged as an event and audited."""

from __future__ import annotations

import uuid
from datetime import time, timedelta

from sqlalchemy import select

from ihos.models.audit import AuditEntry
from ihos.models.queueing import QueueEntry, QueueEvent
from tests.queueing.conftest import API, at, book, make_clinic


async def checked_in(session, client, clinic, nurse, count: int, **patient) -> list[str]:  # type: ignore[no-untyped-def]
    """``count`` patients booked and checked in at 08:00; their entry ids in queue order."""
    bookings = [await book(session, clinic, **patient) for _ in range(count)]
    at(8, 0)
    ids = []
    for booking in bookings:
        response = await client.post(
            f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": str(booking.id)}
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["entry"]["id"])
    return ids


async def queue_of(client, member, entry_id: str) -> str:  # type: ignore[no-untyped-def]
    """The queue an entry is in, found the way a desk would: through the queues it sees."""
    listed = await client.get(f"{API}/queues", headers=member.headers)
    for item in listed.json():
        entries = await client.get(f"{API}/queues/{item['queue']['id']}/entries", headers=member.headers)
        if any(e["id"] == entry_id for e in entries.json()):
            return item["queue"]["id"]
    raise AssertionError("no queue holds the entry")


async def waiting_ids(client, member, queue_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    entries = (await client.get(f"{API}/queues/{queue_id}/entries", headers=member.headers)).json()
    waiting = [e for e in entries if e["state"] == "waiting"]
    assert [e["position"] for e in waiting] == list(range(1, len(waiting) + 1))
    return [e["id"] for e in waiting]


async def kinds(session) -> list[str]:  # type: ignore[no-untyped-def]
    return list((await session.scalars(select(QueueEvent.kind).order_by(QueueEvent.seq))).all())


class TestCallNext:
    async def test_it_works(self, session, client, clinic, nurse, doctor):
        ids = await checked_in(session, client, clinic, nurse, 2, name="张小三")
        queue_id = await queue_of(client, nurse, ids[0])
        at(8, 0)
        response = await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["entry"]["id"] == ids[0]
        assert body["entry"]["state"] == "called"
        assert body["announcement"] == "请 1号 张*三 到 3诊室 就诊"
        [event] = (await session.scalars(select(QueueEvent).where(QueueEvent.kind == "called"))).all()
        assert (event.seq, event.payload["announcement"]) == (3, "请 1号 张*三 到 3诊室 就诊")
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "queue.call"))).all()
        assert [a.actor_id for a in audit] == [doctor.id]
        assert await waiting_ids(client, doctor, queue_id) == ids[1:]

    async def test_a_hall_doctor_names_the_room(self, session, client, org, nurse, doctor):
        hall = await make_clinic(session, org, room=None)
        ids = await checked_in(session, client, hall, nurse, 1)
        queue_id = await queue_of(client, nurse, ids[0])
        response = await client.post(
            f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={"place": "7诊室"}
        )
        assert response.json()["announcement"].endswith("到 7诊室 就诊")

    async def test_a_doctor_calls_their_own_patients_in_a_shared_room(self, session, client, org, nurse):
        from tests.queueing.conftest import member

        morning_doctor, afternoon_doctor = (
            await member(session, org, "doctor"),
            await member(session, org, "doctor"),
        )
        morning = await make_clinic(session, org, doctor_id=morning_doctor.id, name="王医生专家门诊")
        afternoon = await make_clinic(
            session,
            org,
            doctor_id=afternoon_doctor.id,
            name="李医生专家门诊",
            starts=time(13),
            ends=time(17),
            period="afternoon",
        )
        general = await make_clinic(
            session, org, name="内科普通门诊", starts=time(13), ends=time(17), period="afternoon"
        )
        afternoon_id, morning_id = str(afternoon.id), str(morning.id)
        late = await book(session, morning, name="赵晚到")
        own = await book(session, afternoon, name="钱下午")
        anyone = await book(session, general, name="孙普通")
        # Plain ids: a refused call rolls back, and the ORM objects with it.
        entries = {}
        for name, booking, hour in (("late", late, 8), ("own", own, 12), ("anyone", anyone, 12)):
            at(hour, 30)
            response = await client.post(
                f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": str(booking.id)}
            )
            assert response.status_code == 201, response.text
            entries[name] = response.json()["entry"]["id"]
        queue_id = await queue_of(client, nurse, entries["late"])
        assert await waiting_ids(client, nurse, queue_id) == [entries[n] for n in ("late", "own", "anyone")]

        at(13, 5)  # the morning's patient is still waiting; the afternoon doctor does not take them
        # The desk marks the doctor's own patients: their sessions here, and each entry's session.
        [mine] = (await client.get(f"{API}/queues/mine", headers=afternoon_doctor.headers)).json()
        assert (mine["queue"]["id"], mine["my_session_ids"]) == (queue_id, [afternoon_id])
        assert mine["other_doctors_session_ids"] == [morning_id]  # the general clinic is anyone's
        listed = (
            await client.get(f"{API}/queues/{queue_id}/entries", headers=afternoon_doctor.headers)
        ).json()
        assert [e["session_id"] == afternoon_id for e in listed] == [False, True, False]
        call = f"{API}/queues/{queue_id}/call-next"
        first = await client.post(call, headers=afternoon_doctor.headers, json={})
        assert first.json()["entry"]["id"] == entries["own"]
        second = await client.post(call, headers=afternoon_doctor.headers, json={})
        assert second.json()["entry"]["id"] == entries["anyone"]  # a clinic without a named doctor: anyone's
        none_left = await client.post(call, headers=afternoon_doctor.headers, json={})
        assert (none_left.status_code, none_left.json()["message"]) == (409, "没有候诊的本人患者")
        # The nurse, with no session here, calls whoever is next: the morning's late patient.
        for_the_room = await client.post(call, headers=nurse.headers, json={})
        assert for_the_room.json()["entry"]["id"] == entries["late"]

    async def test_nobody_waiting(self, session, client, clinic, nurse, doctor):
        ids = await checked_in(session, client, clinic, nurse, 1)
        queue_id = await queue_of(client, nurse, ids[0])
        assert (
            await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        ).status_code == 200
        empty = await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        assert (empty.status_code, empty.json()["error"]) == (409, "queue_empty")
        assert (await kinds(session)).count("called") == 1

    async def test_a_chosen_patient_and_recall(self, session, client, clinic, nurse, doctor):
        ids = await checked_in(session, client, clinic, nurse, 3)
        chosen = await client.post(f"{API}/queue-entries/{ids[2]}/call", headers=doctor.headers, json={})
        assert chosen.json()["entry"]["number"] == 3
        again = await client.post(f"{API}/queue-entries/{ids[2]}/call", headers=doctor.headers, json={})
        assert again.json()["error"] == "queue_entry_state"
        recalled = await client.post(f"{API}/queue-entries/{ids[2]}/recall", headers=doctor.headers)
        assert recalled.json()["entry"]["call_count"] == 2
        assert recalled.json()["announcement"].startswith("请 3号")
        assert (await kinds(session))[-2:] == ["called", "recalled"]


class TestMissedCalls:
    async def test_back_n_places_then_out(self, session, client, clinic, nurse, doctor):
        ids = await checked_in(session, client, clinic, nurse, 6)
        queue_id = await queue_of(client, nurse, ids[0])
        await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        missed = await client.post(f"{API}/queue-entries/{ids[0]}/miss", headers=doctor.headers)
        assert missed.json()["state"] == "waiting"
        assert "missed" in missed.json()["labels"]
        # miss_back = 3: behind the three patients waiting next.
        assert await waiting_ids(client, doctor, queue_id) == [ids[1], ids[2], ids[3], ids[0], ids[4], ids[5]]
        for _ in range(4):  # 1, 2, 3 come and go; 0 is called again
            called = await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
            await client.post(
                f"{API}/queue-entries/{called.json()['entry']['id']}/finish", headers=doctor.headers, json={}
            )
        second = await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        assert second.json()["entry"]["id"] == ids[4]
        await client.post(f"{API}/queue-entries/{ids[4]}/finish", headers=doctor.headers, json={})
        called = await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        assert called.json()["entry"]["id"] == ids[5]

    async def test_out_after_the_second_miss_and_the_desk_requeues(
        self, session, client, clinic, nurse, doctor
    ):
        ids = await checked_in(session, client, clinic, nurse, 2)
        queue_id = await queue_of(client, nurse, ids[0])
        for _ in range(2):
            await client.post(f"{API}/queue-entries/{ids[0]}/call", headers=doctor.headers, json={})
            response = await client.post(f"{API}/queue-entries/{ids[0]}/miss", headers=doctor.headers)
        assert (response.json()["state"], response.json()["miss_count"]) == ("missed", 2)
        assert (await kinds(session))[-1] == "removed"
        assert await waiting_ids(client, doctor, queue_id) == [ids[1]]
        # Checking in again at a kiosk or on the phone is refused; the triage desk decides.
        entry = await session.get_one(QueueEntry, uuid.UUID(ids[0]), populate_existing=True)
        booking_id = str(entry.booking_id)
        again = await client.post(
            f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": booking_id}
        )
        assert again.status_code == 201
        assert (await kinds(session))[-1] == "requeued"
        assert await waiting_ids(client, doctor, queue_id) == [ids[1], ids[0]]


class TestTheVisit:
    async def test_start_finish_and_the_average(self, session, client, clinic, nurse, doctor):
        ids = await checked_in(session, client, clinic, nurse, 5)
        queue_id = await queue_of(client, nurse, ids[0])
        minute = 0
        for entry_id in ids[:3]:
            at(8, minute)
            await client.post(f"{API}/queue-entries/{entry_id}/call", headers=doctor.headers, json={})
            assert (
                await client.post(f"{API}/queue-entries/{entry_id}/start", headers=doctor.headers)
            ).status_code == 200
            at(8, minute + 8)
            finished = await client.post(
                f"{API}/queue-entries/{entry_id}/finish", headers=doctor.headers, json={}
            )
            assert finished.json()["state"] == "done"
            minute += 10
        event = await session.scalar(select(QueueEvent).order_by(QueueEvent.seq.desc()).limit(1))
        assert (event.kind, event.payload["average_minutes"]) == ("finished", 8)
        last = await client.get(f"{API}/queues/{queue_id}/entries", headers=doctor.headers)
        assert [e["position"] for e in last.json() if e["state"] == "waiting"] == [1, 2]

    async def test_finish_is_only_for_a_visit(self, session, client, clinic, nurse, doctor):
        ids = await checked_in(session, client, clinic, nurse, 1)
        refused = await client.post(f"{API}/queue-entries/{ids[0]}/finish", headers=doctor.headers, json={})
        assert refused.json()["error"] == "queue_entry_state"
        start = await client.post(f"{API}/queue-entries/{ids[0]}/start", headers=doctor.headers)
        assert start.json()["error"] == "queue_entry_state"

    async def test_back_from_an_exam(self, session, client, clinic, nurse, doctor):
        ids = await checked_in(session, client, clinic, nurse, 5)
        queue_id = await queue_of(client, nurse, ids[0])
        await client.post(f"{API}/queue-entries/{ids[0]}/call", headers=doctor.headers, json={})
        done = await client.post(
            f"{API}/queue-entries/{ids[0]}/finish", headers=doctor.headers, json={"awaiting_return": True}
        )
        assert done.json()["awaiting_return"] is True
        entry = await session.get_one(QueueEntry, uuid.UUID(ids[0]), populate_existing=True)
        back = await client.post(
            f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": str(entry.booking_id)}
        )
        assert back.status_code == 201
        assert "return" in back.json()["entry"]["labels"]
        # return_after = 2: behind the two patients waiting next.
        assert await waiting_ids(client, doctor, queue_id) == [ids[1], ids[2], ids[0], ids[3], ids[4]]
        twice = await client.post(
            f"{API}/queue-check-ins", headers=nurse.headers, json={"booking_id": str(entry.booking_id)}
        )
        assert twice.json()["error"] == "already_checked_in"


class TestTransferAndLeaving:
    async def test_to_another_room(self, session, client, org, clinic, nurse, doctor):
        other = await make_clinic(session, org, room="5诊室")
        there = await checked_in(session, client, other, nurse, 2)
        ids = await checked_in(session, client, clinic, nurse, 2)
        source = await queue_of(client, nurse, ids[0])
        target = await queue_of(client, nurse, there[0])
        moved = await client.post(
            f"{API}/queue-entries/{ids[1]}/transfer",
            headers=doctor.headers,
            json={"queue_id": target, "placement": "next"},
        )
        assert moved.status_code == 200, moved.text
        assert (moved.json()["queue_id"], moved.json()["position"]) == (target, 1)
        assert await waiting_ids(client, doctor, source) == [ids[0]]
        assert await waiting_ids(client, doctor, target) == [moved.json()["id"], *there]
        assert {"transferred_out", "transferred_in"} <= set(await kinds(session))

    async def test_a_patient_who_left_and_came_back(self, session, client, clinic, nurse, doctor):
        ids = await checked_in(session, client, clinic, nurse, 3)
        queue_id = await queue_of(client, nurse, ids[0])
        left = await client.post(f"{API}/queue-entries/{ids[0]}/remove", headers=nurse.headers)
        assert (left.json()["state"], left.json()["end_reason"]) == ("left", "left")
        assert await waiting_ids(client, doctor, queue_id) == ids[1:]
        at(8, 45)  # late now: the end of the 08:30 segment
        back = await client.post(f"{API}/queue-entries/{ids[0]}/requeue", headers=nurse.headers)
        assert back.json()["state"] == "waiting"
        assert "late" in back.json()["labels"]
        assert await waiting_ids(client, doctor, queue_id) == [ids[1], ids[2], ids[0]]


class TestNoticesAndTheDaysEnd:
    async def test_an_sms_when_called_if_the_queue_says_so(
        self, session, client, clinic, nurse, doctor, office
    ):
        from ihos.models.jobs import Job

        ids = await checked_in(session, client, clinic, nurse, 1)
        queue_id = await queue_of(client, nurse, ids[0])
        calls = select(Job).where(Job.kind == "sms.send_notice", Job.dedupe_key.like("queue.call:%"))
        await client.post(f"{API}/queue-entries/{ids[0]}/call", headers=doctor.headers, json={})
        assert (await session.scalars(calls)).all() == []
        await client.put(f"{API}/queues/{queue_id}/rules", headers=office.headers, json={"sms_on_call": True})
        await client.post(f"{API}/queue-entries/{ids[0]}/recall", headers=doctor.headers)
        [job] = (await session.scalars(calls)).all()
        assert job.dedupe_key == f"queue.call:{ids[0]}:2:0"
        assert "张" not in str(job.payload)  # the phone and the text travel encrypted

    async def test_the_days_end_closes_what_was_left_open(self, session, client, clinic, nurse, run_jobs):
        ids = await checked_in(session, client, clinic, nurse, 1)
        at(7, 0, day=clinic.session_date + timedelta(days=1))
        await run_jobs()
        entry = await session.get_one(QueueEntry, uuid.UUID(ids[0]), populate_existing=True)
        assert (entry.state, entry.end_reason, entry.live_key) == ("left", "day_ended", None)


class TestABookingThatEnds:
    async def test_its_patient_leaves_the_queue(self, session, client, clinic, nurse, doctor):
        from ihos.queueing.calling import leave_for_booking

        ids = await checked_in(session, client, clinic, nurse, 2)
        queue_id = await queue_of(client, nurse, ids[0])
        entry = await session.get_one(QueueEntry, uuid.UUID(ids[0]), populate_existing=True)
        assert await leave_for_booking(session, entry.booking_id, reason="booking_cancelled") == 1
        assert await leave_for_booking(session, entry.booking_id, reason="booking_cancelled") == 0
        await session.refresh(entry)
        assert (entry.state, entry.end_reason) == ("left", "booking_cancelled")
        assert (await kinds(session))[-1] == "left"
        assert await waiting_ids(client, doctor, queue_id) == [ids[1]]

    async def test_staff_cancel_a_checked_in_booking_until_the_visit_begins(
        self, session, client, clinic, nurse, doctor, office
    ):
        from ihos.models.booking import Booking

        ids = await checked_in(session, client, clinic, nurse, 2)
        queue_id = await queue_of(client, nurse, ids[0])
        booking_ids = [
            str((await session.get_one(QueueEntry, uuid.UUID(entry_id))).booking_id) for entry_id in ids
        ]
        # 退号 after check-in: the booking ends and its patient leaves the queue.
        cancelled = await client.post(
            f"{API}/bookings/{booking_ids[1]}/cancel", headers=office.headers, json={"reason": "患者临时有事"}
        )
        assert cancelled.status_code == 200, cancelled.text
        booking = await session.get_one(Booking, uuid.UUID(booking_ids[1]), populate_existing=True)
        assert booking.state == "cancelled"
        left = await session.get_one(QueueEntry, uuid.UUID(ids[1]), populate_existing=True)
        assert (left.state, left.end_reason) == ("left", "booking_cancelled")
        assert await waiting_ids(client, doctor, queue_id) == [ids[0]]
        # Once the doctor has begun the visit it is too late.
        await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        started = await client.post(f"{API}/queue-entries/{ids[0]}/start", headers=doctor.headers)
        assert started.status_code == 200, started.text
        refused = await client.post(
            f"{API}/bookings/{booking_ids[0]}/cancel", headers=office.headers, json={"reason": "误操作"}
        )
        assert (refused.status_code, refused.json()["message"]) == (409, "患者已开始就诊，不能退号")

    async def test_a_visit_begun_meanwhile_stops_the_cancellation(
        self, session, client, clinic, nurse, doctor
    ):
        """退号 raced by the doctor starting the visit: decided under the queue's lock, the visit wins."""
        import pytest

        from ihos.queueing.calling import VisitBegun, leave_for_booking

        [entry_id] = await checked_in(session, client, clinic, nurse, 1)
        queue_id = await queue_of(client, nurse, entry_id)
        await client.post(f"{API}/queues/{queue_id}/call-next", headers=doctor.headers, json={})
        assert (
            await client.post(f"{API}/queue-entries/{entry_id}/start", headers=doctor.headers)
        ).status_code == 200
        entry = await session.get_one(QueueEntry, uuid.UUID(entry_id), populate_existing=True)
        with pytest.raises(VisitBegun):
            await leave_for_booking(session, entry.booking_id, reason="booking_cancelled", before_visit=True)
        await session.refresh(entry)
        assert entry.state == "in_visit"
