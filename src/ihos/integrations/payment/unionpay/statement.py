"""UnionPay's merchant settlement files (全渠道商户对账文件): write them (the sandbox), read them
(reconciliation).

The file transfer answer is a zip (``{merId}_{yyyymmdd}.zip``) of GBK text files named
``INN{yyMMdd}88{kind}_{merId}``: ``ZM`` (一般交易明细, one line per consume and refund) and ``ZME``
(差错交易明细) among them. A ZM line is 42 fixed-width fields separated by one space; the widths are
those of the platform's file interface specification (第3部分 文件接口, 6.1 ZM文件) as UnionPay's acp
demo reads them. Amounts are fen, zero-padded; fees and settlement amounts carry a C (credit) or D (debit)
sign before 12 digits.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

ENCODING = "gbk"
ZM_FIELDS: tuple[tuple[str, int], ...] = (
    ("交易代码", 3),
    ("代理机构标识码", 11),
    ("发送机构标识码", 11),
    ("系统跟踪号", 6),
    ("交易传输时间", 10),
    ("帐号", 19),
    ("交易金额", 12),
    ("商户类别", 4),
    ("终端类型", 2),
    ("查询流水号", 21),
    ("支付方式（旧）", 2),
    ("商户订单号", 32),
    ("支付卡类型", 2),
    ("原始交易的系统跟踪号", 6),
    ("原始交易日期时间", 10),
    ("商户手续费", 13),
    ("结算金额", 13),
    ("支付方式", 4),
    ("集团商户代码", 15),
    ("交易类型", 2),
    ("交易子类", 2),
    ("业务类型", 6),
    ("帐号类型", 2),
    ("账单类型", 4),
    ("账单号码", 32),
    ("交互方式", 1),
    ("原交易查询流水号", 21),
    ("商户代码", 15),
    ("分账入账方式", 1),
    ("二级商户代码", 15),
    ("二级商户简称", 32),
    ("二级商户分账入账金额", 13),
    ("清算净额", 13),
    ("终端号", 8),
    ("商户自定义域", 32),
    ("优惠金额", 13),
    ("发票金额", 13),
    ("分期付款附加手续费", 12),
    ("分期付款期数", 2),
    ("交易介质", 1),
    ("原始交易订单号", 32),
    ("保留使用", 98),
)
LINE_WIDTH = sum(width for _, width in ZM_FIELDS) + len(ZM_FIELDS) - 1
# Transaction codes the sandbox writes; readers should rely on 交易类型 (txnType) instead.
CODES = {"01": "S22", "04": "S30"}


class StatementFormatError(ValueError):
    """The file is not a UnionPay settlement zip with a ZM file."""


@dataclass(frozen=True)
class UnionPayStatementLine:
    """One ZM line. ``settlement_fen`` and ``fee_fen`` are signed: positive is credited to the merchant."""

    txn_type: str  # 01 consume, 04 refund
    query_id: str
    order_number: str
    original_query_id: str
    amount_fen: int
    settlement_fen: int
    fee_fen: int
    trace_no: str
    trace_time: str  # MMddHHmmss, Beijing time
    card_number: str  # masked
    merchant_id: str
    fields: dict[str, str]  # every field as written, stripped


def zm_line(values: dict[str, str]) -> bytes:
    """One ZM line from field values (missing ones blank); numbers must be given already padded."""
    parts = []
    for name, width in ZM_FIELDS:
        data = values.get(name, "").encode(ENCODING)
        if len(data) > width:
            raise ValueError(f"{name} is longer than {width} bytes")
        parts.append(data.ljust(width, b" "))
    return b" ".join(parts)


def amount_field(fen: int) -> str:
    return f"{fen:012d}"


def signed_field(fen: int) -> str:
    return f"{'C' if fen >= 0 else 'D'}{abs(fen):012d}"


def build_zip(merchant_id: str, settle_day: date, lines: Sequence[dict[str, str]]) -> bytes:
    """The zip the file transfer serves for ``settle_day`` (the sandbox's statement)."""
    stamp = settle_day.strftime("%y%m%d")
    zm = b"".join(zm_line(line) + b"\r\n" for line in lines)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"INN{stamp}88ZM_{merchant_id}", zm)
        bundle.writestr(f"INN{stamp}88ZME_{merchant_id}", b"")
    return archive.getvalue()


def zip_name(merchant_id: str, settle_day: date) -> str:
    return f"{merchant_id}_{settle_day:%Y%m%d}.zip"


def parse_zip(data: bytes) -> list[UnionPayStatementLine]:
    """The lines of the ZM file in the zip ``data``. Raises ``StatementFormatError``."""
    try:
        bundle = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise StatementFormatError("not a zip file") from None
    with bundle:
        member = next(
            (name for name in bundle.namelist() if "ZM_" in name.rsplit("/", 1)[-1] and "ZME_" not in name),
            None,
        )
        if member is None:
            raise StatementFormatError("no ZM file in the zip")
        content = bundle.read(member)
    return [_line(raw) for raw in content.splitlines() if raw.strip()]


def _line(raw: bytes) -> UnionPayStatementLine:
    if len(raw) < LINE_WIDTH - 98:
        raise StatementFormatError(f"ZM line too short ({len(raw)} bytes)")
    values: dict[str, str] = {}
    start = 0
    for name, width in ZM_FIELDS:
        try:
            values[name] = raw[start : start + width].decode(ENCODING).strip()
        except UnicodeDecodeError:
            raise StatementFormatError(f"{name} is not GBK text") from None
        start += width + 1
    try:
        return UnionPayStatementLine(
            txn_type=values["交易类型"],
            query_id=values["查询流水号"],
            order_number=values["商户订单号"],
            original_query_id=values["原交易查询流水号"],
            amount_fen=int(values["交易金额"] or 0),
            settlement_fen=_signed(values["结算金额"]),
            fee_fen=_signed(values["商户手续费"]),
            trace_no=values["系统跟踪号"],
            trace_time=values["交易传输时间"],
            card_number=values["帐号"],
            merchant_id=values["商户代码"],
            fields=values,
        )
    except ValueError as exc:
        raise StatementFormatError(f"malformed ZM line: {exc}") from None


def _signed(text: str) -> int:
    if not text:
        return 0
    sign, digits = text[0], text[1:]
    if sign not in "CD" or not digits.isdigit():
        raise ValueError(f"not a signed amount: {text!r}")
    return int(digits) if sign == "C" else -int(digits)
