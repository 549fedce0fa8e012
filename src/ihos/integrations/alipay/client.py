"""The real Alipay client: ``alipay.system.oauth.token`` on the OpenAPI gateway (``gateway.do``).

Request: a form POST of the common parameters (``app_id``, ``method``, ``format=JSON``,
``charset=utf-8``, ``sign_type=RSA2``, ``timestamp`` in Beijing time, ``version=1.0``) plus
``grant_type=authorization_code`` and ``code``, signed with the app private key (see ``signing``).
Answer: ``{"alipay_system_oauth_token_response": {...}, "sign": "..."}`` or ``{"error_response":
{"code", "msg", "sub_code", "sub_msg"}, "sign": "..."}``; the node is verified with Alipay's public
key before anything in it is believed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from ihos.integrations.alipay import signing
from ihos.integrations.alipay.base import FAILED, MESSAGES, UNAVAILABLE, AlipayLoginError, AlipayUser
from ihos.kit.time import now

log = logging.getLogger(__name__)

METHOD = "alipay.system.oauth.token"
RESPONSE_NODE = "alipay_system_oauth_token_response"
ERROR_NODE = "error_response"
# Alipay reads the timestamp as Beijing time whatever the hospital's zone.
ALIPAY_ZONE = ZoneInfo("Asia/Shanghai")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
SUCCESS = "10000"


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    app_private_key: rsa.RSAPrivateKey = field(repr=False)
    alipay_public_key: rsa.RSAPublicKey = field(repr=False)
    gateway: str = "https://openapi.alipay.com/gateway.do"


class AlipayLoginClient:
    def __init__(
        self, config: AlipayConfig, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.transport = transport

    async def exchange_auth_code(self, code: str) -> AlipayUser:
        raw = await self._post(self.signed_params({"grant_type": "authorization_code", "code": code}))
        node = self._verified_node(raw)
        user_id = node.get("user_id")
        if not isinstance(user_id, str) or not user_id:
            raise AlipayLoginError("bad_response", FAILED, retryable=False)
        open_id = node.get("open_id")
        return AlipayUser(user_id=user_id, open_id=open_id if isinstance(open_id, str) and open_id else None)

    def signed_params(self, business: dict[str, str]) -> dict[str, str]:
        params = {
            "app_id": self.config.app_id,
            "method": METHOD,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": now().astimezone(ALIPAY_ZONE).strftime(TIMESTAMP_FORMAT),
            "version": "1.0",
            **business,
        }
        params["sign"] = signing.sign(self.config.app_private_key, signing.signing_string(params))
        return params

    async def _post(self, params: dict[str, str]) -> str:
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=self.timeout) as http:
                response = await http.post(self.config.gateway, params={"charset": "utf-8"}, data=params)
        except httpx.TimeoutException:
            raise AlipayLoginError("timeout", UNAVAILABLE, retryable=True) from None
        except httpx.TransportError:
            raise AlipayLoginError("unreachable", UNAVAILABLE, retryable=True) from None
        if response.status_code != 200:
            raise AlipayLoginError("bad_response", UNAVAILABLE, retryable=response.status_code >= 500)
        return response.text

    def _verified_node(self, raw: str) -> dict[str, Any]:
        try:
            members = signing.top_level_texts(raw)
            signature = json.loads(members["sign"]) if "sign" in members else None
        except ValueError:
            raise AlipayLoginError("bad_response", UNAVAILABLE, retryable=True) from None
        name = RESPONSE_NODE if RESPONSE_NODE in members else ERROR_NODE
        text = members.get(name)
        if text is None:
            raise AlipayLoginError("bad_response", UNAVAILABLE, retryable=True)
        if name == RESPONSE_NODE or signature is not None:
            # A success must be signed; an error is verified when signed (Alipay signs most), since
            # believing a forged error costs at most one failed sign-in.
            self._check_signature(text, signature)
        node = json.loads(text)
        if not isinstance(node, dict):
            raise AlipayLoginError("bad_response", UNAVAILABLE, retryable=True)
        if name == ERROR_NODE or str(node.get("code", SUCCESS)) != SUCCESS:
            raise _refusal(node)
        return node

    def _check_signature(self, text: str, signature: Any) -> None:
        if not isinstance(signature, str) or not signing.verify(
            self.config.alipay_public_key, text, signature
        ):
            log.warning("Alipay response signature does not verify; response discarded")
            raise AlipayLoginError("invalid_response_signature", UNAVAILABLE, retryable=False)


def _refusal(node: dict[str, Any]) -> AlipayLoginError:
    gateway_code = str(node.get("code", ""))
    sub_code = str(node.get("sub_code") or gateway_code or "unknown")
    # 20000 is Alipay's "service currently unavailable"; isp.* are Alipay's own faults.
    retryable = gateway_code == "20000" or sub_code.startswith("isp.")
    message = MESSAGES.get(sub_code, UNAVAILABLE if retryable else FAILED)
    log.info("Alipay oauth.token refused: %s %s", gateway_code, sub_code)
    return AlipayLoginError(sub_code, message, retryable=retryable, gateway_code=gateway_code)
