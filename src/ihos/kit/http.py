"""HTTP plumbing shared by every router: the request's database transaction, the client address,
and the rendering of errors."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from ihos.config import get_settings
from ihos.db import commit, get_sessionmaker, rollback
from ihos.errors import IhosError

log = logging.getLogger(__name__)


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back when it raises.

    A refusal that carries a ``record`` callback has that record written in a fresh transaction
    after the rollback (failed sign-ins, denied access), so the refusal itself changes nothing else.
    """
    override = request.app.state.session_override
    if override is not None:
        async with transaction(override):
            yield override
        return
    async with get_sessionmaker()() as session, transaction(session):
        yield session


@asynccontextmanager
async def transaction(session: AsyncSession) -> AsyncIterator[None]:
    """Commit on success; on an ``IhosError`` roll back and then write what the refusal records."""
    try:
        yield
    except IhosError as exc:
        await rollback(session)
        if exc.record is not None:
            await exc.record(session)
            await commit(session)
        raise
    except BaseException:
        await rollback(session)
        raise
    else:
        await commit(session)


# scope="function": commit before the response is sent, so a failed commit is the client's error too.
DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]


async def client_address(request: Request) -> str:
    """The caller's IP address, reading X-Forwarded-For only from trusted proxies.

    Async although it awaits nothing: FastAPI runs a plain ``def`` dependency in a worker thread."""
    peer = request.client.host if request.client else "0.0.0.0"  # noqa: S104 - a label, not a bind
    trusted = get_settings().trusted_proxies
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted:
        # The right-most address not belonging to one of our proxies is the client.
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if hop not in trusted:
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    break
    return peer


ClientAddress = Annotated[str, Depends(client_address)]

_FIELD_PROBLEMS = {
    "missing": "必填",
    "extra_forbidden": "不认识的字段",
    "string_too_long": "内容过长",
    "string_too_short": "内容过短",
    "too_long": "条目过多",
}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        details.append(
            {
                "field": ".".join(location),
                "problem": _FIELD_PROBLEMS.get(error.get("type", ""), error.get("msg", "格式不正确")),
                "type": error.get("type"),
            }
        )
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(IhosError)
    async def on_ihos_error(_request: Request, exc: IhosError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        fields = "、".join(d["field"] for d in details if d["field"]) or "请求"
        return JSONResponse(
            {"error": "invalid_request", "message": f"请求格式不正确：{fields}", "details": details},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: ("not_found", "要找的内容不存在"), 405: ("method_not_allowed", "不支持此操作")}
        code, message = codes.get(exc.status_code, ("http_error", str(exc.detail)))
        return JSONResponse({"error": code, "message": message}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {"error": "internal_error", "message": "服务器内部错误，请稍后再试"}, status_code=500
        )
