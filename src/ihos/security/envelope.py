"""SM2+SM4 hybrid envelope for sensitive endpoints, both ways (数字信封).

The client makes a fresh SM4 key, wraps it with the server's SM2 public key and seals the JSON body
with SM4-GCM; the server answers under the same key with a fresh nonce. The timestamp and request id
are bound into the AAD and a request id is accepted once, so a captured envelope cannot be replayed.
The envelope gives confidentiality and integrity end to end (past TLS-terminating proxies); it does not
say who the client is: that is the session's job. Wire format: docs/security/cryptography.md.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ihos.errors import IhosError
from ihos.kit.time import now as clock_now
from ihos.security.gm import (
    GCM_NONCE_SIZE,
    SM4_KEY_SIZE,
    IntegrityError,
    SM2PrivateKey,
    SM2PublicKey,
    ciphertext_from_raw,
    sm4_gcm_decrypt,
    sm4_gcm_encrypt,
)

VERSION = 1
WINDOW_SECONDS = 300
_RID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class EnvelopeError(IhosError):
    code = "envelope_invalid"
    status = 400
    default_message = "加密请求无法解析，请刷新页面后重试"


class EnvelopeInvalid(EnvelopeError):
    """Malformed, wrong key, or altered in transit."""


class EnvelopeExpired(EnvelopeError):
    code = "envelope_expired"
    default_message = "请求已过期，请检查设备时间是否准确后重试"


class EnvelopeReplayed(EnvelopeError):
    code = "envelope_replayed"
    status = 409
    default_message = "该请求已处理过，请勿重复提交"


class NonceStore(Protocol):
    async def remember(self, nonce: str, ttl_seconds: int) -> bool:
        """Record ``nonce`` for ``ttl_seconds``; False if it was already recorded and not expired."""
        ...


class MemoryNonceStore:
    """One process's memory: for embedded mode and tests. Several processes need a shared store."""

    def __init__(self, *, max_entries: int = 100_000) -> None:
        self._expiry: dict[str, float] = {}
        self._max_entries = max_entries

    async def remember(self, nonce: str, ttl_seconds: int) -> bool:
        current = clock_now().timestamp()
        expires = self._expiry.get(nonce)
        if expires is not None and expires > current:
            return False
        if len(self._expiry) >= self._max_entries:
            self._forget_expired(current)
        self._expiry[nonce] = current + ttl_seconds
        return True

    def _forget_expired(self, current: float) -> None:
        self._expiry = {key: expiry for key, expiry in self._expiry.items() if expiry > current}
        if len(self._expiry) >= self._max_entries:
            # Still full of live entries: drop the oldest rather than grow without bound.
            oldest = sorted(self._expiry, key=self._expiry.__getitem__)[: len(self._expiry) // 10 + 1]
            for key in oldest:
                del self._expiry[key]


class RedisNonceStore:
    """Shared across processes: ``SET key 1 NX EX ttl`` on a ``redis.asyncio.Redis`` client."""

    def __init__(self, redis: Any, *, prefix: str = "ihos:nonce:") -> None:
        self._redis = redis
        self._prefix = prefix

    async def remember(self, nonce: str, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(self._prefix + nonce, b"1", nx=True, ex=ttl_seconds))


# -- wire helpers ---------------------------------------------------------------------------------------


def _unix(moment: datetime | float | None) -> int:
    if moment is None:
        return int(clock_now().timestamp())
    if isinstance(moment, datetime):
        return int(moment.timestamp())
    return int(moment)


def _aad(direction: str, ts: int, rid: str) -> bytes:
    return f"ihos-envelope:v{VERSION}:{direction}:{ts}:{rid}".encode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(envelope: Mapping[str, Any], name: str) -> bytes:
    value = envelope.get(name)
    if not isinstance(value, str):
        raise EnvelopeInvalid(details={"field": name})
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeInvalid(details={"field": name}) from None


def _int_field(envelope: Mapping[str, Any], name: str) -> int:
    value = envelope.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise EnvelopeInvalid(details={"field": name})
    return value


def _common_fields(envelope: Mapping[str, Any]) -> tuple[int, str, bytes, bytes]:
    """(ts, rid, nonce, data) after checking the version and every field's type."""
    if not isinstance(envelope, Mapping) or _int_field(envelope, "v") != VERSION:
        raise EnvelopeInvalid(details={"field": "v"})
    ts = _int_field(envelope, "ts")
    rid = envelope.get("rid")
    if not isinstance(rid, str) or not _RID.match(rid):
        raise EnvelopeInvalid(details={"field": "rid"})
    nonce = _unb64(envelope, "nonce")
    if len(nonce) != GCM_NONCE_SIZE:
        raise EnvelopeInvalid(details={"field": "nonce"})
    return ts, rid, nonce, _unb64(envelope, "data")


# -- server side ----------------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class ResponseSealer:
    """Seals the response to one opened request, under that request's SM4 key."""

    session_key: bytes
    rid: str
    request_nonce: bytes

    def seal(self, response: bytes, *, now: datetime | float | None = None) -> dict[str, Any]:
        nonce = os.urandom(GCM_NONCE_SIZE)
        while nonce == self.request_nonce:  # a repeated nonce under one GCM key leaks the keystream
            nonce = os.urandom(GCM_NONCE_SIZE)
        ts = _unix(now)
        data = sm4_gcm_encrypt(self.session_key, nonce, response, _aad("response", ts, self.rid))
        return {"v": VERSION, "nonce": _b64(nonce), "ts": ts, "rid": self.rid, "data": _b64(data)}


def _unwrap_key(private_key: SM2PrivateKey, wrapped: bytes) -> bytes:
    try:
        if wrapped[:1] == b"\x04":  # raw C1C3C2 as sm-crypto writes it (with the 04 prefix)
            wrapped = ciphertext_from_raw(wrapped)
        session_key = private_key.decrypt(wrapped)
    except IntegrityError:
        raise EnvelopeInvalid(details={"field": "key"}) from None
    if len(session_key) != SM4_KEY_SIZE:
        raise EnvelopeInvalid(details={"field": "key"})
    return session_key


async def open_request(
    envelope: Mapping[str, Any],
    *,
    nonce_store: NonceStore,
    private_key: SM2PrivateKey | None = None,
    now: datetime | float | None = None,
    window_seconds: int = WINDOW_SECONDS,
) -> tuple[bytes, ResponseSealer]:
    """Check and decrypt a request envelope: (plaintext body, sealer for the response).

    ``private_key`` defaults to the key ring's SM2 key. Raises ``EnvelopeInvalid``, ``EnvelopeExpired``
    (timestamp more than ``window_seconds`` from ``now``) or ``EnvelopeReplayed``.
    """
    ts, rid, nonce, data = _common_fields(envelope)
    server_ts = _unix(now)
    if abs(server_ts - ts) > window_seconds:
        # The server's time lets a client with a wrong clock correct its offset and retry.
        raise EnvelopeExpired(details={"ts": ts, "server_ts": server_ts})
    if private_key is None:
        from ihos.security.keys import get_keyring

        private_key = get_keyring().sm2_private
    session_key = _unwrap_key(private_key, _unb64(envelope, "key"))
    try:
        plaintext = sm4_gcm_decrypt(session_key, nonce, data, _aad("request", ts, rid))
    except IntegrityError:
        raise EnvelopeInvalid(details={"field": "data"}) from None
    # Only after authentication, so made-up envelopes cannot fill the store. An envelope stays
    # acceptable for at most 2 × window (a ts up to window ahead, then window late).
    if not await nonce_store.remember(f"envelope:{rid}", 2 * window_seconds + 1):
        raise EnvelopeReplayed()
    return plaintext, ResponseSealer(session_key, rid, nonce)


# -- client side (tests, and the reference for the front ends) ------------------------------------------


def seal_request(
    server_public: SM2PublicKey, payload: bytes, *, now: datetime | float | None = None
) -> tuple[dict[str, Any], bytes]:
    """A request envelope for ``payload`` and the session key to open the response with."""
    session_key = os.urandom(SM4_KEY_SIZE)
    nonce = os.urandom(GCM_NONCE_SIZE)
    ts = _unix(now)
    rid = secrets.token_urlsafe(16)
    data = sm4_gcm_encrypt(session_key, nonce, payload, _aad("request", ts, rid))
    envelope = {
        "v": VERSION,
        "key": _b64(server_public.encrypt(session_key)),
        "nonce": _b64(nonce),
        "ts": ts,
        "rid": rid,
        "data": _b64(data),
    }
    return envelope, session_key


def open_response(session_key: bytes, envelope: Mapping[str, Any]) -> bytes:
    """The plaintext of a response envelope sealed under ``session_key``; ``EnvelopeInvalid`` if altered."""
    ts, rid, nonce, data = _common_fields(envelope)
    try:
        return sm4_gcm_decrypt(session_key, nonce, data, _aad("response", ts, rid))
    except IntegrityError:
        raise EnvelopeInvalid(details={"field": "data"}) from None
