"""Alipay's trade bill (交易账单, ``bill_type=trade``): write it (the sandbox) and read it (reconciliation).

The download is a zip of two GBK CSV files, ``{pid}_{yyyymmdd}_业务明细.csv`` (one line per payment
and refund) and ``{pid}_{yyyymmdd}_业务明细(汇总).csv`` (totals). Lines starting with ``#`` are
headers and footers; Alipay pads every value with a tab so that spreadsheets keep long numbers as text.
Alipay writes the member names in GBK without the zip UTF-8 flag; both forms are read.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ihos.kit.money import InvalidAmount, fen_to_yuan, yuan_to_fen

ENCODING = "gbk"
DETAIL_SUFFIX = "_业务明细.csv"
SUMMARY_SUFFIX = "_业务明细(汇总).csv"
DETAIL_COLUMNS = (
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
)
SUMMARY_COLUMNS = (
    "门店编号",
    "门店名称",
    "交易订单总笔数",
    "退款订单总笔数",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "卡消费金额（元）",
    "服务费（元）",
    "分润（元）",
    "实收净额（元）",
)
PAYMENT = "交易"
REFUND = "退款"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ALIPAY_ZONE = ZoneInfo("Asia/Shanghai")


class StatementFormatError(ValueError):
    """The file is not an Alipay trade bill."""


@dataclass(frozen=True)
class AlipayStatementLine:
    """One line of 业务明细. Amounts in fen; a refund's ``received_fen`` is negative, as Alipay writes it.
    Times are aware (the file's Beijing times)."""

    transaction_id: str  # 支付宝交易号 (trade_no)
    order_number: str  # 商户订单号 (out_trade_no)
    kind: str  # 交易 | 退款
    subject: str
    created_at: datetime | None
    finished_at: datetime | None
    counterpart: str  # 对方账户, masked
    order_amount_fen: int
    received_fen: int  # 商家实收
    refund_number: str  # 退款批次号/请求号 (out_request_no)
    fee_fen: int  # 服务费, negative when charged
    fields: dict[str, str]  # every column as written, for anything not above


def build_bill(pid: str, day: date, lines: Sequence[AlipayStatementLine], *, exported_at: datetime) -> bytes:
    """The zip Alipay serves for ``day`` (the sandbox's statement)."""
    stamp = day.strftime("%Y%m%d")
    span = f"#起始日期：[{day:%Y年%m月%d日} 00:00:00]   终止日期：[{day:%Y年%m月%d日} 23:59:59]"
    exported = f"#导出时间：[{exported_at:%Y年%m月%d日 %H:%M:%S}]"
    payments = [line for line in lines if line.kind == PAYMENT]
    refunds = [line for line in lines if line.kind == REFUND]

    detail = io.StringIO()
    detail.write(f"#支付宝业务明细查询\r\n#账号：[{pid}]\r\n{span}\r\n")
    detail.write(
        "#-----------------------------------------业务明细列表----------------------------------------\r\n"
    )
    writer = csv.writer(detail, lineterminator="\r\n")
    writer.writerow(DETAIL_COLUMNS)
    for line in lines:
        writer.writerow([_padded(value) for value in _detail_row(line)])
    detail.write(
        "#-----------------------------------------业务明细列表结束------------------------------------\r\n"
    )
    detail.write(
        f"#交易合计：{len(payments)}笔，商家实收共{_yuan(sum(x.received_fen for x in payments))}元，"
        f"商家优惠共0.00元\r\n"
        f"#退款合计：{len(refunds)}笔，商家实收退款共{_yuan(sum(x.received_fen for x in refunds))}元，"
        f"商家优惠退款共0.00元\r\n{exported}\r\n"
    )

    summary = io.StringIO()
    summary.write(f"#支付宝业务汇总查询\r\n#账号：[{pid}]\r\n{span}\r\n")
    writer = csv.writer(summary, lineterminator="\r\n")
    writer.writerow(SUMMARY_COLUMNS)
    received = sum(line.received_fen for line in lines)
    fees = sum(line.fee_fen for line in lines)
    writer.writerow(
        [
            "合计",
            "",
            str(len(payments)),
            str(len(refunds)),
            _yuan(sum(line.order_amount_fen for line in payments)),
            _yuan(received),
            "0.00",
            "0.00",
            "0.00",
            _yuan(fees),
            "0.00",
            _yuan(received + fees),
        ]
    )
    summary.write(f"{exported}\r\n")

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{pid}_{stamp}{DETAIL_SUFFIX}", detail.getvalue().encode(ENCODING))
        bundle.writestr(f"{pid}_{stamp}{SUMMARY_SUFFIX}", summary.getvalue().encode(ENCODING))
    return archive.getvalue()


def parse_bill(data: bytes) -> list[AlipayStatementLine]:
    """The lines of 业务明细 in the zip ``data``. Raises ``StatementFormatError``."""
    try:
        bundle = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise StatementFormatError("not a zip file") from None
    with bundle:
        member = next(
            (info for info in bundle.infolist() if _member_name(info).endswith(DETAIL_SUFFIX)), None
        )
        if member is None:
            raise StatementFormatError("no 业务明细 file in the bill")
        try:
            text = bundle.read(member).decode(ENCODING)
        except UnicodeDecodeError:
            raise StatementFormatError("the bill is not GBK text") from None
    rows = list(csv.reader(line for line in text.splitlines() if line and not line.startswith("#")))
    if not rows or tuple(cell.strip() for cell in rows[0]) != DETAIL_COLUMNS:
        raise StatementFormatError("unexpected columns in 业务明细")
    return [_line(dict(zip(DETAIL_COLUMNS, (cell.strip() for cell in row), strict=True))) for row in rows[1:]]


def _detail_row(line: AlipayStatementLine) -> list[str]:
    values = {
        **{column: "" for column in DETAIL_COLUMNS},
        **line.fields,
        "支付宝交易号": line.transaction_id,
        "商户订单号": line.order_number,
        "业务类型": line.kind,
        "商品名称": line.subject,
        "创建时间": _time_text(line.created_at),
        "完成时间": _time_text(line.finished_at),
        "对方账户": line.counterpart,
        "订单金额（元）": _yuan(line.order_amount_fen),
        "商家实收（元）": _yuan(line.received_fen),
        "退款批次号/请求号": line.refund_number,
        "服务费（元）": _yuan(line.fee_fen),
    }
    for column in DETAIL_COLUMNS:
        if column.endswith("（元）"):
            values[column] = values[column] or "0.00"
    return [values[column] for column in DETAIL_COLUMNS]


def _line(row: dict[str, str]) -> AlipayStatementLine:
    try:
        return AlipayStatementLine(
            transaction_id=row["支付宝交易号"],
            order_number=row["商户订单号"],
            kind=row["业务类型"],
            subject=row["商品名称"],
            created_at=_time(row["创建时间"]),
            finished_at=_time(row["完成时间"]),
            counterpart=row["对方账户"],
            order_amount_fen=_fen(row["订单金额（元）"]),
            received_fen=_fen(row["商家实收（元）"]),
            refund_number=row["退款批次号/请求号"],
            fee_fen=_fen(row["服务费（元）"]),
            fields=row,
        )
    except (ValueError, InvalidAmount) as exc:
        raise StatementFormatError(f"malformed line for {row.get('商户订单号')!r}: {exc}") from None


def _member_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode(ENCODING)
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _time(text: str) -> datetime | None:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=ALIPAY_ZONE) if text else None


def _time_text(moment: datetime | None) -> str:
    return moment.astimezone(ALIPAY_ZONE).strftime(TIME_FORMAT) if moment else ""


def _fen(text: str) -> int:
    return yuan_to_fen(text) if text else 0


def _yuan(fen: int) -> str:
    return ("-" if fen < 0 else "") + fen_to_yuan(abs(fen))


def _padded(value: str) -> str:
    return f"{value}\t"
