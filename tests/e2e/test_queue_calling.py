"""The smart queue in real browsers, against ``ihos serve`` with the demo hospital: the TV at the door of room
A101 (opened with the demo's screen token alone, no staff sign-in), the triage nurse, the doctor and the
patient's phone, all live over the WebSocket.

The clinic is set up as the hospital's systems would: a session of 李建华 in room A101 starting now (so that
check-in is open whatever the hour the test runs at) and 张伟's booking of it made at the HIS window, paid at
the counter (no fee), through the real scheduling and booking services on the test server's database.

Then 刘月 at the triage desk (分诊台) checks 张伟 in with the check-in code of the app, the phone shows the
place in the queue, 李建华 presses 下一位 at his calling desk (叫号台), the TV shows the masked name and the
announcement, and the phone shows 已叫号 with the room.

Screens for the guides are saved as ``var/e2e/queue-*.png`` (docs/user and docs/operator use copies).
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from ihos.config import ROOT

SHOTS = ROOT / "var" / "e2e"
DEMO_PASSWORD = "Ihos@2026"
ZHANG_WEI = {"phone": "13900000001", "id_number": "110105198503120135", "name": "张伟"}
NURSE, DOCTOR = "liuyue", "lijianhua"
ROOM_SCREEN_TOKEN = "ihs_demo-room-A101-screen-token"  # ihos.demo.DEMO_SCREENS
_addresses = itertools.count(200)
SETUP_ADDRESS = {"X-Forwarded-For": "192.0.2.8"}

NO_ANIMATIONS = """
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style')
  style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }'
  document.head.appendChild(style)
})
"""

# A session of 李建华 in room A101 from the current half hour, and 张伟's booking of it at the HIS window
# (registration the same day open all day in 心血管内科, as the outpatient office may set it).
CLINIC_NOW = """
import asyncio, sys
from datetime import datetime, time, timedelta
from sqlalchemy import select
from ihos.auth.caller import Caller, command_line
from ihos.backoffice.rules import set_department_rule
from ihos.booking.counter import patient_for_counter
from ihos.booking.service import HoldRequest, hold
from ihos.db import commit, dispose_engine, get_sessionmaker
from ihos.kit.time import hospital_zone, local_now
from ihos.models.organization import Department, Staff
from ihos.models.scheduling import RegistrationKind
from ihos.scheduling.generation import add_session

WINDOW = Caller(kind="system", label="挂号窗口（浏览器测试）", roles=frozenset({"system:his"}))

async def main():
    id_number, name = sys.argv[1], sys.argv[2]
    try:
        async with get_sessionmaker()() as session:
            doctor = await session.scalar(select(Staff).where(Staff.username == "lijianhua"))
            department = await session.scalar(select(Department).where(Department.code == "CARD"))
            kind = RegistrationKind(
                name="李建华加诊（浏览器测试）", slot_type_code="general", campus_id=department.campus_id,
                department_id=department.id, doctor_id=doctor.id, fee_fen=0,
            )
            session.add(kind)
            await session.flush()
            # Same-day registration all day long in this department, so that the test runs at any hour.
            office = command_line("e2e: the outpatient office")
            for key, value in (("same_day_start_minute", 0), ("same_day_end_minute", 1439)):
                await set_department_rule(session, office, f"booking.{key}", department.id, value)
            now = local_now()
            starts = now.replace(minute=0 if now.minute < 30 else 30, second=0, microsecond=0)
            last = datetime.combine(now.date(), time(23, 59), tzinfo=hospital_zone())
            ends = min(starts + timedelta(hours=3), last)
            clinic = await add_session(
                session, kind, day=now.date(), period="evening", starts_at=starts, ends_at=ends,
                average_minutes=10, capacity=6, room="A101", quotas={},
            )
            patient = await patient_for_counter(session, id_number=id_number, name=name, phone=None)
            request = HoldRequest(clinic_session_id=clinic.id, patient_id=patient.id, channel="window")
            booking = await hold(session, WINDOW, request)
            assert booking.state == "confirmed", booking.state
            await commit(session)
    finally:
        await dispose_engine()
    print(booking.id)

asyncio.run(main())
"""


class Clinic:
    def __init__(self, server: Any, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        self.api = httpx.Client(base_url=server.base_url, headers=SETUP_ADDRESS, timeout=15)

    def booking_now(self) -> str:
        env = os.environ | {
            "IHOS_DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / 'ihos.db'}",
            "IHOS_KEY_FILE": str(self.workdir / "keys.json"),
            "IHOS_FILES__LOCAL_DIR": str(self.workdir / "files"),
            "IHOS_DEMO": "true",
        }
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", CLINIC_NOW, ZHANG_WEI["id_number"], ZHANG_WEI["name"]],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout.strip().splitlines()[-1]

    def patient(self) -> dict[str, str]:
        answer = self.api.post(
            "/api/v1/auth/sign-in/password", json={"login": ZHANG_WEI["phone"], "password": DEMO_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def checkin_code(self, booking_id: str) -> str:
        answer = self.api.get(f"/api/v1/me/bookings/{booking_id}/checkin-code", headers=self.patient())
        assert answer.status_code == 200, answer.text
        code: str = answer.json()["code"]
        return code


@pytest.fixture
def clinic(server, tmp_path_factory) -> Any:  # type: ignore[no-untyped-def]
    base = tmp_path_factory.getbasetemp()
    workdirs = {path.resolve() for path in base.glob("e2e-server*") if (path / "ihos.db").exists()}
    assert len(workdirs) == 1, f"expected the one test server's folder, found {workdirs}"
    found = Clinic(server, workdirs.pop())
    yield found
    found.api.close()


async def new_page(browser, **options: Any) -> Page:  # type: ignore[no-untyped-def]
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **options)
    context.set_default_timeout(15_000)
    await context.set_extra_http_headers({"X-Forwarded-For": f"192.0.2.{next(_addresses)}"})
    page = await context.new_page()
    await page.add_init_script(NO_ANIMATIONS)
    return page


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"queue-{name}.png"))


async def sign_in(page: Page, server, username: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(server.url("/console/sign-in"))
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", name=re.compile("您好"))).to_be_visible()


async def open_desk(page: Page, title: str) -> None:
    await page.get_by_role("menuitem", name=title).click()
    await expect(page.locator(".layout__title")).to_have_text(title)


async def patient_signs_in(page: Page, server) -> None:  # type: ignore[no-untyped-def]
    await page.goto(server.url("/h5/"))
    await page.locator("uni-tabbar").get_by_text("我的", exact=True).click()
    await page.wait_for_url("**/h5/pages/me/index")
    await page.locator('uni-button[data-test="sign-in"]').click()
    await page.wait_for_url("**/h5/pages/auth/sign-in")
    await page.locator('[data-test="login"]').locator("input").first.fill(ZHANG_WEI["phone"])
    await page.locator('[data-test="password"]').locator("input").first.fill(DEMO_PASSWORD)
    await page.locator('uni-button[data-test="submit"]').click()
    await page.wait_for_url("**/h5/pages/me/index")


class TestCalling:
    async def test_nurse_checks_in_doctor_calls_the_screen_and_the_phone_show_it(
        self, server, browser, clinic
    ):
        booking_id = clinic.booking_now()
        code = clinic.checkin_code(booking_id)

        # The TV at the door of A101: its token alone, kept by the browser and taken out of the address.
        screen = await new_page(browser, viewport={"width": 1280, "height": 720})
        await screen.goto(server.url(f"/console/screen?token={ROOM_SCREEN_TOKEN}"))
        await screen.wait_for_url(re.compile(r"/console/screen$"))
        await expect(screen.get_by_text("心血管内科 A101 门口屏")).to_be_visible()
        assert await screen.evaluate("localStorage.getItem('ihos.screen.token')") == ROOM_SCREEN_TOKEN

        # The patient's phone, on 我的候诊 (nothing yet).
        phone = await new_page(
            browser,
            viewport={"width": 375, "height": 812},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
        )
        await patient_signs_in(phone, server)
        await phone.get_by_text("我的候诊", exact=True).click()
        await phone.wait_for_url("**/h5/pages/queue/index")
        await expect(phone.locator('[data-test="queue-checkin-booking"]')).to_have_count(1)

        # The triage nurse checks 张伟 in with the code of the app's QR code.
        nurse = await new_page(browser, viewport={"width": 1366, "height": 900})
        await sign_in(nurse, server, NURSE)
        await open_desk(nurse, "分诊台")
        await nurse.locator('[data-test="checkin-value"]').fill(code)
        await nurse.locator('[data-test="checkin-submit"]').click()
        result = nurse.locator('[data-test="checkin-result"]')
        await expect(result).to_contain_text("已签到")
        await expect(result).to_contain_text("心血管内科 A101")
        masked = re.search(r"已签到：(\d+)号 (\S+)", await result.inner_text())
        assert masked is not None
        number, name = masked.group(1), masked.group(2)
        assert name != ZHANG_WEI["name"] and name.startswith("张")
        await shot(nurse, "triage-checkin")

        # The screen lists the patient waiting; the phone shows the place, live.
        await expect(screen.locator('[data-test="screen-next"]')).to_contain_text(name)
        await expect(phone.locator('[data-test="queue-place"]')).to_contain_text("候诊中")
        await expect(phone.locator('[data-test="queue-position"]')).to_have_text("1")
        await expect(phone.locator('[data-test="queue-checkin-booking"]')).to_have_count(0)
        await shot(phone, "phone-waiting")

        # The doctor calls next at his calling desk.
        doctor = await new_page(browser, viewport={"width": 1366, "height": 900})
        await sign_in(doctor, server, DOCTOR)
        await open_desk(doctor, "叫号台")
        await expect(doctor.locator('[data-test="calling-waiting"]')).to_contain_text(name)
        await doctor.locator('[data-test="call-next"]').click()
        await expect(doctor.locator('[data-test="calling-current"]')).to_contain_text(name)
        announcement = f"请 {number}号 {name} 到 A101 就诊"
        await expect(doctor.locator(".el-message")).to_contain_text(announcement)

        # The TV shows the masked name and the announcement; the phone shows 已叫号 with the room.
        await expect(screen.locator('[data-test="screen-now-name"]')).to_have_text(name)
        await expect(screen.locator('[data-test="screen-announcement"]')).to_have_text(announcement)
        await expect(phone.locator('[data-test="queue-called"]')).to_contain_text("已叫号")
        await expect(phone.locator('[data-test="queue-called"]')).to_contain_text("A101")
        await shot(screen, "room-screen")
        await shot(phone, "phone-called")
        await expect(doctor.locator(".el-message")).to_have_count(0, timeout=10_000)
        await shot(doctor, "calling-desk")

        # The visit starts and ends; the screen follows.
        await doctor.locator('[data-test="start-visit"]').click()
        await expect(doctor.locator('[data-test="finish-visit"]')).to_be_visible()
        await doctor.locator('[data-test="finish-visit"]').click()
        await expect(doctor.locator('[data-test="calling-current"]')).to_have_count(0)
        await expect(screen.locator('[data-test="screen-now-name"]')).to_have_count(0)

        # The nurse sees every queue live.
        await nurse.get_by_role("tab", name="全部队列").click()
        await expect(nurse.locator('[data-test="triage-queues"]')).to_contain_text("心血管内科 A101")
        await shot(nurse, "triage-live")

        for page in (screen, phone, nurse, doctor):
            await page.context.close()
