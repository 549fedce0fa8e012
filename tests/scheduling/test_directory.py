"""What a patient browses without signing in (PT-22, PT-24): departments with clinics per campus, the
doctor directory in title order with the doctors who hold no clinic, search, schedules over the booking
window, and nothing private about the staff."""

from __future__ import annotations

from datetime import time, timedelta

from ihos.backoffice.rules import set_department_rule
from ihos.organization import service as organisation
from tests.factories import make_staff
from tests.scheduling.conftest import CLINICS, generated, make_doctor, make_kind, make_template


class TestCampuses:
    async def test_it_works(self, session, client, org):
        await make_kind(session, org)
        empty = await organisation.create_department(
            session, org.admin, campus_id=org.campus_id, parent_id=None, code="EMPTY", name="行政科"
        )
        assert empty.id != org.department_id
        response = await client.get(f"{CLINICS}/campuses", params={"campus_id": str(org.campus_id)})
        assert response.status_code == 200
        [campus] = response.json()
        assert (campus["id"], campus["name"]) == (str(org.campus_id), "本部")
        assert [d["name"] for d in campus["departments"]] == ["内科"]

    async def test_departments_under_a_parent_say_so(self, session, client, org):
        child = await organisation.create_department(
            session,
            org.admin,
            campus_id=org.campus_id,
            parent_id=org.department_id,
            code="CARD",
            name="心内科",
        )
        await make_kind(session, org, department_id=child.id)
        [campus] = (await client.get(f"{CLINICS}/campuses", params={"campus_id": str(org.campus_id)})).json()
        assert [(d["name"], d["parent_name"]) for d in campus["departments"]] == [("心内科", "内科")]

    async def test_retired_kinds_do_not_make_a_clinic(self, session, client, org):
        kind = await make_kind(session, org)
        kind.is_active = False
        response = await client.get(f"{CLINICS}/campuses", params={"campus_id": str(org.campus_id)})
        assert response.json() == []


class TestDirectory:
    async def test_by_title_then_rank(self, session, client, org):
        for name, title, rank in [
            ("住院甲", "resident_physician", 0),
            ("主任乙", "chief_physician", 2),
            ("主任甲", "chief_physician", 1),
            ("主治甲", "attending_physician", 0),
            ("副主任甲", "associate_chief_physician", 5),
            ("无职称", None, 0),
            ("主任技师", "chief_technician", 0),
        ]:
            await make_doctor(session, org, name=name, title=title, rank=rank)
        response = await client.get(f"{CLINICS}/departments/{org.department_id}/doctors")
        assert response.status_code == 200
        assert [d["name"] for d in response.json()] == [
            "主任甲",
            "主任乙",
            "副主任甲",
            "主治甲",
            "住院甲",
            "主任技师",
            "无职称",
        ]
        assert response.json()[0]["professional_title_name"] == "主任医师"

    async def test_doctors_without_a_clinic_are_listed_too(self, session, client, org):
        with_clinic = await make_doctor(session, org, name="有门诊", rank=1)
        await make_kind(session, org, doctor_id=with_clinic.id, fee_fen=4_000)
        await make_doctor(session, org, name="无门诊", rank=2)
        body = (await client.get(f"{CLINICS}/departments/{org.department_id}/doctors")).json()
        assert [(d["name"], d["has_clinic"]) for d in body] == [("有门诊", True), ("无门诊", False)]
        assert [(k["name"], k["fee_fen"], k["slot_type_name"]) for k in body[0]["kinds"]] == [
            ("心内科专家门诊", 4_000, "专家号")
        ]

    async def test_only_active_doctors(self, session, client, org):
        await make_staff(session, org, roles=["nurse"])
        gone = await make_doctor(session, org, name="已离职")
        gone.is_active = False
        assert (await client.get(f"{CLINICS}/departments/{org.department_id}/doctors")).json() == []

    async def test_a_card_shows_nothing_private(self, session, client, org):
        doctor = await make_doctor(session, org, name="李主任", title="chief_physician")
        doctor.speciality, doctor.post = "冠心病介入治疗", "director"
        response = await client.get(f"{CLINICS}/doctors/{doctor.id}")
        body = response.json()
        assert (body["name"], body["post_name"], body["speciality"], body["departments"]) == (
            "李主任",
            "科主任",
            "冠心病介入治疗",
            ["内科"],
        )
        for private in ("phone", "username", "staff_number", "roles", "last_sign_in_at"):
            assert private not in body

    async def test_not_a_doctor(self, session, client, org):
        nurse = await make_staff(session, org, roles=["nurse"])
        response = await client.get(f"{CLINICS}/doctors/{nurse.id}")
        assert (response.status_code, response.json()["error"]) == (404, "doctor_not_found")


class TestSearch:
    async def test_by_department_or_doctor(self, session, client, org):
        await make_kind(session, org)  # 内科 holds a clinic
        await make_doctor(session, org, name="内田医生")
        await make_doctor(session, org, name="张医生")
        body = (await client.get(f"{CLINICS}/search", params={"q": "内"})).json()
        assert [d["name"] for d in body["departments"]] == ["内科"]
        assert [d["name"] for d in body["doctors"]] == ["内田医生"]
        by_name = (await client.get(f"{CLINICS}/search", params={"q": "张"})).json()
        assert ([d["name"] for d in by_name["departments"]], [d["name"] for d in by_name["doctors"]]) == (
            [],
            ["张医生"],
        )

    async def test_wildcards_are_plain_text(self, session, client, org):
        await make_kind(session, org)
        await make_doctor(session, org)
        body = (await client.get(f"{CLINICS}/search", params={"q": "%"})).json()
        assert body == {"departments": [], "doctors": []}

    async def test_a_query_is_needed(self, client):
        assert (await client.get(f"{CLINICS}/search", params={"q": ""})).status_code == 422


class TestSchedules:
    async def test_a_doctors_schedule_over_the_booking_window(self, session, client, org, today):
        doctor = await make_doctor(session, org, name="李主任", title="chief_physician")
        kind = await make_kind(session, org, doctor_id=doctor.id)
        await make_template(session, org, kind, weekday=1)  # Tuesdays
        await make_template(session, org, kind, weekday=3, period="afternoon", starts=time(14), ends=time(17))
        from ihos.scheduling import service

        await service.generate(
            session,
            org.admin,
            date_from=today,
            date_to=today + timedelta(days=20),
            template_ids=None,
            preview=False,
        )
        response = await client.get(f"{CLINICS}/doctors/{doctor.id}/schedule")
        body = response.json()
        # released 7 days ahead at 08:00; the week beyond shows when it will be; nothing after that
        assert [(s["session_date"], s["state"], s["opens_at"] is not None) for s in body["sessions"]] == [
            (str(today + timedelta(days=1)), "available", False),
            (str(today + timedelta(days=3)), "available", False),
            (str(today + timedelta(days=8)), "not_released", True),
            (str(today + timedelta(days=10)), "not_released", True),
        ]
        first = body["sessions"][0]
        assert (first["doctor_name"], first["professional_title_name"], first["available"]) == (
            "李主任",
            "主任医师",
            16,
        )
        assert first["kind"]["fee_fen"] == 3_000
        assert [(w["weekday"], w["period"]) for w in body["weekly"]] == [(1, "morning"), (3, "afternoon")]

    async def test_the_window_is_the_departments(self, session, client, org, today):
        await set_department_rule(session, org.admin, "booking.days_ahead", org.department_id, 2)
        for days in (2, 3, 9, 10):
            await generated(session, org, today + timedelta(days=days), kind={"name": f"号别{days}"})
        body = (await client.get(f"{CLINICS}/departments/{org.department_id}/schedule")).json()
        assert [(s["kind"]["name"], s["state"]) for s in body["sessions"]] == [
            ("号别2", "available"),
            ("号别3", "not_released"),
            ("号别9", "not_released"),
        ]

    async def test_sessions_that_ended_are_left_out(self, session, client, org, today):
        await generated(session, org, today, kind={"name": "上午"}, starts=time(7), ends=time(9))
        await generated(
            session, org, today, kind={"name": "下午"}, starts=time(14), ends=time(17), period="afternoon"
        )
        body = (await client.get(f"{CLINICS}/departments/{org.department_id}/schedule")).json()
        assert [s["kind"]["name"] for s in body["sessions"]] == ["下午"]

    async def test_an_unknown_department_or_doctor(self, client):
        missing = "00000000-0000-7000-8000-000000000000"
        for path in (f"departments/{missing}/schedule", f"doctors/{missing}/schedule", f"sessions/{missing}"):
            assert (await client.get(f"{CLINICS}/{path}")).status_code == 404
