"""The finance desks of the staff console in a real browser, against ``ihos serve`` with the demo hospital.

The money arrives as it does in a hospital: the HIS makes a clinic bill (the sandbox HIS, whose tables live in
the test server's database) and pushes it through the signed system-client API; the patient 张伟 orders it
and pays with WeChat Pay through the demo cashier, whose sandbox sends its signed notification to the server;
the server writes the payment back to the HIS. The finance supervisor grants the refund authorities through
the API, as the demo's own set-up does.

Then a finance clerk (孙悦) finds the order by its number, reads its timeline and asks for a partial refund; a
second clerk (朱浩) approves it (nobody approves his own request, and 10 yuan needs one level of the demo's
chain: 财务 from ¥0, 财务主管 from ¥500); the supervisor (秦磊) executes it (the requester may not), and the
sandbox's refund notification makes it 已退款 and the order 部分退款.

An anomaly is produced the way a channel would: the WeChat Pay sandbox is told (in the server's database,
like the HIS) that the patient paid another amount than the order's, and its signed notification says so.

Screens for the finance guide are saved as ``var/e2e/finance-*.png`` (docs/user/finance.md uses copies).
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
from playwright.async_api import Page, expect

from ihos.auth.system_clients import sign
from ihos.config import ROOT

SHOTS = ROOT / "var" / "e2e"
DEMO_PASSWORD = "Ihos@2026"
ZHANG_WEI = {"phone": "13900000001", "id_number": "110105198503120135"}
SYSTEM_ADMIN = ("sysadmin", "IHOSDEMOSYSADMINTOTPSECRET234567")
CLERK, SECOND_CLERK, SUPERVISOR = "sunyue", "zhuhao", "qinlei"
TOKEN_KEY = "ihos.console.token"
# Each test is a desk on a network of its own (documentation range 192.0.2.0/24), so that the per-address
# limits (sign-in attempts) count this test's requests only; the HIS and the set-up have their own.
_addresses = itertools.count(120)
HIS_ADDRESS = {"X-Forwarded-For": "192.0.2.5"}
SETUP_ADDRESS = {"X-Forwarded-For": "192.0.2.6"}

NO_ANIMATIONS = """
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style')
  style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }'
  document.head.appendChild(style)
})
"""

# What the doctor's orders do in the sandbox HIS, and what "the patient paid in WeChat" does in the WeChat
# Pay sandbox, run against the test server's database (the server process exposes neither).
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
PAID_IN_WECHAT = """
import asyncio, sys
from ihos.billing.sandbox import simulate_payment
from ihos.db import commit, dispose_engine, get_sessionmaker

async def main():
    try:
        async with get_sessionmaker()() as session:
            await simulate_payment(session, "wechat", sys.argv[1], amount_fen=int(sys.argv[2]))
            await commit(session)
    finally:
        await dispose_engine()

asyncio.run(main())
"""
# One HIS system client per test server (base URL → key id and secret).
_his_clients: dict[str, tuple[str, str]] = {}


# -- the hospital around the desk (API and sandboxes) ---------------------------------------------------


class Hospital:
    def __init__(self, server: Any, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        self.api = httpx.Client(base_url=server.base_url, headers=SETUP_ADDRESS, timeout=15)

    def _env(self) -> dict[str, str]:
        return os.environ | {
            "IHOS_DATABASE_URL": f"sqlite+aiosqlite:///{self.workdir / 'ihos.db'}",
            "IHOS_KEY_FILE": str(self.workdir / "keys.json"),
            "IHOS_FILES__LOCAL_DIR": str(self.workdir / "files"),
            "IHOS_DEMO": "true",
        }

    def _run(self, script: str, *args: str) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", script, *args],
            env=self._env(),
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout

    def bill(self, department: str, doctor: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
        """A clinic bill for 张伟: made in the HIS by the doctor's orders, pushed to ihos by the HIS."""
        made = json.loads(
            self._run(
                DOCTORS_ORDERS,
                ZHANG_WEI["id_number"],
                department,
                doctor,
                json.dumps(lines, ensure_ascii=False),
            )
            .strip()
            .splitlines()[-1]
        )
        body = {
            "his_bill_id": made["his_bill_id"],
            "patient_id_number": ZHANG_WEI["id_number"],
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

    def _his_client(self) -> tuple[str, str]:
        if self.server.base_url not in _his_clients:
            token = _sign_in_system_admin(self.api)
            issued = self.api.post(
                "/api/v1/system-clients",
                json={"name": "HIS（财务浏览器测试）", "kind": "his"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert issued.status_code == 201, issued.text
            _his_clients[self.server.base_url] = (issued.json()["client"]["key_id"], issued.json()["secret"])
        return _his_clients[self.server.base_url]

    def _signed_post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        key_id, secret = self._his_client()
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

    # the patient

    def _patient(self) -> dict[str, str]:
        signed_in = self.api.post(
            "/api/v1/auth/sign-in/password", json={"login": ZHANG_WEI["phone"], "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        return {"Authorization": f"Bearer {signed_in.json()['token']}"}

    def order_for(self, bill: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """张伟 opens 待缴费 (which refreshes the bills from the HIS) and makes the order for ``bill``."""
        patient = self._patient()
        listed = self.api.get("/api/v1/me/clinic-bills", headers=patient)
        assert listed.status_code == 200, listed.text
        assert bill["id"] in [b["id"] for b in listed.json()], listed.text
        ordered = self.api.post(f"/api/v1/me/clinic-bills/{bill['id']}/order", headers=patient)
        assert ordered.status_code == 200, ordered.text
        number: str = ordered.json()["order_number"]
        prepay = self.api.post(
            f"/api/v1/me/orders/{number}/pay", json={"channel": "wechat", "scene": "h5"}, headers=patient
        )
        assert prepay.status_code == 200, prepay.text
        return number, patient

    def paid_order(self, department: str, lines: list[dict[str, Any]]) -> str:
        """An order paid with WeChat Pay through the demo cashier and written back to the HIS."""
        number, patient = self.order_for(self.bill(department, "赵医生", lines))
        confirmed = self.api.post(
            f"/api/v1/sandbox/cashier/{number}", data={"return_to": "/h5/"}, follow_redirects=False
        )
        assert confirmed.status_code == 303, confirmed.text
        self.wait_for_order(
            number, patient, lambda order: order["state"] == "paid" and order["his_state"] == "written"
        )
        return number

    def paid_another_amount(self, department: str, lines: list[dict[str, Any]], paid_fen: int) -> str:
        """An order for which the channel reports another amount than asked (支付金额与订单不符)."""
        number, patient = self.order_for(self.bill(department, "钱医生", lines))
        self._run(PAID_IN_WECHAT, number, str(paid_fen))
        self.wait_for_order(number, patient, lambda order: order["state"] == "paid")
        return number

    def wait_for_order(
        self, number: str, patient: dict[str, str], done: Any, timeout: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            order: dict[str, Any] = self.api.get(f"/api/v1/me/orders/{number}", headers=patient).json()
            if done(order):
                return order
            if time.monotonic() > deadline:
                raise AssertionError(f"order {number} did not get there: {order}")
            time.sleep(0.3)

    # the finance supervisor

    def staff(self, username: str) -> dict[str, str]:
        signed_in = self.api.post(
            "/api/v1/auth/staff/sign-in", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert signed_in.status_code == 200 and signed_in.json()["token"], signed_in.text
        return {"Authorization": f"Bearer {signed_in.json()['token']}"}

    def grant_refund_authorities(self) -> None:
        """What the finance office works with: two clerks who request and approve (up to their limits), one
        of whom executes, and the supervisor, who may do everything; the demo's approval chain."""
        supervisor = self.staff(SUPERVISOR)
        grants = {
            CLERK: {
                "may_request": True,
                "may_approve": True,
                "approval_limit_fen": 100_000,
                "may_execute": True,
            },
            SECOND_CLERK: {
                "may_request": True,
                "may_approve": True,
                "approval_limit_fen": 50_000,
                "may_execute": False,
            },
            SUPERVISOR: {
                "may_request": True,
                "may_approve": True,
                "approval_limit_fen": None,
                "may_execute": True,
            },
        }
        for username, grant in grants.items():
            found = self.api.get(
                "/api/v1/organisation/staff", params={"q": username}, headers=supervisor
            ).json()
            staff_id = next(person["id"] for person in found["items"] if person["username"] == username)
            granted = self.api.put(
                f"/api/v1/finance/refund-authorities/{staff_id}", json=grant, headers=supervisor
            )
            assert granted.status_code == 200, granted.text
        chain = self.api.put(
            "/api/v1/finance/refund-approval-levels",
            json=[
                {"level": 1, "min_amount_fen": 0, "role_code": "finance"},
                {"level": 2, "min_amount_fen": 50_000, "role_code": "finance_supervisor"},
            ],
            headers=supervisor,
        )
        assert chain.status_code == 200, chain.text


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


@pytest.fixture
def hospital(server, tmp_path_factory):  # type: ignore[no-untyped-def]
    base = tmp_path_factory.getbasetemp()
    workdirs = {path.resolve() for path in base.glob("e2e-server*") if (path / "ihos.db").exists()}
    assert len(workdirs) == 1, f"expected the one test server's folder, found {workdirs}"
    found = Hospital(server, workdirs.pop())
    found.grant_refund_authorities()
    yield found
    found.api.close()


@pytest.fixture
async def desk(desk_page: Page) -> Page:
    """The desk-sized page on a network of its own, without animations."""
    await desk_page.context.set_extra_http_headers({"X-Forwarded-For": f"192.0.2.{next(_addresses)}"})
    await desk_page.add_init_script(NO_ANIMATIONS)
    return desk_page


# -- the browser ------------------------------------------------------------------------------------------


async def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Let messages fade so that the guide shows the screen, not a toast over it.
    await expect(page.locator(".el-message")).to_have_count(0, timeout=10_000)
    await page.screenshot(path=str(SHOTS / f"finance-{name}.png"), full_page=full_page)


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


async def find_order(page: Page, number: str) -> None:
    await open_desk(page, "订单查询")
    await page.get_by_label("订单号", exact=True).fill(number)
    await page.get_by_role("button", name="查询").click()
    await expect(page.locator("[data-test=order-results] .el-table__row")).to_have_count(1)


async def answer_prompt(page: Page, note: str | None) -> None:
    """Fills and confirms an Element Plus prompt (approve or reject)."""
    box = page.locator(".el-message-box")
    await expect(box).to_be_visible()
    if note is not None:
        await box.locator("textarea").fill(note)
    await box.get_by_role("button", name="确定").click()


async def expect_message(page: Page, text: str) -> None:
    await expect(page.locator(".el-message").filter(has_text=text)).to_be_visible()


def refund_row(page: Page, refund_number: str):  # type: ignore[no-untyped-def]
    return page.locator("[data-test=refund-results] .el-table__row").filter(has_text=refund_number)


LAB_TESTS = [
    {"code": "JC0001", "name": "血常规", "quantity": 1, "unit_price_fen": 2_500, "amount_fen": 2_500},
    {"code": "JY0002", "name": "尿常规", "quantity": 2, "unit_price_fen": 500, "amount_fen": 1_000},
]


class TestARefundThroughTheChain:
    async def test_clerk_finds_the_order_requests_a_refund_a_second_clerk_approves_it_and_it_is_executed(
        self, server, desk, hospital
    ):
        page = desk
        number = hospital.paid_order("检验科", LAB_TESTS)

        # 孙悦 (finance) has the finance desks, not the settings.
        await sign_in(page, server, CLERK)
        for title in ("订单查询", "退款审批", "异常订单"):
            await expect(page.get_by_role("menuitem", name=title)).to_be_visible()
        await expect(page.get_by_role("menuitem", name="财务设置")).to_have_count(0)
        await page.goto(server.url("/console/finance/settings"))
        await expect(page.locator(".layout__title")).to_have_text("无权访问")
        await page.goto(server.url("/console/"))

        # She finds the order by its number: masked patient, amount in yuan, paid, written to the HIS.
        await find_order(page, number)
        row = page.locator("[data-test=order-results] .el-table__row").first
        await expect(row).to_contain_text(number)
        await expect(row).to_contain_text("张*")
        await expect(row).to_contain_text("诊间缴费")
        await expect(row).to_contain_text("¥35.00")
        await expect(row.locator("[data-test=order-state]")).to_have_text("已支付")
        await expect(row).to_contain_text("微信支付")
        await expect(row).to_contain_text("已写入")
        await shot(page, "orders")

        # On a phone the results are cards.
        await page.set_viewport_size({"width": 390, "height": 844})
        card = page.locator("[data-test=order-results] .card-list__card").filter(has_text=number)
        await expect(card).to_contain_text("¥35.00")
        await shot(page, "phone-orders")
        await page.set_viewport_size({"width": 1366, "height": 900})

        # The order: amounts, lines, and the timeline with the WeChat notification and the HIS receipt.
        await row.click()
        await page.wait_for_url(f"**/console/finance/orders/{number}")
        await expect(page.locator("[data-test=order-state]")).to_have_text("已支付")
        await expect(page.locator("[data-test=paid-amount]")).to_have_text("¥35.00")
        await expect(page.locator("[data-test=order-lines]")).to_contain_text("尿常规")
        timeline = page.locator("[data-test=order-timeline]")
        await expect(timeline).to_contain_text("发起支付：微信支付")
        await expect(timeline).to_contain_text("支付成功 ¥35.00（微信支付）")
        await expect(timeline).to_contain_text("收到支付通知（微信支付）")
        await expect(timeline).to_contain_text("验签通过 · 已入账")
        await expect(timeline).to_contain_text("HIS 已登记收费")
        receipt = await page.locator("[data-test=his-receipt]").inner_text()
        assert receipt.strip(), "no HIS receipt number"
        await expect(timeline).to_contain_text(f"HIS 收据号：{receipt}")
        await shot(page, "order-detail", full_page=True)

        # A partial refund: more than was paid is refused in the form; 10 yuan goes to the chain.
        await page.locator("[data-test=request-refund]").click()
        form = page.locator("[data-test=refund-form]")
        await form.get_by_label("金额（元）").fill("35.01")
        await form.get_by_label("原因").fill("患者取消尿常规检查")
        await page.locator("[data-test=refund-submit]").click()
        await expect(form).to_contain_text("金额不能超过 ¥35.00")
        await form.get_by_label("金额（元）").fill("10")
        await expect(form).not_to_contain_text("金额不能超过")
        await shot(page, "refund-request")
        await page.locator("[data-test=refund-submit]").click()
        await expect_message(page, "已提交，需 1 级审批")
        refunds = page.locator("[data-test=order-refunds]")
        await expect(refunds.locator("[data-test=refund-state]")).to_have_text("待审批")
        await expect(refunds.locator("[data-test=refund-level]")).to_have_text("第1级/共1级 · 财务")
        await expect(page.locator("[data-test=refundable-amount]")).to_have_text("¥25.00")
        refund_number = (await refunds.locator("code").first.inner_text()).strip()

        # Nobody approves their own request: the desk offers her no approval of it, and says why.
        await expect(refunds.locator("[data-test=refund-approve]")).to_have_count(0)
        await expect(refunds.locator("[data-test=refund-own]")).to_have_text("本人申请，须由他人审批")
        await expect(refunds.locator("[data-test=refund-requester]")).to_contain_text("孙悦")
        await expect(refunds.locator("[data-test=refund-state]")).to_have_text("待审批")
        await sign_out(page)

        # 朱浩, the second clerk, approves it from the queue; he may not execute.
        await sign_in(page, server, SECOND_CLERK)
        await open_desk(page, "退款审批")
        await expect(page.locator("[data-test=my-authority]")).to_contain_text("申请 · 审批（¥500.00 以内）")
        waiting = refund_row(page, refund_number)
        await expect(waiting).to_contain_text("¥10.00")
        await expect(waiting.locator("[data-test=refund-level]")).to_have_text("第1级/共1级 · 财务")
        await expect(waiting).to_contain_text("患者取消尿常规检查")
        await shot(page, "refund-queue")
        await waiting.locator("[data-test=refund-reject]").click()
        box = page.locator(".el-message-box")
        await box.get_by_role("button", name="确定").click()
        await expect(box).to_contain_text("请填写驳回原因")  # a rejection needs its reason
        await box.get_by_role("button", name="取消").click()
        await waiting.locator("[data-test=refund-approve]").click()
        await answer_prompt(page, "已核实，同意退款")
        await expect_message(page, "已审批通过，等待执行")
        await expect(refund_row(page, refund_number)).to_have_count(0)
        await page.locator("[data-test=queue-state]").get_by_text("待执行").click()
        approved = refund_row(page, refund_number)
        await expect(approved.locator("[data-test=refund-state]")).to_have_text("待执行")
        await expect(approved.locator("[data-test=refund-execute]")).to_have_count(0)
        await sign_out(page)

        # 秦磊, the supervisor, executes it (who asked for the money back does not also send it); the sandbox
        # refunds and notifies, and the order shows 部分退款.
        await sign_in(page, server, SUPERVISOR)
        await open_desk(page, "退款审批")
        await page.locator("[data-test=queue-state]").get_by_text("待执行").click()
        await expect(refund_row(page, refund_number).locator("[data-test=refund-execute]")).to_be_visible()
        await expect(page.locator("[data-test=refund-results] .el-loading-mask")).to_be_hidden()
        await shot(page, "refund-execute")
        await refund_row(page, refund_number).locator("[data-test=refund-execute]").click()
        await page.locator(".el-message-box").get_by_role("button", name="执行退款").click()
        await expect_message(page, "已提交退款")
        await find_order(page, number)
        await page.locator("[data-test=order-results] .el-table__row").first.click()
        await page.wait_for_url(f"**/console/finance/orders/{number}")
        # The page looks again by itself while the refund is on its way.
        await expect(page.locator("[data-test=order-refunds] [data-test=refund-state]")).to_have_text(
            "已退款", timeout=30_000
        )
        await expect(page.locator("[data-test=order-state]")).to_have_text("部分退款")
        await expect(page.locator("[data-test=refunded-amount]")).to_have_text("¥10.00")
        await expect(timeline).to_contain_text("第1级/共1级 审批通过")
        await expect(timeline).to_contain_text("审批人：朱浩（F1002）")
        await expect(timeline).to_contain_text("退款成功 ¥10.00")
        await expect(timeline).to_contain_text("收到退款通知（微信支付）")
        await shot(page, "order-refunded", full_page=True)

        # The refund search and the statistics find it.
        await open_desk(page, "退款审批")
        await page.get_by_role("tab", name="退款查询").click()
        await page.get_by_label("退款单号").fill(refund_number)
        await page.get_by_role("button", name="查询").click()
        found = refund_row(page, refund_number)
        await expect(found.locator("[data-test=refund-state]")).to_have_text("已退款")
        await expect(found.locator("[data-test=refund-level]")).to_have_text("已审批（1/1级）")
        await page.get_by_role("tab", name="退款统计").click()
        statistics = page.locator("[data-test=refund-statistics]")
        await expect(
            statistics.locator(".el-table__row").filter(has_text="微信支付").filter(has_text="已退款")
        ).to_be_visible()
        await expect(page.locator("[data-test=refund-chart] svg")).to_be_visible()
        await page.wait_for_timeout(1500)  # the bars grow in
        await shot(page, "refund-statistics")


class TestAnomalies:
    async def test_an_order_paid_with_another_amount_is_flagged_red_and_handled_with_a_note(
        self, server, desk, hospital
    ):
        page = desk
        lines = [
            {
                "code": "FS0001",
                "name": "胸部正位片",
                "quantity": 1,
                "unit_price_fen": 8_000,
                "amount_fen": 8_000,
            }
        ]
        number = hospital.paid_another_amount("放射科", lines, paid_fen=7_950)

        await sign_in(page, server, SUPERVISOR)
        await open_desk(page, "异常订单")
        flagged = page.locator("[data-test=anomaly]").filter(has_text=number)
        await expect(flagged.locator("[data-test=anomaly-kind-label]")).to_have_text("支付金额与订单不符")
        await expect(flagged).to_have_class(re.compile("anomaly--open"))
        await expect(flagged).to_contain_text("应付金额")
        await expect(flagged).to_contain_text("¥80.00")
        await expect(flagged).to_contain_text("¥79.50")
        await shot(page, "anomalies")

        # The filters: another kind lists none of it.
        await page.locator("[data-test=anomaly-kind]").click(force=True)
        await (
            page.locator(".el-select-dropdown:visible")
            .get_by_role("option", name="重复支付", exact=True)
            .click()
        )
        await expect(page.locator("[data-test=anomaly]").filter(has_text=number)).to_have_count(0)
        await page.locator("[data-test=anomaly-kind]").click(force=True)
        await (
            page.locator(".el-select-dropdown:visible")
            .get_by_role("option", name="支付金额与订单不符", exact=True)
            .click()
        )
        await expect(flagged).to_be_visible()

        # Its order shows the flag and the anomaly in the timeline.
        await flagged.locator("[data-test=anomaly-order]").click()
        await page.wait_for_url(f"**/console/finance/orders/{number}")
        await expect(page.locator("[data-test=order-anomaly]")).to_contain_text("支付金额与订单不符")
        await expect(page.locator("[data-test=order-timeline]")).to_contain_text("异常：支付金额与订单不符")
        await page.go_back()

        # 处理 needs a note; then it is listed under 已处理 with it.
        await flagged.locator("[data-test=anomaly-handle]").click()
        await page.locator("[data-test=anomaly-submit]").click()
        await expect(page.get_by_text("请填写处理说明（至少 2 个字）")).to_be_visible()
        note = "已与微信支付对账：实收79.50元，差额0.50元已联系患者补缴"
        await page.get_by_label("处理说明").fill(note)
        await expect(page.get_by_text("请填写处理说明（至少 2 个字）")).to_have_count(0)
        await shot(page, "anomaly-handle")
        await page.locator("[data-test=anomaly-submit]").click()
        await expect_message(page, "已处理")
        await expect(page.locator("[data-test=anomaly]").filter(has_text=number)).to_have_count(0)
        await page.locator("[data-test=anomaly-state]").get_by_text("已处理").click()
        handled = page.locator("[data-test=anomaly]").filter(has_text=number)
        await expect(handled.locator("[data-test=anomaly-note]")).to_contain_text(note)
        await expect(handled.locator("[data-test=anomaly-handle]")).to_have_count(0)
        await shot(page, "anomalies-handled")


class TestFinanceSettings:
    async def test_the_supervisor_sees_channels_chain_and_authorities_and_the_server_checks_the_chain(
        self, server, desk, hospital
    ):
        page = desk
        await sign_in(page, server, SUPERVISOR)
        await open_desk(page, "财务设置")

        channels = page.locator("[data-test=channels]")
        for name in ("微信支付", "支付宝", "银联云闪付", "医保移动支付"):
            await expect(channels.locator(".el-table__row").filter(has_text=name)).to_be_visible()
        await shot(page, "settings-channels")

        # The chain: the demo's two levels; a decreasing minimum is refused by the server, nothing changes.
        await page.get_by_role("tab", name="退款审批链").click()
        await expect(page.locator("[data-test=chain-level]")).to_have_count(2)
        await expect(page.get_by_label("第1级最低金额")).to_have_value("0.00")
        await expect(page.get_by_label("第2级最低金额")).to_have_value("500.00")
        await page.get_by_label("第1级最低金额").fill("600")
        await page.locator("[data-test=chain-save]").click()
        await expect(page.get_by_role("alert")).to_contain_text("审批链不正确")
        await page.get_by_role("button", name="放弃修改").click()
        await expect(page.get_by_label("第1级最低金额")).to_have_value("0.00")
        await expect(page.get_by_text("¥500.00 起需第2级（财务主管）")).to_be_visible()
        await shot(page, "settings-chain")

        # The authorities: each clerk's, and an edit of one.
        await page.get_by_role("tab", name="退款权限").click()
        authorities = page.locator("[data-test=authorities]")
        second = authorities.locator(".el-table__row").filter(has_text="朱浩")
        await expect(second).to_contain_text("¥500.00")
        await expect(authorities.locator(".el-table__row").filter(has_text="孙悦")).to_contain_text(
            "¥1,000.00"
        )
        await expect(authorities.locator(".el-table__row").filter(has_text="秦磊")).to_contain_text("不限")
        await shot(page, "settings-authorities")
        await second.get_by_role("button", name="编辑").click()
        form = page.locator("[data-test=authority-form]")
        await expect(form.get_by_label("审批额度")).to_have_value("500.00")
        await form.get_by_label("审批额度").fill("500")
        await page.locator("[data-test=authority-save]").click()
        await expect_message(page, "已保存")
        await expect(second).to_contain_text("¥500.00")

        # Granting one: staff are picked by name, number or username; administrators are not offered.
        await page.locator("[data-test=authority-add]").click()
        picker = form.get_by_label("工作人员")
        await picker.click(force=True)
        await picker.fill("admin")
        await expect(page.locator(".el-select-dropdown:visible")).to_contain_text("无数据")
        await picker.fill("kefu1")
        option = page.locator(".el-select-dropdown:visible").get_by_role("option")
        await expect(option).to_have_count(1)
        await expect(option).to_contain_text("客服")
        await option.click()
        await shot(page, "settings-grant")
        await page.locator(".el-dialog").get_by_role("button", name="取消").click()
