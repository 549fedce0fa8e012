"""Real-name verification (实名认证) as ihos sees it: does this name belong to this ID number? And the
intranet's priority level of a patient (优先级, for the queue): a number, never the reason (SY-01)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

IdentityStatus = Literal["matched", "mismatched", "not_found"]
UNAVAILABLE = "实名认证服务暂时不可用，请稍后再试"


class IdentityServiceError(Exception):
    """The service could not answer. ``code``: the provider's error (``invalid_id_number``,
    ``unavailable``…) or ours for transport failures (``timeout``, ``unreachable``, ``bad_response``,
    ``invalid_response_signature``). ``retryable``: asking again later may succeed."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class IdentityCheck:
    """The answer; ``reference`` is the provider's id for this check, kept for audit and disputes."""

    status: IdentityStatus
    reference: str


class IdentityVerifier(Protocol):
    async def verify(self, name: str, id_number: str) -> IdentityCheck: ...


@dataclass(frozen=True)
class PriorityAnswer:
    """The intranet's answer: ``level`` 0 (none) to 9 (first); why is never said. ``reference`` is the
    intranet's id for the question, kept for disputes."""

    level: int
    reference: str


class PriorityService(Protocol):
    async def priority_level(self, name: str, id_number: str) -> PriorityAnswer: ...
