"""The real WeChat client: ``GET https://api.weixin.qq.com/sns/jscode2session``.

Request: ``appid``, ``secret``, ``js_code`` and ``grant_type=authorization_code`` in the query.
Answer (JSON, served as text/plain): ``{"openid", "session_key", "unionid"?}`` on success,
``{"errcode", "errmsg"}`` on failure. A success may also carry ``errcode: 0``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from ihos.integrations.wechat.base import UNAVAILABLE, WeChatLoginError, WeChatSession

log = logging.getLogger(__name__)


class _RedactAppSecret(logging.Filter):
    """httpx logs every request URL at INFO, and WeChat wants the app secret in the URL: hide it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(_redacted(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args)
        return True


def _redacted(url: httpx.URL) -> httpx.URL:
    return url.copy_set_param("secret", "***") if "secret" in url.params else url


logging.getLogger("httpx").addFilter(_RedactAppSecret())


@dataclass(frozen=True)
class WeChatConfig:
    app_id: str
    app_secret: str = field(repr=False)
    endpoint: str = "https://api.weixin.qq.com/sns/jscode2session"


class WeChatLoginClient:
    def __init__(
        self, config: WeChatConfig, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.transport = transport

    async def code2session(self, code: str) -> WeChatSession:
        query = {
            "appid": self.config.app_id,
            "secret": self.config.app_secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
                response = await http.get(self.config.endpoint, params=query)
        except httpx.TimeoutException:
            raise WeChatLoginError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise WeChatLoginError("unreachable", UNAVAILABLE, retryable=True) from None
        return _session(response)


def _session(response: httpx.Response) -> WeChatSession:
    body = _json_object(response)
    errcode = body.get("errcode", 0)
    if not isinstance(errcode, int):
        raise WeChatLoginError("bad_response", UNAVAILABLE, retryable=True)
    if errcode != 0:
        log.info("WeChat code2session refused: errcode %s", errcode)
        raise WeChatLoginError.from_errcode(errcode)
    openid, session_key = body.get("openid"), body.get("session_key")
    if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
        raise WeChatLoginError("bad_response", UNAVAILABLE, retryable=True)
    unionid = body.get("unionid")
    return WeChatSession(openid=openid, unionid=unionid or None, session_key=session_key)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise WeChatLoginError("bad_response", UNAVAILABLE, retryable=response.status_code >= 500)
    try:
        body = response.json()  # WeChat labels it text/plain; parse the bytes regardless
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise WeChatLoginError("bad_response", UNAVAILABLE, retryable=True)
    return body
