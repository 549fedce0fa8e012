"""Paying a booking (PT-08): order and prepay in one step; confirmed on the channel's notification, with
its SMS; the HIS's registration number recorded once the HIS confirms the fee."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihos.billing import sandbox
from ihos.models.billing import Order
from tests.booking.conftest import hold, released_session, verified_booker
from tests.booking.support import booking_of, inbox, pay, payments_reach, phone_of, slot_of


@pytest.fixture(autouse=True)
def _payments(app):  # type: ignore[no-untyped-def]
    with payments_reach(app):
        yield


class TestPay:
    async def test_it_works(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        response = await client.post(
            f"/api/v1/me/bookings/{booking_id}/pay",
            headers=booker.headers,
            json={"channel": "wechat", "scene": "h5"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["order"]["business_kind"], body["order"]["payable_fen"], body["order"]["state"]) == (
            "registration",
            3_000,
            "paying",
        )
        assert body["prepay"]["channel"] == "wechat"
        booking = await booking_of(session, booking_id)
        assert (booking.state, booking.order_number) == ("held", body["order"]["order_number"])

    async def test_confirmed_by_the_notification(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        order_number = await pay(client, session, run_jobs, booker, booking_id)
        booking = await booking_of(session, booking_id)
        assert (booking.state, booking.hold_expires_at) == ("confirmed", None)
        assert (await slot_of(session, booking_id)).status == "booked"
        order = await session.scalar(select(Order).where(Order.order_number == order_number))
        assert order is not None and order.his_state == "written"
        assert booking.his_registration_number == order.his_receipt_number is not None
        [text] = await inbox(session, await phone_of(session, booker))
        assert text.startswith("【ihos互联网医院】您已预约成功：")
        assert f"第1号，预约号{booking.booking_number}。" in text

    async def test_paying_twice_reuses_the_order(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        pay_in = {"channel": "wechat", "scene": "h5"}
        first = await client.post(
            f"/api/v1/me/bookings/{booking_id}/pay", headers=booker.headers, json=pay_in
        )
        again = await client.post(
            f"/api/v1/me/bookings/{booking_id}/pay", headers=booker.headers, json=pay_in
        )
        assert first.json()["order"]["order_number"] == again.json()["order"]["order_number"]

    async def test_another_patients_booking(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        stranger = await verified_booker(session)
        response = await client.post(
            f"/api/v1/me/bookings/{booking_id}/pay", headers=stranger.headers, json={"channel": "wechat"}
        )
        assert response.status_code == 404
        assert response.json()["error"] == "booking_not_found"
        booking = await booking_of(session, booking_id)
        assert booking.order_number is None

    async def test_a_lapsed_hold_is_not_paid(self, session, client, org, booker):
        from datetime import timedelta

        from ihos.kit.time import clock

        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        clock.travel(timedelta(minutes=16))
        response = await client.post(
            f"/api/v1/me/bookings/{booking_id}/pay", headers=booker.headers, json={"channel": "wechat"}
        )
        assert response.status_code == 409
        assert response.json()["error"] == "hold_expired"

    async def test_paid_after_the_place_went_is_refunded(self, session, client, org, booker, run_jobs):
        """The patient cancelled (or the hold lapsed and the place went) while paying: refunded."""
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        response = await client.post(
            f"/api/v1/me/bookings/{booking_id}/pay", headers=booker.headers, json={"channel": "wechat"}
        )
        order_number = response.json()["order"]["order_number"]
        cancelled = await client.post(
            f"/api/v1/me/bookings/{booking_id}/cancel", headers=booker.headers, json={}
        )
        assert cancelled.status_code == 200, cancelled.text
        # The money was on its way: the channel still takes it, and ihos hands it back.
        await sandbox.simulate_payment(session, "wechat", order_number)
        await session.commit()
        await run_jobs()
        booking = await booking_of(session, booking_id)
        assert (booking.state, booking.end_reason) == ("cancelled", "by_patient")
        order = await session.scalar(
            select(Order).where(Order.order_number == order_number).execution_options(populate_existing=True)
        )
        assert order is not None
        assert (order.state, order.paid_fen, order.refunded_fen) == ("refunded", 3_000, 3_000)
