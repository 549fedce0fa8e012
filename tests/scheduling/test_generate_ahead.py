"""Sessions generated ahead every day (rule ``schedule.generate_days_ahead``), by a sweep."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import func, select

from ihos.backoffice.rules import set_rule
from ihos.models.scheduling import ClinicSession
from tests.scheduling.conftest import make_kind, make_template


async def session_dates(session) -> list:  # type: ignore[no-untyped-def]
    rows = await session.scalars(select(ClinicSession.session_date).order_by(ClinicSession.session_date))
    return list(rows.all())


class TestGenerateAhead:
    async def test_the_templates_fill_the_days_ahead(self, session, org, today, run_jobs):
        kind = await make_kind(session, org)
        await make_template(session, org, kind, weekday=today.weekday(), starts=time(8), ends=time(12))
        await set_rule(session, org.admin, "schedule.generate_days_ahead", 15)
        await run_jobs()
        # today and the same weekday in 7 and 14 days; nothing beyond the 15 days
        assert await session_dates(session) == [today + timedelta(days=d) for d in (0, 7, 14)]
        await run_jobs()
        assert await session.scalar(select(func.count()).select_from(ClinicSession)) == 3  # never twice

    async def test_off_leaves_generation_to_the_office(self, session, org, today, run_jobs):
        kind = await make_kind(session, org)
        await make_template(session, org, kind, weekday=today.weekday(), starts=time(8), ends=time(12))
        await set_rule(session, org.admin, "schedule.generate_days_ahead", 0)
        await run_jobs()
        assert await session_dates(session) == []
