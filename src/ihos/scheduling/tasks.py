"""Background work of the slot pool: sessions generated ahead from the weekly templates, every day, so that
the booking window never runs dry when nobody in the outpatient office remembers to press 生成.

The office still generates by hand (with a preview) and cancels or suspends what it must: generation only
adds the sessions a template makes and leaves every existing one as it is.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.auth.caller import Caller
from ihos.backoffice.rules import get_rule
from ihos.jobs import sweep
from ihos.kit.time import local_today
from ihos.scheduling import service

SCHEDULER = Caller(kind="system", label="排班自动生成")


@sweep("scheduling.generate_ahead", every=timedelta(hours=6))
async def generate_ahead(session: AsyncSession) -> None:
    days = await get_rule(session, "schedule.generate_days_ahead")
    if days == 0:
        return  # the office generates by hand only
    today = local_today()
    await service.generate(
        session, SCHEDULER, date_from=today, date_to=today + timedelta(days=days - 1), template_ids=None,
        preview=False,
    )  # fmt: skip
