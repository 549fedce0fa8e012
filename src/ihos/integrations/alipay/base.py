"""Alipay sign-in (支付宝授权登录) as ihos sees it: exchange an ``auth_code`` for the user's id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Alipay's sub_codes that ihos handles, with the words shown to the user.
MESSAGES = {
    "isv.code-invalid": "授权码无效或已过期，请重新授权",
    "isv.grant-type-invalid": "授权方式不正确",
    "isv.unmatched-app-id": "授权码不属于本应用，请重新授权",
    "isp.unknow-error": "支付宝服务繁忙，请稍后再试",
}
UNAVAILABLE = "支付宝服务暂时不可用，请稍后再试"
FAILED = "支付宝登录失败，请重新授权"


class AlipayLoginError(Exception):
    """Alipay refused the code or could not be reached.

    ``code`` is Alipay's ``sub_code`` (``isv.code-invalid``), its gateway ``code`` when there is no
    sub_code (``20000``), or ours: ``timeout``, ``unreachable``, ``bad_response``,
    ``invalid_response_signature``. ``gateway_code`` keeps Alipay's gateway code.
    """

    def __init__(self, code: str, message: str, *, retryable: bool, gateway_code: str | None = None) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable
        self.gateway_code = gateway_code
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class AlipayUser:
    """``user_id`` is the 2088… id; ``open_id`` is present for apps in Alipay's OpenID mode."""

    user_id: str
    open_id: str | None


class AlipayLogin(Protocol):
    async def exchange_auth_code(self, code: str) -> AlipayUser: ...
