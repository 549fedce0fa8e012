"""The interface for the hospital's other systems (SL-11): HIS windows and kiosks, by signed requests,
query places by channel, hold for a patient by ID number, confirm a fee taken at the counter, cancel, and
record arrival and no-shows — with the same service functions as the app."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihos.models.booking import BlacklistEvent, Booking
from ihos.models.patients import Patient
from ihos.security.fields import blind_index
from tests.booking.conftest import hold, released_session
from tests.booking.support import (
    audit_actions,
    booked,
    booking_of,
    count,
    inbox,
    local_at,
    payments_reach,
    phone_of,
    system_client,
    travel_to,
)
from tests.factories import id_number, make_org

NEW_PERSON = {"name": "李娜", "phone": "13712345678"}


@pytest.fixture(autouse=True)
def _payments(app):  # type: ignore[no-untyped-def]
    with payments_reach(app):
        yield


@pytest.fixture
async def his(session, client, org):  # type: ignore[no-untyped-def]
    return await system_client(session, client, org, kind="his")


@pytest.fixture
async def kiosk(session, client, org):  # type: ignore[no-untyped-def]
    return await system_client(session, client, org, kind="kiosk")


async def known_patient(session, booker) -> dict[str, str]:  # type: ignore[no-untyped-def]
    patient = await session.get_one(Patient, booker.patient_id)
    return {"id_number": patient.id_number, "name": patient.name}


class TestSignedRequests:
    async def test_unsigned(self, session, client, org):
        clinic_id = (await released_session(session, org)).id
        response = await client.post(
            "/api/v1/system/bookings",
            json={"clinic_session_id": str(clinic_id), "patient": {"id_number": id_number(), **NEW_PERSON}},
        )
        assert (response.status_code, response.json()["error"]) == (401, "signature_required")
        assert await count(session, Booking) == 0

    async def test_a_patient_token_is_not_a_signature(self, session, client, org, booker):
        response = await client.get("/api/v1/system/booking/sessions", headers=booker.headers)
        assert (response.status_code, response.json()["error"]) == (401, "signature_required")

    async def test_a_tampered_body(self, session, client, org, his):
        import json

        clinic_id = (await released_session(session, org)).id
        path = "/api/v1/system/bookings"
        signed = json.dumps(
            {"clinic_session_id": str(clinic_id), "patient": {"id_number": id_number(), **NEW_PERSON}}
        ).encode()
        sent = json.dumps(
            {"clinic_session_id": str(clinic_id), "patient": {"id_number": id_number(), **NEW_PERSON}}
        ).encode()
        response = await client.post(path, content=sent, headers=his.headers("POST", path, signed))
        assert (response.status_code, response.json()["error"]) == (401, "bad_signature")
        assert await count(session, Booking) == 0


class TestSessions:
    async def test_places_by_channel(self, session, client, org, his, kiosk):
        clinic = await released_session(session, org, capacity=6, quotas={"kiosk": 2, "window": 1})
        clinic_id, day = clinic.id, clinic.session_date
        for caller, channel, expected in ((kiosk, None, 5), (his, None, 4), (his, "his", 3)):
            query = f"?date_from={day}&date_to={day}" + (f"&channel={channel}" if channel else "")
            response = await caller.get(f"/system/booking/sessions{query}")
            assert response.status_code == 200, response.text
            [found] = response.json()
            assert (found["id"], found["available"], found["fee_fen"]) == (str(clinic_id), expected, 3_000)

    async def test_segments(self, session, client, org, kiosk):
        clinic_id = (await released_session(session, org, capacity=4)).id
        response = await kiosk.get(f"/system/booking/sessions/{clinic_id}")
        assert response.status_code == 200, response.text
        segments = response.json()["segments"]
        assert [s["available"] for s in segments] == [2, 2]  # 15 minutes each: two places per half hour

    async def test_a_kiosk_keeps_to_its_channel(self, session, client, org, kiosk):
        response = await kiosk.get("/system/booking/sessions?channel=window")
        assert (response.status_code, response.json()["error"]) == (409, "channel_not_allowed")

    async def test_another_campus(self, session, client, org, kiosk):
        clinic_id = (await released_session(session, org)).id
        elsewhere = await system_client(session, client, await make_org(session), kind="kiosk")
        assert (await elsewhere.get("/system/booking/sessions")).json() == []
        response = await elsewhere.get(f"/system/booking/sessions/{clinic_id}")
        assert (response.status_code, response.json()["error"]) == (404, "clinic_session_not_found")


class TestHoldAtTheCounter:
    async def test_a_new_patient(self, session, client, org, kiosk):
        clinic_id = (await released_session(session, org)).id
        number = id_number()
        response = await kiosk.post(
            "/system/bookings",
            {"clinic_session_id": str(clinic_id), "patient": {"id_number": number, **NEW_PERSON}},
            {"Idempotency-Key": "kiosk-1-0001"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["state"], body["channel"], body["seq"], body["patient_name"], body["order"]) == (
            "held",
            "kiosk",
            1,
            "李*",
            None,
        )
        patient = await session.scalar(
            select(Patient).where(Patient.id_number_index == blind_index(number, kind="id_number"))
        )
        assert patient is not None
        assert (patient.name, patient.phone, patient.identity_status) == ("李娜", "13712345678", "unverified")
        booking = await booking_of(session, body["id"])
        assert (booking.account_id, booking.booked_by_kind) == (None, "system")
        again = await kiosk.post(
            "/system/bookings",
            {"clinic_session_id": str(clinic_id), "patient": {"id_number": number, **NEW_PERSON}},
            {"Idempotency-Key": "kiosk-1-0001"},
        )
        assert (again.status_code, again.json()["id"]) == (201, body["id"])
        assert await count(session, Booking) == 1

    async def test_a_new_patient_needs_a_phone(self, session, client, org, his):
        clinic_id = (await released_session(session, org)).id
        response = await his.post(
            "/system/bookings",
            {"clinic_session_id": str(clinic_id), "patient": {"id_number": id_number(), "name": "李娜"}},
        )
        assert (response.status_code, response.json()["error"]) == (400, "patient_details_required")
        assert (await count(session, Patient), await count(session, Booking)) == (0, 0)

    async def test_a_known_patient_by_the_name_on_record(self, session, client, org, his, booker):
        clinic_id = (await released_session(session, org)).id
        known = await known_patient(session, booker)
        wrong = await his.post(
            "/system/bookings", {"clinic_session_id": str(clinic_id), "patient": {**known, "name": "张三"}}
        )
        assert (wrong.status_code, wrong.json()["error"]) == (409, "patient_name_mismatch")
        right = await his.post("/system/bookings", {"clinic_session_id": str(clinic_id), "patient": known})
        assert right.status_code == 201, right.text
        assert right.json()["patient_id"] == str(booker.patient_id)
        assert right.json()["channel"] == "window"

    async def test_the_same_rules_as_the_app(self, session, client, org, his, booker):
        clinic_id = (await released_session(session, org)).id
        await hold(client, booker, clinic_id)
        response = await his.post(
            "/system/bookings",
            {"clinic_session_id": str(clinic_id), "patient": await known_patient(session, booker)},
        )
        assert (response.status_code, response.json()["error"]) == (409, "already_booked")
        assert await count(session, Booking) == 1

    async def test_an_invalid_id_number(self, session, client, org, his):
        clinic_id = (await released_session(session, org)).id
        response = await his.post(
            "/system/bookings",
            {
                "clinic_session_id": str(clinic_id),
                "patient": {"id_number": "110105199001010000", **NEW_PERSON},
            },
        )
        assert (response.status_code, response.json()["error"]) == (400, "invalid_id_number")


class TestConfirmAtTheCounter:
    async def test_it_works(self, session, client, org, his, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        held = await his.post(
            "/system/bookings",
            {"clinic_session_id": str(clinic_id), "patient": await known_patient(session, booker)},
        )
        booking_id = held.json()["id"]
        response = await his.post(
            f"/system/bookings/{booking_id}/confirm",
            {"payment_method": "bank_card", "his_registration_number": "GH20261129000123"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["state"], body["counter_payment"], body["his_registration_number"], body["order"]) == (
            "confirmed",
            "bank_card",
            "GH20261129000123",
            None,
        )
        assert "booking.confirm" in await audit_actions(session, body["booking_number"])
        again = await his.post(f"/system/bookings/{booking_id}/confirm", {"payment_method": "bank_card"})
        assert (again.status_code, again.json()["counter_payment"]) == (200, "bank_card")
        await run_jobs()
        [text] = await inbox(session, await phone_of(session, booker))  # the phone on the patient's record
        assert text.startswith("【ihos互联网医院】您已预约成功：")

    async def test_not_an_app_booking(self, session, client, org, his, booker):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        response = await his.post(f"/system/bookings/{booking_id}/confirm", {"payment_method": "cash"})
        assert (response.status_code, response.json()["error"]) == (409, "not_a_counter_booking")
        assert (await booking_of(session, booking_id)).state == "held"

    async def test_a_lapsed_hold_whose_place_went(self, session, client, org, his, booker):
        from datetime import timedelta

        from ihos.kit.time import clock

        clinic_id = (await released_session(session, org, capacity=1)).id
        held = await his.post(
            "/system/bookings",
            {"clinic_session_id": str(clinic_id), "patient": {"id_number": id_number(), **NEW_PERSON}},
        )
        clock.travel(timedelta(minutes=16))
        assert (await hold(client, booker, clinic_id)).status_code == 201
        response = await his.post(f"/system/bookings/{held.json()['id']}/confirm", {"payment_method": "cash"})
        assert (response.status_code, response.json()["error"]) == (409, "hold_expired")


class TestCancelAtTheCounter:
    async def test_paid_at_the_counter(self, session, client, org, his):
        clinic_id = (await released_session(session, org)).id
        held = await his.post(
            "/system/bookings",
            {"clinic_session_id": str(clinic_id), "patient": {"id_number": id_number(), **NEW_PERSON}},
        )
        booking_id = held.json()["id"]
        await his.post(f"/system/bookings/{booking_id}/confirm", {"payment_method": "cash"})
        response = await his.post(f"/system/bookings/{booking_id}/cancel", {"note": "患者改约"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["refund"], body["counter_refund_fen"], body["booking"]["end_reason"]) == (
            None,
            3_000,
            "at_counter",
        )
        assert body["message"] == "预约已取消，请凭缴费凭证到挂号窗口退还挂号费30.00元。"

    async def test_an_app_booking_is_refunded_online(self, session, client, org, his, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        response = await his.post(f"/system/bookings/{booking_id}/cancel", {})
        assert response.status_code == 200, response.text
        assert (response.json()["refund"]["amount_fen"], response.json()["counter_refund_fen"]) == (3_000, 0)

    async def test_late_under_the_patients_rules(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 7))
        his = await system_client(session, client, org, kind="his")
        refused = await his.post(f"/system/bookings/{booking_id}/cancel", {})
        assert (refused.status_code, refused.json()["error"]) == (409, "late_cancel_not_accepted")
        accepted = await his.post(f"/system/bookings/{booking_id}/cancel", {"accept_late": True})
        assert (accepted.status_code, accepted.json()["is_late"], accepted.json()["refund"]) == (
            200,
            True,
            None,
        )
        assert await count(session, BlacklistEvent, BlacklistEvent.kind == "late_cancel") == 1


class TestAttendanceFromTheHis:
    async def test_arrival(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 7, 45))
        kiosk = await system_client(session, client, org, kind="kiosk")
        response = await kiosk.post(f"/system/bookings/{booking_id}/arrive", {})
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "arrived"
        mine = await client.get(f"/api/v1/me/bookings/{booking_id}", headers=booker.headers)
        assert mine.json()["state_label"] == "已签到"

    async def test_no_show(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 11, 50))
        his = await system_client(session, client, org, kind="his")
        response = await his.post(f"/system/bookings/{booking_id}/no-show", {})
        assert response.status_code == 200, response.text
        assert response.json()["state"] == "no_show"
        assert await count(session, BlacklistEvent, BlacklistEvent.kind == "no_show") == 1


class TestQueryAPatientsBookings:
    async def test_it_works(self, session, client, org, his, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        known = await known_patient(session, booker)
        response = await his.post("/system/bookings/query", {"id_number": known["id_number"]})
        assert response.status_code == 200, response.text
        assert [(b["id"], b["channel"], b["state"]) for b in response.json()] == [
            (booking_id, "app", "confirmed")
        ]
        unknown = await his.post("/system/bookings/query", {"id_number": id_number()})
        assert unknown.json() == []
