"""Cancelling (PT-09, SL-07): before the deadline refunded automatically to the original channel; after it
allowed once the patient accepts no refund and a late-cancel event; a hold cancels at once; the place
returns to the pool after a random cooling delay. Staff cancel with a reason and always refund."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ihos.backoffice.rules import set_rule
from ihos.models.billing import Order, Refund
from ihos.models.booking import BlacklistEvent
from ihos.models.patients import Patient
from tests.booking.conftest import hold, released_session, verified_booker
from tests.booking.support import (
    audit_actions,
    booked,
    booking_of,
    count,
    headers_for,
    local_at,
    payments_reach,
    slot_of,
    staff_headers,
    system_client,
    travel_to,
)


@pytest.fixture(autouse=True)
def _payments(app):  # type: ignore[no-untyped-def]
    with payments_reach(app):
        yield


async def cancel(client, booker, booking_id, **body):  # type: ignore[no-untyped-def]
    return await client.post(f"/api/v1/me/bookings/{booking_id}/cancel", headers=booker.headers, json=body)


async def order_of(session, booking_id) -> Order:  # type: ignore[no-untyped-def]
    booking = await booking_of(session, booking_id)
    order = await session.scalar(
        select(Order)
        .where(Order.order_number == booking.order_number)
        .execution_options(populate_existing=True)
    )
    assert order is not None
    return order


class TestCancelBeforeTheDeadline:
    async def test_it_works(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        response = await cancel(client, booker, booking_id)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["is_late"], body["refund"]["amount_fen"], body["counter_refund_fen"]) == (
            False,
            3_000,
            0,
        )
        assert body["message"] == "预约已取消，挂号费30.00元将原路退回，一般1-7个工作日到账。"
        assert (body["booking"]["state"], body["booking"]["end_reason"], body["booking"]["cancellation"]) == (
            "cancelled",
            "by_patient",
            None,
        )
        await run_jobs()  # the refund goes to WeChat, which confirms it
        order = await order_of(session, booking_id)
        assert (order.state, order.refunded_fen) == ("refunded", 3_000)
        refund = await session.scalar(select(Refund).where(Refund.order_id == order.id))
        assert refund is not None
        assert (refund.state, refund.is_automatic, refund.amount_fen) == ("succeeded", True, 3_000)
        assert await count(session, BlacklistEvent) == 0
        assert "booking.cancel" in await audit_actions(session, body["booking"]["booking_number"])

    async def test_the_place_cools_down_for_a_random_delay(self, session, client, org, booker, run_jobs):
        from ihos.kit.time import clock, now

        clinic_id = (await released_session(session, org, capacity=1)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        clock.freeze()
        cancelled_at = now()
        await cancel(client, booker, booking_id)
        slot = await slot_of(session, booking_id)
        assert (slot.status, slot.booking_id) == ("cooling", None)
        assert slot.available_at is not None
        delay = slot.available_at - cancelled_at
        assert timedelta(seconds=60) <= delay <= timedelta(seconds=600)  # booking.cooling_min/max_seconds
        next_booker = await verified_booker(session)
        clock.travel(delay - timedelta(seconds=1))
        assert (await hold(client, next_booker, clinic_id)).json()["error"] == "sold_out"
        clock.travel(timedelta(seconds=1))
        taken = await hold(client, next_booker, clinic_id)
        assert taken.status_code == 201
        assert taken.json()["seq"] == 1

    async def test_the_delay_follows_the_rules(self, session, client, org, booker, run_jobs):
        from ihos.kit.time import clock, now

        await set_rule(session, org.admin, "booking.cooling_min_seconds", 300)
        await set_rule(session, org.admin, "booking.cooling_max_seconds", 300)
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        clock.freeze()
        await cancel(client, booker, booking_id)
        assert (await slot_of(session, booking_id)).available_at == now() + timedelta(seconds=300)


class TestCancelAfterTheDeadline:
    async def test_must_be_accepted_first(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 7))  # the 08:00 segment's deadline was 06:00
        detail = (await client.get(f"/api/v1/me/bookings/{booking_id}", headers=booker.headers)).json()
        assert detail["cancellation"]["is_late"] is True
        assert detail["cancellation"]["refund_fen"] == 0
        warning = detail["cancellation"]["message"]
        assert warning.startswith("已过退号截止时间（")
        assert (
            "挂号费30.00元不予退还，并记录一次逾期退号；90天内爽约或逾期退号累计3次，将暂停预约90天。"
            in warning
        )
        refused = await cancel(client, booker, booking_id)
        assert refused.status_code == 409
        assert (refused.json()["error"], refused.json()["message"]) == ("late_cancel_not_accepted", warning)
        assert (await booking_of(session, booking_id)).state == "confirmed"
        assert (await slot_of(session, booking_id)).status == "booked"
        assert await count(session, BlacklistEvent) == 0

    async def test_accepted(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 7))
        response = await cancel(client, booker, booking_id, accept_late=True)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["is_late"], body["refund"], body["booking"]["end_reason"]) == (
            True,
            None,
            "by_patient_late",
        )
        assert body["message"] == (
            "预约已取消。因已过退号截止时间，挂号费不予退还，并已记录一次逾期退号（90天内第1次，累计3次将暂停预约90天）。"
        )
        await run_jobs()
        order = await order_of(session, booking_id)
        assert (order.state, order.refunded_fen) == ("paid", 0)
        [event] = (await session.scalars(select(BlacklistEvent))).all()
        assert (event.kind, str(event.booking_id), event.patient_id) == (
            "late_cancel",
            booking_id,
            booker.patient_id,
        )
        assert (await slot_of(session, booking_id)).status == "cooling"

    async def test_not_after_the_session(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 12, 30))
        response = await cancel(client, booker, booking_id, accept_late=True)
        assert response.status_code == 409
        assert (response.json()["error"], response.json()["message"]) == (
            "not_cancellable",
            "就诊时间已过，不能取消",
        )
        assert (await booking_of(session, booking_id)).state == "confirmed"


class TestCancelAHold:
    async def test_it_works(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        paying = await client.post(
            f"/api/v1/me/bookings/{booking_id}/pay", headers=booker.headers, json={"channel": "wechat"}
        )
        response = await cancel(client, booker, booking_id)
        assert response.status_code == 200, response.text
        assert (response.json()["message"], response.json()["refund"]) == ("预约已取消。", None)
        assert (await slot_of(session, booking_id)).status == "cooling"
        await run_jobs()  # the order is closed at WeChat and here
        order = await order_of(session, booking_id)
        assert (order.order_number, order.state) == (paying.json()["order"]["order_number"], "closed")

    async def test_without_an_order(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        assert (await cancel(client, booker, booking_id)).status_code == 200
        booking = await booking_of(session, booking_id)
        assert (booking.state, booking.active_key) == ("cancelled", None)
        again = await hold(client, booker, clinic_id)  # the patient may book the session again
        assert again.status_code == 201


class TestCancelRefusals:
    async def test_twice(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        await cancel(client, booker, booking_id)
        again = await cancel(client, booker, booking_id)
        assert again.status_code == 409
        assert again.json()["error"] == "not_cancellable"
        assert await count(session, Refund) == 1

    async def test_a_lapsed_hold(self, session, client, org, booker):
        from ihos.kit.time import clock

        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        clock.travel(timedelta(minutes=16))
        response = await cancel(client, booker, booking_id)
        assert (response.status_code, response.json()["message"]) == (409, "该预约已超过支付时间，已自动失效")
        assert (await booking_of(session, booking_id)).state == "held"  # the sweep ends it as expired

    async def test_another_account(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        stranger = await verified_booker(session)
        assert (await cancel(client, stranger, booking_id)).json()["error"] == "booking_not_found"
        assert (await client.post(f"/api/v1/me/bookings/{booking_id}/cancel", json={})).status_code == 401
        assert (await booking_of(session, booking_id)).state == "confirmed"

    async def test_a_window_booking_is_cancelled_at_the_window(self, session, client, org, booker):
        patient = await session.get_one(Patient, booker.patient_id)
        his = await system_client(session, client, org, kind="his")
        clinic_id = (await released_session(session, org)).id
        made = await his.post(
            "/system/bookings",
            {
                "clinic_session_id": str(clinic_id),
                "patient": {"id_number": patient.id_number, "name": patient.name},
            },
        )
        await his.post(f"/system/bookings/{made.json()['id']}/confirm", {"payment_method": "cash"})
        response = await cancel(client, booker, made.json()["id"])
        assert response.status_code == 409
        assert response.json()["error"] == "cancel_elsewhere"
        assert (await booking_of(session, made.json()["id"])).state == "confirmed"


class TestStaffCancel:
    async def test_it_works_even_after_the_deadline(self, session, client, org, booker, run_jobs):
        clinic = await released_session(session, org)
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        travel_to(local_at(day, 7))
        headers = await staff_headers(session, org, "customer_service")  # staff sessions time out when idle
        response = await client.post(
            f"/api/v1/bookings/{booking_id}/cancel",
            headers=headers,
            json={"reason": "患者急诊住院，电话申请"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["is_late"], body["refund"]["amount_fen"], body["booking"]["end_reason"]) == (
            False,
            3_000,
            "by_staff",
        )
        assert await count(session, BlacklistEvent) == 0
        await run_jobs()
        assert (await order_of(session, booking_id)).state == "refunded"
        from ihos.models.audit import AuditEntry

        entry = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "booking.cancel",
                AuditEntry.target_id == body["booking"]["booking_number"],
            )
        )
        assert entry is not None
        assert (entry.actor_kind, entry.details["note"], entry.details["refund_fen"]) == (
            "staff",
            "患者急诊住院，电话申请",
            3_000,
        )

    async def test_reason_required(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        headers = await staff_headers(session, org, "customer_service")
        response = await client.post(f"/api/v1/bookings/{booking_id}/cancel", headers=headers, json={})
        assert response.status_code == 422
        assert (await booking_of(session, booking_id)).state == "confirmed"

    @pytest.mark.parametrize(
        ("who", "status"),
        [("anonymous", 401), ("patient", 403), ("finance", 403), ("nurse", 403), ("customer_service", 200)],
    )
    async def test_authorisation(self, session, client, org, booker, run_jobs, who, status):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        headers = await headers_for(session, org, booker, who)
        response = await client.post(
            f"/api/v1/bookings/{booking_id}/cancel", headers=headers, json={"reason": "测试原因"}
        )
        assert response.status_code == status, response.text
        expected = "cancelled" if status == 200 else "confirmed"
        assert (await booking_of(session, booking_id)).state == expected


class TestReleaseAHold:
    async def test_it_works(self, session, client, org, booker, run_jobs):
        from ihos.kit.time import clock, now

        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        headers = await staff_headers(session, org, "customer_service")
        clock.freeze()
        response = await client.post(
            f"/api/v1/bookings/{booking_id}/release", headers=headers, json={"reason": "疑似黄牛占号"}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["end_reason"]) == ("cancelled", "hold_released")
        slot = await slot_of(session, booking_id)
        assert slot.status == "cooling"
        assert slot.available_at is not None
        assert timedelta(seconds=60) <= slot.available_at - now() <= timedelta(seconds=600)
        assert "booking.release_hold" in await audit_actions(session, response.json()["booking_number"])

    async def test_only_a_hold(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        headers = await staff_headers(session, org, "customer_service")
        response = await client.post(
            f"/api/v1/bookings/{booking_id}/release", headers=headers, json={"reason": "测试"}
        )
        assert response.status_code == 409
        assert response.json()["error"] == "not_a_hold"
        assert (await booking_of(session, booking_id)).state == "confirmed"

    @pytest.mark.parametrize(
        ("who", "status"),
        [("anonymous", 401), ("patient", 403), ("doctor", 403), ("finance", 403), ("customer_service", 200)],
    )
    async def test_authorisation(self, session, client, org, booker, who, status):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        headers = await headers_for(session, org, booker, who)
        response = await client.post(
            f"/api/v1/bookings/{booking_id}/release", headers=headers, json={"reason": "测试"}
        )
        assert response.status_code == status, response.text
        assert (await booking_of(session, booking_id)).state == ("cancelled" if status == 200 else "held")
