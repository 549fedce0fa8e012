"""Aliyun SMS (阿里云短信, dysmsapi ``SendSms``): the RPC-style API with signature version 1.0.

Signature (Aliyun's public documentation, "RPC 签名机制"): sort every parameter except ``Signature``
by name, percent-encode names and values per RFC 3986 (space → %20, ``*`` → %2A, ``~`` kept), join as
``k=v&…``; the string to sign is ``METHOD&%2F&`` + percent-encode(that query); the signature is
base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)).

The sandbox (``ihos.integrations.sms.sandbox``) answers this client with the same protocol, so this
code runs in every test and demo, not only in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from ihos.integrations.sms.base import SmsError, SmsReceipt
from ihos.integrations.sms.templates import SIGN_NAME, check_params, get_template
from ihos.kit.time import now
from ihos.security.masking import mask_phone

log = logging.getLogger(__name__)

API_VERSION = "2017-05-25"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# Aliyun error codes → (message for people, retryable). Codes not listed: ``isp.*`` and HTTP 5xx are
# retryable, everything else is not.
ERRORS: dict[str, tuple[str, bool]] = {
    "isv.MOBILE_NUMBER_ILLEGAL": ("手机号码格式不正确", False),
    "isv.BUSINESS_LIMIT_CONTROL": ("短信发送过于频繁，请稍后再试", False),
    "isv.DAY_LIMIT_CONTROL": ("今日短信发送次数已达上限", False),
    "isv.MOBILE_COUNT_OVER_LIMIT": ("手机号码数量超过限制", False),
    "isv.OUT_OF_SERVICE": ("短信服务已停用", False),
    "isv.AMOUNT_NOT_ENOUGH": ("短信服务余额不足", False),
    "isv.ACCOUNT_ABNORMAL": ("短信服务账户异常", False),
    "isv.ACCOUNT_NOT_EXISTS": ("短信服务账户不存在", False),
    "isv.SMS_TEMPLATE_ILLEGAL": ("短信模板不存在或未审核通过", False),
    "isv.SMS_SIGNATURE_ILLEGAL": ("短信签名不存在或未审核通过", False),
    "isv.TEMPLATE_MISSING_PARAMETERS": ("短信模板参数不匹配", False),
    "isv.INVALID_JSON_PARAM": ("短信模板参数格式不正确", False),
    "isv.PARAM_LENGTH_LIMIT": ("短信模板参数超出长度限制", False),
    "isv.BLACK_KEY_CONTROL_LIMIT": ("短信内容含有禁止发送的关键字", False),
    "isv.INVALID_PARAMETERS": ("短信请求参数不正确", False),
    "isp.RAM_PERMISSION_DENY": ("短信服务账号无权限", False),
    "isp.SYSTEM_ERROR": ("短信服务暂时不可用，请稍后再试", True),
    "ServiceUnavailable": ("短信服务暂时不可用，请稍后再试", True),
    "InternalError": ("短信服务暂时不可用，请稍后再试", True),
    "Throttling.User": ("短信服务繁忙，请稍后再试", True),
    # A fresh nonce and timestamp are used on retry, so these can pass the next time.
    "SignatureNonceUsed": ("短信服务请求重复", True),
    "SignatureDoesNotMatch": ("短信服务签名错误，请检查 AccessKey 配置", False),
    "InvalidAccessKeyId.NotFound": ("短信服务 AccessKey 不存在", False),
    "InvalidTimeStamp.Expired": ("短信服务请求时间与服务器相差过大，请校准系统时间", False),
}
UNAVAILABLE = "短信服务暂时不可用，请稍后再试"


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of UTF-8, the way Aliyun canonicalises (no ``+`` for space, ``~`` kept)."""
    return quote(value, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    pairs = sorted((key, value) for key, value in params.items() if key != "Signature")
    return "&".join(f"{percent_encode(key)}={percent_encode(value)}" for key, value in pairs)


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def sign(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    key = f"{access_key_secret}&".encode()
    digest = hmac.new(key, string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def error_for(code: str, *, status: int, message: str = "") -> SmsError:
    known = ERRORS.get(code)
    if known is not None:
        return SmsError(code, known[0], retryable=known[1])
    retryable = code.startswith("isp.") or status >= 500
    return SmsError(code, UNAVAILABLE if retryable else (message or "短信发送失败"), retryable=retryable)


@dataclass(frozen=True)
class AliyunSmsConfig:
    access_key_id: str
    access_key_secret: str = field(repr=False)
    template_codes: Mapping[str, str]
    sign_name: str = SIGN_NAME
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    region_id: str = "cn-hangzhou"


class AliyunSmsGateway:
    """The real client. One instance per use is cheap; ``transport`` is for tests and the sandbox."""

    def __init__(
        self, config: AliyunSmsConfig, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.transport = transport

    async def send(self, phone: str, template: str, params: dict[str, str]) -> SmsReceipt:
        check_params(get_template(template), params)
        template_code = self.config.template_codes.get(template)
        if not template_code:
            # An operator's omission: no retry helps until the template code is configured.
            raise SmsError("ihos.TEMPLATE_NOT_CONFIGURED", "短信模板未配置", retryable=False)
        request_params = self.signed_params(phone.strip(), template_code, params)
        try:
            receipt = await self._post(request_params)
        except SmsError as exc:
            log.warning("SMS %s to %s failed: %s", template, mask_phone(phone), exc.code)
            raise
        log.info("SMS %s to %s accepted as %s", template, mask_phone(phone), receipt.message_id)
        return receipt

    def signed_params(self, phone: str, template_code: str, params: dict[str, str]) -> dict[str, str]:
        request_params = {
            "AccessKeyId": self.config.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self.config.region_id,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": str(uuid.uuid4()),
            "SignatureVersion": "1.0",
            "Timestamp": now().strftime(TIMESTAMP_FORMAT),
            "Version": API_VERSION,
            "PhoneNumbers": phone,
            "SignName": self.config.sign_name,
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
        }
        request_params["Signature"] = sign("POST", request_params, self.config.access_key_secret)
        return request_params

    async def _post(self, request_params: dict[str, str]) -> SmsReceipt:
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
                response = await http.post(self.config.endpoint, data=request_params)
        except httpx.TimeoutException:
            raise SmsError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise SmsError("unreachable", UNAVAILABLE, retryable=True) from None
        body = _json_object(response)
        code = str(body.get("Code", ""))
        if response.status_code == 200 and code == "OK":
            if not body.get("BizId"):
                raise SmsError("bad_response", UNAVAILABLE, retryable=True)
            return SmsReceipt(message_id=str(body["BizId"]), request_id=str(body.get("RequestId", "")))
        if not code:
            raise SmsError("bad_response", UNAVAILABLE, retryable=True)
        raise error_for(code, status=response.status_code, message=str(body.get("Message", "")))


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SmsError("bad_response", UNAVAILABLE, retryable=True)
    return body
