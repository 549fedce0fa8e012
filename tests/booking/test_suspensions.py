"""Suspensions (SL-05): the sessions suspended, their free places blocked, every live booking cancelled and
refunded through billing, every patient told by SMS, a notice published; running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ihos.models.billing import Order, Refund
from ihos.models.scheduling import ClinicSession, Notice, Slot, Suspension
from tests.booking.conftest import hold, released_session, verified_booker
from tests.booking.support import (
    booked,
    booking_of,
    count,
    headers_for,
    inbox,
    payments_reach,
    phone_of,
    staff_headers,
)
from tests.factories import make_staff


@pytest.fixture(autouse=True)
def _payments(app):  # type: ignore[no-untyped-def]
    with payments_reach(app):
        yield


async def slot_statuses(session, clinic_id) -> list[str]:  # type: ignore[no-untyped-def]
    rows = await session.scalars(
        select(Slot.status)
        .where(Slot.session_id == clinic_id)
        .order_by(Slot.seq)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


class TestTemporarySuspension:
    async def test_it_works(self, session, client, org, run_jobs):
        clinic = await released_session(session, org, capacity=5)
        clinic_id, day = clinic.id, clinic.session_date
        paid_a, paid_b, holding = [await verified_booker(session) for _ in range(3)]
        first = await booked(client, session, run_jobs, paid_a, clinic_id)
        second = await booked(client, session, run_jobs, paid_b, clinic_id)
        held = (await hold(client, holding, clinic_id)).json()["id"]
        await client.post(
            f"/api/v1/me/bookings/{held}/pay", headers=holding.headers, json={"channel": "wechat"}
        )
        headers = await staff_headers(session, org, "outpatient_office")
        response = await client.post(
            "/api/v1/suspensions",
            headers=headers,
            json={"kind": "temporary", "clinic_session_id": str(clinic_id), "reason": "出诊医生临时外出会诊"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["sessions"], body["bookings"]) == (1, 3)
        assert (
            body["suspension"]["kind"],
            body["suspension"]["sessions_affected"],
            body["suspension"]["bookings_cancelled"],
        ) == (
            "temporary",
            1,
            3,
        )
        assert body["notice"]["title"] == "停诊公告：内科 心内科专家门诊"
        assert body["notice"]["body"].startswith(
            f"内科 心内科专家门诊{day:%m月%d日}上午门诊停诊（出诊医生临时外出会诊）。"
        )

        clinic_row = await session.get_one(ClinicSession, clinic_id, populate_existing=True)
        assert (clinic_row.state, str(clinic_row.suspension_id)) == ("suspended", body["suspension"]["id"])
        assert await slot_statuses(session, clinic_id) == ["blocked"] * 5
        for booking_id in (first, second, held):
            booking = await booking_of(session, booking_id)
            assert (booking.state, booking.end_reason, booking.active_key) == ("cancelled", "suspended", None)

        await run_jobs()  # refunds sent and confirmed, the unpaid order closed, the SMS delivered
        orders = {
            booking_id: await session.scalar(
                select(Order)
                .where(Order.order_number == (await booking_of(session, booking_id)).order_number)
                .execution_options(populate_existing=True)
            )
            for booking_id in (first, second, held)
        }
        assert [(o.state, o.refunded_fen) for o in orders.values()] == [
            ("refunded", 3_000),
            ("refunded", 3_000),
            ("closed", 0),
        ]
        assert await count(session, Refund, Refund.is_automatic.is_(True), Refund.state == "succeeded") == 2
        for patient, money in (
            (paid_a, "挂号费30.00元将原路退回。"),
            (paid_b, "挂号费30.00元将原路退回。"),
            (holding, ""),
        ):
            text = (await inbox(session, await phone_of(session, patient)))[-1]
            assert text.startswith("【ihos互联网医院】停诊通知：您预约的 ")
            assert text.endswith(f"因故停诊，预约已取消。{money}给您带来不便，敬请谅解。")

        notices = (await client.get("/api/v1/notices")).json()
        assert [(n["kind"], n["title"]) for n in notices] == [("suspension", "停诊公告：内科 心内科专家门诊")]

    async def test_running_it_again_changes_nothing(self, session, client, org, run_jobs, booker):
        clinic_id = (await released_session(session, org)).id
        await booked(client, session, run_jobs, booker, clinic_id)
        headers = await staff_headers(session, org, "outpatient_office")
        payload = {"kind": "temporary", "clinic_session_id": str(clinic_id), "reason": "临时停诊"}
        first = await client.post("/api/v1/suspensions", headers=headers, json=payload)
        await run_jobs()
        again = await client.post("/api/v1/suspensions", headers=headers, json=payload)
        assert again.status_code == 201, again.text
        assert (again.json()["sessions"], again.json()["bookings"]) == (0, 0)
        assert again.json()["suspension"]["id"] == first.json()["suspension"]["id"]
        assert again.json()["notice"]["id"] == first.json()["notice"]["id"]
        assert (
            again.json()["suspension"]["sessions_affected"],
            again.json()["suspension"]["bookings_cancelled"],
        ) == (1, 1)
        await run_jobs()
        assert (
            await count(session, Suspension),
            await count(session, Notice),
            await count(session, Refund),
        ) == (1, 1, 1)
        assert len(await inbox(session, await phone_of(session, booker))) == 2  # booked, suspended

    async def test_no_hold_on_a_suspended_session(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        headers = await staff_headers(session, org, "outpatient_office")
        await client.post(
            "/api/v1/suspensions",
            headers=headers,
            json={"kind": "temporary", "clinic_session_id": str(clinic_id), "reason": "临时停诊"},
        )
        refused = await hold(client, booker, clinic_id)
        assert (refused.status_code, refused.json()["error"]) == (409, "session_not_bookable")

    async def test_a_session_that_is_over(self, session, client, org):
        from ihos.kit.time import now

        clinic = await released_session(session, org)
        clinic.starts_at, clinic.ends_at = now() - timedelta(hours=5), now() - timedelta(hours=1)
        clinic_id = clinic.id
        headers = await staff_headers(session, org, "outpatient_office")
        response = await client.post(
            "/api/v1/suspensions",
            headers=headers,
            json={"kind": "temporary", "clinic_session_id": str(clinic_id), "reason": "临时停诊"},
        )
        assert (response.status_code, response.json()["error"]) == (409, "session_not_open")
        assert await count(session, Suspension) == 0

    @pytest.mark.parametrize(
        ("who", "status"),
        [
            ("anonymous", 401),
            ("patient", 403),
            ("doctor", 403),
            ("customer_service", 403),
            ("outpatient_office", 201),
        ],
    )
    async def test_authorisation(self, session, client, org, booker, who, status):
        clinic_id = (await released_session(session, org)).id
        headers = await headers_for(session, org, booker, who)
        response = await client.post(
            "/api/v1/suspensions",
            headers=headers,
            json={"kind": "temporary", "clinic_session_id": str(clinic_id), "reason": "临时停诊"},
        )
        assert response.status_code == status, response.text
        state = (await session.get_one(ClinicSession, clinic_id, populate_existing=True)).state
        assert state == ("suspended" if status == 201 else "open")
        assert await count(session, Notice) == (1 if status == 201 else 0)


class TestLongTermSuspension:
    async def test_a_doctors_sessions(self, session, client, org, run_jobs):
        doctor = await make_staff(session, org, roles=["doctor"])
        doctor_id = doctor.id
        first = await released_session(session, org)
        second = await released_session(session, org, day=first.session_date + timedelta(days=3))
        later = await released_session(session, org, day=first.session_date + timedelta(days=30))
        for clinic in (first, second, later):
            clinic.doctor_id = doctor_id
        first_id, second_id, later_id = first.id, second.id, later.id
        date_from, date_to = first.session_date, first.session_date + timedelta(days=7)
        patient = await verified_booker(session)
        booking_id = await booked(client, session, run_jobs, patient, second_id)
        headers = await staff_headers(session, org, "outpatient_office")
        response = await client.post(
            "/api/v1/suspensions",
            headers=headers,
            json={
                "kind": "long_term",
                "doctor_id": str(doctor_id),
                "date_from": date_from.isoformat(),
                "date_to": date_to.isoformat(),
                "reason": "外出进修",
            },
        )
        assert response.status_code == 201, response.text
        assert (response.json()["sessions"], response.json()["bookings"]) == (2, 1)
        assert (
            response.json()["notice"]["title"] == "停诊公告：内科 王医生医生"
        )  # the factory names every doctor 王医生
        assert (
            f"{date_from:%m月%d日}至{date_to:%m月%d日}门诊停诊（外出进修）"
            in response.json()["notice"]["body"]
        )
        states = [
            (await session.get_one(ClinicSession, clinic_id, populate_existing=True)).state
            for clinic_id in (first_id, second_id, later_id)
        ]
        assert states == ["suspended", "suspended", "open"]
        assert (await booking_of(session, booking_id)).state == "cancelled"
        await run_jobs()
        assert await count(session, Refund, Refund.state == "succeeded") == 1

    async def test_doctor_or_kind(self, session, client, org):
        headers = await staff_headers(session, org, "outpatient_office")
        response = await client.post(
            "/api/v1/suspensions",
            headers=headers,
            json={
                "kind": "long_term",
                "date_from": "2030-01-01",
                "date_to": "2030-01-05",
                "reason": "外出进修",
            },
        )
        assert (response.status_code, response.json()["error"]) == (400, "invalid_suspension")
        assert await count(session, Suspension) == 0


class TestNotices:
    async def test_only_current_ones(self, session, client):
        from ihos.kit.time import now

        session.add(
            Notice(
                kind="suspension",
                title="今天",
                body="…",
                published_at=now() - timedelta(hours=1),
                expires_at=now() + timedelta(hours=1),
            )
        )
        session.add(
            Notice(
                kind="suspension",
                title="过期",
                body="…",
                published_at=now() - timedelta(days=2),
                expires_at=now() - timedelta(days=1),
            )
        )
        session.add(Notice(kind="news", title="新闻", body="…", published_at=now() - timedelta(hours=2)))
        all_current = (await client.get("/api/v1/notices")).json()
        assert [n["title"] for n in all_current] == ["今天", "新闻"]
        assert [
            n["title"] for n in (await client.get("/api/v1/notices", params={"kind": "suspension"})).json()
        ] == ["今天"]
