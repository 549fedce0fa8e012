"""The day-before reminder (PT-25): from 10:00 the day before, once per booking."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.booking.conftest import released_session
from tests.booking.support import booked, booking_of, inbox, local_at, payments_reach, phone_of, travel_to


@pytest.fixture(autouse=True)
def _payments(app):  # type: ignore[no-untyped-def]
    with payments_reach(app):
        yield


class TestReminder:
    async def test_it_works(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        day = clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic.id)
        phone = await phone_of(session, booker)
        travel_to(local_at(day - timedelta(days=1), 9, 59))
        await run_jobs()
        assert len(await inbox(session, phone)) == 1  # the confirmation only
        travel_to(local_at(day - timedelta(days=1), 10, 5))
        await run_jobs()
        texts = await inbox(session, phone)
        assert len(texts) == 2
        assert texts[-1].startswith(
            f"【ihos互联网医院】就诊提醒：您预约了明天 {day:%m月%d日}上午 08:00-08:30 "
            "本部 心内科专家门诊 第1号。"
        )
        assert texts[-1].endswith(
            "如不能前往，请在就诊前2小时前取消，逾期取消不退挂号费，爽约将计入信用记录。"
        )
        assert (await booking_of(session, booking_id)).reminded_at is not None

    async def test_sent_once(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        day = clinic.session_date
        await booked(client, session, run_jobs, booker, clinic.id)
        for minute in (10, 20, 40):
            travel_to(local_at(day - timedelta(days=1), 11, minute))
            await run_jobs()
        travel_to(local_at(day - timedelta(days=1), 21, 0))
        await run_jobs()
        texts = await inbox(session, await phone_of(session, booker))
        assert [text.split("：")[0] for text in texts] == [
            "【ihos互联网医院】您已预约成功",
            "【ihos互联网医院】就诊提醒",
        ]

    async def test_not_for_cancelled_bookings(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        day = clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic.id)
        await client.post(f"/api/v1/me/bookings/{booking_id}/cancel", headers=booker.headers, json={})
        travel_to(local_at(day - timedelta(days=1), 10, 5))
        await run_jobs()
        assert len(await inbox(session, await phone_of(session, booker))) == 1
