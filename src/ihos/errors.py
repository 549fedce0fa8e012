"""One error model for the whole API.

Every refusal is an ``IhosError`` subclass with a stable ``code``, an HTTP ``status`` and a message in
Chinese that a patient or a member of staff can act on. The handler renders
``{"error": code, "message": message}`` (plus ``details`` where useful). 422 is reserved for payloads
that do not match the schema; business refusals use 400/401/403/404/409/429.

A refusal changes nothing: the request's transaction is rolled back. Where the refusal itself must be
recorded (a failed sign-in counts towards the lockout, a denied access is audited), the error carries a
``record`` callback that runs in a fresh transaction after the rollback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

Recorder = Callable[["AsyncSession"], Awaitable[None]]


class IhosError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    default_message: ClassVar[str] = "请求无法完成"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        record: Recorder | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        self.record = record
        self.headers = headers
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(IhosError):
    code = "invalid_input"
    status = 400
    default_message = "输入的内容有误"


class Unauthenticated(IhosError):
    code = "unauthenticated"
    status = 401
    default_message = "请先登录"


class Forbidden(IhosError):
    code = "forbidden"
    status = 403
    default_message = "没有权限执行此操作"


class NotFound(IhosError):
    code = "not_found"
    status = 404
    default_message = "要找的内容不存在"


class Conflict(IhosError):
    code = "conflict"
    status = 409
    default_message = "操作与当前状态冲突"


class RateLimited(IhosError):
    code = "rate_limited"
    status = 429
    default_message = "操作太频繁，请稍后再试"


class ServiceUnavailable(IhosError):
    code = "service_unavailable"
    status = 503
    default_message = "服务暂时不可用，请稍后再试"
