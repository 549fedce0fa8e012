"""WeChat mini-program sign-in (微信小程序登录) as ihos sees it: exchange a ``wx.login`` code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# WeChat's errcodes that ihos handles, with the words shown to the user.
INVALID_CODE = 40029
CODE_BEEN_USED = 40163
FREQUENCY_LIMIT = 45011
SYSTEM_BUSY = -1
HIGH_RISK_USER = 40226

MESSAGES = {
    INVALID_CODE: "登录凭证无效，请重新登录",
    CODE_BEEN_USED: "登录凭证已使用，请重新登录",
    FREQUENCY_LIMIT: "登录过于频繁，请稍后再试",
    SYSTEM_BUSY: "微信服务繁忙，请稍后再试",
    HIGH_RISK_USER: "微信账号存在风险，暂时无法登录",
}
UNAVAILABLE = "微信服务暂时不可用，请稍后再试"
# Busy and rate-limited requests leave the code unused, so the same code may pass a moment later.
RETRYABLE = frozenset({SYSTEM_BUSY, FREQUENCY_LIMIT})


class WeChatLoginError(Exception):
    """WeChat refused the code or could not be reached.

    ``errcode`` is WeChat's (None for transport failures); ``code`` is it as text, or ``timeout``,
    ``unreachable``, ``bad_response``.
    """

    def __init__(self, code: str, message: str, *, retryable: bool, errcode: int | None = None) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable
        self.errcode = errcode
        super().__init__(f"{code}: {message}")

    @classmethod
    def from_errcode(cls, errcode: int) -> WeChatLoginError:
        message = MESSAGES.get(errcode, "微信登录失败，请重新登录")
        return cls(str(errcode), message, retryable=errcode in RETRYABLE, errcode=errcode)


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None
    # Decrypts the user data the mini-program hands over (phone number); never leaves the server.
    session_key: str = field(repr=False)


class WeChatLogin(Protocol):
    async def code2session(self, code: str) -> WeChatSession: ...
