"""The patient app (H5) from a patient's seat: register, verify, family patients, sign-in, password,
manual review, addresses. Each test saves the screens the user guide shows (docs/user/patient-app.md)
under ``var/e2e/patient-*.png``.

The app's generated DOM (``<uni-input>`` wrapping the real ``<input>``, ``<uni-button>``) has no labels
that Playwright can resolve, so fields and buttons are found by ``data-test``; everything else by the
text a patient reads.
"""

from __future__ import annotations

import asyncio
import itertools
import re

import httpx
import pytest
from PIL import Image

from ihos.config import ROOT
from ihos.kit.idcard import InvalidIdNumber, check_digit, parse_id_number
from ihos.kit.time import local_today

SHOTS = ROOT / "var" / "e2e"
DEMO_PASSWORD = "Ihos@2026"
# The server takes X-Forwarded-For from 127.0.0.1 (a trusted proxy), so each test can be a patient on a
# network of their own, as real patients are: the per-address limits on sign-ins and SMS codes then
# count this test's requests only, whatever other browser tests did in the same minute.
_addresses = itertools.count(10)
CUSTOMER_SERVICE_DESK = {"X-Forwarded-For": "192.0.2.10"}

# The demo registry person nobody has registered yet (docs/getting-started.md): only this file's first
# test registers her, once per test server.
NEWCOMER = {"name": "郭婷婷", "phone": "13900000016", "id_number": "310104200012310429"}
# Fictitious family members: the check digit computed as GB 11643 says.
FATHER_FIRST17 = "31010419650412083"
CHILD_FIRST17 = "31010420200601052"


@pytest.fixture
async def patient_page(phone_page):  # type: ignore[no-untyped-def]
    """The phone-sized page, on a network address of its own (documentation range 198.51.100.0/24)."""
    await phone_page.context.set_extra_http_headers({"X-Forwarded-For": f"198.51.100.{next(_addresses)}"})
    return phone_page


def valid_id(first17: str) -> str:
    return first17 + check_digit(first17)


def wrong_check_digit(first17: str) -> str:
    right = check_digit(first17)
    return first17 + next(code for code in "0123456789X" if code != right)


def server_refusal(id_number: str) -> str:
    """What the server says about a wrong ID number: the words the app must show."""
    with pytest.raises(InvalidIdNumber) as refusal:
        parse_id_number(id_number, today=local_today())
    return str(refusal.value)


def field(page, name: str):  # type: ignore[no-untyped-def]
    """The real <input> (or <textarea>) inside uni-app's wrapper marked data-test=name."""
    return page.locator(f'[data-test="{name}"]').locator("input, textarea").first


def button(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'uni-button[data-test="{name}"]')


async def tick(checkbox) -> None:  # type: ignore[no-untyped-def]
    """Tick a consent by its box: the middle of its line may be a link that opens the document."""
    await checkbox.locator(".check-box__box").click()


async def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    # Let toasts and page transitions settle so that the guide shows the screen, not the animation.
    await page.locator("uni-toast").first.wait_for(state="hidden", timeout=5_000)
    await page.screenshot(path=str(SHOTS / f"patient-{name}.png"))


async def open_me(page, server) -> None:  # type: ignore[no-untyped-def]
    await page.goto(server.url("/h5/"))
    await page.locator("uni-tabbar").get_by_text("我的", exact=True).click()
    await page.wait_for_url("**/h5/pages/me/index")


async def newest_sms(server, phone: str) -> dict | None:
    """The newest message the phone received in the SMS sandbox, or None."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        inbox = (await client.get("/api/v1/sandbox/sms", params={"phone": phone, "limit": 1})).json()
    return inbox[0] if inbox else None


async def next_sms(server, phone: str, before: dict | None, pattern: str) -> str:
    """The first group of ``pattern`` in the first message newer than ``before``.

    Other tests on the same server text the same demo phones: the newest message may be theirs until the
    one this test asked for arrives (the SMS goes out from a background job).
    """
    for _ in range(100):
        message = await newest_sms(server, phone)
        if message is not None and message != before and (match := re.search(pattern, message["text"])):
            return match.group(1)
        await asyncio.sleep(0.2)
    raise AssertionError(f"no new SMS reached {phone}")


async def request_code(page, server, phone: str) -> str:  # type: ignore[no-untyped-def]
    """Tap 获取验证码, see the countdown, and read the code from the sandbox inbox."""
    before = await newest_sms(server, phone)
    await button(page, "send-code").click()
    countdown = page.get_by_text("秒后重新获取")
    refusal = page.locator("uni-toast").filter(has_not_text="验证码已发送")
    await countdown.or_(refusal).first.wait_for()
    if not await countdown.is_visible():
        # e.g. 该手机号已注册，请直接登录: another test on this server registered the same demo person.
        raise AssertionError(f"the server refused a code for {phone}: {await refusal.inner_text()}")
    return await next_sms(server, phone, before, r"验证码为(\d{6})")


async def register_with_username(page, server, username: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(server.url("/h5/pages/auth/register"))
    await page.get_by_role("tab", name="用户名+密码").click()
    await field(page, "username").fill(username)
    await field(page, "password").fill("Family#2026")
    await field(page, "confirm-password").fill("Family#2026")
    await tick(page.get_by_role("checkbox", name="我已阅读并同意《用户服务协议》和《隐私政策》"))
    await button(page, "submit").click()
    await page.wait_for_url("**/h5/pages/me/index")
    await page.get_by_text(username, exact=True).wait_for()


async def register_with_phone(page, server, phone: str) -> None:  # type: ignore[no-untyped-def]
    await page.goto(server.url("/h5/pages/auth/register"))
    await field(page, "phone").fill(phone)
    await field(page, "code").fill(await request_code(page, server, phone))
    await tick(page.get_by_role("checkbox", name="我已阅读并同意《用户服务协议》和《隐私政策》"))
    await button(page, "submit").click()
    await page.wait_for_url("**/h5/pages/me/index")
    await page.get_by_text(f"{phone[:3]}****{phone[-4:]}", exact=True).wait_for()


async def sign_in_with_password_to(page, server, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """From "我的", sign in with a password; where the app goes next is for the caller to check."""
    await open_me(page, server)
    await page.locator('uni-button[data-test="sign-in"]').click()
    await page.wait_for_url("**/h5/pages/auth/sign-in")
    await field(page, "login").fill(login)
    await field(page, "password").fill(password)
    await button(page, "submit").click()


async def sign_in_with_password(page, server, login: str, password: str) -> None:  # type: ignore[no-untyped-def]
    await sign_in_with_password_to(page, server, login, password)
    await page.wait_for_url("**/h5/pages/me/index")


class TestNewcomer:
    async def test_registers_verifies_and_adds_a_family_member(self, server, patient_page):
        page = patient_page

        # A newcomer opens the app and goes to register from the sign-in page.
        await open_me(page, server)
        await page.get_by_text("登录后可管理就诊人、地址和订单").wait_for()
        await page.locator('uni-button[data-test="sign-in"]').click()
        await page.wait_for_url("**/h5/pages/auth/sign-in")
        await shot(page, "sign-in")
        await page.get_by_text("注册新账号", exact=True).click()
        await page.wait_for_url("**/h5/pages/auth/register")

        # Phone + SMS code; the agreement starts unticked and registering without it is refused.
        await field(page, "phone").fill(NEWCOMER["phone"])
        await field(page, "code").fill(await request_code(page, server, NEWCOMER["phone"]))
        agreement = page.get_by_role("checkbox", name="我已阅读并同意《用户服务协议》和《隐私政策》")
        assert await agreement.get_attribute("aria-checked") == "false"
        await button(page, "submit").click()
        await page.get_by_role("alert").get_by_text("请阅读并同意《用户服务协议》和《隐私政策》").wait_for()
        await tick(agreement)
        await tick(page.get_by_role("checkbox", name="健康医疗信息"))
        await shot(page, "register")
        await button(page, "submit").click()

        # Signed in on "我的", not verified yet.
        await page.wait_for_url("**/h5/pages/me/index")
        await page.get_by_text("139****0016", exact=True).wait_for()
        await page.get_by_text("未实名", exact=True).wait_for()
        await shot(page, "me-unverified")

        # Real-name verification with the registry's person.
        await page.get_by_text("实名认证", exact=True).click()
        await page.wait_for_url("**/h5/pages/account/real-name")
        await field(page, "name").fill(NEWCOMER["name"])
        await field(page, "id-number").fill(NEWCOMER["id_number"])
        await shot(page, "real-name")
        await button(page, "submit").click()
        await page.get_by_text("实名认证成功", exact=True).wait_for()
        await page.get_by_text("郭*婷　310***********0429").wait_for()
        await shot(page, "real-name-verified")

        # Family patients: she is there as "self", the default.
        await page.locator("uni-button", has_text="管理就诊人").click()
        await page.wait_for_url("**/h5/pages/family/list")
        cards = page.locator('[data-test="family-patient"]')
        await cards.filter(has_text="郭*婷").filter(has_text="本人").filter(has_text="默认").wait_for()
        assert await cards.count() == 1

        # Adding her father with a mistyped ID number: the app refuses it in the server's words.
        await button(page, "add-patient").click()
        await page.wait_for_url("**/h5/pages/family/edit")
        await page.get_by_role("radio", name="父母", exact=True).wait_for()
        # "Self" is not offered: it comes only from real-name verification.
        assert await page.get_by_role("radio", name="本人", exact=True).count() == 0
        wrong = wrong_check_digit(FATHER_FIRST17)
        await field(page, "name").fill("郭建国")
        await field(page, "id-number").fill(wrong)
        await field(page, "phone").fill("13812345678")
        await page.get_by_role("radio", name="父母", exact=True).click()
        await button(page, "submit").click()
        problem = page.locator('[data-test="id-number-problem"]')
        await problem.wait_for()
        assert await problem.inner_text() == server_refusal(wrong)
        assert server_refusal(wrong) == "身份证号码校验位不正确，请核对后重新输入"
        await shot(page, "family-add-wrong-id")

        # The right number: the problem goes away, and the father is in the list.
        await field(page, "id-number").fill(valid_id(FATHER_FIRST17))
        await problem.wait_for(state="detached")
        await button(page, "submit").click()
        await page.wait_for_url("**/h5/pages/family/list")
        father = cards.filter(has_text="郭*国")
        await father.filter(has_text="父母").wait_for()
        await father.get_by_text("身份证：310***********").wait_for()
        assert await cards.count() == 2
        await shot(page, "family-list")


class TestFamilyChild:
    async def test_a_child_under_14_needs_the_guardians_consent(self, server, patient_page):
        page = patient_page
        await register_with_username(page, server, "guardian_e2e")

        await page.get_by_text("就诊人管理", exact=True).click()
        await page.wait_for_url("**/h5/pages/family/list")
        await page.get_by_text("还没有就诊人").wait_for()
        await button(page, "add-patient").click()
        await page.wait_for_url("**/h5/pages/family/edit")
        await field(page, "name").fill("郭小雨")
        await field(page, "id-number").fill(valid_id(CHILD_FIRST17))
        await field(page, "phone").fill("13812345679")
        await page.get_by_role("radio", name="子女", exact=True).click()

        consent = page.get_by_role("checkbox", name="我是该就诊人的监护人")
        await consent.wait_for()
        assert await consent.get_attribute("aria-checked") == "false"
        await button(page, "submit").click()
        await page.get_by_role("alert").get_by_text("须由监护人阅读并同意《监护人同意书》").wait_for()
        await tick(consent)
        await shot(page, "family-guardian")

        # The consent can be read before ticking it.
        await page.locator('[data-test="policy-guardian"]').click()
        await page.wait_for_url("**/h5/pages/auth/policy?document=guardian")
        await page.get_by_text("本人确认是该就诊人的父母或其他监护人", exact=False).wait_for()
        await page.go_back()
        await page.wait_for_url("**/h5/pages/family/edit")
        assert await consent.get_attribute("aria-checked") == "true"

        await button(page, "submit").click()
        await page.wait_for_url("**/h5/pages/family/list")
        await (
            page.locator('[data-test="family-patient"]')
            .filter(has_text="郭*雨")
            .filter(has_text="子女")
            .wait_for()
        )


class TestFamilyKnownToTheHospital:
    async def test_adding_a_registered_person_needs_the_code_sent_to_their_phone(self, server, patient_page):
        # 张伟 is a demo patient (account 13900000001): knowing his name and ID number is not enough.
        page = patient_page
        await register_with_username(page, server, "cousin_e2e")
        await page.goto(server.url("/h5/pages/family/edit"))
        await field(page, "name").fill("张伟")
        await field(page, "id-number").fill("110105198503120135")
        await field(page, "phone").fill("13900000001")
        await page.get_by_role("radio", name="其他", exact=True).click()
        await button(page, "submit").click()

        await (
            page.locator('[data-test="verification-required"]')
            .get_by_text("该就诊人已在医院登记，请核对姓名和手机号，并获取发送到其登记手机号的验证码后再添加")
            .wait_for()
        )
        await field(page, "code").fill(await request_code(page, server, "13900000001"))
        await shot(page, "family-verification")
        await button(page, "submit").click()
        await page.wait_for_url("**/h5/pages/family/list")
        await (
            page.locator('[data-test="family-patient"]')
            .filter(has_text="张*")
            .filter(has_text="其他")
            .wait_for()
        )


class TestRealNameOutcomes:
    async def test_a_mismatch_and_an_unavailable_service_are_explained(self, server, patient_page):
        page = patient_page
        await register_with_username(page, server, "outcomes_e2e")
        await page.goto(server.url("/h5/pages/account/real-name"))
        # The account has no phone: the form asks for one.
        await field(page, "phone").fill("13812340003")

        # 张伟's ID number with another name.
        await field(page, "name").fill("张卫")
        await field(page, "id-number").fill("110105198503120135")
        await button(page, "submit").click()
        await page.get_by_role("alert").get_by_text("姓名与身份证号码不一致，请核对后重试").wait_for()

        # The sandbox's person for whom the service is always unavailable.
        await field(page, "name").fill("冯一鸣")
        await field(page, "id-number").fill("110101199102020714")
        await button(page, "submit").click()
        await page.get_by_text("认证服务暂时不可用", exact=True).wait_for()
        await page.get_by_text("实名认证服务暂时不可用，请稍后再试，或上传身份证照片进行人工审核").wait_for()
        await page.locator("uni-button", has_text="再试一次").wait_for()
        await page.locator('uni-button[data-test="to-review"]').wait_for()


class TestManualReview:
    async def test_a_person_the_service_cannot_find_uploads_the_id_card(self, server, patient_page, tmp_path):
        page = patient_page
        await register_with_phone(page, server, "13812340001")

        await page.get_by_text("实名认证", exact=True).click()
        await page.wait_for_url("**/h5/pages/account/real-name")
        # A valid number that is not in the sandbox registry.
        await field(page, "name").fill("郑小红")
        await field(page, "id-number").fill("110101199003070513")
        await button(page, "submit").click()
        await page.get_by_text("未能在线核验", exact=True).wait_for()
        await page.get_by_text("未能在线核验您的身份，请上传身份证照片进行人工审核").wait_for()
        await shot(page, "real-name-not-found")

        await page.locator('uni-button[data-test="to-review"]').click()
        await page.wait_for_url("**/h5/pages/account/identity-review")
        assert await field(page, "name").input_value() == "郑小红"
        assert await page.locator('[data-test="review-no-phone"]').count() == 0
        photo = tmp_path / "id-card.png"
        Image.new("RGB", (640, 400), (200, 210, 230)).save(photo)
        async with page.expect_file_chooser() as chooser:
            await page.locator('[data-test="add-photo"]').click()
        await (await chooser.value).set_files(str(photo))
        await page.locator(".photos__item").first.wait_for()
        await shot(page, "identity-review")
        await button(page, "submit").click()

        await page.wait_for_url("**/h5/pages/account/real-name")
        await page.get_by_text("人工审核中", exact=True).wait_for()
        await page.get_by_text("郑*红　110***********0513").wait_for()
        await shot(page, "real-name-pending")


class TestReturningPatient:
    async def test_signs_in_with_a_password_and_keeps_addresses(self, server, patient_page):
        page = patient_page
        await sign_in_with_password(page, server, "13900000001", DEMO_PASSWORD)
        await page.get_by_text("139****0001", exact=True).wait_for()

        await page.get_by_text("收货地址", exact=True).click()
        await page.wait_for_url("**/h5/pages/address/list")
        await page.locator('[data-test="address"]').first.or_(page.get_by_text("还没有收货地址")).wait_for()
        before = await page.locator('[data-test="address"]').count()
        await button(page, "add-address").click()
        await page.wait_for_url("**/h5/pages/address/edit")
        await field(page, "recipient").fill("张伟")
        await field(page, "phone").fill("13900000001")
        await field(page, "province").fill("上海市")
        await field(page, "city").fill("上海市")
        await field(page, "district").fill("徐汇区")
        await field(page, "detail").fill("漕溪北路 100 号 3 楼")
        await tick(page.get_by_role("checkbox", name="设为默认地址"))
        await button(page, "submit").click()

        await page.wait_for_url("**/h5/pages/address/list")
        added = page.locator('[data-test="address"]').filter(has_text="漕溪北路 100 号 3 楼")
        await added.filter(has_text="张*").filter(has_text="139****0001").filter(has_text="默认").wait_for()
        assert await page.locator('[data-test="address"]').count() == before + 1
        await shot(page, "addresses")

        # Editing goes through PATCH (sent as POST + X-HTTP-Method-Override, as the mini-programs do).
        await added.locator('[data-test="edit"]').click()
        await page.wait_for_url("**/h5/pages/address/edit?id=*")
        await field(page, "detail").fill("漕溪北路 100 号 5 楼")
        await button(page, "submit").click()
        await page.wait_for_url("**/h5/pages/address/list")
        await page.locator('[data-test="address"]').filter(has_text="漕溪北路 100 号 5 楼").wait_for()

    async def test_forgot_password_then_signs_in_with_the_new_one(self, server, patient_page):
        page = patient_page
        await page.goto(server.url("/h5/pages/auth/sign-in"))
        await page.get_by_text("忘记密码", exact=True).click()
        await page.wait_for_url("**/h5/pages/auth/forgot-password")
        await field(page, "phone").fill("13900000002")
        await field(page, "code").fill(await request_code(page, server, "13900000002"))
        # A weak password is refused before sending, in the words of the rules shown.
        await field(page, "password").fill("abcdefgh")
        await field(page, "confirm-password").fill("abcdefgh")
        await button(page, "submit").click()
        await page.get_by_role("alert").get_by_text("至少三类").wait_for()
        await field(page, "password").fill("Wangfang#2027")
        await field(page, "confirm-password").fill("Wangfang#2027")
        await shot(page, "forgot-password")
        await button(page, "submit").click()
        await page.get_by_text("请使用新密码登录。").wait_for()
        await page.locator("uni-modal").get_by_text("去登录").click()

        await page.wait_for_url("**/h5/pages/auth/sign-in")
        await field(page, "login").fill("13900000002")
        await field(page, "password").fill("Wangfang#2027")
        await button(page, "submit").click()
        await page.wait_for_url("**/h5/pages/me/index")
        await page.get_by_text("139****0002", exact=True).wait_for()


class TestPasswordResetByCustomerService:
    async def test_the_temporary_password_must_be_changed_first(self, server, patient_page):
        # Customer service (kefu1) resets 陈静's password through the console's API; she gets a temporary
        # password by SMS.
        phone = "13900000005"  # no other browser test texts this phone (the carrier allows 1 a minute)
        async with httpx.AsyncClient(base_url=server.base_url, headers=CUSTOMER_SERVICE_DESK) as client:
            staff = await client.post(
                "/api/v1/auth/staff/sign-in", json={"username": "kefu1", "password": DEMO_PASSWORD}
            )
            headers = {"Authorization": f"Bearer {staff.json()['token']}"}
            found = await client.get("/api/v1/accounts", params={"q": phone}, headers=headers)
            account_id = found.json()["items"][0]["id"]
            before = await newest_sms(server, phone)
            reset = await client.post(f"/api/v1/accounts/{account_id}/password-reset", headers=headers)
            assert reset.status_code == 204
        temporary = await next_sms(server, phone, before, r"临时密码为(.+?)，")

        page = patient_page
        await sign_in_with_password_to(page, server, phone, temporary)
        await page.wait_for_url("**/h5/pages/account/password?required=1")
        await page.get_by_text("客服已为您重置密码").wait_for()
        await field(page, "current-password").fill(temporary)
        await field(page, "password").fill("Lina#2027new")
        await field(page, "confirm-password").fill("Lina#2027new")
        await shot(page, "password-required")
        await button(page, "submit").click()
        await page.wait_for_url("**/h5/pages/me/index")
        await page.get_by_text("139****0005", exact=True).wait_for()

        # Her family patients open again (they answered 403 password_change_required before).
        await page.get_by_text("就诊人管理", exact=True).click()
        await page.wait_for_url("**/h5/pages/family/list")
        await page.locator('[data-test="family-patient"]').first.wait_for()


class TestMyAccount:
    async def test_shows_the_account_and_its_devices_and_signs_out(self, server, patient_page):
        page = patient_page
        await sign_in_with_password(page, server, "13900000004", DEMO_PASSWORD)

        await page.get_by_text("我的账户", exact=True).click()
        await page.wait_for_url("**/h5/pages/account/index")
        await page.locator('[data-test="account-phone"]').get_by_text("139****0004").wait_for()
        await page.locator('[data-test="account-real-name"]').get_by_text("已实名").wait_for()
        await shot(page, "account")

        await page.get_by_text("登录设备", exact=True).click()
        await page.wait_for_url("**/h5/pages/account/sessions")
        this_device = page.locator('[data-test="session"]').filter(has_text="本机")
        await this_device.filter(has_text="密码登录").wait_for()
        await page.go_back()
        await page.wait_for_url("**/h5/pages/account/index")

        await page.locator('uni-button[data-test="sign-out"]').click()
        await page.locator("uni-modal").get_by_text("退出登录", exact=True).last.click()
        await page.wait_for_url("**/h5/pages/me/index")
        await page.get_by_text("登录后可管理就诊人、地址和订单").wait_for()
