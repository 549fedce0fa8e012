"""Booking in the patient app (H5, PT-08, PT-09, PT-21, PT-22, PT-24): a demo patient finds a doctor by
department and by name, books tomorrow's session (a time segment, the default family patient, 初诊), pays
the fee at the cashier through the demo cashier, sees the booking confirmed in 我的预约, cancels it and
sees the fee refunded; a suspension's notice on the home page; a doctor's booking link. Each test saves
the screens the user guide shows (docs/user/patient-booking.md) as ``var/e2e/patient-booking-*.png``.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from ihos.config import ROOT

SHOTS = ROOT / "var" / "e2e"
DEMO_PASSWORD = "Ihos@2026"
ZHANG_WEI = "13900000001"
# Not 王芳 (13900000002): the patient-app test changes her password on the same server.
YANG_LEI = "13900000006"
NEW_PASSWORD = "Book-2026-ihos"
HOSPITAL_ZONE = ZoneInfo("Asia/Shanghai")
# Each test is a patient on a network of its own (documentation range 203.0.113.0/24), so that the
# per-address limits count this test's requests only; the staff calls come from another.
_addresses = itertools.count(120)
STAFF_ADDRESS = {"X-Forwarded-For": "203.0.113.6"}


@pytest.fixture
async def patient_page(phone_page):  # type: ignore[no-untyped-def]
    await phone_page.context.set_extra_http_headers({"X-Forwarded-For": f"203.0.113.{next(_addresses)}"})
    phone_page.context.set_default_timeout(30_000)
    return phone_page


def field(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'[data-test="{name}"]').locator("input, textarea").first


def button(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'uni-button[data-test="{name}"]')


async def shot(page, name: str, *, full_page: bool = False) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.locator("uni-toast").first.wait_for(state="hidden", timeout=5_000)
    await page.screenshot(path=str(SHOTS / f"patient-booking-{name}.png"), full_page=full_page)


async def sign_in(page, server, login: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(server.url("/h5/"))
    await page.locator("uni-tabbar").get_by_text("我的", exact=True).click()
    await page.wait_for_url("**/h5/pages/me/index")
    await button(page, "sign-in").click()
    await page.wait_for_url("**/h5/pages/auth/sign-in")
    await field(page, "login").fill(login)
    await field(page, "password").fill(DEMO_PASSWORD)
    await button(page, "submit").click()
    await page.wait_for_url("**/h5/pages/me/index")


def id_number(first17: str) -> str:
    """A resident ID number with its check character (GB 11643)."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


def tomorrow() -> str:
    return (datetime.now(HOSPITAL_ZONE).date() + timedelta(days=1)).isoformat()


class Api:
    """The hospital's side, through the public API: staff sign-ins and what the desks do."""

    def __init__(self, server: Any) -> None:
        self.client = httpx.Client(base_url=server.base_url, headers=STAFF_ADDRESS, timeout=30)

    def staff(self, username: str) -> dict[str, str]:
        signed_in = self.client.post(
            "/api/v1/auth/staff/sign-in", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        return {"Authorization": f"Bearer {signed_in.json()['token']}"}

    def patient(self, login: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
        signed_in = self.client.post(
            "/api/v1/auth/sign-in/password", json={"login": login, "password": password}
        )
        assert signed_in.status_code == 200, signed_in.text
        return {"Authorization": f"Bearer {signed_in.json()['token']}"}

    def unverified_account(self, username: str) -> dict[str, str]:
        """A new account (username and password) that has not passed real-name verification, holding one
        family patient: booking for them is refused until the account's holder is verified."""
        versions = {p["document"]: p["version"] for p in self.client.get("/api/v1/auth/policies").json()}
        registered = self.client.post(
            "/api/v1/auth/register/username",
            json={
                "username": username,
                "password": NEW_PASSWORD,
                "consents": {name: versions[name] for name in ("user_agreement", "privacy_policy")},
            },
        )
        assert registered.status_code == 201, registered.text
        headers = {"Authorization": f"Bearer {registered.json()['token']}"}
        added = self.client.post(
            "/api/v1/me/patients",
            json={
                "name": "周建平",
                "id_number": id_number("11010519620314201"),
                "phone": "13700000031",
                "relation": "parent",
            },
            headers=headers,
        )
        assert added.status_code == 201, added.text
        return headers

    def doctor(self, name: str) -> dict[str, Any]:
        found = self.client.get("/api/v1/clinics/search", params={"q": name})
        assert found.status_code == 200, found.text
        [doctor] = [d for d in found.json()["doctors"] if d["name"] == name]
        return doctor  # type: ignore[no-any-return]


@pytest.fixture
def hospital(server):  # type: ignore[no-untyped-def]
    api = Api(server)
    yield api
    api.client.close()


class TestBookingAndCancelling:
    async def test_books_pays_and_cancels_with_a_refund(self, server, patient_page):
        page = patient_page
        await sign_in(page, server, ZHANG_WEI)

        # 首页 → 预约挂号: the campuses' department tree; 内科 → 心血管内科.
        await page.locator("uni-tabbar").get_by_text("首页", exact=True).click()
        await page.locator('[data-test="home-booking"]').click()
        await page.wait_for_url("**/h5/pages/booking/index")
        await page.locator('[data-test="department-group"]').filter(has_text="内科").first.click()
        await page.locator('[data-test="department"]').filter(has_text="心血管内科").wait_for()
        await shot(page, "departments")

        # Search by a doctor's name finds the doctor.
        await field(page, "booking-search").fill("李建华")
        await page.locator('[data-test="booking-search-go"]').click()
        await page.locator('[data-test="doctor"]').filter(has_text="李建华").wait_for()
        await shot(page, "search")
        await page.get_by_text("返回科室列表").click()

        # The department: sessions by date, and its doctors by title (主任医师 李建华 before 住院医师 冯林).
        await page.locator('[data-test="department-group"]').filter(has_text="内科").first.click()
        await page.locator('[data-test="department"]').filter(has_text="心血管内科").click()
        await page.wait_for_url("**/h5/pages/booking/department?**")
        await page.locator('[data-test="session-day"]').first.wait_for()
        await page.locator('[data-test="session"]').first.wait_for()
        await shot(page, "department")
        await page.get_by_role("tab", name="按医生挂号").click()
        names = page.locator('[data-test="doctor-directory"] [data-test="doctor-name"]')
        await names.first.wait_for()
        listed = await names.all_inner_texts()
        assert listed.index("李建华") < listed.index("冯林"), listed
        await shot(page, "doctors")

        # The doctor: title, speciality, fees, weekly clinics and sessions; tomorrow's morning.
        await page.locator('[data-test="doctor"]').filter(has_text="李建华").click()
        await page.wait_for_url("**/h5/pages/doctors/detail?id=*")
        await page.get_by_text("冠心病、高血压、心力衰竭的诊治", exact=True).wait_for()
        await page.get_by_text("每周出诊时间").wait_for()
        await page.locator(f'[data-test="session-day"][data-day="{tomorrow()}"]').click()
        session = page.locator('[data-test="session"]').filter(has_text="上午").first
        await session.locator('[data-test="session-book"]').wait_for()
        await shot(page, "doctor", full_page=True)
        await session.click()

        # Confirm: the first segment with places, the default family patient and 初诊 are chosen.
        await page.wait_for_url("**/h5/pages/booking/session?id=*")
        segment = page.locator('[data-test="segment"][aria-checked="true"]')
        await segment.wait_for()
        chosen = await segment.locator(".book__segment-time").inner_text()
        assert re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", chosen), chosen
        patient = page.locator('[data-test="patients"] [aria-checked="true"]')
        assert (await patient.inner_text()).startswith("张*")
        visit = page.locator('[data-test="visit-kind"] [aria-checked="true"]')
        assert await visit.inner_text() == "初诊"
        fee = await page.locator('[data-test="session-fee"]').inner_text()
        assert fee.startswith("¥")
        await shot(page, "confirm", full_page=True)

        # The hold is made and the cashier opens for its order, with the hold's time left.
        await button(page, "confirm-booking").click()
        await page.wait_for_url("**/h5/pages/pay/cashier?number=*")
        number = page.url.split("number=")[1]
        assert await page.locator('[data-test="payable"]').inner_text() == fee
        await page.locator('[data-test="countdown"]').wait_for()

        # Back on the booking: 待支付 with the hold's time left; 去支付 opens the same order again.
        await page.go_back()
        await page.wait_for_url("**/h5/pages/booking/detail?id=*")
        await page.locator('[data-test="booking-state-title"]').filter(has_text="待支付").wait_for()
        held = page.locator('[data-test="countdown"]')
        await held.filter(has_text=re.compile(r"剩余支付时间 \d+:\d\d")).wait_for()
        await shot(page, "held")
        await button(page, "to-pay").click()
        await page.wait_for_url(f"**/h5/pages/pay/cashier?number={number}")
        await page.locator('[data-test="channel-wechat"]').click()
        await button(page, "pay").click()
        await page.wait_for_url(f"**/api/v1/sandbox/cashier/{number}?**")
        await page.get_by_role("button", name="确认支付").click()

        # Paid: the order, then its booking, 已预约 with the segment and the place number.
        await page.wait_for_url(f"**/h5/pages/orders/detail?number={number}")
        await page.locator('[data-test="order-state-title"]').filter(has_text="已支付").wait_for()
        await button(page, "view-booking").click()
        await page.wait_for_url("**/h5/pages/booking/detail?id=*")
        await page.locator('[data-test="booking-state-title"]').filter(has_text="已预约").wait_for()
        assert chosen in await page.locator('[data-test="booking-when"]').inner_text()
        assert re.fullmatch(r"第\d+号", await page.locator('[data-test="booking-seq"]').inner_text())
        assert await page.locator('[data-test="booking-doctor"]').inner_text() == "李建华"
        assert await page.locator('[data-test="booking-paid"]').inner_text() == fee
        terms = await page.locator('[data-test="cancel-message"]').inner_text()
        assert "将原路退回" in terms, terms
        # The check-in QR code for the kiosk on the day.
        qr = page.locator('[data-test="checkin-qr"] img')
        await qr.wait_for(state="attached")
        assert (await qr.get_attribute("src") or "").startswith("data:image/png;base64,")
        await shot(page, "confirmed", full_page=True)

        # 我的预约 lists it under 已预约.
        await page.goto(server.url("/h5/pages/booking/list"))
        await page.get_by_role("tab", name="已预约").click()
        row = page.locator('[data-test="booking-row"]').filter(has_text="李建华 · 心血管内科")
        await row.first.wait_for()
        assert await row.first.locator('[data-test="booking-row-state"]').inner_text() == "已预约"
        await shot(page, "my-bookings")
        await row.first.click()
        await page.wait_for_url("**/h5/pages/booking/detail?id=*")

        # Cancelling asks first, with the rules; then the fee goes back where it came from.
        await button(page, "cancel-booking").click()
        modal = page.locator("uni-modal")
        await modal.get_by_text("将原路退回").wait_for()
        await shot(page, "cancel-confirm")
        await modal.get_by_text("确认取消", exact=True).click()
        await page.locator('[data-test="cancel-outcome"]').filter(has_text="预约已取消").wait_for()
        await page.locator('[data-test="booking-state-title"]').filter(has_text="已取消").wait_for()
        refund = page.locator('[data-test="booking-refund"]')
        await refund.wait_for()
        assert await refund.locator('[data-test="booking-refund-amount"]').inner_text() == fee
        await (
            refund.locator('[data-test="booking-refund-state"]')
            .filter(has_text="已退款")
            .wait_for(timeout=30_000)
        )
        assert not await button(page, "cancel-booking").is_visible()
        assert not await page.locator('[data-test="checkin-code"]').is_visible()
        await shot(page, "cancelled", full_page=True)

        # The cancelled booking is under 已取消.
        await page.goto(server.url("/h5/pages/booking/list?tab=cancelled"))
        await (
            page.locator('[data-test="booking-row"]').filter(has_text="李建华 · 心血管内科").first.wait_for()
        )


class TestNoticesAndLinks:
    async def test_a_suspension_notice_and_a_doctors_booking_link(self, server, patient_page, hospital):
        page = patient_page
        # The outpatient office suspends 王丽's clinics next week: a notice is published at once.
        wang_li = hospital.doctor("王丽")
        start = datetime.now(HOSPITAL_ZONE).date() + timedelta(days=8)
        suspended = hospital.client.post(
            "/api/v1/suspensions",
            json={
                "kind": "long_term",
                "doctor_id": wang_li["id"],
                "date_from": start.isoformat(),
                "date_to": (start + timedelta(days=2)).isoformat(),
                "reason": "外出进修",
            },
            headers=hospital.staff("menzhen"),
        )
        assert suspended.status_code == 201, suspended.text
        title = suspended.json()["notice"]["title"]

        await sign_in(page, server, YANG_LEI)
        await page.locator("uni-tabbar").get_by_text("首页", exact=True).click()
        notice = page.locator('[data-test="home-notice"]')
        await notice.filter(has_text="停诊公告").wait_for()
        await shot(page, "home")
        await notice.click()
        await page.wait_for_url("**/h5/pages/booking/notices")
        card = page.locator('[data-test="notice"]').filter(has_text=title)
        await card.get_by_text("外出进修").first.wait_for()
        await shot(page, "notices")

        # 李建华 sends 杨磊 a link for his expert clinic; it opens that clinic's sessions for her.
        li = hospital.doctor("李建华")
        patients = hospital.client.get("/api/v1/me/patients", headers=hospital.patient(YANG_LEI)).json()
        [herself] = [p for p in patients if p["relation"] == "self"]
        link = hospital.client.post(
            "/api/v1/bookings/links",
            json={"patient_id": herself["id"], "registration_kind_id": li["kinds"][0]["id"], "valid_days": 7},
            headers=hospital.staff("lijianhua"),
        )
        assert link.status_code == 201, link.text
        await page.goto(server.url(link.json()["path"]))
        await page.locator('[data-test="link-summary"]').get_by_text("李建华专家门诊").wait_for()
        assert (await page.locator('[data-test="link-patient"]').inner_text()).startswith("就诊人：杨*")
        await page.locator(f'[data-test="session-day"][data-day="{tomorrow()}"]').click()
        await page.locator('[data-test="session-book"]').first.wait_for()
        await shot(page, "link")
        await (
            page.locator('[data-test="session"]')
            .filter(has=page.locator('[data-test="session-book"]'))
            .first.click()
        )
        await page.wait_for_url("**/h5/pages/booking/session?id=*&patient=*")
        patient = page.locator('[data-test="patients"] [aria-checked="true"]')
        await patient.wait_for()
        assert (await patient.inner_text()).startswith("杨*")


class TestRefusals:
    async def test_booking_needs_a_verified_account_and_says_so(self, server, patient_page, hospital):
        page = patient_page
        hospital.unverified_account("bookingnewcomer")
        li = hospital.doctor("李建华")
        schedule = hospital.client.get(f"/api/v1/clinics/doctors/{li['id']}/schedule").json()
        [session] = [
            s for s in schedule["sessions"] if s["session_date"] == tomorrow() and s["period"] == "morning"
        ]

        await page.goto(server.url("/h5/pages/auth/sign-in"))
        await field(page, "login").fill("bookingnewcomer")
        await field(page, "password").fill(NEW_PASSWORD)
        await button(page, "submit").click()
        await page.wait_for_url("**/h5/pages/me/index")
        await page.goto(server.url(f"/h5/pages/booking/session?id={session['id']}"))
        patient = page.locator('[data-test="patients"] [aria-checked="true"]')
        await patient.wait_for()
        assert (await patient.inner_text()).startswith("周*")
        await button(page, "confirm-booking").click()
        await (
            page.locator('[data-test="form-error"]')
            .filter(has_text="预约挂号前，请先完成实名认证")
            .wait_for()
        )
        await button(page, "to-real-name").wait_for()
        await page.wait_for_timeout(500)  # the page scrolls the reason into view
        await shot(page, "real-name-required")
        mine = hospital.client.get(
            "/api/v1/me/bookings", headers=hospital.patient("bookingnewcomer", NEW_PASSWORD)
        )
        assert mine.json()["total"] == 0  # nothing was held
