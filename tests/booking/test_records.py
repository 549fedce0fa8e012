"""My bookings (PT-09): by status, with the session, doctor, department, time segment, place, fee and
order; the detail with what cancelling would mean; bookings made at windows and kiosks included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ihos.kit.time import clock
from ihos.models.patients import Patient
from tests.booking.conftest import hold, released_session, verified_booker
from tests.booking.support import booked, payments_reach, staff_headers, system_client
from tests.factories import make_staff


@pytest.fixture(autouse=True)
def _payments(app):  # type: ignore[no-untyped-def]
    with payments_reach(app):
        yield


async def mine(client, booker, **params):  # type: ignore[no-untyped-def]
    response = await client.get("/api/v1/me/bookings", headers=booker.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


class TestMyBookings:
    async def test_it_works(self, session, client, org, booker):
        doctor = await make_staff(session, org, roles=["doctor"])
        clinic = await released_session(session, org)
        clinic.doctor_id, clinic.room = doctor.id, "门诊3楼12室"
        clinic_id, day = clinic.id, clinic.session_date
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        page = await mine(client, booker)
        assert page["total"] == 1
        [item] = page["items"]
        assert (item["id"], item["state"], item["state_label"], item["seq"], item["fee_fen"]) == (
            booking_id,
            "held",
            "待支付",
            1,
            3_000,
        )
        assert (item["session"]["id"], item["session"]["session_date"], item["session"]["period_label"]) == (
            str(clinic_id),
            day.isoformat(),
            "上午",
        )
        assert (item["session"]["room"], item["session"]["campus_name"]) == ("门诊3楼12室", "本部")
        assert (item["registration_kind"]["name"], item["department"]["name"]) == ("心内科专家门诊", "内科")
        assert (item["doctor"]["name"], item["patient_name"]) == ("王医生", "测**者")
        assert item["segment_starts_at"].startswith(f"{day.isoformat()}T00:00:00")  # 08:00 in Beijing
        assert item["order"] is None
        assert item["channel"] == "app"

    async def test_paid_shows_its_order(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        await booked(client, session, run_jobs, booker, clinic_id)
        [item] = (await mine(client, booker))["items"]
        assert (item["state"], item["state_label"]) == ("confirmed", "已预约")
        assert (item["order"]["state"], item["order"]["paid_fen"], item["order"]["channel"]) == (
            "paid",
            3_000,
            "wechat",
        )
        assert item["his_registration_number"] is not None

    async def test_by_status(self, session, client, org, booker, run_jobs):
        first = (await released_session(session, org)).id
        second = (await released_session(session, org, day=clinic_day(2) + timedelta(days=1))).id
        await booked(client, session, run_jobs, booker, first)
        await hold(client, booker, second)
        assert [i["session"]["id"] for i in (await mine(client, booker, state="confirmed"))["items"]] == [
            str(first)
        ]
        assert [i["session"]["id"] for i in (await mine(client, booker, state="held"))["items"]] == [
            str(second)
        ]
        assert (await mine(client, booker, state="cancelled"))["total"] == 0
        bad = await client.get("/api/v1/me/bookings", headers=booker.headers, params={"state": "lost"})
        assert bad.status_code == 422

    async def test_by_several_states(self, session, client, org, booker, run_jobs):
        first = (await released_session(session, org)).id
        second = (await released_session(session, org, day=clinic_day(2) + timedelta(days=1))).id
        await booked(client, session, run_jobs, booker, first)
        await hold(client, booker, second)
        both = await mine(client, booker, state="confirmed,held")
        assert sorted(i["session"]["id"] for i in both["items"]) == sorted([str(first), str(second)])
        assert (await mine(client, booker, state="confirmed,arrived,confirmed"))["total"] == 1
        assert (await mine(client, booker, state="cancelled,expired"))["total"] == 0
        for bad_state in ("confirmed,", ",held", "confirmed,lost"):
            bad = await client.get("/api/v1/me/bookings", headers=booker.headers, params={"state": bad_state})
            assert bad.status_code == 422, bad_state

    async def test_a_lapsed_hold_shows_expired_before_the_sweep(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        await hold(client, booker, clinic_id)
        clock.travel(timedelta(minutes=16))
        assert (await mine(client, booker, state="held"))["total"] == 0
        [item] = (await mine(client, booker, state="expired"))["items"]
        assert (item["state"], item["state_label"]) == ("expired", "已失效")

    async def test_window_bookings_of_my_patients_are_included(self, session, client, org, booker):
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
        assert made.status_code == 201, made.text
        confirmed = await his.post(
            f"/system/bookings/{made.json()['id']}/confirm", {"payment_method": "cash"}
        )
        assert confirmed.status_code == 200, confirmed.text
        [item] = (await mine(client, booker))["items"]
        assert (item["id"], item["channel"], item["state"], item["counter_payment"]) == (
            made.json()["id"],
            "window",
            "confirmed",
            "cash",
        )
        detail = await client.get(f"/api/v1/me/bookings/{item['id']}", headers=booker.headers)
        assert detail.status_code == 200
        assert "请凭缴费凭证到挂号窗口退还挂号费30.00元" in detail.json()["cancellation"]["message"]

    async def test_only_filtered_patient(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        await hold(client, booker, clinic_id)
        other = await verified_booker(session)
        assert (await mine(client, booker, patient_id=str(other.patient_id)))["total"] == 0
        assert (await mine(client, booker, patient_id=str(booker.patient_id)))["total"] == 1


class TestBookingDetail:
    async def test_it_works(self, session, client, org, booker, run_jobs):
        clinic_id = (await released_session(session, org)).id
        booking_id = await booked(client, session, run_jobs, booker, clinic_id)
        response = await client.get(f"/api/v1/me/bookings/{booking_id}", headers=booker.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["state"], body["refunds"]) == ("confirmed", [])
        terms = body["cancellation"]
        assert (terms["is_late"], terms["refund_fen"], terms["counter_refund_fen"]) == (False, 3_000, 0)
        assert terms["message"].endswith("前取消，挂号费30.00元将原路退回。")
        # Two hours before the 08:00 segment: 06:00 in Beijing.
        assert terms["deadline"].startswith(f"{(clinic_day(2) - timedelta(days=1)).isoformat()}T22:00:00")

    async def test_authorisation(self, session, client, org, booker):
        clinic_id = (await released_session(session, org)).id
        booking_id = (await hold(client, booker, clinic_id)).json()["id"]
        stranger = await verified_booker(session)
        staff = await staff_headers(session, org, "customer_service")
        path = f"/api/v1/me/bookings/{booking_id}"
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=stranger.headers)).json()["error"] == "booking_not_found"
        assert (await client.get(path, headers=staff)).json()["error"] == "patients_only"
        assert (await client.get(path, headers=booker.headers)).status_code == 200
        assert (await client.get("/api/v1/me/bookings", headers=stranger.headers)).json()["total"] == 0


def clinic_day(days: int):  # type: ignore[no-untyped-def]
    from ihos.kit.time import local_today

    return local_today() + timedelta(days=days)
