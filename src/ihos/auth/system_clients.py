"""System clients (HIS windows, kiosks): API keys and HMAC-SM3 signed requests.

A request carries ``X-Ihos-Key``, ``X-Ihos-Timestamp`` (Unix seconds), ``X-Ihos-Nonce`` and
``X-Ihos-Signature`` = hex HMAC-SM3(secret, string to sign), the string to sign being the lines
METHOD, PATH[?QUERY], TIMESTAMP, NONCE and hex SM3(body) joined by newlines.
A timestamp more than 5 minutes away, a reused nonce or a wrong signature is refused.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.audit import service as audit
from ihos.auth.caller import Caller, anonymous
from ihos.db import insert_unique
from ihos.errors import NotFound, Unauthenticated
from ihos.kit.http import ClientAddress, DbSession
from ihos.kit.ids import token
from ihos.kit.time import now
from ihos.models.system import RequestNonce, SystemClient
from ihos.security.gm import hmac_sm3, sm3

WINDOW = timedelta(minutes=5)
KINDS = ("his", "kiosk", "other")


class SignatureRequired(Unauthenticated):
    code = "signature_required"
    default_message = "缺少签名信息（X-Ihos-Key、X-Ihos-Timestamp、X-Ihos-Nonce、X-Ihos-Signature）"


class BadSignature(Unauthenticated):
    code = "bad_signature"
    default_message = "签名不正确"


class RequestExpired(Unauthenticated):
    code = "request_expired"
    default_message = "请求时间戳超出允许范围（±5分钟）"


class RequestReplayed(Unauthenticated):
    code = "request_replayed"
    default_message = "重复的请求（nonce 已使用）"


class SystemClientNotFound(NotFound):
    code = "system_client_not_found"
    default_message = "系统客户端不存在"


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), path, timestamp, nonce, sm3(body).hex()]).encode()


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac_sm3(secret.encode(), string_to_sign(method, path, timestamp, nonce, body)).hex()


def _path_with_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def system_caller(request: Request, session: DbSession, address: ClientAddress) -> Caller:
    headers = request.headers
    key_id, timestamp, nonce, signature = (
        headers.get("x-ihos-key"),
        headers.get("x-ihos-timestamp"),
        headers.get("x-ihos-nonce"),
        headers.get("x-ihos-signature"),
    )
    if not (key_id and timestamp and nonce and signature) or not 8 <= len(nonce) <= 64:
        raise SignatureRequired()
    client = await session.scalar(select(SystemClient).where(SystemClient.key_id == key_id))
    if client is None or not client.is_active:
        raise BadSignature("未知或已停用的接入密钥")
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError):
        raise RequestExpired() from None
    if abs(now() - sent_at) > WINDOW:
        raise RequestExpired()
    expected = sign(
        client.secret, request.method, _path_with_query(request), timestamp, nonce, await request.body()
    )
    caller = Caller(
        kind="system",
        id=client.id,
        label=client.name,
        roles=frozenset({f"system:{client.kind}"}),
        client_address=address,
        campus_ids=frozenset({client.campus_id}) if client.campus_id else None,
    )
    if not hmac.compare_digest(expected, signature.lower()):
        raise BadSignature(
            record=audit.failed(
                anonymous(address),
                "system.request",
                target_kind="system_clients",
                target_id=client.id,
                details={"reason": "bad_signature"},
            )
        )
    await _remember_nonce(session, client.id, nonce, expires_at=sent_at + WINDOW)
    client.last_used_at = now()
    return caller


async def _remember_nonce(
    session: AsyncSession, client_id: uuid.UUID, nonce: str, *, expires_at: datetime
) -> None:
    if not await insert_unique(
        session, RequestNonce(client_id=client_id, nonce=nonce, expires_at=expires_at)
    ):
        raise RequestReplayed()


SystemCaller = Annotated[Caller, Depends(system_caller)]


@dataclass(frozen=True)
class IssuedClient:
    client: SystemClient
    secret: str


async def create_client(
    session: AsyncSession, caller: Caller, *, name: str, kind: str, campus_id: uuid.UUID | None
) -> IssuedClient:
    secret = token(32)
    client = SystemClient(name=name, kind=kind, key_id=f"ihk_{token(12)}", secret=secret, campus_id=campus_id)
    session.add(client)
    await session.flush()
    await audit.record(
        session,
        caller,
        "system_client.create",
        target_kind="system_clients",
        target_id=client.id,
        details={"name": name, "kind": kind},
    )
    return IssuedClient(client, secret)


async def _client(session: AsyncSession, client_id: uuid.UUID) -> SystemClient:
    client = await session.get(SystemClient, client_id)
    if client is None:
        raise SystemClientNotFound()
    return client


async def rotate_secret(session: AsyncSession, caller: Caller, client_id: uuid.UUID) -> IssuedClient:
    client = await _client(session, client_id)
    client.secret = secret = token(32)
    await session.flush()
    await audit.record(
        session, caller, "system_client.rotate", target_kind="system_clients", target_id=client.id
    )
    return IssuedClient(client, secret)


async def set_active(
    session: AsyncSession, caller: Caller, client_id: uuid.UUID, *, is_active: bool
) -> SystemClient:
    client = await _client(session, client_id)
    client.is_active = is_active
    await session.flush()
    await audit.record(
        session,
        caller,
        "system_client.activate" if is_active else "system_client.deactivate",
        target_kind="system_clients",
        target_id=client.id,
    )
    return client


async def list_clients(session: AsyncSession) -> list[SystemClient]:
    return list((await session.scalars(select(SystemClient).order_by(SystemClient.created_at))).all())
