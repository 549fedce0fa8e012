"""The outpatient office's configuration (SL-01, SL-02, SL-03, SL-06, SL-07): validation, and an audit entry
for every change; a refusal changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from ihos.backoffice.rules import get_department_rule, get_rule
from ihos.models.audit import AuditEntry
from ihos.models.scheduling import BookingChannel, Holiday, RegistrationKind, ScheduleTemplate, SlotType
from tests.factories import make_staff
from tests.scheduling.conftest import API, generated, make_doctor, make_kind, make_template


async def audited(session, action: str) -> list[AuditEntry]:
    return list((await session.scalars(select(AuditEntry).where(AuditEntry.action == action))).all())


async def count(session, model) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


def template_payload(kind_id, today: date, **extra) -> dict:
    return {
        "registration_kind_id": str(kind_id),
        "weekday": 0,
        "period": "morning",
        "starts": "08:00",
        "ends": "12:00",
        "average_minutes": 15,
        "capacity": 16,
        "quotas": {"window": 4, "kiosk": 2},
        "valid_from": str(today),
        **extra,
    }


class TestSlotTypes:
    async def test_it_works(self, session, client, office):
        response = await client.post(
            f"{API}/slot-types",
            headers=office.headers,
            json={"code": "famous_expert", "name": "知名专家号", "fee_fen": 5_000, "item_code": "GH0009"},
        )
        assert response.status_code == 201, response.text
        listed = await client.get(f"{API}/slot-types", headers=office.headers)
        assert "famous_expert" in [t["code"] for t in listed.json()]
        [entry] = await audited(session, "slot_type.create")
        assert (entry.actor_id, entry.target_id, entry.details["fee_fen"]) == (
            office.id,
            "famous_expert",
            5_000,
        )

    async def test_a_code_once(self, session, client, office):
        before = await count(session, SlotType)
        response = await client.post(
            f"{API}/slot-types",
            headers=office.headers,
            json={"code": "expert", "name": "又一个", "fee_fen": 1, "item_code": "X"},
        )
        assert (response.status_code, response.json()["error"]) == (409, "slot_type_exists")
        assert await count(session, SlotType) == before

    async def test_fee_change_and_retirement_are_audited(self, session, client, office):
        response = await client.patch(
            f"{API}/slot-types/general", headers=office.headers, json={"fee_fen": 1_200, "is_active": False}
        )
        assert response.json()["fee_fen"] == 1_200
        [entry] = await audited(session, "slot_type.update")
        assert entry.details == {"fee_fen": [1_000, 1_200], "is_active": [True, False]}

    async def test_a_negative_fee_is_malformed(self, client, office):
        response = await client.patch(
            f"{API}/slot-types/general", headers=office.headers, json={"fee_fen": -1}
        )
        assert response.status_code == 422


class TestRegistrationKinds:
    async def test_it_works(self, session, client, org, office):
        doctor = await make_doctor(session, org)
        response = await client.post(
            f"{API}/registration-kinds",
            headers=office.headers,
            json={
                "name": "王医生专家门诊",
                "slot_type_code": "expert",
                "department_id": str(org.department_id),
                "doctor_id": str(doctor.id),
                "fee_fen": 4_000,
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["campus_id"], body["fee_fen"], body["is_online"]) == (str(org.campus_id), 4_000, False)
        [entry] = await audited(session, "registration_kind.create")
        assert entry.actor_id == office.id

    async def test_a_clinic_without_a_named_doctor(self, client, org, office):
        response = await client.post(
            f"{API}/registration-kinds",
            headers=office.headers,
            json={
                "name": "高血压专病门诊",
                "slot_type_code": "disease_clinic",
                "department_id": str(org.department_id),
                "disease": "高血压",
            },
        )
        assert response.status_code == 201
        assert (response.json()["doctor_id"], response.json()["disease"]) == (None, "高血压")

    async def test_the_doctor_works_in_the_department(self, session, client, org, office):
        from tests.factories import make_org

        elsewhere = await make_doctor(session, await make_org(session))
        nurse = await make_staff(session, org, roles=["nurse"])
        for doctor_id, error in [(elsewhere.id, "doctor_not_in_department"), (nurse.id, "doctor_not_found")]:
            response = await client.post(
                f"{API}/registration-kinds",
                headers=office.headers,
                json={
                    "name": "门诊",
                    "slot_type_code": "expert",
                    "department_id": str(org.department_id),
                    "doctor_id": str(doctor_id),
                },
            )
            assert response.json()["error"] == error
        assert await count(session, RegistrationKind) == 0

    async def test_online_clinics_need_three_years_of_practice(self, session, client, org, office, today):
        novice = await make_doctor(session, org, practice_since=today - timedelta(days=365 * 2))
        veteran = await make_doctor(session, org, practice_since=today - timedelta(days=365 * 3 + 1))
        answers = []
        for doctor_id in (novice.id, veteran.id):
            response = await client.post(
                f"{API}/registration-kinds",
                headers=office.headers,
                json={
                    "name": "互联网复诊",
                    "slot_type_code": "online_return",
                    "department_id": str(org.department_id),
                    "doctor_id": str(doctor_id),
                    "is_online": True,
                },
            )
            answers.append((response.status_code, response.json().get("error")))
        assert answers == [(400, "online_practice_too_short"), (201, None)]

    async def test_a_retired_slot_type_takes_no_new_kinds(self, session, client, org, office):
        (await session.get_one(SlotType, "special_needs")).is_active = False
        response = await client.post(
            f"{API}/registration-kinds",
            headers=office.headers,
            json={"name": "特需", "slot_type_code": "special_needs", "department_id": str(org.department_id)},
        )
        assert (response.status_code, response.json()["error"]) == (409, "slot_type_retired")

    async def test_a_kind_whose_doctor_left_can_still_be_retired(self, session, client, org, office):
        doctor = await make_doctor(session, org)
        kind_id = (await make_kind(session, org, doctor_id=doctor.id)).id
        doctor.is_active = False
        response = await client.patch(
            f"{API}/registration-kinds/{kind_id}", headers=office.headers, json={"is_active": False}
        )
        assert (response.status_code, response.json()["is_active"]) == (200, False)

    async def test_update_is_audited(self, session, client, org, office):
        kind_id = (await make_kind(session, org)).id
        response = await client.patch(
            f"{API}/registration-kinds/{kind_id}",
            headers=office.headers,
            json={"fee_fen": 3_500, "name": "新名"},
        )
        assert response.status_code == 200
        [entry] = await audited(session, "registration_kind.update")
        assert entry.details == {"name": ["心内科专家门诊", "新名"], "fee_fen": [None, 3_500]}


class TestChannels:
    async def test_it_works(self, session, client, office):
        response = await client.post(
            f"{API}/channels", headers=office.headers, json={"code": "wechat_mp", "name": "公众号"}
        )
        assert response.status_code == 201
        renamed = await client.patch(
            f"{API}/channels/wechat_mp", headers=office.headers, json={"name": "服务号"}
        )
        retired = await client.patch(
            f"{API}/channels/wechat_mp", headers=office.headers, json={"is_active": False}
        )
        assert (renamed.json()["name"], retired.json()["is_active"]) == ("服务号", False)
        assert [len(await audited(session, a)) for a in ("channel.create", "channel.update")] == [1, 2]

    async def test_the_pool_is_not_a_channel(self, session, client, office):
        before = await count(session, BookingChannel)
        for code, status, error in [("pool", 400, "reserved_channel"), ("kiosk", 409, "channel_exists")]:
            response = await client.post(
                f"{API}/channels", headers=office.headers, json={"code": code, "name": "x"}
            )
            assert (response.status_code, response.json()["error"]) == (status, error)
        assert await count(session, BookingChannel) == before

    async def test_unknown_channel(self, client, office):
        response = await client.patch(f"{API}/channels/fax", headers=office.headers, json={"name": "传真"})
        assert response.status_code == 404


class TestHolidays:
    async def test_it_works(self, session, client, office, today):
        day = today + timedelta(days=30)
        response = await client.put(f"{API}/holidays/{day}", headers=office.headers, json={"name": "元旦"})
        assert response.status_code == 200, response.text
        assert response.json() == {
            "day": str(day),
            "name": "元旦",
            "is_workday": False,
            "works_as_weekday": None,
            "open_sessions": 0,
        }
        listed = await client.get(f"{API}/holidays", headers=office.headers, params={"year": day.year})
        assert [h["day"] for h in listed.json()] == [str(day)]
        [entry] = await audited(session, "holiday.set")
        assert entry.target_id == day.isoformat()

    async def test_a_make_up_day(self, client, office, today):
        saturday = today + timedelta(days=5)
        response = await client.put(
            f"{API}/holidays/{saturday}",
            headers=office.headers,
            json={"name": "国庆调休", "is_workday": True, "works_as_weekday": 4},
        )
        assert (response.json()["is_workday"], response.json()["works_as_weekday"]) == (True, 4)

    async def test_setting_it_again_changes_it(self, session, client, office, today):
        day = today + timedelta(days=3)
        await client.put(f"{API}/holidays/{day}", headers=office.headers, json={"name": "中秋"})
        await client.put(f"{API}/holidays/{day}", headers=office.headers, json={"name": "中秋节"})
        assert [h.name for h in (await session.scalars(select(Holiday))).all()] == ["中秋节"]

    async def test_only_a_working_day_runs_as_another_weekday(self, session, client, office, today):
        response = await client.put(
            f"{API}/holidays/{today}", headers=office.headers, json={"name": "x", "works_as_weekday": 1}
        )
        assert response.json()["error"] == "invalid_holiday"
        assert await count(session, Holiday) == 0

    async def test_sessions_already_generated_on_the_day_are_reported(
        self, session, client, org, office, today
    ):
        day = today + timedelta(days=2)
        await generated(session, org, day)
        response = await client.put(
            f"{API}/holidays/{day}", headers=office.headers, json={"name": "临时放假"}
        )
        assert response.json()["open_sessions"] == 1

    async def test_delete(self, session, client, office, today):
        day = today + timedelta(days=3)
        await client.put(f"{API}/holidays/{day}", headers=office.headers, json={"name": "中秋"})
        assert (await client.delete(f"{API}/holidays/{day}", headers=office.headers)).status_code == 204
        assert (await client.delete(f"{API}/holidays/{day}", headers=office.headers)).status_code == 404
        assert await count(session, Holiday) == 0
        assert len(await audited(session, "holiday.delete")) == 1


class TestTemplates:
    async def test_it_works(self, session, client, org, office, today):
        kind_id = (await make_kind(session, org)).id
        response = await client.post(
            f"{API}/templates", headers=office.headers, json=template_payload(kind_id, today)
        )
        assert response.status_code == 201, response.text
        assert response.json()["quotas"] == {"window": 4, "kiosk": 2}
        listed = await client.get(
            f"{API}/templates", headers=office.headers, params={"registration_kind_id": str(kind_id)}
        )
        assert len(listed.json()) == 1
        [entry] = await audited(session, "schedule_template.create")
        assert (entry.actor_id, entry.details["capacity"]) == (office.id, 16)

    async def test_quotas_may_not_exceed_the_capacity(self, session, client, org, office, today):
        kind_id = (await make_kind(session, org)).id
        response = await client.post(
            f"{API}/templates",
            headers=office.headers,
            json=template_payload(kind_id, today, capacity=5, quotas={"window": 4, "kiosk": 2}),
        )
        assert (response.status_code, response.json()["error"]) == (400, "quotas_exceed_capacity")
        assert "6" in response.json()["message"]
        assert await count(session, ScheduleTemplate) == 0

    async def test_quotas_name_active_channels(self, session, client, org, office, today):
        kind_id = (await make_kind(session, org)).id
        (await session.get_one(BookingChannel, "phone")).is_active = False
        for quotas in ({"phone": 1}, {"fax": 1}, {"pool": 1}):
            response = await client.post(
                f"{API}/templates",
                headers=office.headers,
                json=template_payload(kind_id, today, quotas=quotas),
            )
            assert response.json()["error"] == "unknown_channel"

    async def test_times_and_dates_must_make_sense(self, session, client, org, office, today):
        kind_id = (await make_kind(session, org)).id
        for extra in (
            {"starts": "12:00", "ends": "08:00"},
            {"valid_until": str(today - timedelta(days=1))},
            {"quotas": {"window": -1}},
        ):
            response = await client.post(
                f"{API}/templates", headers=office.headers, json=template_payload(kind_id, today, **extra)
            )
            assert (response.status_code, response.json()["error"]) == (400, "invalid_schedule"), extra

    async def test_one_template_per_kind_weekday_and_period_at_a_time(
        self, session, client, org, office, today
    ):
        kind = await make_kind(session, org)
        kind_id = kind.id
        await make_template(session, org, kind, weekday=0, valid_until=today + timedelta(days=30))
        overlapping = await client.post(
            f"{API}/templates",
            headers=office.headers,
            json=template_payload(kind_id, today, valid_from=str(today + timedelta(days=30))),
        )
        assert (overlapping.status_code, overlapping.json()["error"]) == (409, "schedule_template_overlaps")
        following = await client.post(
            f"{API}/templates",
            headers=office.headers,
            json=template_payload(kind_id, today, valid_from=str(today + timedelta(days=31))),
        )
        afternoon = await client.post(
            f"{API}/templates",
            headers=office.headers,
            json=template_payload(kind_id, today, period="afternoon"),
        )
        assert (following.status_code, afternoon.status_code) == (201, 201)

    async def test_an_update_is_checked_and_audited(self, session, client, org, office, today):
        kind = await make_kind(session, org)
        template_id = (await make_template(session, org, kind, weekday=0, quotas={"window": 4})).id
        refused = await client.patch(
            f"{API}/templates/{template_id}", headers=office.headers, json={"capacity": 3}
        )
        assert refused.json()["error"] == "quotas_exceed_capacity"
        assert (await session.get_one(ScheduleTemplate, template_id)).capacity == 16
        changed = await client.patch(
            f"{API}/templates/{template_id}", headers=office.headers, json={"capacity": 20, "room": None}
        )
        assert (changed.json()["capacity"], changed.json()["room"]) == (20, None)
        [entry] = await audited(session, "schedule_template.update")
        assert entry.details == {"capacity": [16, 20], "room": ["A101", None]}

    async def test_a_template_naming_a_retired_channel_can_still_be_retired(
        self, session, client, org, office, today
    ):
        kind = await make_kind(session, org)
        template_id = (await make_template(session, org, kind, weekday=0, quotas={"phone": 2})).id
        (await session.get_one(BookingChannel, "phone")).is_active = False
        refused = await client.patch(
            f"{API}/templates/{template_id}", headers=office.headers, json={"capacity": 10}
        )
        retired = await client.patch(
            f"{API}/templates/{template_id}", headers=office.headers, json={"is_active": False}
        )
        assert (refused.json()["error"], retired.status_code) == ("unknown_channel", 200)

    async def test_a_retired_kind_takes_no_template(self, session, client, org, office, today):
        kind = await make_kind(session, org)
        kind.is_active = False
        response = await client.post(
            f"{API}/templates", headers=office.headers, json=template_payload(kind.id, today)
        )
        assert response.json()["error"] == "registration_kind_retired"


class TestRules:
    async def test_it_works(self, session, client, office):
        listed = await client.get(f"{API}/rules", headers=office.headers)
        keys = {r["key"] for r in listed.json()}
        assert "booking.days_ahead" in keys and "blacklist.cap" in keys
        assert all(k.startswith(("booking.", "blacklist.", "schedule.")) for k in keys)
        response = await client.put(
            f"{API}/rules/booking.daily_cap", headers=office.headers, json={"value": 2}
        )
        assert (response.status_code, response.json()["value"]) == (200, 2)
        assert await get_rule(session, "booking.daily_cap") == 2
        [entry] = await audited(session, "rule.update")
        assert (entry.actor_id, entry.details) == (office.id, {"old": 3, "new": 2})

    async def test_only_booking_rules(self, session, client, office):
        for key, status, error in [
            ("order.hold_minutes", 400, "not_a_booking_rule"),
            ("auth.lockout_threshold", 400, "not_a_booking_rule"),
            ("booking.nonsense", 400, "not_a_booking_rule"),
        ]:
            response = await client.put(f"{API}/rules/{key}", headers=office.headers, json={"value": 5})
            assert (response.status_code, response.json()["error"]) == (status, error)
        assert await audited(session, "rule.update") == []

    async def test_bounds_and_the_same_day_hours(self, session, client, office):
        too_far = await client.put(
            f"{API}/rules/booking.days_ahead", headers=office.headers, json={"value": 400}
        )
        assert too_far.json()["error"] == "invalid_rule_value"
        backwards = await client.put(
            f"{API}/rules/booking.same_day_start_minute", headers=office.headers, json={"value": 1_100}
        )
        assert backwards.json()["error"] == "invalid_same_day_hours"
        assert await get_rule(session, "booking.same_day_start_minute") == 420
        assert await audited(session, "rule.update") == []

    async def test_a_department_override(self, session, client, org, office):
        path = f"{API}/departments/{org.department_id}/rules/booking.days_ahead"
        response = await client.put(path, headers=office.headers, json={"value": 14})
        assert (response.json()["value"], response.json()["is_overridden"]) == (14, True)
        assert await get_department_rule(session, "booking.days_ahead", org.department_id) == 14
        listed = await client.get(f"{API}/departments/{org.department_id}/rules", headers=office.headers)
        assert {r["key"]: r["is_overridden"] for r in listed.json()}["booking.days_ahead"] is True
        cleared = await client.put(path, headers=office.headers, json={"value": None})
        assert (cleared.json()["value"], cleared.json()["is_overridden"]) == (7, False)
        assert len(await audited(session, "rule.department_update")) == 2

    async def test_rules_that_are_not_per_department(self, session, client, org, office):
        for key in ("blacklist.cap", "booking.per_minute_per_account"):
            response = await client.put(
                f"{API}/departments/{org.department_id}/rules/{key}",
                headers=office.headers,
                json={"value": 5},
            )
            assert response.json()["error"] == "not_a_department_rule"

    async def test_unknown_department(self, client, office):
        response = await client.put(
            f"{API}/departments/00000000-0000-7000-8000-000000000000/rules/booking.days_ahead",
            headers=office.headers,
            json={"value": 14},
        )
        assert response.status_code == 404
