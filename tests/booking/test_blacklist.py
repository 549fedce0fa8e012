"""The blacklist (SL-09): no-shows and late cancellations counted over the window; at the cap a ban with
its reason and end date, told by SMS; the hold refuses; staff list bans and lift one with a note."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ihos.kit.time import clock, local_today, now
from ihos.models.accounts import Account
from ihos.models.booking import BlacklistEvent, BookingBan
from tests.booking.conftest import Booker, hold, released_session, verified_booker
from tests.booking.support import (
    audit_actions,
    booked,
    count,
    headers_for,
    inbox,
    local_at,
    payments_reach,
    phone_of,
    signed_in_again,
    travel_to,
)
from tests.factories import make_staff, patient_token


@pytest.fixture(autouse=True)
def _payments(app):  # type: ignore[no-untyped-def]
    with payments_reach(app):
        yield


async def signed_in(session, booker: Booker) -> Booker:  # type: ignore[no-untyped-def]
    """The patient signs in again (a session does not outlive months of travelled clock)."""
    account = await session.get_one(Account, booker.account_id)
    return Booker(booker.account_id, booker.patient_id, await patient_token(session, account))


async def miss_a_visit(session, client, run_jobs, org, booker: Booker) -> Booker:  # type: ignore[no-untyped-def]
    """Book a session two days ahead, pay, and stay away: the sweep counts a no-show."""
    booker = await signed_in(session, booker)
    clinic = await released_session(session, org)
    day = clinic.session_date
    await booked(client, session, run_jobs, booker, clinic.id)
    travel_to(local_at(day, 14, 30))
    await run_jobs()
    return booker


class TestBan:
    async def test_at_the_cap(self, session, client, org, booker, run_jobs):
        for _ in range(3):
            booker = await miss_a_visit(session, client, run_jobs, org, booker)
        assert await count(session, BlacklistEvent, BlacklistEvent.patient_id == booker.patient_id) == 3
        [ban] = (await session.scalars(select(BookingBan))).all()
        assert (ban.patient_id, ban.reason, ban.lifted_at) == (
            booker.patient_id,
            "近90天内爽约或逾期退号累计3次",
            None,
        )
        assert ban.ends_at - ban.starts_at == timedelta(days=90)
        assert await count(session, BlacklistEvent, BlacklistEvent.ban_id == ban.id) == 3
        until = ban.ends_at.astimezone(local_at(local_today(), 0).tzinfo)
        texts = await inbox(session, await phone_of(session, booker))
        assert texts[-1] == (
            f"【ihos互联网医院】预约限制通知：近90天内爽约或逾期退号累计3次，{until:%Y年%m月%d日}前不能预约挂号。"
            "如有疑问请联系医院客服。"
        )
        # The hold refuses, with the reason and the end date.
        booker = await signed_in(session, booker)
        clinic_id = (await released_session(session, org)).id
        refused = await hold(client, booker, clinic_id)
        assert refused.status_code == 403
        assert (refused.json()["error"], refused.json()["message"]) == (
            "booking_banned",
            f"近90天内爽约或逾期退号累计3次，{until:%Y年%m月%d日}前不能预约",
        )

    async def test_below_the_cap(self, session, client, org, booker, run_jobs):
        for _ in range(2):
            booker = await miss_a_visit(session, client, run_jobs, org, booker)
        assert await count(session, BookingBan) == 0
        booker = await signed_in(session, booker)
        clinic_id = (await released_session(session, org)).id
        assert (await hold(client, booker, clinic_id)).status_code == 201

    async def test_old_events_fall_out_of_the_window(self, session, client, org, booker, run_jobs):
        for _ in range(2):
            booker = await miss_a_visit(session, client, run_jobs, org, booker)
        clock.travel(timedelta(days=90))
        booker = await miss_a_visit(session, client, run_jobs, org, booker)
        assert await count(session, BlacklistEvent) == 3
        assert await count(session, BookingBan) == 0

    async def test_a_late_cancellation_counts(self, session, client, org, booker, run_jobs):
        from ihos.backoffice.rules import set_rule

        await set_rule(session, org.admin, "blacklist.cap", 1)
        clinic = await released_session(session, org)
        day = clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic.id)
        travel_to(local_at(day, 7))
        response = await client.post(
            f"/api/v1/me/bookings/{booking_id}/cancel", headers=booker.headers, json={"accept_late": True}
        )
        assert response.status_code == 200, response.text
        [ban] = (await session.scalars(select(BookingBan))).all()
        until = ban.ends_at.astimezone(local_at(day, 0).tzinfo)
        assert response.json()["message"] == (
            "预约已取消。因已过退号截止时间，挂号费不予退还，并已记录一次逾期退号；"
            f"近90天内爽约或逾期退号累计1次，{until:%Y年%m月%d日}前不能预约。"
        )


class TestListBans:
    @pytest.mark.parametrize(
        ("who", "status"),
        [("anonymous", 401), ("patient", 403), ("nurse", 403), ("finance", 403), ("customer_service", 200)],
    )
    async def test_authorisation(self, session, client, org, booker, who, status):
        session.add(
            BookingBan(
                patient_id=booker.patient_id,
                reason="测试",
                starts_at=now(),
                ends_at=now() + timedelta(days=9),
            )
        )
        headers = await headers_for(session, org, booker, who)
        response = await client.get("/api/v1/booking-bans", headers=headers)
        assert response.status_code == status, response.text
        if status == 200:
            [item] = response.json()["items"]
            assert (item["patient_id"], item["patient_name"], item["is_running"], item["events"]) == (
                str(booker.patient_id),
                "测**者",
                True,
                0,
            )

    async def test_running_or_all(self, session, client, org, booker):
        other = await verified_booker(session)
        session.add(
            BookingBan(
                patient_id=booker.patient_id,
                reason="进行中",
                starts_at=now(),
                ends_at=now() + timedelta(days=9),
            )
        )
        session.add(
            BookingBan(
                patient_id=other.patient_id,
                reason="已到期",
                starts_at=now() - timedelta(days=99),
                ends_at=now() - timedelta(days=9),
            )
        )
        headers = await headers_for(session, org, booker, "customer_service")
        running = (await client.get("/api/v1/booking-bans", headers=headers)).json()
        everything = (
            await client.get("/api/v1/booking-bans", headers=headers, params={"running": "false"})
        ).json()
        assert [item["reason"] for item in running["items"]] == ["进行中"]
        assert sorted(item["reason"] for item in everything["items"]) == ["已到期", "进行中"]


class TestLiftBan:
    async def test_it_works(self, session, client, org, booker, run_jobs):
        for _ in range(3):
            booker = await miss_a_visit(session, client, run_jobs, org, booker)
        ban_id = (await session.scalars(select(BookingBan.id))).one()
        staff_id = (await make_staff(session, org, roles=["customer_service"])).id
        response = await client.post(
            f"/api/v1/booking-bans/{ban_id}/lift",
            headers=await signed_in_again(session, staff_id),
            json={"note": "两次爽约因医院通知错误，核实后解除"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["is_running"], body["lift_note"], body["lifted_by"], body["events"]) == (
            False,
            "两次爽约因医院通知错误，核实后解除",
            str(staff_id),
            3,
        )
        assert "blacklist.lift" in await audit_actions(session, str(ban_id))
        await run_jobs()
        texts = await inbox(session, await phone_of(session, booker))
        assert texts[-1].startswith("【ihos互联网医院】预约限制解除通知：")
        booker = await signed_in(session, booker)
        clinic_id = (await released_session(session, org)).id
        assert (await hold(client, booker, clinic_id)).status_code == 201
        again = await client.post(
            f"/api/v1/booking-bans/{ban_id}/lift",
            headers=await signed_in_again(session, staff_id),
            json={"note": "再次解除"},
        )
        assert (again.status_code, again.json()["error"]) == (409, "booking_ban_not_running")

    async def test_the_count_starts_again(self, session, client, org, booker, run_jobs):
        for _ in range(3):
            booker = await miss_a_visit(session, client, run_jobs, org, booker)
        ban_id = (await session.scalars(select(BookingBan.id))).one()
        headers = await headers_for(session, org, booker, "customer_service")
        await client.post(f"/api/v1/booking-bans/{ban_id}/lift", headers=headers, json={"note": "核实后解除"})
        booker = await miss_a_visit(session, client, run_jobs, org, booker)
        assert await count(session, BookingBan) == 1

    async def test_a_note_is_required(self, session, client, org, booker):
        ban = BookingBan(
            patient_id=booker.patient_id, reason="测试", starts_at=now(), ends_at=now() + timedelta(days=9)
        )
        session.add(ban)
        await session.flush()
        ban_id = ban.id
        headers = await headers_for(session, org, booker, "customer_service")
        response = await client.post(f"/api/v1/booking-bans/{ban_id}/lift", headers=headers, json={})
        assert response.status_code == 422
        assert (await session.get_one(BookingBan, ban_id, populate_existing=True)).lifted_at is None

    @pytest.mark.parametrize(
        ("who", "status"),
        [("anonymous", 401), ("patient", 403), ("nurse", 403), ("finance", 403), ("customer_service", 200)],
    )
    async def test_authorisation(self, session, client, org, booker, who, status):
        ban = BookingBan(
            patient_id=booker.patient_id, reason="测试", starts_at=now(), ends_at=now() + timedelta(days=9)
        )
        session.add(ban)
        await session.flush()
        ban_id = ban.id
        headers = await headers_for(session, org, booker, who)
        response = await client.post(
            f"/api/v1/booking-bans/{ban_id}/lift", headers=headers, json={"note": "核实后解除"}
        )
        assert response.status_code == status, response.text
        lifted = (await session.get_one(BookingBan, ban_id, populate_existing=True)).lifted_at
        assert (lifted is not None) == (status == 200)
