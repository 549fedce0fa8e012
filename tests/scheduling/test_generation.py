"""Generating sessions from weekly templates (SL-03, SL-04, SL-06): holidays, make-up days, validity,
no duplicates, channel quotas, time segments, release and pool times; the preview writes nothing."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from ihos.backoffice.rules import set_department_rule, set_rule
from ihos.models.audit import AuditEntry
from ihos.models.scheduling import ClinicSession, Holiday, Slot
from ihos.scheduling import service
from ihos.scheduling.generation import local_instant, plan
from tests.scheduling.conftest import API, generated, make_doctor, make_kind, make_template


async def sessions_count(session) -> int:
    return await session.scalar(select(func.count()).select_from(ClinicSession)) or 0


async def slots_of(session, clinic_id) -> list[Slot]:
    return list(
        (await session.scalars(select(Slot).where(Slot.session_id == clinic_id).order_by(Slot.seq))).all()
    )


async def run(session, org, start: date, end: date, **extra):
    return await service.generate(
        session, org.admin, date_from=start, date_to=end, template_ids=None, preview=False, **extra
    )


class TestGenerate:
    async def test_it_works(self, session, client, org, office, today):
        doctor = await make_doctor(session, org, name="李主任", title="chief_physician")
        kind = await make_kind(session, org, doctor_id=doctor.id)
        await make_template(session, org, kind, weekday=2, period="afternoon", starts=time(14), ends=time(17))
        response = await client.post(
            f"{API}/generate",
            headers=office.headers,
            json={"date_from": str(today), "date_to": str(today + timedelta(days=13)), "preview": False},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        wednesdays = [today + timedelta(days=2), today + timedelta(days=9)]
        assert [s["session_date"] for s in body["sessions"]] == [str(d) for d in wednesdays]
        first = body["sessions"][0]
        assert (first["kind_name"], first["doctor_name"], first["period"], first["capacity"]) == (
            "心内科专家门诊",
            "李主任",
            "afternoon",
            16,
        )
        assert first["id"] is not None
        assert await sessions_count(session) == 2
        # defaults: released 7 days ahead at 08:00; channel quotas pooled 24 hours before the start
        starts = local_instant(wednesdays[0], time(14))
        assert datetime.fromisoformat(first["starts_at"]) == starts
        clinic = await session.get_one(ClinicSession, uuid.UUID(first["id"]))
        assert clinic.release_at == local_instant(wednesdays[0] - timedelta(days=7), time(8))
        assert clinic.pool_at == starts - timedelta(hours=24)
        assert (clinic.fee_fen, clinic.item_code, clinic.room) == (3_000, "GH0002", "A101")

    async def test_it_is_audited(self, session, client, org, office, today):
        await make_template(session, org, await make_kind(session, org), weekday=0)
        await client.post(
            f"{API}/generate",
            headers=office.headers,
            json={"date_from": str(today), "date_to": str(today + timedelta(days=6)), "preview": False},
        )
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "schedule.generate"))
        assert entry.actor_id == office.id
        assert (entry.details["created"], entry.details["skipped_existing"]) == (1, 0)

    async def test_the_preview_writes_nothing(self, session, client, org, office, today):
        await make_template(session, org, await make_kind(session, org), weekday=0)
        response = await client.post(
            f"{API}/generate",
            headers=office.headers,
            json={"date_from": str(today), "date_to": str(today + timedelta(days=20)), "preview": True},
        )
        body = response.json()
        assert body["preview"] is True
        assert [s["session_date"] for s in body["sessions"]] == [
            str(today + timedelta(days=n)) for n in (0, 7, 14)
        ]
        assert all(s["id"] is None for s in body["sessions"])
        assert datetime.fromisoformat(body["sessions"][1]["release_at"]) == local_instant(today, time(8))
        assert await sessions_count(session) == 0
        assert await session.scalar(select(func.count()).where(AuditEntry.action == "schedule.generate")) == 0

    async def test_a_date_range_in_the_past_or_too_long_is_refused(self, session, client, office, today):
        for start, end in [
            (today - timedelta(days=1), today),
            (today, today + timedelta(days=92)),
            (today + timedelta(days=3), today),
        ]:
            response = await client.post(
                f"{API}/generate",
                headers=office.headers,
                json={"date_from": str(start), "date_to": str(end), "preview": True},
            )
            assert response.status_code == 400
            assert response.json()["error"] == "invalid_date_range"

    async def test_unknown_templates_are_refused(self, client, office, today):
        response = await client.post(
            f"{API}/generate",
            headers=office.headers,
            json={
                "date_from": str(today),
                "date_to": str(today),
                "template_ids": ["00000000-0000-7000-8000-000000000000"],
            },
        )
        assert response.status_code == 404
        assert response.json()["error"] == "schedule_template_not_found"

    async def test_only_the_chosen_templates(self, session, org, today):
        monday = await make_template(session, org, await make_kind(session, org, name="甲"), weekday=0)
        await make_template(session, org, await make_kind(session, org, name="乙"), weekday=0)
        result = await service.generate(
            session, org.admin, date_from=today, date_to=today, template_ids=[monday.id], preview=False
        )
        assert [s.kind_name for s in result.sessions] == ["甲"]


class TestHolidays:
    async def test_holidays_are_skipped(self, session, org, today):
        await make_template(session, org, await make_kind(session, org), weekday=today.weekday())
        session.add(Holiday(day=today + timedelta(days=7), name="元旦"))
        await session.flush()
        result = await run(session, org, today, today + timedelta(days=14))
        assert [s.session_date for s in result.sessions] == [today, today + timedelta(days=14)]
        assert result.holidays == [today + timedelta(days=7)]

    async def test_a_make_up_day_runs_the_clinics_of_the_weekday_it_stands_for(self, session, org, today):
        await make_template(session, org, await make_kind(session, org), weekday=0)  # Mondays
        saturday = today + timedelta(days=5)
        session.add(Holiday(day=saturday, name="春节调休", is_workday=True, works_as_weekday=0))
        await session.flush()
        result = await run(session, org, today + timedelta(days=1), today + timedelta(days=6))
        assert [s.session_date for s in result.sessions] == [saturday]
        assert result.make_up_days == [saturday]

    async def test_a_make_up_day_without_a_weekday_runs_its_own(self, session, org, today):
        saturday = today + timedelta(days=5)
        await make_template(session, org, await make_kind(session, org), weekday=5)
        session.add(Holiday(day=saturday, name="调休", is_workday=True))
        await session.flush()
        result = await run(session, org, saturday, saturday)
        assert [s.session_date for s in result.sessions] == [saturday]


class TestValidity:
    async def test_templates_run_only_within_their_dates(self, session, org, today):
        kind = await make_kind(session, org)
        await make_template(
            session,
            org,
            kind,
            weekday=0,
            valid_from=today + timedelta(days=7),
            valid_until=today + timedelta(days=14),
        )
        result = await run(session, org, today, today + timedelta(days=28))
        assert [s.session_date for s in result.sessions] == [
            today + timedelta(days=7),
            today + timedelta(days=14),
        ]

    async def test_retired_templates_kinds_and_slot_types_make_nothing(self, session, org, today):
        template = await make_template(
            session, org, await make_kind(session, org, name="停用计划"), weekday=0
        )
        await service.update_template(session, org.admin, template.id, is_active=False)
        kind = await make_kind(session, org, name="停用号别")
        await make_template(session, org, kind, weekday=0)
        await service.update_registration_kind(session, org.admin, kind.id, is_active=False)
        special = await make_kind(session, org, name="特需", slot_type_code="special_needs")
        await make_template(session, org, special, weekday=0)
        await service.update_slot_type(session, org.admin, "special_needs", is_active=False)
        await make_template(session, org, await make_kind(session, org, name="照常"), weekday=0)
        result = await run(session, org, today, today)
        assert [s.kind_name for s in result.sessions] == ["照常"]


class TestNoDuplicates:
    async def test_generating_twice_makes_each_session_once(self, session, org, today):
        await make_template(session, org, await make_kind(session, org), weekday=0)
        first = await run(session, org, today, today + timedelta(days=7))
        again = await run(session, org, today, today + timedelta(days=13))
        assert (len(first.sessions), len(again.sessions), again.skipped_existing) == (2, 0, 2)
        assert await sessions_count(session) == 2

    async def test_the_unique_key_decides_a_race(self, session, org, today, monkeypatch):
        """Two generations at once plan the same session; the second insert is refused by the unique key
        and counted as existing, and the rest of the run goes on."""
        await make_template(session, org, await make_kind(session, org), weekday=0)

        async def racing_plan(session, **kwargs):  # the other generation planned it too
            planned = await plan(session, **kwargs)
            return planned + planned

        monkeypatch.setattr(service, "plan", racing_plan)
        result = await run(session, org, today, today)
        assert (len(result.sessions), result.skipped_existing) == (1, 1)
        assert await sessions_count(session) == 1
        assert len(await slots_of(session, result.sessions[0].id)) == 16


class TestPlaces:
    async def test_channel_quotas_are_interleaved_and_the_rest_is_pooled(self, session, org, today):
        clinic = await generated(session, org, today, capacity=10, quotas={"window": 2, "kiosk": 3})
        channels = [s.channel for s in await slots_of(session, clinic.id)]
        assert Counter(channels) == {"pool": 5, "kiosk": 3, "window": 2}
        assert channels == [
            "pool",
            "kiosk",
            "window",
            "pool",
            "kiosk",
            "pool",
            "pool",
            "window",
            "kiosk",
            "pool",
        ]
        for channel in ("window", "kiosk"):  # spread through the session, not bunched at one end
            assert channel in channels[:5]
            assert channel in channels[5:]

    async def test_a_retired_channels_quota_goes_to_the_pool(self, session, org, today):
        kind = await make_kind(session, org)
        await make_template(session, org, kind, weekday=0, capacity=4, quotas={"kiosk": 2})
        await service.update_channel(session, org.admin, "kiosk", is_active=False)
        [made] = (await run(session, org, today, today)).sessions
        assert {s.channel for s in await slots_of(session, made.id)} == {"pool"}

    async def test_segments_follow_the_average_consultation_time(self, session, org, today):
        clinic = await generated(session, org, today, capacity=6, average_minutes=10)
        starts = [s.starts_at for s in await slots_of(session, clinic.id)]
        eight, half_past = local_instant(today, time(8)), local_instant(today, time(8, 30))
        assert starts == [eight] * 3 + [half_past] * 3
        assert (await slots_of(session, clinic.id))[0].ends_at == half_past

    async def test_places_beyond_the_hours_share_the_last_segment(self, session, org, today):
        clinic = await generated(session, org, today, capacity=20, average_minutes=15)  # 300 min in 240
        slots = await slots_of(session, clinic.id)
        last = local_instant(today, time(11, 30))
        assert [s.starts_at for s in slots[14:]] == [last] * 6
        assert slots[-1].ends_at == local_instant(today, time(12))

    @pytest.mark.parametrize(("fee_fen", "expected"), [(None, 3_000), (5_000, 5_000)])
    async def test_the_kinds_fee_overrides_the_types(self, session, org, today, fee_fen, expected):
        clinic = await generated(session, org, today, kind={"fee_fen": fee_fen})
        assert clinic.fee_fen == expected


class TestReleaseRules:
    async def test_hospital_rules(self, session, org, today):
        await set_rule(session, org.admin, "booking.days_ahead", 3)
        await set_rule(session, org.admin, "booking.release_minute", 450)
        await set_rule(session, org.admin, "booking.pool_return_hours", 6)
        day = today + timedelta(days=2)
        clinic = await generated(session, org, day)
        assert clinic.release_at == local_instant(day - timedelta(days=3), time(7, 30))
        assert clinic.pool_at == local_instant(day, time(2))

    async def test_a_department_override_wins(self, session, org, today):
        await set_rule(session, org.admin, "booking.days_ahead", 3)
        await set_department_rule(session, org.admin, "booking.days_ahead", org.department_id, 14)
        await set_department_rule(session, org.admin, "booking.pool_return_hours", org.department_id, 2)
        day = today + timedelta(days=2)
        clinic = await generated(session, org, day)
        assert clinic.release_at == local_instant(day - timedelta(days=14), time(8))
        assert clinic.pool_at == local_instant(day, time(6))

    async def test_changing_a_rule_moves_only_the_sessions_not_yet_released(
        self, session, client, org, office, today
    ):
        released = await generated(session, org, today + timedelta(days=7), kind={"name": "已放号"})
        waiting = await generated(session, org, today + timedelta(days=8), kind={"name": "未放号"})
        released_id, waiting_id = released.id, waiting.id
        released_at = released.release_at
        assert released_at <= local_instant(today, time(10)) < waiting.release_at
        response = await client.put(
            f"{API}/rules/booking.days_ahead", headers=office.headers, json={"value": 14}
        )
        assert response.status_code == 200, response.text
        await session.refresh(released)
        await session.refresh(waiting)
        assert (await session.get_one(ClinicSession, released_id)).release_at == released_at
        moved = await session.get_one(ClinicSession, waiting_id)
        assert moved.release_at == local_instant(today + timedelta(days=8 - 14), time(8))
