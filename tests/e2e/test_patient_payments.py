"""Paying in the patient app (H5): a clinic bill from the HIS (诊间支付, PT-14) paid with WeChat Pay through
the demo cashier, the order detail confirming it, a refund request, and the spending history (PT-19). Each
test saves the screens the user guide shows (docs/user/patient-payments.md) as ``var/e2e/patient-pay-*.png``.

The bill reaches ihos as it does in a hospital: the doctor's orders make it in the HIS (here the sandbox
HIS, whose tables live in the test server's database), and the HIS pushes it through the signed
system-client API (``POST /api/v1/system/clinic-bills``). The push alone is not enough with the sandbox
HIS: the patient's list is refreshed from the HIS, which withdraws a bill it does not know.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from ihos.auth.system_clients import sign
from ihos.config import ROOT

SHOTS = ROOT / "var" / "e2e"
DEMO_PASSWORD = "Ihos@2026"
ZHANG_WEI = {"phone": "13900000001", "id_number": "110105198503120135"}
SYSTEM_ADMIN = ("sysadmin", "IHOSDEMOSYSADMINTOTPSECRET234567")
# The longest hold time the rule 订单保留时间 allows (1–120 minutes).
MAX_HOLD_SECONDS = 120 * 60
LINES = [
    {"code": "JC0001", "name": "血常规", "quantity": 1, "unit_price_fen": 2_500, "amount_fen": 2_500},
    {"code": "JY0002", "name": "尿常规", "quantity": 2, "unit_price_fen": 500, "amount_fen": 1_000},
]
# Each test is a patient on a network of its own (documentation range 203.0.113.0/24), so that the
# per-address limits count this test's requests only; the HIS and the administrator have another.
_addresses = itertools.count(20)
HIS_ADDRESS = {"X-Forwarded-For": "203.0.113.5"}
# The sandbox HIS's bill creation (what the doctor's orders do), run against the test server's database.
DOCTORS_ORDERS = """
import asyncio, json, sys
from ihos.db import commit, dispose_engine, get_sessionmaker
from ihos.integrations.his import ClinicBillLine, create_clinic_bill

async def main():
    id_number, department, doctor, lines = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    try:
        async with get_sessionmaker()() as session:
            bill = await create_clinic_bill(
                session, id_number, [ClinicBillLine(**line) for line in lines], department, doctor
            )
            await commit(session)
    finally:
        await dispose_engine()
    print(json.dumps({"his_bill_id": bill.his_bill_id, "created_at": bill.created_at.isoformat()}))

asyncio.run(main())
"""
# True once the countdown in `selector` shows at most `seconds`.
COUNTED_DOWN = """([selector, seconds]) => {
  const shown = /(\\d+):(\\d\\d)/.exec(document.querySelector(selector).textContent)
  return shown !== null && Number(shown[1]) * 60 + Number(shown[2]) <= seconds
}"""
# One HIS system client per test server (base URL → key id and secret).
_his_clients: dict[str, tuple[str, str]] = {}


@pytest.fixture
async def patient_page(phone_page):  # type: ignore[no-untyped-def]
    """The phone-sized page, on a network of its own, with more patience than the default: a payment
    waits for the channel's notification and the HIS write-back, which a busy CI machine slows down."""
    await phone_page.context.set_extra_http_headers({"X-Forwarded-For": f"203.0.113.{next(_addresses)}"})
    phone_page.context.set_default_timeout(30_000)
    return phone_page


@pytest.fixture
def his(server, tmp_path_factory):  # type: ignore[no-untyped-def]
    """Makes clinic bills for a patient the way the hospital does: in the HIS, then pushed to ihos."""
    base = tmp_path_factory.getbasetemp()
    workdirs = {path.resolve() for path in base.glob("e2e-server*") if (path / "ihos.db").exists()}
    assert len(workdirs) == 1, f"expected the one test server's folder, found {workdirs}"
    return Hospital(server, workdirs.pop())


class Hospital:
    def __init__(self, server: Any, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir

    def bill(
        self, id_number: str, department: str, doctor: str, lines: list[dict[str, Any]]
    ) -> dict[str, Any]:
        made = self._doctors_orders(id_number, department, doctor, lines)
        body = {
            "his_bill_id": made["his_bill_id"],
            "patient_id_number": id_number,
            "department": department,
            "doctor": doctor,
            "created_at": made["created_at"],
            "lines": lines,
            "total_fen": sum(line["amount_fen"] for line in lines),
        }
        pushed = self._signed_post("/api/v1/system/clinic-bills", body)
        assert pushed.status_code == 201, pushed.text
        bill: dict[str, Any] = pushed.json()
        return bill

    def _doctors_orders(
        self, id_number: str, department: str, doctor: str, lines: list[dict[str, Any]]
    ) -> dict[str, Any]:
        env = os.environ | {
            "IHOS_DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / 'ihos.db'}",
            "IHOS_KEY_FILE": str(self.workdir / "keys.json"),
            "IHOS_FILES__LOCAL_DIR": str(self.workdir / "files"),
            "IHOS_DEMO": "true",
        }
        made = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-c",
                DOCTORS_ORDERS,
                id_number,
                department,
                doctor,
                json.dumps(lines, ensure_ascii=False),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        result: dict[str, Any] = json.loads(made.stdout.strip().splitlines()[-1])
        return result

    def _client(self) -> tuple[str, str]:
        """The HIS's key id and secret: made once per server by the system administrator."""
        if self.server.base_url not in _his_clients:
            with httpx.Client(base_url=self.server.base_url, headers=HIS_ADDRESS, timeout=15) as client:
                token = _sign_in_system_admin(client)
                issued = client.post(
                    "/api/v1/system-clients",
                    json={"name": "HIS（浏览器测试）", "kind": "his"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert issued.status_code == 201, issued.text
                _his_clients[self.server.base_url] = (
                    issued.json()["client"]["key_id"],
                    issued.json()["secret"],
                )
        return _his_clients[self.server.base_url]

    def _signed_post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        key_id, secret = self._client()
        content = json.dumps(body, ensure_ascii=False).encode()
        timestamp, nonce = str(int(time.time())), secrets.token_urlsafe(12)
        headers = HIS_ADDRESS | {
            "Content-Type": "application/json",
            "X-Ihos-Key": key_id,
            "X-Ihos-Timestamp": timestamp,
            "X-Ihos-Nonce": nonce,
            "X-Ihos-Signature": sign(secret, "POST", path, timestamp, nonce, content),
        }
        return httpx.post(self.server.url(path), content=content, headers=headers, timeout=15)


def _sign_in_system_admin(client: httpx.Client) -> str:
    """The server takes each TOTP code once: when another test used this one, wait for the next."""
    username, secret = SYSTEM_ADMIN
    for _ in range(3):
        answer = client.post(
            "/api/v1/auth/staff/sign-in",
            json={"username": username, "password": DEMO_PASSWORD, "totp_code": pyotp.TOTP(secret).now()},
        )
        if answer.status_code == 200:
            token: str = answer.json()["token"]
            return token
        assert answer.json().get("error") == "totp_invalid", answer.text
        time.sleep(30 - time.time() % 30 + 0.5)
    raise AssertionError("the system administrator could not sign in")


def field(page, name: str):  # type: ignore[no-untyped-def]
    """The real <input> (or <textarea>) inside uni-app's wrapper marked data-test=name."""
    return page.locator(f'[data-test="{name}"]').locator("input, textarea").first


def button(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'uni-button[data-test="{name}"]')


async def shot(page, name: str, *, full_page: bool = False) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Let toasts settle so that the guide shows the screen, not the animation.
    await page.locator("uni-toast").first.wait_for(state="hidden", timeout=5_000)
    await page.screenshot(path=str(SHOTS / f"patient-pay-{name}.png"), full_page=full_page)


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


def countdown_seconds(text: str) -> int:
    match = re.search(r"剩余支付时间 (\d+):(\d\d)", text)
    assert match, f"no countdown in {text!r}"
    return int(match.group(1)) * 60 + int(match.group(2))


class TestPayingAClinicBill:
    async def test_pays_with_wechat_then_asks_for_a_refund(self, server, patient_page, his):
        page = patient_page
        bill = his.bill(ZHANG_WEI["id_number"], "检验科", "赵医生", LINES)
        assert (bill["patient_name"], bill["total_fen"]) == ("张*", 3_500)

        # 张伟 signs in and opens 待缴费 from "我的".
        await sign_in(page, server, ZHANG_WEI["phone"])
        await page.locator(".me__item").filter(has_text="待缴费").click()
        await page.wait_for_url("**/h5/pages/bills/list")
        card = page.locator('[data-test="bill"]').filter(has_text="检验科 · 赵医生")
        await card.wait_for()
        await page.get_by_text("就诊人：张*").first.wait_for()
        assert await card.locator('[data-test="bill-total"]').inner_text() == "¥35.00"
        await card.get_by_text("血常规").wait_for()
        await card.get_by_text("尿常规").wait_for()
        await shot(page, "bills")

        # 去缴费 makes the order and opens the cashier: amounts, the time left, every enabled channel.
        await card.locator('uni-button[data-test="pay-bill"]').click()
        await page.wait_for_url("**/h5/pages/pay/cashier?number=*")
        number = page.url.split("number=")[1]
        assert await page.locator('[data-test="payable"]').inner_text() == "¥35.00"
        seconds = countdown_seconds(await page.locator('[data-test="countdown"]').inner_text())
        assert 60 < seconds <= MAX_HOLD_SECONDS
        for name in ("微信支付", "支付宝", "银联云闪付", "医保移动支付"):
            await page.locator(".cashier__channel").filter(has_text=name).wait_for()
        await page.get_by_text("血常规").wait_for()  # the bill's lines
        await page.locator('[data-test="channel-insurance"]').click()
        await page.locator('[data-test="insurance-note"]').wait_for()
        await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # above the bottom bar
        await shot(page, "insurance")
        await page.evaluate("window.scrollTo(0, 0)")
        await page.locator('[data-test="channel-wechat"]').click()
        assert await page.locator('[data-test="channel-wechat"]').get_attribute("aria-checked") == "true"
        await shot(page, "cashier")

        # WeChat Pay on H5: the window goes to the channel's cashier (the demo cashier in demo mode).
        await button(page, "pay").click()
        await page.wait_for_url(f"**/api/v1/sandbox/cashier/{number}?**")
        await page.get_by_text("¥35.00").wait_for()
        await shot(page, "demo-cashier")
        await page.get_by_role("button", name="确认支付").click()

        # Back on the order detail page, which waits for the notification and the HIS write-back.
        await page.wait_for_url(f"**/h5/pages/orders/detail?number={number}")
        state = page.locator('[data-test="order-state-title"]')
        await state.filter(has_text="已支付").wait_for(timeout=30_000)
        await page.locator('[data-test="his-state"]').filter(has_text="已登记").wait_for(timeout=30_000)
        assert await page.locator('[data-test="paid-amount"]').inner_text() == "¥35.00"
        assert await page.locator('[data-test="paid-channel"]').inner_text() == "微信支付"
        assert await page.locator('[data-test="order-number"]').inner_text() == number
        await page.locator('[data-test="paid-at"]').wait_for()
        await shot(page, "paid", full_page=True)

        # A refund: the whole amount by default, a reason; the hospital approves it first.
        await button(page, "request-refund").click()
        await page.locator('[data-test="refund-form"]').wait_for()
        await page.locator('[data-test="refund-reasons"]').get_by_text("医生取消了检查或用药").click()
        await shot(page, "refund-form", full_page=True)
        await button(page, "refund-submit").click()
        refund = page.locator('[data-test="refund"]')
        await refund.locator('[data-test="refund-state"]').filter(has_text="审核中").wait_for()
        await refund.get_by_text("¥35.00").wait_for()
        await refund.get_by_text("医生取消了检查或用药").wait_for()
        assert not await button(page, "request-refund").is_visible()  # nothing left to ask for
        await shot(page, "refund-pending", full_page=True)

        # The bill is no longer pending (the demo's own bill may be); the spending history lists the order.
        await page.goto(server.url("/h5/pages/bills/list"))
        await page.get_by_text("就诊人：张*").or_(page.get_by_text("暂无待缴费用")).first.wait_for()
        assert await page.locator('[data-test="bill"]').filter(has_text="检验科 · 赵医生").count() == 0
        await page.goto(server.url("/h5/pages/orders/list"))
        row = page.locator('[data-test="order-row"]').filter(has_text="诊间缴费 检验科")
        await row.first.wait_for()
        assert await row.first.locator('[data-test="order-row-state"]').inner_text() == "已支付"
        await shot(page, "history")
        await page.get_by_role("tab", name="已支付").click()
        await row.first.wait_for()
        await row.first.click()
        await page.wait_for_url(f"**/h5/pages/orders/detail?number={number}")
        await page.locator('[data-test="refund-state"]').filter(has_text="审核中").wait_for()

    async def test_an_unpaid_order_shows_its_hold_time(self, server, patient_page, his):
        page = patient_page
        his.bill(
            ZHANG_WEI["id_number"], "放射科", "孙医生", [LINES[0] | {"code": "FS0001", "name": "胸部正位片"}]
        )
        # The browser's clock is a fake one (the server's cannot be moved): the hold time can pass here.
        await page.clock.install()
        await sign_in(page, server, ZHANG_WEI["phone"])
        await page.goto(server.url("/h5/pages/bills/list"))
        card = page.locator('[data-test="bill"]').filter(has_text="放射科 · 孙医生")
        await card.locator('uni-button[data-test="pay-bill"]').click()
        await page.wait_for_url("**/h5/pages/pay/cashier?number=*")
        number = page.url.split("number=")[1]

        # The countdown runs from the order's hold time (the rule 订单保留时间: 15 minutes in the demo, which
        # the console's browser test changes).
        countdown = page.locator('[data-test="countdown"]')
        first = countdown_seconds(await countdown.inner_text())
        assert 60 < first <= MAX_HOLD_SECONDS
        await page.clock.fast_forward(5_000)
        await page.wait_for_function(COUNTED_DOWN, arg=['[data-test="countdown"]', first - 4])

        # The spending history has it under 待支付, and its detail page offers to pay with the time left.
        await page.goto(server.url("/h5/pages/orders/list?tab=unpaid"))
        row = page.locator('[data-test="order-row"]').filter(has_text="诊间缴费 放射科")
        await row.wait_for()
        assert await row.locator('[data-test="order-row-state"]').inner_text() == "待支付"
        await row.click()
        await page.wait_for_url(f"**/h5/pages/orders/detail?number={number}")
        await page.locator('[data-test="order-state-title"]').filter(has_text="待支付").wait_for()
        await page.locator('[data-test="countdown"]').wait_for()
        await button(page, "to-pay").wait_for()
        await shot(page, "unpaid")

        # Past the hold time the cashier refuses to start a payment and says why.
        await button(page, "to-pay").click()
        await page.wait_for_url(f"**/h5/pages/pay/cashier?number={number}")
        await page.locator('[data-test="countdown"]').wait_for()
        await page.clock.fast_forward((first + 60) * 1000)
        await (
            page.locator('[data-test="countdown-expired"]')
            .filter(has_text="订单已超过支付时间，已关闭，请重新下单")
            .wait_for()
        )
        assert not await page.locator('uni-button[data-test="pay"]').is_visible()
        await button(page, "back-to-bills").filter(has_text="返回待缴费").wait_for()
        await shot(page, "expired")

    async def test_pays_with_medical_insurance(self, server, patient_page, his):
        page = patient_page
        his.bill(ZHANG_WEI["id_number"], "内科", "王医生", [LINES[1]])
        await sign_in(page, server, ZHANG_WEI["phone"])
        await page.goto(server.url("/h5/pages/bills/list"))
        card = page.locator('[data-test="bill"]').filter(has_text="内科 · 王医生")
        await card.locator('uni-button[data-test="pay-bill"]').click()
        await page.wait_for_url("**/h5/pages/pay/cashier?number=*")
        number = page.url.split("number=")[1]

        # The insurance answers how much the fund and the personal account pay; the patient pays the rest.
        await page.locator('[data-test="channel-insurance"]').click()
        await button(page, "pay").click()
        split = page.locator('[data-test="insurance-split"]')
        await split.wait_for()
        for label in ("医保统筹支付", "医保个人账户支付", "个人自付"):
            await split.get_by_text(label).wait_for()
        assert (
            await page.locator('[data-test="payable"]').inner_text()
            == await split.locator(".money").inner_text()
        )
        await split.scroll_into_view_if_needed()
        await shot(page, "insurance-split")

        # The insurance's cashier (the demo cashier here), then back on the order, paid.
        await button(page, "insurance-continue").click()
        await page.wait_for_url(f"**/api/v1/sandbox/cashier/{number}?**")
        await page.get_by_text("医保移动支付（演示收银台）").or_(page.get_by_text("¥10.00")).first.wait_for()
        await page.get_by_role("button", name="确认支付").click()
        await page.wait_for_url(f"**/h5/pages/orders/detail?number={number}")
        await (
            page.locator('[data-test="order-state-title"]').filter(has_text="已支付").wait_for(timeout=30_000)
        )
        assert await page.locator('[data-test="paid-channel"]').inner_text() == "医保移动支付"
        amounts = page.locator('[data-test="amounts"]')
        for label in ("医保统筹支付", "医保个人账户支付", "个人自付"):
            await amounts.get_by_text(label).wait_for()
