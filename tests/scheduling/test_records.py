"""The staff's view (SL-08, DR-07): every booking and registration from every channel with filters and the
patient masked; any doctor's session place by place; a doctor's own schedule within his campuses."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from ihos.kit.time import clock
from ihos.models.booking import Booking
from ihos.models.patients import Patient
from ihos.organization import service as organisation
from tests.booking.conftest import hold, verified_booker
from tests.scheduling.conftest import API, generated, make_doctor, member


async def booked(session, client, clinic_id, **extra):
    booker = await verified_booker(session)
    response = await hold(client, booker, clinic_id, **extra)
    assert response.status_code == 201, response.text
    return booker, response.json()


class TestBookingRecords:
    async def test_it_works(self, session, client, org, office, today):
        doctor = await make_doctor(session, org, name="李主任")
        clinic_id = (
            await generated(session, org, today + timedelta(days=2), kind={"doctor_id": doctor.id})
        ).id
        booker, booking = await booked(session, client, clinic_id)
        response = await client.get(f"{API}/bookings", headers=office.headers)
        assert response.status_code == 200, response.text
        [record] = response.json()["items"]
        patient = await session.get_one(Patient, booker.patient_id)
        assert record["booking_number"] == booking["booking_number"]
        assert (record["channel"], record["state"], record["doctor_name"], record["is_same_day"]) == (
            "app",
            "held",
            "李主任",
            False,
        )
        assert record["patient_name"] == "测**者"
        assert record["patient_id_number"] == patient.id_number[:3] + "*" * 11 + patient.id_number[-4:]
        assert record["patient_phone"] == patient.phone[:3] + "****" + patient.phone[-4:]

    async def test_a_same_day_registration(self, session, client, org, office, today):
        from datetime import time

        clinic_id = (
            await generated(session, org, today, starts=time(14), ends=time(17), period="afternoon")
        ).id
        await booked(session, client, clinic_id)
        [record] = (await client.get(f"{API}/bookings", headers=office.headers)).json()["items"]
        assert record["is_same_day"] is True

    async def test_filters(self, session, client, org, office, today):
        doctor = await make_doctor(session, org, name="甲医生")
        near = (await generated(session, org, today + timedelta(days=1), kind={"doctor_id": doctor.id})).id
        far = (await generated(session, org, today + timedelta(days=3), kind={"name": "普通门诊"})).id
        first, _ = await booked(session, client, near)
        await booked(session, client, far)
        await session.execute(
            update(Booking).where(Booking.session_id == far).values(channel="kiosk", state="confirmed")
        )
        patient = await session.get_one(Patient, first.patient_id)
        id_number, phone = patient.id_number, patient.phone

        async def numbers(**params) -> int:
            response = await client.get(f"{API}/bookings", headers=office.headers, params=params)
            assert response.status_code == 200, response.text
            return response.json()["total"]

        assert await numbers() == 2
        assert await numbers(date_from=str(today + timedelta(days=2))) == 1
        assert await numbers(date_to=str(today + timedelta(days=2))) == 1
        assert await numbers(doctor_id=str(doctor.id)) == 1
        assert await numbers(department_id=str(org.department_id)) == 2
        assert await numbers(channel="kiosk") == 1
        assert await numbers(state="held") == 1
        assert await numbers(session_id=str(far)) == 1
        assert await numbers(patient=id_number) == 1
        assert await numbers(patient=phone) == 1
        assert await numbers(patient="测试患者") == 2
        assert await numbers(patient=phone[:7]) == 0  # a blind index matches whole values only

    async def test_paged_newest_first(self, session, client, org, office, today):
        clinic_id = (await generated(session, org, today + timedelta(days=1))).id
        numbers = []
        for _ in range(3):
            numbers.append((await booked(session, client, clinic_id))[1]["booking_number"])
            clock.travel(timedelta(seconds=1))
        page = (
            await client.get(f"{API}/bookings", headers=office.headers, params={"page_size": 2, "page": 1})
        ).json()
        assert (page["total"], [r["booking_number"] for r in page["items"]]) == (3, numbers[:0:-1])


class TestSessionBoard:
    async def test_it_works(self, session, client, org, office, today):
        clinic_id = (
            await generated(session, org, today + timedelta(days=2), capacity=6, quotas={"kiosk": 2})
        ).id
        _, held = await booked(session, client, clinic_id)
        _, paid = await booked(session, client, clinic_id)
        _, lapsed = await booked(session, client, clinic_id)
        await session.execute(
            update(Booking).where(Booking.booking_number == paid["booking_number"]).values(state="confirmed")
        )
        from ihos.models.scheduling import Slot

        await session.execute(
            update(Slot).where(Slot.seq == paid["seq"], Slot.session_id == clinic_id).values(status="booked")
        )
        await session.execute(
            update(Slot)
            .where(Slot.seq == lapsed["seq"], Slot.session_id == clinic_id)
            .values(hold_expires_at=clock.now() - timedelta(seconds=1))
        )
        response = await client.get(f"{API}/sessions/{clinic_id}/board", headers=office.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["session"]["places"] == {"free": 4, "held": 1, "booked": 1, "cooling": 0, "blocked": 0}
        assert body["by_channel"]["kiosk"] == {"free": 2, "held": 0, "booked": 0, "cooling": 0, "blocked": 0}
        places = {p["seq"]: p for p in body["places"]}
        assert (places[held["seq"]]["status"], places[held["seq"]]["booking_number"]) == (
            "held",
            held["booking_number"],
        )
        assert places[held["seq"]]["patient_name"] == "测**者"
        assert (places[paid["seq"]]["status"], places[paid["seq"]]["booking_state"]) == (
            "booked",
            "confirmed",
        )
        assert (places[lapsed["seq"]]["status"], places[lapsed["seq"]]["booking_number"]) == ("free", None)

    async def test_sessions_of_a_day_with_their_counts(self, session, client, org, office, today):
        day = today + timedelta(days=2)
        clinic_id = (await generated(session, org, day, capacity=3)).id
        await booked(session, client, clinic_id)
        response = await client.get(f"{API}/sessions", headers=office.headers, params={"date_from": str(day)})
        [found] = response.json()
        assert (found["id"], found["places"]["held"], found["places"]["free"]) == (str(clinic_id), 1, 2)
        assert (await client.get(f"{API}/sessions", headers=office.headers)).json() == []  # today's

    async def test_a_range_of_at_most_three_months(self, client, office, today):
        response = await client.get(
            f"{API}/sessions",
            headers=office.headers,
            params={"date_from": str(today), "date_to": str(today + timedelta(days=100))},
        )
        assert response.json()["error"] == "invalid_date_range"


class TestOwnSchedule:
    async def test_it_works(self, session, client, org, today):
        doctor = await make_doctor(session, org, name="李主任")
        from tests.factories import staff_token

        token = await staff_token(session, doctor)
        mine = (await generated(session, org, today + timedelta(days=1), kind={"doctor_id": doctor.id})).id
        await generated(session, org, today + timedelta(days=1), kind={"name": "别人的"})
        _, booking = await booked(session, client, mine)
        response = await client.get(f"{API}/my-sessions", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        [found] = response.json()
        assert (found["id"], found["doctor_name"]) == (str(mine), "李主任")
        assert [(b["booking_number"], b["patient_name"], b["state"]) for b in found["bookings"]] == [
            (booking["booking_number"], "测**者", "held")
        ]

    async def test_lapsed_holds_and_cancellations_are_not_his_patients(self, session, client, org, today):
        doctor = await make_doctor(session, org)
        from tests.factories import staff_token

        token = await staff_token(session, doctor)
        mine = (await generated(session, org, today + timedelta(days=1), kind={"doctor_id": doctor.id})).id
        await booked(session, client, mine)
        clock.travel(timedelta(minutes=16))
        [found] = (
            await client.get(f"{API}/my-sessions", headers={"Authorization": f"Bearer {token}"})
        ).json()
        assert found["bookings"] == []

    async def test_only_the_campuses_he_works_at(self, session, client, org, today):
        doctor = await make_doctor(session, org)
        from tests.factories import staff_token

        token = await staff_token(session, doctor)
        other_campus = await organisation.create_campus(
            session, org.admin, hospital_id=org.hospital_id, code="EAST", name="东院"
        )
        other_department = await organisation.create_department(
            session, org.admin, campus_id=other_campus.id, parent_id=None, code="E01", name="东院内科"
        )
        elsewhere = await generated(
            session, org, today + timedelta(days=1), kind={"department_id": other_department.id}
        )
        elsewhere.doctor_id = doctor.id  # placed there by hand, at a campus he has no access to
        response = await client.get(f"{API}/my-sessions", headers={"Authorization": f"Bearer {token}"})
        assert response.json() == []

    async def test_staff_without_sessions_see_none(self, session, client, org):
        nurse = await member(session, org, "nurse")
        response = await client.get(f"{API}/my-sessions", headers=nurse.headers)
        assert (response.status_code, response.json()) == (200, [])
