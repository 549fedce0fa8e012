"""Booking links (PT-08): a doctor makes a signed, expiring link for a patient and a registration kind; the
patient opening it sees that kind's sessions and books through the normal hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ihos.kit.time import clock
from ihos.models.scheduling import ClinicSession
from tests.booking.conftest import hold, released_session, verified_booker
from tests.booking.support import audit_actions, headers_for, staff_headers


async def make_link(client, headers, booker, kind_id, **extra):  # type: ignore[no-untyped-def]
    return await client.post(
        "/api/v1/bookings/links",
        headers=headers,
        json={"patient_id": str(booker.patient_id), "registration_kind_id": str(kind_id), **extra},
    )


class TestMakeALink:
    async def test_it_works(self, session, client, org, booker):
        clinic = await released_session(session, org)
        kind_id = clinic.registration_kind_id
        doctor = await staff_headers(session, org, "doctor")
        response = await make_link(client, doctor, booker, kind_id, valid_days=3)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["registration_kind_name"], body["patient_name"]) == ("心内科专家门诊", "测**者")
        assert body["path"] == f"/h5/pages/booking/link?token={body['token']}"
        assert "booking_link.create" in await audit_actions(session, str(booker.patient_id))

    async def test_unknown_kind(self, session, client, org, booker):
        doctor = await staff_headers(session, org, "doctor")
        response = await make_link(client, doctor, booker, booker.patient_id)
        assert (response.status_code, response.json()["error"]) == (404, "registration_kind_not_found")

    @pytest.mark.parametrize(
        ("who", "status"), [("anonymous", 401), ("patient", 403), ("finance", 403), ("doctor", 201)]
    )
    async def test_authorisation(self, session, client, org, booker, who, status):
        kind_id = (await released_session(session, org)).registration_kind_id
        headers = await headers_for(session, org, booker, who)
        assert (await make_link(client, headers, booker, kind_id)).status_code == status


class TestOpenALink:
    async def test_it_works(self, session, client, org, booker):
        clinic = await released_session(session, org, capacity=4)
        clinic_id, kind_id = clinic.id, clinic.registration_kind_id
        later = await released_session(session, org, day=clinic.session_date + timedelta(days=30))
        later.registration_kind_id = kind_id  # beyond the booking window: not offered
        other_kind = (await released_session(session, org)).id
        doctor = await staff_headers(session, org, "doctor")
        token = (await make_link(client, doctor, booker, kind_id)).json()["token"]
        someone = await verified_booker(session)
        await hold(client, someone, clinic_id)
        response = await client.get(f"/api/v1/booking-links/{token}", headers=booker.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["registration_kind"]["name"], body["department"]["name"], body["doctor"]["name"]) == (
            "心内科专家门诊",
            "内科",
            "王医生",
        )
        assert body["patient_id"] == str(booker.patient_id)
        assert [(s["id"], s["available"], s["fee_fen"], s["is_released"]) for s in body["sessions"]] == [
            (str(clinic_id), 3, 3_000, True)
        ]
        assert str(other_kind) not in {s["id"] for s in body["sessions"]}
        booked = await hold(client, booker, clinic_id)  # the normal hold
        assert booked.status_code == 201

    async def test_only_for_the_accounts_holding_the_patient(self, session, client, org, booker):
        kind_id = (await released_session(session, org)).registration_kind_id
        doctor = await staff_headers(session, org, "doctor")
        token = (await make_link(client, doctor, booker, kind_id)).json()["token"]
        stranger = await verified_booker(session)
        response = await client.get(f"/api/v1/booking-links/{token}", headers=stranger.headers)
        assert (response.status_code, response.json()["error"]) == (404, "booking_link_not_found")
        assert (await client.get(f"/api/v1/booking-links/{token}")).status_code == 401

    async def test_expired(self, session, client, org, booker):
        kind_id = (await released_session(session, org)).registration_kind_id
        doctor = await staff_headers(session, org, "doctor")
        token = (await make_link(client, doctor, booker, kind_id, valid_days=1)).json()["token"]
        clock.travel(timedelta(days=1, seconds=1))
        response = await client.get(f"/api/v1/booking-links/{token}", headers=booker.headers)
        assert (response.status_code, response.json()["error"]) == (409, "booking_link_expired")

    async def test_forged(self, session, client, org, booker):
        kind_id = (await released_session(session, org)).registration_kind_id
        doctor = await staff_headers(session, org, "doctor")
        token = (await make_link(client, doctor, booker, kind_id, valid_days=1)).json()["token"]
        body, _, signature = token.rpartition(".")
        kind, patient, made_by, expires = body.split(".")
        longer = f"{kind}.{patient}.{made_by}.{int(expires) + 86_400 * 365}.{signature}"
        for forged in (longer, "not-a-link", f"{body}.{'0' * 64}"):
            response = await client.get(f"/api/v1/booking-links/{forged}", headers=booker.headers)
            assert (response.status_code, response.json()["error"]) == (404, "booking_link_not_found"), forged

    async def test_suspended_sessions_are_not_offered(self, session, client, org, booker):
        clinic = await released_session(session, org)
        kind_id, clinic_id = clinic.registration_kind_id, clinic.id
        doctor = await staff_headers(session, org, "doctor")
        token = (await make_link(client, doctor, booker, kind_id)).json()["token"]
        (await session.get_one(ClinicSession, clinic_id)).state = "suspended"
        response = await client.get(f"/api/v1/booking-links/{token}", headers=booker.headers)
        assert response.json()["sessions"] == []
