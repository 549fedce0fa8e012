"""The staff console's desks in a real browser, against ``ihos serve`` with the demo hospital.

Administrators sign in with a TOTP code that works once per person, and codes change every 30 seconds:
``fresh_totp`` waits for the next code when a test signs the same administrator in again. Screens worth
showing in the user guide are saved as ``var/e2e/console-*.png`` (docs/user/console.md uses copies).
"""

from __future__ import annotations

import io
import re
import time

import httpx
import pyotp
import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Page, expect

from ihos.config import ROOT

SCREENSHOTS = ROOT / "var" / "e2e"
DEMO_PASSWORD = "Ihos@2026"
SECURITY_ADMIN = ("secadmin", "IHOSDEMOSECADMINTOTPSECRET234567")
AUDIT_ADMIN = ("auditadmin", "IHOSDEMOAUDITADMINTOTPSECRET2345")
SYSTEM_ADMIN = ("sysadmin", "IHOSDEMOSYSADMINTOTPSECRET234567")
# Phones outside the demo hospital and its real-name registry, so that no other browser test (they share
# one server) meets them: the patient app's tests register the registry's newcomers.
REVIEWED_PHONE = "13700000002"
INBOX_PHONE = "13700000001"
# A demo patient no other browser test signs in as: customer service resets the password. (Not the
# reviewed patient's phone: it had a code a moment ago, and the SMS sandbox, like a carrier, sends one
# message a minute to a number.)
RESET_PHONE = "13900000014"

# Element Plus animates its dropdowns and dialogs by scaling them; a click during the animation can land on
# the wrong option. The console's behaviour does not depend on the animations, so the tests turn them off.
NO_ANIMATIONS = """
document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style')
  style.textContent = '*, *::before, *::after { transition: none !important; animation: none !important; }'
  document.head.appendChild(style)
})
"""

# The 30-second step of the last code used per secret: the server takes each code once.
_used_steps: dict[str, int] = {}


def fresh_totp(secret: str) -> str:
    """A code this test session has not used yet (waits up to 30 seconds for the next one)."""
    while (step := int(time.time()) // 30) <= _used_steps.get(secret, -1):
        time.sleep(0.5)
    _used_steps[secret] = step
    return pyotp.TOTP(secret).at(step * 30)


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=full_page)


async def sign_in(
    page: Page, server, username: str, password: str = DEMO_PASSWORD, totp_secret: str | None = None
) -> None:  # type: ignore[no-untyped-def]
    await page.goto(server.url("/console/sign-in"))
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    if totp_secret:
        await page.get_by_label("动态验证码").fill(fresh_totp(totp_secret))
        await page.get_by_role("button", name="登录").click()


# Administrators' sessions, reused by later tests that need the same administrator: each sign-in costs
# two attempts against the server's per-address limit (which every browser test shares) and a fresh TOTP
# code, which can mean waiting up to 30 seconds.
_admin_tokens: dict[str, str] = {}
TOKEN_KEY = "ihos.console.token"


async def sign_in_to_home(page: Page, server, username: str, totp_secret: str | None = None) -> None:  # type: ignore[no-untyped-def]
    welcome = page.get_by_role("heading", name=re.compile("您好"))
    if token := _admin_tokens.get(username):
        await page.goto(server.url("/console/sign-in"))
        await page.evaluate("([key, token]) => localStorage.setItem(key, token)", [TOKEN_KEY, token])
        await page.goto(server.url("/console/"))
        await expect(welcome.or_(page.get_by_label("用户名"))).to_be_visible()
        if await welcome.is_visible():
            return
    await sign_in(page, server, username, totp_secret=totp_secret)
    await expect(welcome).to_be_visible()
    if totp_secret:
        _admin_tokens[username] = await page.evaluate("key => localStorage.getItem(key)", TOKEN_KEY)


async def sign_out(page: Page) -> None:
    token = await page.evaluate("key => localStorage.getItem(key)", TOKEN_KEY)
    for username, kept in list(_admin_tokens.items()):
        if kept == token:
            del _admin_tokens[username]
    await page.get_by_role("button", name="退出登录").click()
    await page.wait_for_url("**/console/sign-in")


async def open_desk(page: Page, title: str) -> None:
    await page.get_by_role("menuitem", name=title).click()
    await expect(page.locator(".layout__title")).to_have_text(title)


async def open_select(scope, field: str) -> None:  # type: ignore[no-untyped-def]
    """Opens an Element Plus select or tree select (its placeholder lies over the input, hence force)."""
    await scope.get_by_label(field, exact=True).click(force=True)


async def choose(page: Page, field: str, option: str, *, scope=None) -> None:  # type: ignore[no-untyped-def]
    """Picks an option of an Element Plus select by the label of its form field."""
    await open_select(scope or page, field)
    # Every select of the page keeps its options in the document; only the open one's are visible.
    dropdown = page.locator(".el-select-dropdown:visible")
    await dropdown.get_by_role("option", name=option, exact=True).click()
    # A multiple select stays open; Escape closes it (and only it, not the dialog around it).
    if await dropdown.count():
        await page.keyboard.press("Escape")
        await expect(dropdown).to_have_count(0)


def id_card_photo() -> bytes:
    """A stand-in for a photo of an ID card (the server re-encodes images, so it must be a real one)."""
    image = Image.new("RGB", (856, 540), (226, 236, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 816, 500), outline=(70, 110, 160), width=6)
    draw.rectangle((600, 110, 780, 330), fill=(180, 195, 210))
    for row in range(5):
        draw.rectangle((80, 120 + row * 60, 480, 140 + row * 60), fill=(120, 140, 160))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def patient_waiting_for_identity_review(server) -> None:  # type: ignore[no-untyped-def]
    """A newly registered patient whose identity goes to customer service to check by hand."""
    api = httpx.Client(base_url=server.url(""), timeout=10)
    versions = {p["document"]: p["version"] for p in api.get("/api/v1/auth/policies").json()}
    phone = REVIEWED_PHONE
    sent = api.post("/api/v1/auth/sms-codes", json={"phone": phone, "purpose": "register"})
    assert sent.status_code == 202, sent.text
    registered = api.post(
        "/api/v1/auth/register/phone",
        json={
            "phone": phone,
            "code": server.sms_code(phone),
            "password": "Guo-2026-ihos",
            "consents": {
                "user_agreement": versions["user_agreement"],
                "privacy_policy": versions["privacy_policy"],
                "health_data": versions["health_data"],
            },
        },
    )
    assert registered.status_code == 201, registered.text
    submitted = api.post(
        "/api/v1/me/real-name/review",
        headers={"Authorization": f"Bearer {registered.json()['token']}"},
        data={"name": "赵晓燕", "id_number": "110105199003070025"},
        files=[
            ("documents", ("front.png", id_card_photo(), "image/png")),
            ("documents", ("back.png", id_card_photo(), "image/png")),
        ],
    )
    assert submitted.status_code == 201, submitted.text


@pytest.fixture
async def console_page(desk_page: Page) -> Page:
    """The desk-sized page, without animations."""
    await desk_page.add_init_script(NO_ANIMATIONS)
    return desk_page


class TestSecurityAdminCreatesADoctor:
    async def test_department_and_doctor_account_then_first_sign_in_and_the_audit_trail(
        self, server, console_page
    ):
        page = console_page
        username, secret = SECURITY_ADMIN
        await sign_in(page, server, username)
        await expect(page.get_by_label("动态验证码")).to_be_visible()
        await screenshot(page, "sign-in-totp")
        await page.get_by_label("动态验证码").fill(fresh_totp(secret))
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("heading", name=re.compile("您好"))).to_be_visible()

        # A new department under 内科 of 本部院区.
        await open_desk(page, "机构管理")
        await page.get_by_role("tab", name="科室").click()
        tree = page.locator("[data-test=department-tree]")
        await expect(tree.get_by_text("心血管内科")).to_be_visible()
        await page.get_by_role("button", name="新建科室").click()
        dialog = page.get_by_role("dialog", name="新建科室")
        await open_select(dialog, "上级科室")
        await page.locator(".el-tree-select__popper:visible").get_by_text("内科", exact=True).click()
        await dialog.get_by_label("编码").fill("ONLINE")
        await dialog.get_by_label("科室名称").fill("互联网门诊")
        await dialog.get_by_label("位置").fill("门诊楼三楼")
        await dialog.get_by_role("button", name="保存").click()
        await expect(dialog).to_be_hidden()
        await expect(tree.get_by_text("互联网门诊")).to_be_visible()
        await screenshot(page, "departments")

        # A doctor's account in it; the one-time password is shown once.
        await page.get_by_role("tab", name="工作人员").click()
        await page.get_by_role("button", name="新建工作人员").click()
        dialog = page.get_by_role("dialog", name="新建工作人员")
        await dialog.get_by_label("姓名").fill("周新医")
        await dialog.get_by_label("工号").fill("D9001")
        await dialog.get_by_label("用户名").fill("zhouxinyi")
        await dialog.get_by_label("手机号").fill("13800138001")
        await dialog.get_by_role("button", name="保存").click()
        # Nothing is sent without a role.
        await expect(dialog.get_by_text("请至少选择一个角色")).to_be_visible()
        await choose(page, "职称", "主治医师", scope=dialog)
        await choose(page, "角色", "医生", scope=dialog)
        await open_select(dialog, "科室")
        await page.locator(".el-tree-select__popper:visible").get_by_text("互联网门诊", exact=True).click()
        await page.keyboard.press("Escape")
        await dialog.get_by_label("擅长").fill("互联网复诊、慢病随访")
        await screenshot(page, "staff-form")
        await dialog.get_by_role("button", name="保存").click()
        created = page.get_by_role("dialog", name="已创建：周新医")
        await expect(created.get_by_text("只显示这一次")).to_be_visible()
        temporary_password = (await created.locator("[data-test=one-time-secret]").inner_text()).strip()
        assert len(temporary_password) >= 8
        await screenshot(page, "one-time-password")
        await created.get_by_role("button", name="我已记下").click()
        staff_table = page.locator("[data-test=staff-table]")
        await expect(staff_table.get_by_text("周新医")).to_be_visible()
        await expect(staff_table.get_by_text("互联网门诊")).to_be_visible()
        await expect(staff_table.get_by_text("138****8001")).to_be_visible()

        # A custom role may hold business permissions only: the administrators' are not offered.
        await open_desk(page, "用户与角色")
        await page.get_by_role("button", name="新建自定义角色").click()
        dialog = page.get_by_role("dialog", name="新建自定义角色")
        await expect(dialog.get_by_role("checkbox", name="查看患者（脱敏）")).to_have_count(1)
        await expect(dialog.get_by_role("checkbox", name="管理工作人员账号")).to_have_count(0)
        await expect(dialog.get_by_role("checkbox", name="查看审计日志")).to_have_count(0)
        await dialog.get_by_label("编码").fill("records_clerk")
        await dialog.get_by_label("角色名称").fill("病案查询员")
        await dialog.get_by_text("查看患者（脱敏）", exact=True).click()
        await expect(dialog.get_by_role("checkbox", name="查看患者（脱敏）")).to_be_checked()
        await dialog.get_by_role("button", name="保存").click()
        roles = page.locator("[data-test=roles-table]")
        await expect(roles.locator(".el-table__row", has_text="病案查询员")).to_contain_text("自定义")
        await screenshot(page, "roles")
        await sign_out(page)

        # The doctor's first sign-in: the password must change before anything else.
        await sign_in(page, server, "zhouxinyi", temporary_password)
        await page.wait_for_url("**/console/change-password")
        await expect(page.get_by_text("首次登录或密码已重置")).to_be_visible()
        await page.get_by_label("当前密码").fill(temporary_password)
        await page.get_by_label("新密码", exact=True).fill("Zhou-Xinyi-2026")
        await page.get_by_label("确认新密码").fill("Zhou-Xinyi-2026")
        await page.get_by_role("button", name="修改密码").click()
        await expect(page.get_by_role("heading", name="周新医(D9001)，您好")).to_be_visible()
        await expect(page.get_by_role("menuitem", name="用户与角色")).to_have_count(0)

        await open_desk(page, "个人资料")
        profile = page.locator("[data-test=my-profile]")
        await expect(profile.get_by_text("互联网门诊")).to_be_visible()
        await expect(profile.get_by_text("主治医师")).to_be_visible()
        await page.get_by_label("擅长").fill("互联网复诊、高血压和糖尿病的随访")
        await page.get_by_label("简介").fill("周新医，主治医师，负责互联网门诊的复诊和慢病随访。")
        await page.get_by_role("button", name="保存资料").click()
        await expect(page.get_by_text("资料已保存")).to_be_visible()
        await screenshot(page, "my-profile", full_page=True)
        await sign_out(page)

        # The audit admin finds all of it in the operation log.
        username, secret = AUDIT_ADMIN
        await sign_in_to_home(page, server, username, secret)
        await open_desk(page, "审计日志")
        log = page.locator("[data-test=audit-table]")
        rows = log.locator(".el-table__row")
        for action, actor in (
            ("department.create", "安全管理员(A0002)"),
            ("staff.create", "安全管理员(A0002)"),
            ("auth.password_change", "周新医(D9001)"),
            ("staff.profile_update", "周新医(D9001)"),
        ):
            await expect(
                rows.filter(has_text=actor).filter(has=page.get_by_text(action, exact=True))
            ).to_have_count(1)
        created = rows.filter(has_text="安全管理员(A0002)").filter(
            has=page.get_by_text("staff.create", exact=True)
        )
        await created.locator(".el-table__expand-icon").click()
        await expect(
            log.locator("[data-test=audit-details]").get_by_text('"username": "zhouxinyi"')
        ).to_be_visible()
        await page.get_by_role("button", name="校验日志链").click()
        await expect(page.locator("[data-test=chain-report]")).to_contain_text("日志哈希链完整")
        await screenshot(page, "audit-log")


class TestWhoMayOpenTheConsole:
    async def test_a_patient_token_is_no_way_in(self, server, console_page):
        page = console_page
        signed_in = httpx.post(
            server.url("/api/v1/auth/sign-in/password"),
            json={"login": "13900000001", "password": DEMO_PASSWORD},
        )
        token = signed_in.json()["token"]
        await page.goto(server.url("/console/sign-in"))
        await page.evaluate("([key, token]) => localStorage.setItem(key, token)", [TOKEN_KEY, token])

        await page.goto(server.url("/console/organization"))

        await page.wait_for_url("**/console/sign-in**")
        await expect(page.get_by_text("管理平台仅供医院工作人员使用")).to_be_visible()
        assert await page.evaluate("key => localStorage.getItem(key)", TOKEN_KEY) is None
        # The patient's own session is theirs: the console only forgot it.
        me = httpx.get(server.url("/api/v1/auth/me"), headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200

    async def test_a_patient_cannot_sign_in_to_the_console(self, server, console_page):
        page = console_page
        await sign_in(page, server, "13900000001")

        await expect(page.get_by_text("用户名或密码不正确")).to_be_visible()
        await expect(page).to_have_url(re.compile(r"/console/sign-in$"))
        assert await page.evaluate("key => localStorage.getItem(key)", TOKEN_KEY) is None

    async def test_a_doctor_cannot_open_user_management(self, server, console_page):
        page = console_page
        await sign_in_to_home(page, server, "lijianhua")
        await expect(page.get_by_role("menuitem", name="个人资料")).to_be_visible()
        await expect(page.get_by_role("menuitem", name="用户与角色")).to_have_count(0)
        await expect(page.get_by_role("menuitem", name="审计日志")).to_have_count(0)

        await page.goto(server.url("/console/users"))

        await expect(page.get_by_role("main").get_by_text("无权访问", exact=True)).to_be_visible()
        await expect(page).to_have_url(re.compile(r"/console/403\?from=/users$"))
        await screenshot(page, "forbidden")


class TestSmsSandbox:
    async def test_anyone_may_read_it_in_demo_mode_before_signing_in(self, server, console_page):
        page = console_page
        httpx.post(server.url("/api/v1/auth/sms-codes"), json={"phone": INBOX_PHONE, "purpose": "register"})
        await page.goto(server.url("/console/sign-in"))
        await page.get_by_role("link", name="演示模式：查看短信沙箱").click()

        await expect(page.locator(".layout__title")).to_have_text("短信沙箱")
        await expect(page.locator("[data-test=sms-inbox]").get_by_text("137****0001")).to_be_visible()
        await expect(page.get_by_role("menuitem")).to_have_count(0)
        await page.get_by_role("link", name="登录").click()
        await expect(page.get_by_label("用户名")).to_be_visible()


class TestCustomerServiceDesk:
    async def test_patients_are_masked_and_unmasking_is_audited(self, server, console_page):
        page = console_page
        await sign_in_to_home(page, server, "kefu1")
        await open_desk(page, "患者管理")
        await page.get_by_placeholder("姓名、身份证号或手机号").fill("13900000001")
        await page.get_by_role("button", name="查询").click()
        results = page.locator("[data-test=patient-results]")
        await expect(results.get_by_text("张*", exact=True)).to_be_visible()
        await expect(results.get_by_text("139****0001")).to_be_visible()
        await expect(results.get_by_text("110***********0135")).to_be_visible()
        await expect(page.get_by_text("张伟")).to_have_count(0)
        await screenshot(page, "patients")

        await results.get_by_role("button", name="详情").click()
        identity = page.locator("[data-test=patient-identity]")
        await expect(identity.get_by_text("139****0001")).to_be_visible()
        await page.get_by_role("button", name="查看完整信息").click()
        dialog = page.get_by_role("dialog", name="查看完整个人信息")
        await dialog.get_by_role("button", name="查看").click()
        await expect(dialog.get_by_text("请填写查看原因")).to_be_visible()
        await dialog.get_by_label("查看原因").fill("患者来电核对身份")
        await dialog.get_by_role("button", name="查看").click()
        await expect(identity.get_by_text("张伟", exact=True)).to_be_visible()
        await expect(identity.get_by_text("13900000001")).to_be_visible()
        await expect(identity.get_by_text("110105198503120135")).to_be_visible()
        await expect(page.locator("[data-test=reveal-banner]")).to_contain_text("秒后自动隐藏")
        await screenshot(page, "patient-unmasked")
        await page.get_by_role("button", name="立即隐藏").click()
        await expect(identity.get_by_text("张伟")).to_have_count(0)
        await expect(identity.get_by_text("张*", exact=True)).to_be_visible()

        # The account with its family patients, masked as well.
        await page.locator(".el-table").get_by_role("button", name="详情").first.click()
        family = page.locator("[data-test=family-patients]")
        await expect(family.get_by_text("张*涵")).to_be_visible()
        await expect(family.get_by_text("139****0011")).to_be_visible()
        await screenshot(page, "account")
        await sign_out(page)

        username, secret = AUDIT_ADMIN
        await sign_in_to_home(page, server, username, secret)
        await open_desk(page, "审计日志")
        await page.get_by_label("操作", exact=True).fill("patient.unmask")
        await page.get_by_role("button", name="查询").click()
        log = page.locator("[data-test=audit-table]")
        entry = log.locator(".el-table__row", has_text="许晴(C1001)")
        await expect(entry).to_have_count(1)
        await entry.locator(".el-table__expand-icon").click()
        await expect(log.locator("[data-test=audit-details]")).to_contain_text('"reason": "患者来电核对身份"')
        await screenshot(page, "audit-unmask")

    async def test_identity_review_and_a_patient_password_reset(self, server, console_page):
        page = console_page
        patient_waiting_for_identity_review(server)
        await sign_in_to_home(page, server, "kefu1")

        await open_desk(page, "身份审核")
        queue = page.locator("[data-test=review-queue]")
        await expect(queue.get_by_text("赵*燕")).to_be_visible()
        await queue.get_by_role("button", name="审核").click()
        dialog = page.get_by_role("dialog", name="身份审核")
        await expect(dialog.locator("img")).to_have_count(2)
        await expect(dialog.locator("img").first).to_have_js_property("complete", True)
        await screenshot(page, "identity-review")
        await dialog.get_by_role("button", name="通过").click()
        await page.get_by_role("dialog", name="通过").get_by_role("button", name="通过").click()
        await expect(page.get_by_text("已审核通过")).to_be_visible()
        await expect(queue.get_by_text("赵*燕")).to_have_count(0)

        # PT-04: a temporary password goes to the patient's phone by SMS.
        await open_desk(page, "患者管理")
        await page.get_by_role("tab", name="账户查询").click()
        await page.get_by_placeholder("手机号或用户名").fill(RESET_PHONE)
        await page.get_by_role("button", name="查询").click()
        await page.locator("[data-test=account-results]").get_by_role("button", name="详情").click()
        await page.get_by_role("button", name="重置密码").click()
        await page.get_by_role("dialog", name="重置密码").get_by_role("button", name="重置密码").click()
        await expect(page.get_by_text("临时密码已通过短信发送")).to_be_visible()

        await open_desk(page, "短信沙箱")
        await page.get_by_label("手机号").fill(RESET_PHONE)
        await page.get_by_role("button", name="查询").click()
        await expect(page.locator("[data-test=sms-inbox]").get_by_text("临时密码")).to_be_visible(
            timeout=20_000
        )
        await screenshot(page, "sms-sandbox")


class TestSystemAdminDesk:
    async def test_rules_dictionaries_and_system_clients(self, server, console_page):
        page = console_page
        username, secret = SYSTEM_ADMIN
        await sign_in_to_home(page, server, username, secret)
        await expect(page.get_by_role("menuitem", name="审计日志")).to_have_count(0)
        await expect(page.get_by_role("menuitem", name="用户与角色")).to_have_count(0)

        await open_desk(page, "系统规则")
        rules = page.locator("[data-test=rules-table]")
        await (
            rules.locator(".el-table__row", has_text="订单保留时间")
            .get_by_role("button", name="编辑")
            .click()
        )
        dialog = page.get_by_role("dialog", name="订单保留时间")
        value = dialog.get_by_role("spinbutton")
        await value.fill("500")
        await value.blur()
        await expect(dialog.get_by_text("超出允许范围 1 – 120")).to_be_visible()
        await value.fill("30")
        await value.blur()
        await dialog.get_by_role("button", name="保存").click()
        await expect(dialog).to_be_hidden()
        await expect(rules.locator(".el-table__row", has_text="订单保留时间")).to_contain_text("30 分钟")
        await screenshot(page, "system-rules")

        await open_desk(page, "数据字典")
        await page.get_by_text("职务", exact=True).click()
        entries = page.locator("[data-test=dictionary-entries]")
        await expect(entries.get_by_text("护士长")).to_be_visible()
        await page.get_by_role("button", name="新增字典项").click()
        dialog = page.get_by_role("dialog", name="新增字典项")
        await dialog.get_by_label("编码").fill("Medical Director")
        await dialog.get_by_label("名称").fill("医务部主任")
        await dialog.get_by_role("button", name="保存").click()
        await expect(dialog.get_by_text("编码只能包含小写字母、数字和下划线")).to_be_visible()
        await dialog.get_by_label("编码").fill("medical_director")
        await dialog.get_by_role("button", name="保存").click()
        await expect(entries.get_by_text("医务部主任")).to_be_visible()
        await screenshot(page, "dictionaries")

        await open_desk(page, "后台任务失败")
        await expect(page.get_by_text("没有失败的后台任务")).to_be_visible()

        await open_desk(page, "对接系统")
        await page.get_by_role("button", name="新增对接系统").click()
        dialog = page.get_by_role("dialog", name="新增对接系统")
        await dialog.get_by_label("名称").fill("本部门诊收费窗口")
        await choose(page, "院区", "本部院区", scope=dialog)
        await dialog.get_by_role("button", name="创建并发放密钥").click()
        issued = page.get_by_role("dialog", name="已创建：本部门诊收费窗口")
        await expect(issued.get_by_text("只显示这一次")).to_be_visible()
        assert len((await issued.locator("[data-test=one-time-secret]").inner_text()).strip()) >= 20
        await screenshot(page, "system-client-secret")
        await issued.get_by_role("button", name="我已记下").click()
        await expect(
            page.locator("[data-test=system-clients]").get_by_text("本部门诊收费窗口")
        ).to_be_visible()


class TestOnAPhone:
    async def test_a_doctor_edits_the_profile_at_390_pixels(self, server, browser):
        context = await browser.new_context(
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
        )
        context.set_default_timeout(15_000)
        page = await context.new_page()
        await page.add_init_script(NO_ANIMATIONS)
        try:
            await sign_in_to_home(page, server, "wangli")
            # The menu lives in a drawer behind the header's button.
            await expect(page.get_by_role("menuitem", name="个人资料")).to_be_hidden()
            await page.get_by_role("button", name="菜单").click()
            await page.get_by_role("menuitem", name="个人资料").click()
            await expect(page.locator(".layout__title")).to_have_text("个人资料")
            await expect(page.locator("[data-test=my-profile]").get_by_text("呼吸内科")).to_be_visible()
            await page.get_by_text("暂停问诊").click()
            await page.get_by_role("button", name="保存资料").click()
            await expect(page.get_by_text("资料已保存")).to_be_visible()
            # Nothing sticks out sideways: the page fits the phone.
            assert await page.evaluate("document.documentElement.scrollWidth") <= 390
            await expect(page.get_by_text("资料已保存")).to_be_hidden()
            await page.evaluate("window.scrollTo(0, 0)")
            await screenshot(page, "phone-profile")

            await page.get_by_role("button", name="菜单").click()
            await page.get_by_role("menuitem", name="患者管理").click()
            await page.get_by_placeholder("姓名、身份证号或手机号").fill("13900000002")
            await page.get_by_role("button", name="查询").click()
            # On a phone the results are cards, not a table that scrolls sideways.
            results = page.locator("[data-test=patient-results]")
            await expect(results.get_by_text("139****0002")).to_be_visible()
            await expect(results.locator("table")).to_have_count(0)
            assert await page.evaluate("document.documentElement.scrollWidth") <= 390
            await screenshot(page, "phone-patients")
        finally:
            await context.close()
