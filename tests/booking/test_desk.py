"""The hospital's booking desk: finding bookings (campus-scoped) and a booking's detail; the suspension
list. Cancelling, releasing, attendance, bans and suspensions have their own files."""

from __future__ import annotations

import pytest

from ihos.organization import service as organisation
from tests.booking.conftest import hold, released_session, verified_booker
from tests.booking.support import headers_for, staff_headers
from tests.factories import make_org, unique


class TestFindBookings:
    async def test_it_works(self, session, client, org, booker):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        other = await verified_booker(session)
        mine = (await hold(client, booker, clinic_id)).json()["id"]
        theirs = (await hold(client, other, clinic_id)).json()["id"]
        office = await staff_headers(session, org, "outpatient_office")
        response = await client.get(
            "/api/v1/bookings", headers=office, params={"clinic_session_id": str(clinic_id)}
        )
        assert response.status_code == 200, response.text
        assert [(b["id"], b["seq"]) for b in response.json()["items"]] == [(mine, 1), (theirs, 2)]
        by_patient = await client.get(
            "/api/v1/bookings",
            headers=office,
            params={"patient_id": str(other.patient_id), "session_date": str(day)},
        )
        assert [b["id"] for b in by_patient.json()["items"]] == [theirs]
        held = await client.get("/api/v1/bookings", headers=office, params={"state": "confirmed"})
        assert held.json()["total"] == 0

    async def test_only_the_campuses_one_works_at(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        await hold(client, booker, clinic_id)
        # A campus-scoped role that reads bookings (the built-in ones that do see every campus).
        role = unique("desk")
        await organisation.create_role(
            session,
            org.admin,
            code=role,
            name="分诊台",
            description=None,
            permissions=["booking.read"],
            is_campus_scoped=True,
        )
        here = await staff_headers(session, org, role)
        elsewhere = await staff_headers(session, await make_org(session), role)
        assert (await client.get("/api/v1/bookings", headers=here)).json()["total"] == 1
        response = await client.get("/api/v1/bookings", headers=elsewhere)
        assert (response.status_code, response.json()["total"]) == (200, 0)

    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("anonymous", 401),
            ("patient", 403),
            ("finance", 403),
            ("nurse", 403),
            ("customer_service", 200),
            ("outpatient_office", 200),
        ],
    )
    async def test_authorisation(self, session, client, org, booker, who, status):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        headers = await headers_for(session, org, booker, who)
        listed = await client.get("/api/v1/bookings", headers=headers)
        detail = await client.get(f"/api/v1/bookings/{booking_id}", headers=headers)
        assert (listed.status_code, detail.status_code) == (status, status)
        if status == 200:
            assert detail.json()["patient_name"] == "测**者"


class TestSuspensionList:
    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("anonymous", 401),
            ("patient", 403),
            ("nurse", 403),
            ("customer_service", 403),
            ("outpatient_office", 200),
        ],
    )
    async def test_authorisation(self, session, client, org, booker, who, status):
        clinic_id = (await released_session(session, org)).id
        manager = await staff_headers(session, org, "outpatient_office")
        await client.post(
            "/api/v1/suspensions",
            headers=manager,
            json={"kind": "temporary", "clinic_session_id": str(clinic_id), "reason": "临时停诊"},
        )
        headers = await headers_for(session, org, booker, who)
        response = await client.get("/api/v1/suspensions", headers=headers)
        assert response.status_code == status, response.text
        if status == 200:
            [item] = response.json()["items"]
            assert (item["kind"], item["session_id"], item["reason"]) == (
                "temporary",
                str(clinic_id),
                "临时停诊",
            )
