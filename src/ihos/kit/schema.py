"""Base classes for API schemas.

``Payload`` is what clients send: unknown fields are refused and every string has a length cap,
so an oversized or misspelt field gets a 422 that names it. ``Schema`` is what we send back.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, str_max_length=4000)


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Schema, Generic[T]):
    """One page of a list, with the total for the pager."""

    items: list[T]
    total: int
    page: int
    page_size: int


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1, le=100)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


class ErrorOut(Schema):
    """Every refusal: a stable code to branch on and a message in Chinese to show."""

    error: str
    message: str
    details: Any | None = None


class FieldProblem(Schema):
    field: str
    problem: str
    type: str | None


class InvalidRequestOut(Schema):
    """422: the payload does not match the schema (unknown field, missing, too long…)."""

    error: str = "invalid_request"
    message: str
    details: list[FieldProblem]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "输入有误（业务校验）"},
    401: {"model": ErrorOut, "description": "未登录或登录已失效"},
    403: {"model": ErrorOut, "description": "没有权限，或须先修改密码"},
    404: {"model": ErrorOut, "description": "不存在"},
    409: {"model": ErrorOut, "description": "与当前状态冲突"},
    422: {"model": InvalidRequestOut, "description": "请求格式不正确"},
    429: {"model": ErrorOut, "description": "操作太频繁"},
}
