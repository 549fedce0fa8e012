"""The outpatient office's desks (号源设置, 出诊与号源, 停诊) and the bookings desk in a real browser, against
``ihos serve`` with the demo hospital (two weeks of sessions generated from its weekly plans).

The bookings arrive as they do in a hospital: the patient 张伟 (demo account 13900000001) books two of
李建华's clinics of the day after tomorrow in the patient API and pays with WeChat Pay through the demo
cashier. Then

- 钟敏 of the outpatient office (``menzhen``) looks at the weekly plans, marks a holiday in the third week,
  generates that week's sessions (the preview lists the holiday) and sees them;
- she opens the live board of 李建华's first session, cannot cancel it (it has a booking) and suspends it
  (停诊): the booking is cancelled and refunded, which the bookings desk and 停诊管理 show;
- 李建华 sees the booking that is left in 我的排班;
- 许晴 of customer service (``kefu1``) cancels that booking for the patient (a full refund), and finds the
  records as cards on a phone.

Screens for the user guides are saved as ``var/e2e/office-*.png`` (docs/user copies them with the prefix
``console-outpatient-``).
"""

from __future__ import annotations

import itertools
import re
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, expect

from ihos.config import ROOT

SHOTS = ROOT / "var" / "e2e"
DEMO_PASSWORD = "Ihos@2026"
ZHANG_WEI_PHONE = "13900000001"
OFFICE, CUSTOMER_SERVICE, DOCTOR = "menzhen", "kefu1", "lijianhua"
DOCTOR_NAME = "李建华"
HOSPITAL_TZ = ZoneInfo("Asia/Shanghai")
_addresses = itertools.count(160)
SETUP_ADDRESS = {"X-Forwarded-For": "192.0.2.7"}

NO_ANIMATIONS = """
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style')
  style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }'
  document.head.appendChild(style)
})
"""


def hospital_today() -> date:
    return datetime.now(HOSPITAL_TZ).date()


# -- the patient and the set-up (API) ------------------------------------------------------------------


class Clinic:
    """The patient's side, through the public API, as the patient app would do it."""

    def __init__(self, server: Any) -> None:
        self.api = httpx.Client(base_url=server.base_url, headers=SETUP_ADDRESS, timeout=15)

    def _sign_in_patient(self) -> dict[str, str]:
        answer = self.api.post(
            "/api/v1/auth/sign-in/password", json={"login": ZHANG_WEI_PHONE, "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def _staff(self, username: str) -> dict[str, str]:
        answer = self.api.post(
            "/api/v1/auth/staff/sign-in", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def doctor_sessions(self, day: date) -> list[dict[str, Any]]:
        office = self._staff(OFFICE)
        listed = self.api.get(
            "/api/v1/scheduling/sessions",
            params={"date_from": day.isoformat(), "date_to": day.isoformat()},
            headers=office,
        )
        assert listed.status_code == 200, listed.text
        sessions = [s for s in listed.json() if s["doctor_name"] == DOCTOR_NAME and s["state"] == "open"]
        return sorted(sessions, key=lambda s: s["starts_at"])

    def paid_booking(self, session_id: str) -> dict[str, Any]:
        """张伟 books the session for himself and pays with WeChat Pay at the demo cashier."""
        patient = self._sign_in_patient()
        people = self.api.get("/api/v1/me/patients", headers=patient).json()
        me = next(p for p in people if p["relation"] == "self")
        held = self.api.post(
            "/api/v1/me/bookings",
            json={"clinic_session_id": session_id, "patient_id": me["id"]},
            headers=patient,
        )
        assert held.status_code == 201, held.text
        booking: dict[str, Any] = held.json()
        paying = self.api.post(
            f"/api/v1/me/bookings/{booking['id']}/pay",
            json={"channel": "wechat", "scene": "h5"},
            headers=patient,
        )
        assert paying.status_code == 200, paying.text
        number = paying.json()["order"]["order_number"]
        paid = self.api.post(
            f"/api/v1/sandbox/cashier/{number}", data={"return_to": "/h5/"}, follow_redirects=False
        )
        assert paid.status_code == 303, paid.text
        deadline = time.monotonic() + 30
        while True:
            found = self.api.get(f"/api/v1/me/bookings/{booking['id']}", headers=patient).json()
            if found["state"] == "confirmed":
                return found  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise AssertionError(f"booking {booking['booking_number']} was not confirmed: {found}")
            time.sleep(0.3)


@pytest.fixture
def clinic(server):  # type: ignore[no-untyped-def]
    found = Clinic(server)
    yield found
    found.api.close()


@pytest.fixture
async def desk(desk_page: Page) -> Page:
    await desk_page.context.set_extra_http_headers({"X-Forwarded-For": f"192.0.2.{next(_addresses)}"})
    await desk_page.add_init_script(NO_ANIMATIONS)
    return desk_page


# -- the browser ------------------------------------------------------------------------------------------


async def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await expect(page.locator(".el-message")).to_have_count(0, timeout=10_000)
    await page.screenshot(path=str(SHOTS / f"office-{name}.png"), full_page=full_page)


async def sign_in(page: Page, server, username: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(server.url("/console/sign-in"))
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", name=re.compile("您好"))).to_be_visible()


async def sign_out(page: Page) -> None:
    await page.get_by_role("button", name="退出登录").click()
    await page.wait_for_url("**/console/sign-in")


async def open_desk(page: Page, title: str) -> None:
    await page.get_by_role("menuitem", name=title).click()
    await expect(page.locator(".layout__title")).to_have_text(title)


async def answer_prompt(page: Page, text: str) -> None:
    box = page.locator(".el-message-box")
    await expect(box).to_be_visible()
    await box.locator("textarea").fill(text)
    await box.locator(".el-message-box__btns button").last.click()


async def close_alert(page: Page, text: str) -> None:
    box = page.locator(".el-message-box").filter(has_text=text)
    await expect(box).to_be_visible()
    await box.get_by_role("button", name="确定").click()
    await expect(box).to_be_hidden()


async def choose(page: Page, select, option: str) -> None:  # type: ignore[no-untyped-def]
    await select.click()
    await (
        page.locator(".el-select-dropdown__item:visible")
        .filter(has_text=re.compile(f"^{option}$"))
        .first.click()
    )


async def pick_range(scope, start: date, end: date) -> None:  # type: ignore[no-untyped-def]
    first = scope.get_by_placeholder("开始日期")
    await first.click()
    await first.fill(start.isoformat())
    await first.press("Enter")
    last = scope.get_by_placeholder("结束日期")
    await last.fill(end.isoformat())
    await last.press("Enter")


class TestTheOutpatientOffice:
    async def test_office_plans_generates_and_suspends_and_customer_service_cancels(
        self, server, desk, clinic
    ):
        page = desk
        today = hospital_today()
        # The day after tomorrow: the patient-app tests book 李建华's clinics of tomorrow on this same
        # server, and the suspension below must not take their session away.
        visit_day = today + timedelta(days=2)
        first, second = clinic.doctor_sessions(visit_day)[:2]
        suspended_booking = clinic.paid_booking(first["id"])
        cancelled_booking = clinic.paid_booking(second["id"])

        # 钟敏 (outpatient office) has the office's desks.
        await sign_in(page, server, OFFICE)
        for title in ("号源设置", "出诊与号源", "预约挂号记录", "停诊管理", "预约黑名单"):
            await expect(page.get_by_role("menuitem", name=title)).to_be_visible()
        await expect(page.get_by_role("menuitem", name="我的排班")).to_have_count(0)

        # The weekly plans of the demo, then a holiday in the third week.
        await open_desk(page, "号源设置")
        templates = page.locator("[data-test=templates] .el-table__row")
        await expect(templates.first).to_be_visible()
        await expect(page.locator("[data-test=templates]")).to_contain_text("李建华专家门诊")
        await shot(page, "templates")
        await page.get_by_role("button", name="新建出诊模板").click()
        await expect(page.locator(".el-dialog").filter(has_text="渠道配额")).to_be_visible()
        await shot(page, "template-form")
        await (
            page.locator(".el-dialog").filter(has_text="渠道配额").get_by_role("button", name="取消").click()
        )

        holiday = today + timedelta(days=20)
        await page.get_by_role("tab", name="节假日与调休").click()
        await page.get_by_role("button", name="设置节假日或调休").click()
        dialog = page.locator(".el-dialog:visible")
        day_input = dialog.get_by_placeholder("请选择").first
        await day_input.click()
        await day_input.fill(holiday.isoformat())
        await day_input.press("Enter")
        await dialog.get_by_placeholder("如：元旦").fill("院庆日")
        await dialog.get_by_role("button", name="保存").click()
        if holiday.year != today.year:
            await expect(page.get_by_role("spinbutton", name="年份")).to_have_value(str(holiday.year))
        row = page.locator("[data-test=holidays] .el-table__row").filter(has_text=holiday.isoformat())
        await expect(row).to_contain_text("院庆日")
        await expect(row).to_contain_text("节假日")
        await shot(page, "holidays")

        # The release rules: the hospital's, with times of day shown as clocks.
        await page.get_by_role("tab", name="放号规则").click()
        rules = page.locator("[data-test=rules]")
        await expect(rules).to_contain_text("每日放号时间")
        await expect(rules).to_contain_text("08:00")
        await shot(page, "rules")

        # Generating the third week: the preview lists the holiday, generating makes the sessions.
        await open_desk(page, "出诊与号源")
        await page.get_by_role("button", name="生成出诊").click()
        generate = page.locator(".el-dialog").filter(has_text="生成出诊")
        week_from, week_to = today + timedelta(days=14), today + timedelta(days=20)
        await pick_range(generate, week_from, week_to)
        await generate.get_by_role("button", name="预览").click()
        result = generate.locator("[data-test=generate-result]")
        await expect(result).to_contain_text(re.compile(r"将生成 \d+ 场出诊"))
        await expect(result).to_contain_text(f"节假日（不出诊）：{holiday.isoformat()}")
        await shot(page, "generate-preview")
        await generate.get_by_role("button", name="生成", exact=True).click()
        await expect(result).to_contain_text(re.compile(r"已生成 [1-9]\d* 场出诊"))
        await generate.locator(".el-dialog__headerbtn").click()
        sessions = page.locator("[data-test=sessions] .el-table__row")
        await expect(sessions.first).to_be_visible()
        await expect(page.locator("[data-test=sessions]")).to_contain_text(week_from.isoformat())
        await expect(page.locator("[data-test=sessions]")).not_to_contain_text(holiday.isoformat())

        # 李建华's sessions of that day, with the two bookings; the live board of the first.
        await pick_range(page.locator("[data-test=session-filters]"), visit_day, visit_day)
        await choose(page, page.locator("[data-test=session-filters] .el-select").nth(1), DOCTOR_NAME)
        await page.get_by_role("button", name="查询").click()
        await expect(sessions).to_have_count(2)
        await expect(sessions.first).to_contain_text("已约 1")
        await shot(page, "sessions")
        await sessions.first.get_by_role("button", name="号源").click()
        board = page.locator("[data-test=session-board]")
        await expect(board.locator("[data-test=board-places]")).to_contain_text(
            suspended_booking["booking_number"]
        )
        await expect(board.locator("[data-test=board-segments]")).to_contain_text("08:00-08:30")
        await expect(board.locator("[data-test=board-channels]")).to_contain_text("公共号池")
        await shot(page, "board")
        await page.locator(".el-drawer__close-btn").click()
        await expect(board).to_be_hidden()

        # A session with a booking cannot simply be cancelled; it is suspended.
        await expect(sessions.first.get_by_role("button", name="取消出诊")).to_be_disabled()
        await sessions.first.get_by_role("button", name="停诊").click()
        await answer_prompt(page, "出诊医生临时外出会诊")
        await close_alert(page, "已停诊 1 场，取消并通知、退费 1 个预约。")
        await expect(sessions.first.locator("[data-test=session-state]")).to_have_text("已停诊")

        # The booking is cancelled by the suspension and its fee refunded.
        await open_desk(page, "预约挂号记录")
        await page.get_by_label("患者").fill("张伟")
        await page.get_by_role("button", name="查询").click()
        record = page.locator("[data-test=booking-results] .el-table__row").filter(
            has_text=suspended_booking["booking_number"]
        )
        await expect(record.locator("[data-test=booking-state]")).to_have_text("已取消")
        await expect(record).to_contain_text("停诊取消")
        await expect(record).to_contain_text("张*")
        await shot(page, "bookings")
        await record.click()
        detail = page.locator("[data-test=booking-detail]")
        await expect(detail.locator("[data-test=detail-state]")).to_have_text("已取消")
        await expect(detail.locator("[data-test=booking-refunds]")).to_contain_text("¥")
        await shot(page, "booking-suspended")
        await page.locator(".el-drawer__close-btn").click()

        # The suspension is on record.
        await open_desk(page, "停诊管理")
        suspension = page.locator("[data-test=suspensions] .el-table__row").first
        await expect(suspension).to_contain_text("临时停诊")
        await expect(suspension).to_contain_text("1 场出诊，1 个预约已取消并通知")
        await shot(page, "suspensions")
        await sign_out(page)

        # 李建华 sees the booking that is left in 我的排班.
        await sign_in(page, server, DOCTOR)
        await open_desk(page, "我的排班")
        mine = page.locator("[data-test=my-sessions]")
        await expect(mine).to_contain_text("已约 1 / 20")
        await shot(page, "my-sessions")
        await sign_out(page)

        # 许晴 (customer service) cancels the second booking for the patient: a full refund.
        await sign_in(page, server, CUSTOMER_SERVICE)
        await expect(page.get_by_role("menuitem", name="号源设置")).to_have_count(0)
        await open_desk(page, "预约挂号记录")
        await page.get_by_label("患者").fill("张伟")
        await page.get_by_role("button", name="查询").click()
        record = page.locator("[data-test=booking-results] .el-table__row").filter(
            has_text=cancelled_booking["booking_number"]
        )
        await expect(record.locator("[data-test=booking-state]")).to_have_text("已预约")
        await record.click()
        detail = page.locator("[data-test=booking-detail]")
        await expect(detail.locator("[data-test=detail-state]")).to_have_text("已预约")
        await detail.get_by_role("button", name="代患者取消").click()
        await answer_prompt(page, "患者急诊住院，电话申请")
        await expect(page.locator(".el-message-box")).to_contain_text("预约已取消")
        await shot(page, "cancel-for-patient")
        await page.locator(".el-message-box").get_by_role("button", name="确定").click()
        await expect(detail.locator("[data-test=detail-state]")).to_have_text("已取消")
        await expect(detail).to_contain_text("院方取消")

        # Nobody is banned in the demo: the blacklist says so.
        await page.locator(".el-drawer__close-btn").click()
        await open_desk(page, "预约黑名单")
        await expect(page.locator("[data-test=bans]")).to_contain_text("目前没有被限制预约的患者")
        await open_desk(page, "预约挂号记录")

        # On a phone the records are cards.
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.get_by_label("患者").fill("张伟")
        await page.get_by_role("button", name="查询").click()
        card = page.locator("[data-test=booking-results] .card-list__card").filter(
            has_text=cancelled_booking["booking_number"]
        )
        await expect(card).to_contain_text("已取消")
        await shot(page, "phone-bookings")
