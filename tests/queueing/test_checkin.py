"""Check-in (QU-01): at the triage desk, on the phone, at a kiosk; the window, the refusals, the booking
marked arrived, the priority level kept as a level."""

from __future__ import annotations

import uuid
from datetime import time

from sqlalchemy import select

from ihos.models.audit import AuditEntry
from ihos.models.booking import Booking
from ihos.models.queueing import QueueEntry, QueueEvent
from ihos.queueing.checkin import checkin_code
from tests.booking.support import count, system_client
from tests.factories import bearer, make_account, patient_token, qr_modules, qr_of
from tests.queueing.conftest import API, at, book, make_clinic, make_patient


async def entries(session, **where) -> list[QueueEntry]:  # type: ignore[no-untyped-def]
    rows = await session.scalars(
        select(QueueEntry)
        .filter_by(**where)
        .order_by(QueueEntry.sort_key)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def desk_check_in(client, nurse, **body):  # type: ignore[no-untyped-def]
    payload = {key: str(value) if isinstance(value, uuid.UUID) else value for key, value in body.items()}
    return await client.post(f"{API}/queue-check-ins", headers=nurse.headers, json=payload)


class TestAtTheDesk:
    async def test_it_works(self, session, client, clinic, nurse):
        booking = await book(session, clinic, name="张小三")
        booking_id, number = booking.id, booking.seq
        at(7, 30)
        response = await desk_check_in(client, nurse, booking_id=booking_id)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["entry"]["number"] == number
        assert body["entry"]["name"] == "张*三"
        assert body["entry"]["state"] == "waiting"
        assert body["entry"]["labels"] == ["booked"]
        assert (body["position"], body["estimated_wait_minutes"]) == (1, 0)
        assert body["queue"]["kind"] == "room" and body["queue"]["place"] == "3诊室"
        [entry] = await entries(session)
        assert (entry.channel, entry.priority_level, entry.booking_id) == ("nurse", 0, booking_id)
        stored = await session.get_one(Booking, booking_id, populate_existing=True)
        assert stored.state == "arrived"
        [event] = (await session.scalars(select(QueueEvent))).all()
        assert (event.seq, event.kind, event.payload["entry"]["name"]) == (1, "checked_in", "张*三")
        actions = set((await session.scalars(select(AuditEntry.action))).all())
        assert {"queue.check_in", "booking.arrive"} <= actions

    async def test_by_the_booking_number_the_patient_tells(self, session, client, clinic, nurse):
        booking = await book(session, clinic)
        booking_id, number = booking.id, booking.booking_number
        at(7, 30)
        unknown = await desk_check_in(client, nurse, booking_number="BK2026000000000000000")
        assert (unknown.status_code, unknown.json()["error"]) == (404, "booking_not_found")
        assert await count(session, QueueEntry) == 0
        response = await desk_check_in(client, nurse, booking_number=f" {number.lower()} ")
        assert response.status_code == 201, response.text
        [entry] = await entries(session)
        assert (entry.booking_id, entry.channel) == (booking_id, "nurse")

    async def test_booked_patients_go_by_segment_and_number_whatever_the_arrival(
        self, session, client, clinic, nurse
    ):
        bookings = [await book(session, clinic) for _ in range(4)]
        ids = [b.id for b in bookings]
        at(7, 40)
        for booking_id in reversed(ids):
            assert (await desk_check_in(client, nurse, booking_id=booking_id)).status_code == 201
        assert [e.booking_id for e in await entries(session)] == ids

    async def test_too_early(self, session, client, clinic, nurse):
        booking = await book(session, clinic)
        booking_id = booking.id
        at(6, 59)  # the 08:00 segment opens at 07:00
        response = await desk_check_in(client, nurse, booking_id=booking_id)
        assert (response.status_code, response.json()["error"]) == (409, "checkin_too_early")
        assert "07:00" in response.json()["message"]
        assert await count(session, QueueEntry) == 0
        assert (await session.get_one(Booking, booking_id, populate_existing=True)).state == "confirmed"

    async def test_not_today(self, session, client, clinic, nurse):
        booking = await book(session, clinic)
        response = await desk_check_in(client, nurse, booking_id=booking.id)  # still the day before
        assert response.json()["error"] == "not_today"

    async def test_twice(self, session, client, clinic, nurse):
        booking = await book(session, clinic)
        booking_id = booking.id
        at(7, 30)
        assert (await desk_check_in(client, nurse, booking_id=booking_id)).status_code == 201
        again = await desk_check_in(client, nurse, booking_id=booking_id)
        assert (again.status_code, again.json()["error"]) == (409, "already_checked_in")
        assert await count(session, QueueEntry) == 1
        assert await count(session, QueueEvent) == 1

    async def test_a_booking_not_paid(self, session, client, org, nurse):
        from ihos.booking.service import HoldRequest, hold
        from tests.queueing.conftest import WINDOW

        paid_clinic = await make_clinic(session, org, room="5诊室", name="专家门诊")
        paid_clinic.fee_fen = 3000
        patient = await make_patient(session)
        held = await hold(
            session,
            WINDOW,
            HoldRequest(clinic_session_id=paid_clinic.id, patient_id=patient.id, channel="window"),
        )
        assert held.state == "held"
        held_id = held.id
        at(7, 30)
        response = await desk_check_in(client, nurse, booking_id=held_id)
        assert response.json()["error"] == "booking_not_confirmed"

    async def test_another_departments_desk(self, session, client, org, clinic, nurse):
        from ihos.organization import service as organisation

        other = await organisation.create_department(
            session, org.admin, campus_id=org.campus_id, parent_id=None, code="D-OTHER", name="外科"
        )
        other_id = other.id
        booking = await book(session, clinic)
        booking_id = booking.id
        at(7, 30)
        response = await desk_check_in(client, nurse, booking_id=booking_id, department_id=other_id)
        assert response.json()["error"] == "wrong_department"
        assert await count(session, QueueEntry) == 0

    async def test_by_id_card_with_two_bookings_today(self, session, client, org, clinic, nurse):
        patient = await make_patient(session, name="李四")
        number = patient.id_number
        first = await book(session, clinic, patient=patient)
        afternoon = await make_clinic(
            session, org, room="4诊室", starts=time(14), ends=time(17), period="afternoon"
        )
        second = await book(session, afternoon, patient=patient)
        first_id, second_id = first.id, second.id
        at(7, 30)
        response = await desk_check_in(client, nurse, id_number=number)
        assert (response.status_code, response.json()["error"]) == (409, "several_bookings")
        choices = {choice["booking_id"] for choice in response.json()["details"]["bookings"]}
        assert choices == {str(first_id), str(second_id)}
        chosen = await desk_check_in(client, nurse, id_number=number, booking_id=first_id)
        assert chosen.status_code == 201
        assert chosen.json()["queue"]["place"] == "3诊室"

    async def test_unknown_card(self, client, nurse):
        at(7, 30)
        response = await desk_check_in(client, nurse, card_number="NO-SUCH-CARD")
        assert (response.status_code, response.json()["error"]) == (404, "patient_not_found")


class TestPriority:
    async def test_an_elderly_patient_gets_the_level_and_goes_ahead(self, session, client, clinic, nurse):
        early = [await book(session, clinic) for _ in range(3)]
        elderly = await book(session, clinic, name="王老先生", birth="19500101")
        at(7, 30)
        for booking in [*early, elderly]:
            assert (await desk_check_in(client, nurse, booking_id=booking.id)).status_code == 201
        queue = await entries(session, state="waiting")
        # priority_after = 1: behind the first patient waiting.
        assert [e.booking_id for e in queue] == [early[0].id, elderly.id, early[1].id, early[2].id]
        assert queue[1].priority_level == 1

    async def test_only_the_level_is_kept(self, session, client, clinic, nurse):
        from ihos.integrations.identity.sandbox import priority_control

        booking = await book(session, clinic, birth="19500101")
        at(7, 30)
        with priority_control.failing("unavailable"):
            response = await desk_check_in(client, nurse, booking_id=booking.id)
        # The intranet did not answer: check-in goes on, without priority.
        assert response.status_code == 201
        assert response.json()["entry"]["labels"] == ["booked"]


class TestLateAndWalkIn:
    async def test_a_late_patient_goes_to_the_end_of_the_segment_in_progress(
        self, session, client, clinic, nurse
    ):
        first, second, third, fourth = [await book(session, clinic) for _ in range(4)]
        at(8, 0)
        for booking in (second, third, fourth):
            assert (await desk_check_in(client, nurse, booking_id=booking.id)).status_code == 201
        at(8, 40)  # first's segment began at 08:00; 30 minutes' grace are over
        response = await desk_check_in(client, nurse, booking_id=first.id)
        assert response.status_code == 201, response.text
        assert "late" in response.json()["entry"]["labels"]
        # The 08:30 segment (third, fourth) is in progress: first goes after it.
        assert [e.booking_id for e in await entries(session)] == [second.id, third.id, fourth.id, first.id]

    async def test_a_walk_in_joins_after_the_booked_patients_of_its_segment(
        self, session, client, clinic, nurse
    ):
        booked = [await book(session, clinic) for _ in range(2)]  # 08:00 segment, numbers 1 and 2
        later = await book(session, clinic)  # 08:30 segment
        at(7, 20)
        walk_in = await book(session, clinic)  # registered today: 08:30 segment, number 4
        at(7, 35)  # the 08:30 segment's check-in opens at 07:30
        for booking in (walk_in, later, *booked):
            assert (await desk_check_in(client, nurse, booking_id=booking.id)).status_code == 201
        order = [e.booking_id for e in await entries(session)]
        assert order == [booked[0].id, booked[1].id, later.id, walk_in.id]
        [entry] = await entries(session, booking_id=walk_in.id)
        assert entry.kind == "walk_in"


class TestByKiosk:
    async def test_the_booking_code(self, session, client, org, clinic):
        kiosk = await system_client(session, client, org, kind="kiosk")
        booking = await book(session, clinic)
        code = checkin_code(booking)
        at(7, 30)
        response = await kiosk.post("/system/queue/check-ins", {"booking_code": code})
        assert response.status_code == 201, response.text
        [entry] = await entries(session)
        assert entry.channel == "kiosk"
        forged = code[:-1] + ("0" if code[-1] != "0" else "1")
        refused = await kiosk.post("/system/queue/check-ins", {"booking_code": forged})
        assert refused.json()["error"] == "invalid_checkin_code"

    async def test_by_id_card_and_the_query(self, session, client, org, clinic):
        kiosk = await system_client(session, client, org, kind="kiosk")
        ahead = await book(session, clinic)
        patient = await make_patient(session)
        await book(session, clinic, patient=patient)
        number = patient.id_number
        at(7, 30)
        assert (await kiosk.post("/system/queue/check-ins", {"booking_id": str(ahead.id)})).status_code == 201
        response = await kiosk.post("/system/queue/check-ins", {"id_number": number})
        assert response.status_code == 201
        assert response.json()["position"] == 2
        assert response.json()["estimated_wait_minutes"] == 15  # one ahead × the session's 15 minutes
        query = await kiosk.post("/system/queue/query", {"id_number": number})
        [item] = query.json()["items"]
        assert (item["position"], item["patients_ahead"]) == (2, 1)

    async def test_a_kiosk_cannot_check_in_by_a_typed_booking_number(self, session, client, org, clinic):
        # Anyone can type a number at a kiosk; the kiosk takes the signed check-in code instead.
        kiosk = await system_client(session, client, org, kind="kiosk")
        booking = await book(session, clinic)
        at(7, 30)
        response = await kiosk.post("/system/queue/check-ins", {"booking_number": booking.booking_number})
        assert response.status_code == 422
        assert await count(session, QueueEntry) == 0

    async def test_unsigned_requests_are_refused(self, client):
        response = await client.post(f"{API}/system/queue/check-ins", json={"booking_code": "x"})
        assert response.status_code == 401


class TestOnThePhone:
    async def test_a_family_patient(self, session, client, clinic):
        from ihos.models.patients import AccountPatient

        account = await make_account(session)
        patient = await make_patient(session)
        session.add(AccountPatient(account_id=account.id, patient_id=patient.id, relation="parent"))
        headers = bearer(await patient_token(session, account))
        booking_id = str((await book(session, clinic, patient=patient)).id)
        stranger = bearer(await patient_token(session, await make_account(session)))
        at(7, 30)
        code = await client.get(f"{API}/me/bookings/{booking_id}/checkin-code", headers=headers)
        assert code.json()["code"].startswith("IHQ1.")
        assert qr_modules(code.json()["image"]) == qr_of(code.json()["code"])  # the kiosk scans this
        refused_code = await client.get(f"{API}/me/bookings/{booking_id}/checkin-code", headers=stranger)
        assert refused_code.status_code == 403
        refused = await client.post(
            f"{API}/me/queue-check-ins", headers=stranger, json={"booking_id": booking_id}
        )
        assert (refused.status_code, refused.json()["error"]) == (403, "not_your_booking")
        response = await client.post(
            f"{API}/me/queue-check-ins", headers=headers, json={"booking_id": booking_id}
        )
        assert response.status_code == 201
        mine = await client.get(f"{API}/me/queues", headers=headers)
        [item] = mine.json()["items"]
        assert (item["entry"]["state"], item["position"]) == ("waiting", 1)
        assert (await client.get(f"{API}/me/queues", headers=stranger)).json()["items"] == []
