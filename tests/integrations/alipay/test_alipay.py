"""Alipay sign-in: the real client against the sandbox gateway over the real wire protocol (RSA2
both ways), the sandbox's codes, and the client's handling of forged or failed answers."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from ihos.integrations.alipay import (
    AlipayKeyError,
    AlipayLoginError,
    get_alipay_login,
    get_alipay_sandbox,
    issue_sandbox_auth_code,
    signing,
)
from ihos.integrations.alipay.client import AlipayConfig, AlipayLoginClient
from ihos.integrations.alipay.sandbox import (
    SANDBOX_APP_ID,
    SANDBOX_GATEWAY,
    AlipaySandbox,
    control,
    generated_key,
)
from ihos.integrations.settings import AlipaySandboxSettings, AlipaySettings
from ihos.kit.time import clock


def alipay_settings(**sandbox: object) -> AlipaySettings:
    return AlipaySettings(sandbox=AlipaySandboxSettings(**sandbox))


async def sign_in(session, code: str, **sandbox: object):
    return await get_alipay_login(session, settings=alipay_settings(**sandbox)).exchange_auth_code(code)


async def issue(session, hint: str | None = "demo-patient-1") -> str:
    return await get_alipay_sandbox(session, settings=alipay_settings()).issue_auth_code(hint)


def client_with(sandbox: AlipaySandbox, *, app_key=None, alipay_public_key=None, app_id=SANDBOX_APP_ID):
    config = AlipayConfig(
        app_id=app_id,
        app_private_key=app_key or generated_key("app"),
        alipay_public_key=alipay_public_key or sandbox.alipay_private_key.public_key(),
        gateway=SANDBOX_GATEWAY,
    )
    return AlipayLoginClient(config, timeout=1, transport=sandbox.transport())


class TestWireProtocol:
    async def test_it_works(self, session):
        user = await sign_in(session, await issue(session))
        assert user.user_id.startswith("2088")
        assert len(user.user_id) == 16
        assert user.open_id

    async def test_the_request_is_signed_and_shaped_as_alipay_expects(self, session):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        seen: list[httpx.Request] = []

        async def spy(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return await sandbox.handle(request)

        code = await sandbox.issue_auth_code("x")
        clock.freeze()
        login = client_with(sandbox)
        login.transport = httpx.MockTransport(spy)
        await login.exchange_auth_code(code)

        (request,) = seen
        assert request.method == "POST"
        assert request.url.params["charset"] == "utf-8"
        form = dict(parse_qsl(request.content.decode()))
        assert {k: form[k] for k in ("app_id", "method", "format", "charset", "sign_type", "version")} == {
            "app_id": SANDBOX_APP_ID,
            "method": "alipay.system.oauth.token",
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "version": "1.0",
        }
        assert (form["grant_type"], form["code"]) == ("authorization_code", code)
        assert form["timestamp"] == clock.now().astimezone(ZoneInfo("Asia/Shanghai")).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
        unsigned = "&".join(f"{k}={form[k]}" for k in sorted(form) if k != "sign")
        assert signing.verify(generated_key("app").public_key(), unsigned, form["sign"])

    async def test_the_answer_is_signed_by_the_sandbox_alipay_key(self, session):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        code = await sandbox.issue_auth_code("x")
        params = client_with(sandbox).signed_params({"grant_type": "authorization_code", "code": code})
        response = await sandbox.handle(httpx.Request("POST", SANDBOX_GATEWAY, data=params))
        members = signing.top_level_texts(response.text)
        node = members["alipay_system_oauth_token_response"]
        assert signing.verify(sandbox.alipay_private_key.public_key(), node, json.loads(members["sign"]))
        assert set(json.loads(node)) >= {"access_token", "refresh_token", "expires_in", "user_id", "open_id"}

    async def test_a_forged_answer_is_refused(self, session):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        code = await sandbox.issue_auth_code("x")

        async def forger(request: httpx.Request) -> httpx.Response:
            genuine = await sandbox.handle(request)
            return httpx.Response(
                200, content=genuine.content.replace(b'"user_id":"2088', b'"user_id":"2089')
            )

        login = client_with(sandbox)
        login.transport = httpx.MockTransport(forger)
        with pytest.raises(AlipayLoginError) as refused:
            await login.exchange_auth_code(code)
        assert (refused.value.code, refused.value.retryable) == ("invalid_response_signature", False)

    async def test_an_answer_signed_by_someone_else_is_refused(self, session):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        code = await sandbox.issue_auth_code("x")
        # The client trusts a different "Alipay" key than the one the gateway signs with.
        login = client_with(sandbox, alipay_public_key=generated_key("app").public_key())
        with pytest.raises(AlipayLoginError) as refused:
            await login.exchange_auth_code(code)
        assert refused.value.code == "invalid_response_signature"

    async def test_an_unsigned_success_is_refused(self, session):
        body = '{"alipay_system_oauth_token_response":{"user_id":"2088000000000001"}}'
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        login = client_with(sandbox)
        login.transport = httpx.MockTransport(lambda _r: httpx.Response(200, text=body))
        with pytest.raises(AlipayLoginError) as refused:
            await login.exchange_auth_code("c")
        assert refused.value.code == "invalid_response_signature"

    async def test_an_unsigned_error_is_still_an_error(self, session):
        body = '{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid"}}'
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        login = client_with(sandbox)
        login.transport = httpx.MockTransport(lambda _r: httpx.Response(200, text=body))
        with pytest.raises(AlipayLoginError) as refused:
            await login.exchange_auth_code("c")
        assert (refused.value.code, refused.value.gateway_code) == ("isv.code-invalid", "40002")

    async def test_a_request_signed_with_another_app_key_is_refused(self, session):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        code = await sandbox.issue_auth_code("x")
        login = client_with(sandbox, app_key=generated_key("alipay"))
        with pytest.raises(AlipayLoginError) as refused:
            await login.exchange_auth_code(code)
        assert (refused.value.code, refused.value.gateway_code, refused.value.retryable) == (
            "isv.invalid-signature",
            "40002",
            False,
        )
        # The gateway refused before looking at the code: it can still be used.
        await sign_in(session, code)

    async def test_unknown_app_id(self, session):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        with pytest.raises(AlipayLoginError) as refused:
            await client_with(sandbox, app_id="2021999999999999").exchange_auth_code("c")
        assert refused.value.code == "isv.invalid-app-id"

    async def test_stale_timestamp(self, session):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        params = client_with(sandbox).signed_params({"grant_type": "authorization_code", "code": "c"})
        clock.travel(timedelta(minutes=16))
        response = await sandbox.handle(httpx.Request("POST", SANDBOX_GATEWAY, data=params))
        assert json.loads(signing.top_level_texts(response.text)["error_response"])["sub_code"] == (
            "isv.invalid-timestamp"
        )

    @pytest.mark.parametrize(
        ("missing", "sub_code"), [("sign", "isv.missing-signature"), ("app_id", "isv.missing-app-id")]
    )
    async def test_missing_common_parameters(self, session, missing, sub_code):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        params = client_with(sandbox).signed_params({"grant_type": "authorization_code", "code": "c"})
        del params[missing]
        response = await sandbox.handle(httpx.Request("POST", SANDBOX_GATEWAY, data=params))
        node = json.loads(signing.top_level_texts(response.text)["error_response"])
        assert (node["code"], node["sub_code"]) == ("40001", sub_code)

    async def test_wrong_grant_type(self, session):
        sandbox = get_alipay_sandbox(session, settings=alipay_settings())
        params = client_with(sandbox).signed_params({"grant_type": "password", "code": "c"})
        response = await sandbox.handle(httpx.Request("POST", SANDBOX_GATEWAY, data=params))
        assert json.loads(signing.top_level_texts(response.text)["error_response"])["sub_code"] == (
            "isv.grant-type-invalid"
        )

    @pytest.mark.parametrize(
        ("response", "retryable"),
        [(httpx.Response(502, text="bad gateway"), True), (httpx.Response(200, text="<html>"), True)],
    )
    async def test_unreadable_answers(self, session, response, retryable):
        login = client_with(get_alipay_sandbox(session, settings=alipay_settings()))
        login.transport = httpx.MockTransport(lambda _r: response)
        with pytest.raises(AlipayLoginError) as failed:
            await login.exchange_auth_code("c")
        assert (failed.value.code, failed.value.retryable) == ("bad_response", retryable)


class TestCodes:
    async def test_the_same_hint_is_the_same_user(self, session):
        first = await sign_in(session, await issue(session, "demo-patient-1"))
        again = await sign_in(session, await issue(session, "demo-patient-1"))
        other = await sign_in(session, await issue(session, "demo-patient-2"))
        assert first == again
        assert first.user_id != other.user_id

    async def test_without_a_hint_every_code_is_a_new_user(self, session):
        assert await sign_in(session, await issue(session, None)) != await sign_in(
            session, await issue(session, None)
        )

    async def test_a_code_works_once(self, session):
        code = await issue(session)
        await sign_in(session, code)
        with pytest.raises(AlipayLoginError) as refused:
            await sign_in(session, code)
        assert (refused.value.code, refused.value.retryable) == ("isv.code-invalid", False)
        assert "重新授权" in refused.value.message

    async def test_unknown_code(self, session):
        with pytest.raises(AlipayLoginError) as refused:
            await sign_in(session, "0" * 32)
        assert refused.value.code == "isv.code-invalid"

    async def test_a_code_expires_after_three_minutes(self, session):
        clock.freeze()
        fresh, stale = await issue(session), await issue(session)
        clock.travel(timedelta(minutes=2, seconds=59))
        await sign_in(session, fresh)
        clock.travel(timedelta(seconds=2))
        with pytest.raises(AlipayLoginError):
            await sign_in(session, stale)

    async def test_a_code_of_another_app_is_invalid(self, session):
        other = AlipaySettings(app_id="2021000000000001")
        code = await get_alipay_sandbox(session, settings=other).issue_auth_code("x")
        with pytest.raises(AlipayLoginError) as refused:
            await sign_in(session, code)
        assert refused.value.code == "isv.code-invalid"

    async def test_a_code_is_spent_by_its_first_use_even_when_that_fails(self, session):
        code = await issue(session)
        with pytest.raises(AlipayLoginError):
            await get_alipay_login(
                session, settings=AlipaySettings(app_id="2021000000000001")
            ).exchange_auth_code(code)
        with pytest.raises(AlipayLoginError) as refused:
            await sign_in(session, code)
        assert refused.value.code == "isv.code-invalid"

    async def test_unavailable_is_retryable_and_leaves_the_code(self, session):
        code = await issue(session)
        with pytest.raises(AlipayLoginError) as failed:
            await sign_in(session, code, failure_mode="unavailable")
        assert (failed.value.code, failed.value.gateway_code, failed.value.retryable) == (
            "isp.unknow-error",
            "20000",
            True,
        )
        await sign_in(session, code)

    async def test_timeout(self, session):
        code = await issue(session)
        with control.failing("timeout"), pytest.raises(AlipayLoginError) as failed:
            await sign_in(session, code)
        assert (failed.value.code, failed.value.retryable) == ("timeout", True)
        await sign_in(session, code)


class TestFactory:
    async def test_issue_sandbox_auth_code_uses_the_configured_sandbox(self, session):
        code = await issue_sandbox_auth_code(session, "demo-patient-1")
        user = await get_alipay_login(session).exchange_auth_code(code)
        assert user == await sign_in(session, await issue(session, "demo-patient-1"))

    def test_configured_app_key_is_used_and_verified_by_the_sandbox(self, session, tmp_path):
        key = generated_key("alipay")  # any key that is not the generated app key
        path = tmp_path / "app_private_key.pem"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        settings = AlipaySettings(app_private_key_path=path)
        login = get_alipay_login(session, settings=settings)
        assert isinstance(login, AlipayLoginClient)
        assert login.config.app_private_key.private_numbers() == key.private_numbers()
        sandbox = get_alipay_sandbox(session, settings=settings)
        assert sandbox.app_public_key.public_numbers() == key.public_key().public_numbers()

    async def test_sandbox_verifies_with_the_uploaded_app_public_key(self, session):
        # The uploaded public key does not match the app's private key: every request fails.
        settings = AlipaySettings(
            app_public_key=signing.public_key_text(generated_key("alipay").public_key())
        )
        code = await get_alipay_sandbox(session, settings=settings).issue_auth_code("x")
        with pytest.raises(AlipayLoginError) as refused:
            await get_alipay_login(session, settings=settings).exchange_auth_code(code)
        assert refused.value.code == "isv.invalid-signature"

    def test_live(self, session):
        key = generated_key("app")
        settings = AlipaySettings(
            provider="live",
            app_id="2021000000000002",
            app_private_key=base64_der(key),
            alipay_public_key=signing.public_key_text(generated_key("alipay").public_key()),
        )
        login = get_alipay_login(session, settings=settings)
        assert isinstance(login, AlipayLoginClient)
        assert login.transport is None
        assert login.config.gateway == "https://openapi.alipay.com/gateway.do"
        assert login.config.app_id == "2021000000000002"

    def test_live_without_keys_is_refused(self, session):
        with pytest.raises(AlipayKeyError, match="APP_PRIVATE_KEY"):
            get_alipay_login(session, settings=AlipaySettings(provider="live", app_id="2021"))
        settings = AlipaySettings(
            provider="live", app_id="2021", app_private_key=base64_der(generated_key("app"))
        )
        with pytest.raises(AlipayKeyError, match="ALIPAY_PUBLIC_KEY"):
            get_alipay_login(session, settings=settings)


def base64_der(key) -> str:
    import base64

    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return base64.b64encode(der).decode()
