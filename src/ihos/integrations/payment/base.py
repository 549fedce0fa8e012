"""Payment channels as ihos sees them (FI-01 渠道付款方式): one interface for WeChat Pay, Alipay, UnionPay
and medical-insurance mobile payment.

Every channel: create a prepay for an order, verify and parse a notification, query a payment, close an
unpaid order, refund (the same refund number on every retry), query a refund, and download the daily
statement (reconciliation). Amounts are integer fen; times are aware UTC. The order number is the
channel's merchant order number (``out_trade_no``): letters and digits, at most 32.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

ChannelName = Literal["wechat", "alipay", "unionpay", "insurance"]
Scene = Literal["mini_program", "jsapi", "h5", "native"]
PaymentState = Literal["pending", "paid", "closed", "failed", "refunded"]
RefundState = Literal["processing", "succeeded", "failed"]


class ChannelError(Exception):
    """The channel refused or could not be reached. ``retryable``: the same call may succeed later
    (timeouts, system busy); ``code`` is the channel's own where it gave one."""

    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable
        super().__init__(f"{code}: {message}")


class NotificationRejected(Exception):
    """A notification that must not be believed: bad signature, stale timestamp, replayed nonce,
    undecryptable body. ``reason`` is logged and stored with the raw notification."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class NotificationReplayed(NotificationRejected):
    """A genuine notification seen before (its nonce or id is remembered): already applied, so the
    answer is "received" and the channel stops resending."""


@dataclass(frozen=True)
class Payer:
    """Who pays, as the channel knows them: a WeChat openid, an Alipay buyer id, or nobody (H5)."""

    wechat_openid: str | None = None
    alipay_user_id: str | None = None
    client_address: str | None = None


@dataclass(frozen=True)
class InsuranceClaim:
    """What medical-insurance payment needs beyond the amount (national interface 6201): the insured
    person and the fee details. ihos never sends or keeps anything about military status."""

    insured_name: str
    insured_id_number: str
    medical_type: str  # 医疗类别, e.g. "11" 普通门诊
    fee_lines: tuple[FeeLine, ...]
    # The patient's authorisation from the insurance app (payAuthNo / ecToken); live platforms need it.
    authorisation: str | None = None


@dataclass(frozen=True)
class FeeLine:
    """One line of the fee details uploaded to the insurance (费用明细)."""

    code: str  # 医保目录编码
    name: str
    quantity: str  # decimal text, e.g. "1"
    unit_price_fen: int
    amount_fen: int


@dataclass(frozen=True)
class PrepayRequest:
    order_number: str
    description: str
    amount_fen: int
    expires_at: datetime
    scene: Scene
    notify_url: str
    payer: Payer = field(default_factory=Payer)
    insurance: InsuranceClaim | None = None


@dataclass(frozen=True)
class InsuranceSplit:
    """How an insured bill is paid, from the insurance's 6202 answer (never from the client)."""

    total_fen: int
    fund_fen: int  # 统筹基金支付
    personal_account_fen: int  # 个人账户支付
    self_pay_fen: int  # 个人现金支付
    settlement_id: str  # the insurance's own id for the settlement
    fields: Mapping[str, str] = field(
        default_factory=dict
    )  # settlement fields as the national interface names them


@dataclass(frozen=True)
class Prepay:
    """What the patient's app needs to pay: ``params`` for wx.requestPayment / my.tradePay, or a
    cashier ``url`` for H5, opened as a page (``get``) or by posting ``params`` as a form (``post``: the
    UnionPay H5 gateway)."""

    channel: ChannelName
    channel_reference: str | None = None  # prepay_id, trade_no, tn, pay order id
    params: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    insurance: InsuranceSplit | None = None
    url_method: Literal["get", "post"] = "get"


@dataclass(frozen=True)
class PaymentResult:
    order_number: str
    state: PaymentState
    amount_fen: int | None = None  # what the channel says was paid
    transaction_id: str | None = None  # the channel's id of the payment
    paid_at: datetime | None = None
    raw: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    refund_number: str  # the same on every retry of one refund
    order_number: str
    transaction_id: str | None
    amount_fen: int
    order_total_fen: int
    reason: str
    notify_url: str


@dataclass(frozen=True)
class RefundResult:
    refund_number: str
    state: RefundState
    amount_fen: int
    channel_refund_id: str | None = None
    succeeded_at: datetime | None = None
    raw: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifiedNotification:
    """A notification whose signature (and decryption) checked out. ``notification_id`` is the channel's
    unique id for it: duplicates are recognised by (channel, notification_id) before anything else."""

    notification_id: str
    kind: Literal["payment", "refund"]
    payment: PaymentResult | None = None
    refund: RefundResult | None = None


@dataclass(frozen=True)
class Acknowledgement:
    """What to answer the channel so that it stops (or keeps) resending a notification."""

    status: int
    content_type: str
    body: bytes


class PaymentChannel(Protocol):
    name: ChannelName

    async def create_prepay(self, request: PrepayRequest) -> Prepay: ...

    async def parse_notification(self, headers: Mapping[str, str], body: bytes) -> VerifiedNotification:
        """Verify and parse; raise ``NotificationRejected`` for anything not to be believed."""
        ...

    def acknowledge(self, *, accepted: bool) -> Acknowledgement: ...

    async def query_payment(self, order_number: str) -> PaymentResult: ...

    async def close(self, order_number: str) -> None: ...

    async def refund(self, request: RefundRequest) -> RefundResult: ...

    async def query_refund(self, refund_number: str, *, order_number: str) -> RefundResult: ...

    async def download_statement(self, day: date) -> bytes:
        """The channel's statement of ``day`` in its own file format (for reconciliation)."""
        ...
