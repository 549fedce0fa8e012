"""Holding a place (PT-08, SL-10): one place per booking, one live booking per patient per session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ihos.booking import service
from ihos.kit.time import clock
from ihos.models.audit import AuditEntry
from ihos.models.booking import Booking
from ihos.models.scheduling import Slot
from tests.booking.conftest import hold, released_session, verified_booker


async def slot_states(session, clinic_id) -> dict[str, int]:
    rows = await session.execute(
        select(Slot.status, func.count())
        .where(Slot.session_id == clinic_id)
        .group_by(Slot.status)
        .execution_options(populate_existing=True)
    )
    return dict(rows.all())


class TestHold:
    async def test_it_works(self, session, client, org, booker):
        clinic = await released_session(session, org)
        clinic_id = clinic.id
        response = await hold(client, booker, clinic_id)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["state"], body["seq"], body["fee_fen"], body["channel"]) == ("held", 1, 3_000, "app")
        assert await slot_states(session, clinic_id) == {"held": 1, "free": 3}
        # Audited with the booking (one statement with it on PostgreSQL).
        [entry] = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "booking.hold"))).all()
        assert (entry.actor_kind, entry.target_kind, entry.target_id) == (
            "patient",
            "bookings",
            body["booking_number"],
        )
        assert entry.details == {"session": str(clinic_id), "seq": 1, "channel": "app"}

    async def test_a_refused_booking_leaves_no_audit_entry(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        await hold(client, booker, clinic_id)
        assert (await hold(client, booker, clinic_id)).status_code == 409
        held = await session.scalars(select(AuditEntry).where(AuditEntry.action == "booking.hold"))
        assert len(held.all()) == 1

    async def test_a_booking_number_already_taken_is_drawn_again(self, session, client, org, monkeypatch):
        # Numbers are random: in a rush two requests draw the same one within a second every few seconds.
        clinic_id = (await released_session(session, org)).id
        first, second = await verified_booker(session), await verified_booker(session)
        taken = (await hold(client, first, clinic_id)).json()["booking_number"]
        draws = iter([taken, taken])
        draw_anew = service.booking_number
        monkeypatch.setattr(service, "booking_number", lambda: next(draws, None) or draw_anew())
        response = await hold(client, second, clinic_id)
        assert response.status_code == 201, response.text
        number = response.json()["booking_number"]
        assert number != taken
        assert next(draws, None) is None  # both clashes happened
        assert await slot_states(session, clinic_id) == {"held": 2, "free": 2}
        entries = await session.scalars(select(AuditEntry).where(AuditEntry.action == "booking.hold"))
        assert sorted((e.target_id, e.details["seq"]) for e in entries.all()) == sorted(
            [(taken, 1), (number, 2)]
        )
        booked = await session.execute(select(Booking.booking_number, Booking.seq))
        assert sorted(booked.all()) == sorted([(taken, 1), (number, 2)])

    async def test_one_live_booking_per_patient_per_session(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        await hold(client, booker, clinic_id)
        again = await hold(client, booker, clinic_id)
        assert again.status_code == 409
        assert again.json()["error"] == "already_booked"
        assert await slot_states(session, clinic_id) == {"held": 1, "free": 3}

    async def test_sold_out(self, session, client, org):
        clinic_id = (await released_session(session, org, capacity=2)).id
        bookers = [await verified_booker(session) for _ in range(3)]
        statuses = [(await hold(client, b, clinic_id)).status_code for b in bookers]
        assert statuses == [201, 201, 409]
        assert await slot_states(session, clinic_id) == {"held": 2}

    async def test_an_expired_hold_is_free_for_the_next_booker_at_once(self, session, client, org):
        clinic = await released_session(session, org, capacity=1)
        clinic_id = clinic.id
        first, second = await verified_booker(session), await verified_booker(session)
        clock.freeze()
        assert (await hold(client, first, clinic_id)).status_code == 201
        assert (await hold(client, second, clinic_id)).json()["error"] == "sold_out"
        clock.travel(timedelta(minutes=15, seconds=1))
        taken = await hold(client, second, clinic_id)
        assert taken.status_code == 201
        assert taken.json()["seq"] == 1

    async def test_the_lapsed_patient_may_book_again(self, session, client, org, booker):
        clinic_id = (await released_session(session, org, capacity=2)).id
        clock.freeze()
        await hold(client, booker, clinic_id)
        clock.travel(timedelta(minutes=16))
        again = await hold(client, booker, clinic_id)
        assert again.status_code == 201
        states = (await session.scalars(select(Booking.state).order_by(Booking.created_at))).all()
        assert list(states) == ["expired", "held"]

    async def test_a_retried_request_books_once(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        first = await hold(client, booker, clinic_id, key="tap-1")
        again = await hold(client, booker, clinic_id, key="tap-1")
        assert (first.status_code, again.status_code) == (201, 201)
        assert first.json()["id"] == again.json()["id"]
        assert await session.scalar(select(func.count()).select_from(Booking)) == 1

    async def test_not_released_yet(self, session, client, org, booker):
        clinic = await released_session(session, org)
        clinic.release_at = clock.now() + timedelta(hours=1)
        response = await hold(client, booker, clinic.id)
        assert response.json()["error"] == "not_yet_released"
        assert "号源将于" in response.json()["message"]

    async def test_real_name_first(self, session, client, org):
        from tests.factories import make_account, patient_token

        account = await make_account(session)
        token = await patient_token(session, account)
        clinic_id = (await released_session(session, org)).id
        from tests.booking.conftest import Booker

        stranger_patient = (await verified_booker(session)).patient_id
        response = await hold(client, Booker(account.id, stranger_patient, token), clinic_id)
        assert response.json()["error"] == "patient_not_found"
