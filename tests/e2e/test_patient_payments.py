"""Paying in the patient app (H5): a clinic bill from the HIS (诊间支付, PT-14) paid with WeChat Pay through
the demo cashier, the order detail confirming it, a refund request, and the spending history (PT-19). Each
test saves the screens the user guide shows (docs/user/patient-payments.md) as ``var/e2e/patient-pay-*.png``.

The bill reaches the patient as it does in a hospital: the doctor's orders make it in the HIS (here the
sandbox HIS, through the demo's sandbox route ``POST /api/v1/sandbox/his/clinic-bills``), and the
patient's 待缴费 list, refreshed from the HIS when opened, brings it in.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
import pytest

from ihos.config import ROOT

SHOTS = ROOT / "var" / "e2e"
DEMO_PASSWORD = "Ihos@2026"
ZHANG_WEI = {"phone": "13900000001", "id_number": "110105198503120135"}
# The longest hold time the rule 订单保留时间 allows (1–120 minutes).
MAX_HOLD_SECONDS = 120 * 60
# What the doctor orders; the HIS prices each line.
LINES = [
    {"code": "JC0001", "name": "血常规", "quantity": 1, "unit_price_fen": 2_500},
    {"code": "JY0002", "name": "尿常规", "quantity": 2, "unit_price_fen": 500},
]
# Each test is a patient on a network of its own (documentation range 203.0.113.0/24), so that the
# per-address limits count this test's requests only; the HIS has another.
_addresses = itertools.count(20)
HIS_ADDRESS = {"X-Forwarded-For": "203.0.113.5"}
# True once the countdown in `selector` shows at most `seconds`.
COUNTED_DOWN = """([selector, seconds]) => {
  const shown = /(\\d+):(\\d\\d)/.exec(document.querySelector(selector).textContent)
  return shown !== null && Number(shown[1]) * 60 + Number(shown[2]) <= seconds
}"""


@pytest.fixture
async def patient_page(phone_page):  # type: ignore[no-untyped-def]
    """The phone-sized page, on a network of its own, with more patience than the default: a payment
    waits for the channel's notification and the HIS write-back, which a busy CI machine slows down."""
    await phone_page.context.set_extra_http_headers({"X-Forwarded-For": f"203.0.113.{next(_addresses)}"})
    phone_page.context.set_default_timeout(30_000)
    return phone_page


@pytest.fixture
def his(server):  # type: ignore[no-untyped-def]
    return Hospital(server)


class Hospital:
    """Makes clinic bills for a patient the way a doctor's orders do: in the (sandbox) HIS."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def bill(
        self, id_number: str, department: str, doctor: str, lines: list[dict[str, Any]]
    ) -> dict[str, Any]:
        made = httpx.post(
            self.server.url("/api/v1/sandbox/his/clinic-bills"),
            json={"patient_id_number": id_number, "department": department, "doctor": doctor, "lines": lines},
            headers=HIS_ADDRESS,
            timeout=15,
        )
        assert made.status_code == 201, made.text
        bill: dict[str, Any] = made.json()
        return bill


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
        assert bill["total_fen"] == 3_500

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
        # What it paid for, for whom, and the HIS's receipt number.
        assert await page.locator('[data-test="order-patient"]').inner_text() == "张*"
        assert await page.locator('[data-test="order-line"]').count() == 2
        await page.locator('[data-test="order-lines"]').get_by_text("尿常规").wait_for()
        assert (await page.locator('[data-test="his-receipt"]').inner_text()).startswith("FP")
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
