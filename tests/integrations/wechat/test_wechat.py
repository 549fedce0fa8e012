"""WeChat mini-program sign-in: the real client's request and answers, and the sandbox that it runs
against by default (codes from a fake wx.login, single use, five minutes)."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from ihos.integrations.settings import WeChatSandboxSettings, WeChatSettings
from ihos.integrations.wechat import (
    WeChatLoginError,
    get_wechat_login,
    get_wechat_sandbox,
    issue_sandbox_code,
)
from ihos.integrations.wechat.client import WeChatConfig, WeChatLoginClient
from ihos.integrations.wechat.sandbox import SANDBOX_APP_ID, control
from ihos.kit.time import clock

CONFIG = WeChatConfig(app_id="wx1234567890abcdef", app_secret="the-secret")


def client(handler) -> WeChatLoginClient:
    return WeChatLoginClient(CONFIG, timeout=2, transport=httpx.MockTransport(handler))


def text_plain(body: dict) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body).encode(), headers={"Content-Type": "text/plain"})


def wechat_settings(**sandbox: object) -> WeChatSettings:
    return WeChatSettings(sandbox=WeChatSandboxSettings(**sandbox))


async def sign_in(session, code: str, **sandbox: object):
    return await get_wechat_login(session, settings=wechat_settings(**sandbox)).code2session(code)


async def issue(session, hint: str | None = "demo-patient-1", **sandbox: object) -> str:
    return await get_wechat_sandbox(session, settings=wechat_settings(**sandbox)).issue_code(hint)


class TestClient:
    async def test_it_works(self):
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return text_plain({"openid": "oABC", "session_key": "c2Vzc2lvbmtleQ==", "unionid": "oUNION"})

        result = await client(handler).code2session("the-code")

        assert (result.openid, result.unionid, result.session_key) == ("oABC", "oUNION", "c2Vzc2lvbmtleQ==")
        (request,) = seen
        assert request.method == "GET"
        assert request.url.path == "/sns/jscode2session"
        assert dict(request.url.params) == {
            "appid": "wx1234567890abcdef",
            "secret": "the-secret",
            "js_code": "the-code",
            "grant_type": "authorization_code",
        }

    async def test_errcode_zero_is_a_success_and_unionid_is_optional(self):
        result = await client(
            lambda _r: text_plain({"errcode": 0, "openid": "o1", "session_key": "k"})
        ).code2session("c")
        assert (result.openid, result.unionid) == ("o1", None)

    def test_session_key_stays_out_of_repr(self):
        from ihos.integrations.wechat import WeChatSession

        assert "secret-key" not in repr(WeChatSession(openid="o", unionid=None, session_key="secret-key"))

    @pytest.mark.parametrize(
        ("errcode", "retryable"), [(40029, False), (40163, False), (40226, False), (45011, True), (-1, True)]
    )
    async def test_errcodes(self, errcode, retryable):
        with pytest.raises(WeChatLoginError) as failed:
            await client(lambda _r: text_plain({"errcode": errcode, "errmsg": "x"})).code2session("c")
        assert (failed.value.errcode, failed.value.code, failed.value.retryable) == (
            errcode,
            str(errcode),
            retryable,
        )

    @pytest.mark.parametrize(
        ("response", "retryable"),
        [
            (httpx.Response(500, text="oops"), True),
            (httpx.Response(404, text="no"), False),
            (text_plain({"session_key": "k"}), True),
            (text_plain({"errcode": "40029"}), True),
            (httpx.Response(200, text="not json"), True),
        ],
    )
    async def test_unreadable_answers(self, response, retryable):
        with pytest.raises(WeChatLoginError) as failed:
            await client(lambda _r: response).code2session("c")
        assert (failed.value.code, failed.value.retryable) == ("bad_response", retryable)

    async def test_the_app_secret_stays_out_of_the_request_log(self, caplog):
        caplog.set_level("INFO", logger="httpx")
        await client(lambda _r: text_plain({"openid": "o1", "session_key": "k"})).code2session("c")
        assert "jscode2session" in caplog.text
        assert "the-secret" not in caplog.text

    async def test_timeout(self):
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectTimeout("slow", request=request)

        with pytest.raises(WeChatLoginError) as failed:
            await client(handler).code2session("c")
        assert (failed.value.code, failed.value.retryable, failed.value.errcode) == ("timeout", True, None)


class TestSandbox:
    async def test_it_works(self, session):
        code = await issue(session, "demo-patient-1")
        result = await sign_in(session, code)
        assert result.openid.startswith("o")
        assert len(result.openid) == 28
        assert result.unionid is not None and len(result.unionid) == 28
        assert len(result.session_key) == 24

    async def test_the_same_hint_is_the_same_user(self, session):
        first = await sign_in(session, await issue(session, "demo-patient-1"))
        again = await sign_in(session, await issue(session, "demo-patient-1"))
        other = await sign_in(session, await issue(session, "demo-patient-2"))
        assert (first.openid, first.unionid) == (again.openid, again.unionid)
        assert first.session_key != again.session_key
        assert first.openid != other.openid
        assert first.unionid != other.unionid

    async def test_without_a_hint_every_code_is_a_new_user(self, session):
        first = await sign_in(session, await issue(session, None))
        second = await sign_in(session, await issue(session, None))
        assert first.openid != second.openid

    async def test_openid_differs_per_app_unionid_does_not(self, session):
        mine = await sign_in(session, await issue(session, "demo-patient-1"))
        other_app = WeChatSettings(app_id="wxffffffffffffffff", app_secret="s")
        code = await get_wechat_sandbox(session, settings=other_app).issue_code("demo-patient-1")
        theirs = await get_wechat_login(session, settings=other_app).code2session(code)
        assert mine.openid != theirs.openid
        assert mine.unionid == theirs.unionid

    async def test_a_code_works_once(self, session):
        code = await issue(session)
        await sign_in(session, code)
        with pytest.raises(WeChatLoginError) as failed:
            await sign_in(session, code)
        assert (failed.value.errcode, failed.value.retryable) == (40163, False)

    async def test_unknown_code(self, session):
        with pytest.raises(WeChatLoginError) as failed:
            await sign_in(session, "never-issued")
        assert failed.value.errcode == 40029

    async def test_a_code_expires_after_five_minutes(self, session):
        clock.freeze()
        fresh, stale = await issue(session), await issue(session)
        clock.travel(timedelta(minutes=4, seconds=59))
        await sign_in(session, fresh)
        clock.travel(timedelta(seconds=2))
        with pytest.raises(WeChatLoginError) as failed:
            await sign_in(session, stale)
        assert failed.value.errcode == 40029

    async def test_a_code_of_another_app_is_invalid(self, session):
        code = await get_wechat_sandbox(
            session, settings=WeChatSettings(app_id="wxother", app_secret="s")
        ).issue_code("x")
        with pytest.raises(WeChatLoginError) as failed:
            await sign_in(session, code)
        assert failed.value.errcode == 40029

    async def test_wrong_secret_and_app_id_are_refused(self, session):
        sandbox = get_wechat_sandbox(session, settings=wechat_settings())
        code = await sandbox.issue_code("x")
        wrong_secret = WeChatLoginClient(
            WeChatConfig(app_id=SANDBOX_APP_ID, app_secret="guess", endpoint=sandbox.config.endpoint),
            timeout=1,
            transport=sandbox.transport(),
        )
        with pytest.raises(WeChatLoginError) as failed:
            await wrong_secret.code2session(code)
        assert failed.value.errcode == 40125
        wrong_app = WeChatLoginClient(
            WeChatConfig(
                app_id="wxnobody", app_secret=sandbox.config.app_secret, endpoint=sandbox.config.endpoint
            ),
            timeout=1,
            transport=sandbox.transport(),
        )
        with pytest.raises(WeChatLoginError) as failed:
            await wrong_app.code2session(code)
        assert failed.value.errcode == 40013
        # Refused requests do not spend the code.
        await sign_in(session, code)

    async def test_unionid_only_when_configured(self, session):
        result = await sign_in(session, await issue(session, include_unionid=False), include_unionid=False)
        assert result.unionid is None

    @pytest.mark.parametrize(
        ("mode", "code", "retryable"),
        [("busy", "-1", True), ("frequency_limit", "45011", True), ("timeout", "timeout", True)],
    )
    async def test_failure_modes_leave_the_code_unspent(self, session, mode, code, retryable):
        issued = await issue(session)
        with pytest.raises(WeChatLoginError) as failed:
            await sign_in(session, issued, failure_mode=mode)
        assert (failed.value.code, failed.value.retryable) == (code, retryable)
        await sign_in(session, issued)

    async def test_control_object(self, session):
        issued = await issue(session)
        with control.failing("busy"), pytest.raises(WeChatLoginError):
            await sign_in(session, issued)
        await sign_in(session, issued)

    async def test_overlong_hint_is_refused(self, session):
        with pytest.raises(ValueError, match="64"):
            await issue(session, "x" * 65)


class TestFactory:
    async def test_issue_sandbox_code_uses_the_configured_sandbox(self, session):
        code = await issue_sandbox_code(session, "demo-patient-1")
        result = await get_wechat_login(session).code2session(code)
        assert result.openid == (await sign_in(session, await issue(session, "demo-patient-1"))).openid

    def test_live_calls_wechat(self, session):
        settings = WeChatSettings(
            provider="live", app_id="wxlive", app_secret="live-secret", timeout_seconds=4
        )
        login = get_wechat_login(session, settings=settings)
        assert isinstance(login, WeChatLoginClient)
        assert login.transport is None
        assert login.config.endpoint == "https://api.weixin.qq.com/sns/jscode2session"
        assert (login.config.app_id, login.config.app_secret, login.timeout) == ("wxlive", "live-secret", 4)

    def test_sandbox_by_default(self, session):
        login = get_wechat_login(session)
        assert isinstance(login, WeChatLoginClient)
        assert isinstance(login.transport, httpx.MockTransport)
