"""The SMS gateway as ihos sees it (短信平台): send one templated message to one number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class SmsError(Exception):
    """The gateway refused or failed. ``code`` is the gateway's (e.g. ``isv.BUSINESS_LIMIT_CONTROL``)
    or ours for transport failures (``timeout``, ``unreachable``, ``bad_response``).

    ``retryable``: the same message may go through later unchanged (a job retries it with backoff).
    A timeout is retryable although the message may have gone out: a duplicate SMS is the lesser harm.
    """

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class SmsReceipt:
    """The gateway accepted the message: its id (Aliyun ``BizId``) and the request id for support."""

    message_id: str
    request_id: str


class SmsGateway(Protocol):
    async def send(self, phone: str, template: str, params: dict[str, str]) -> SmsReceipt:
        """Send ``template`` (a name in ``ihos.integrations.sms.templates``) to ``phone``."""
        ...
