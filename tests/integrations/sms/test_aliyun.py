"""The Aliyun SMS client: the signature against Aliyun's published examples, the request it sends,
and how it reads answers and failures. The gateway is an ``httpx.MockTransport``; nothing leaves."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from urllib.parse import parse_qsl, quote

import httpx
import pytest

from ihos.integrations.sms.aliyun import AliyunSmsConfig, AliyunSmsGateway, sign, string_to_sign
from ihos.integrations.sms.base import SmsError
from ihos.kit.time import clock

# Aliyun's "RPC signature" documentation example (ECS DescribeRegions, signed as GET).
DESCRIBE_REGIONS = {
    "Timestamp": "2016-02-23T12:46:24Z",
    "Format": "XML",
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "Version": "2014-05-26",
    "SignatureVersion": "1.0",
}
# Aliyun's SMS documentation example (dysmsapi SendSms, signed as GET, secret "testSecret").
SEND_SMS = {
    "AccessKeyId": "testId",
    "Action": "SendSms",
    "Format": "XML",
    "OutId": "123",
    "PhoneNumbers": "15300000001",
    "RegionId": "cn-hangzhou",
    "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0",
    "TemplateCode": "SMS_71390007",
    "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z",
    "Version": "2017-05-25",
}
CONFIG = AliyunSmsConfig(
    access_key_id="LTAItest",
    access_key_secret="test-secret",
    template_codes={"verification_code": "SMS_100000001", "notice": "SMS_100000003"},
    sign_name="ihos互联网医院",
    endpoint="https://dysmsapi.aliyuncs.com/",
)


def independent_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Aliyun's algorithm written out again from the documentation, separately from the client."""

    def encode(text: str) -> str:
        return (
            quote(text.encode("utf-8"), safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")
        )

    query = "&".join(f"{encode(k)}={encode(params[k])}" for k in sorted(params) if k != "Signature")
    to_sign = f"{method}&{encode('/')}&{encode(query)}"
    digest = hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def gateway(handler: Callable[[httpx.Request], httpx.Response]) -> AliyunSmsGateway:
    return AliyunSmsGateway(CONFIG, timeout=2, transport=httpx.MockTransport(handler))


def answer(status: int, body: dict[str, str]) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _request: httpx.Response(status, json=body)


class TestSignature:
    def test_describe_regions_example_from_aliyun_docs(self):
        assert string_to_sign("GET", DESCRIBE_REGIONS) == (
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML"
            "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"
            "%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
        )
        assert sign("GET", DESCRIBE_REGIONS, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="

    def test_send_sms_example_from_aliyun_docs(self):
        # Chinese sign name and JSON template parameters: UTF-8 percent-encoding, twice.
        assert sign("GET", SEND_SMS, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="

    def test_the_signature_itself_is_not_signed(self):
        assert (
            sign("GET", {**SEND_SMS, "Signature": "anything"}, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        )

    def test_method_is_part_of_the_signature(self):
        assert sign("POST", DESCRIBE_REGIONS, "testsecret") != sign("GET", DESCRIBE_REGIONS, "testsecret")

    def test_space_star_and_tilde_follow_rfc_3986(self):
        params = {"A": "a b*c~d"}
        assert string_to_sign("POST", params) == "POST&%2F&A%3Da%2520b%252Ac~d"
        assert sign("POST", params, "k") == independent_signature("POST", params, "k")


class TestSend:
    async def test_it_works(self):
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(
                200, json={"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0", "RequestId": "R-1"}
            )

        clock.freeze()
        receipt = await gateway(handler).send("13900000001", "verification_code", {"code": "123456"})

        assert (receipt.message_id, receipt.request_id) == ("900619746936498440^0", "R-1")
        (request,) = seen
        assert request.method == "POST"
        assert str(request.url) == "https://dysmsapi.aliyuncs.com/"
        form = dict(parse_qsl(request.content.decode()))
        assert form["Signature"] == independent_signature("POST", form, "test-secret")
        assert {
            key: form[key] for key in ("Action", "Version", "Format", "SignatureMethod", "SignatureVersion")
        } == {
            "Action": "SendSms",
            "Version": "2017-05-25",
            "Format": "JSON",
            "SignatureMethod": "HMAC-SHA1",
            "SignatureVersion": "1.0",
        }
        assert form["AccessKeyId"] == "LTAItest"
        assert form["PhoneNumbers"] == "13900000001"
        assert form["SignName"] == "ihos互联网医院"
        assert form["TemplateCode"] == "SMS_100000001"
        assert json.loads(form["TemplateParam"]) == {"code": "123456"}
        assert form["Timestamp"] == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    async def test_every_request_has_a_fresh_nonce(self):
        nonces: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            nonces.append(dict(parse_qsl(request.content.decode()))["SignatureNonce"])
            return httpx.Response(200, json={"Code": "OK", "BizId": "1^0", "RequestId": "R"})

        sms = gateway(handler)
        await sms.send("13900000001", "notice", {"text": "a"})
        await sms.send("13900000001", "notice", {"text": "a"})
        assert len(set(nonces)) == 2

    async def test_template_without_a_configured_code_is_refused_before_sending(self):
        sms = gateway(lambda _request: pytest.fail("nothing may be sent"))
        with pytest.raises(SmsError) as refused:
            await sms.send("13900000001", "temporary_password", {"password": "Abc12345"})
        assert (refused.value.code, refused.value.retryable) == ("ihos.TEMPLATE_NOT_CONFIGURED", False)

    @pytest.mark.parametrize(
        ("template", "params", "code"),
        [
            ("no_such_template", {}, "isv.SMS_TEMPLATE_ILLEGAL"),
            ("verification_code", {}, "isv.TEMPLATE_MISSING_PARAMETERS"),
            ("verification_code", {"code": "1", "extra": "2"}, "isv.TEMPLATE_MISSING_PARAMETERS"),
            ("notice", {"text": "长" * 201}, "isv.PARAM_LENGTH_LIMIT"),
        ],
    )
    async def test_bad_template_parameters_are_refused_before_sending(self, template, params, code):
        sms = gateway(lambda _request: pytest.fail("nothing may be sent"))
        with pytest.raises(SmsError) as refused:
            await sms.send("13900000001", template, params)
        assert refused.value.code == code


class TestFailures:
    @pytest.mark.parametrize(
        ("status", "code", "retryable"),
        [
            (200, "isv.MOBILE_NUMBER_ILLEGAL", False),
            (200, "isv.BUSINESS_LIMIT_CONTROL", False),
            (200, "isv.OUT_OF_SERVICE", False),
            (200, "isv.AMOUNT_NOT_ENOUGH", False),
            (200, "isp.SYSTEM_ERROR", True),
            (200, "isp.SOMETHING_NEW", True),
            (200, "isv.SOMETHING_NEW", False),
            (400, "SignatureDoesNotMatch", False),
            (404, "InvalidAccessKeyId.NotFound", False),
            (400, "SignatureNonceUsed", True),
            (503, "ServiceUnavailable", True),
            (500, "SomethingElse", True),
        ],
    )
    async def test_gateway_codes_are_mapped(self, status, code, retryable):
        sms = gateway(answer(status, {"Code": code, "Message": "x", "RequestId": "R"}))
        with pytest.raises(SmsError) as failed:
            await sms.send("13900000001", "verification_code", {"code": "123456"})
        assert (failed.value.code, failed.value.retryable) == (code, retryable)

    async def test_business_limit_says_so_in_chinese(self):
        sms = gateway(
            answer(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1"})
        )
        with pytest.raises(SmsError, match="过于频繁"):
            await sms.send("13900000001", "verification_code", {"code": "123456"})

    async def test_timeout_is_retryable(self):
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

        with pytest.raises(SmsError) as failed:
            await gateway(handler).send("13900000001", "verification_code", {"code": "123456"})
        assert (failed.value.code, failed.value.retryable) == ("timeout", True)

    async def test_connection_failure_is_retryable(self):
        def handler(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("refused", request=request)

        with pytest.raises(SmsError) as failed:
            await gateway(handler).send("13900000001", "verification_code", {"code": "123456"})
        assert (failed.value.code, failed.value.retryable) == ("unreachable", True)

    @pytest.mark.parametrize(
        "response",
        [
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            httpx.Response(200, json=["not", "an", "object"]),
            httpx.Response(200, json={"Message": "no code"}),
            httpx.Response(200, json={"Code": "OK", "Message": "OK"}),
        ],
    )
    async def test_unreadable_answers_are_retryable(self, response):
        with pytest.raises(SmsError) as failed:
            await gateway(lambda _request: response).send("13900000001", "notice", {"text": "a"})
        assert failed.value.retryable is True

    async def test_the_phone_number_is_masked_in_logs(self, caplog):
        caplog.set_level("INFO", logger="ihos.integrations.sms")
        sms = gateway(answer(200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "x"}))
        with pytest.raises(SmsError):
            await sms.send("13912345678", "verification_code", {"code": "123456"})
        assert "139****5678" in caplog.text
        assert "13912345678" not in caplog.text
