"""The trade bill (交易账单) as the statement: applied for, downloaded, checked against its SHA1
and unpacked, in WeChat's CSV with every field after a backtick."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from ihos.integrations.payment.base import ChannelError
from ihos.integrations.payment.wechat import control, wire
from ihos.integrations.payment.wechat.sandbox import BILL_HEADER, BILL_SUMMARY_HEADER
from ihos.kit.time import clock, now
from tests.integrations.payment.wechat.helpers import OPENID, paid_order, refund_request

TODAY = now().astimezone(wire.WECHAT_ZONE).date()  # fixed once: the tests move the clock


def beijing(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """``day_offset`` days from today (Beijing), at ``hour:minute`` Beijing time."""
    day = TODAY + timedelta(days=day_offset)
    return datetime.combine(day, datetime.min.time(), wire.WECHAT_ZONE).replace(hour=hour, minute=minute)


def parse(bill: bytes) -> tuple[list[str], list[dict[str, str]], dict[str, str]]:
    """Header, detail rows and summary, the backticks taken off."""
    lines = list(csv.reader(io.StringIO(bill.decode("utf-8-sig"))))
    header, *details, summary_header, summary = lines
    strip = [[field.removeprefix("`") for field in line] for line in details]
    assert all(field.startswith("`") for line in details for field in line)
    assert all(field.startswith("`") for field in summary)
    return (
        header,
        [dict(zip(header, line, strict=True)) for line in strip],
        dict(zip(summary_header, (f.removeprefix("`") for f in summary), strict=True)),
    )


class TestTradeBill:
    async def test_it_works(self, channel, sandbox):
        clock.freeze(beijing(-1, 9, 30))
        paid = await paid_order(channel, sandbox, amount_fen=12345)
        clock.freeze(beijing(-1, 15, 0))
        refund = await channel.refund(
            refund_request(paid.order_number, "RF1", amount_fen=345, total_fen=12345)
        )
        clock.freeze(beijing(0, 10, 30))

        bill = await channel.download_statement(beijing(-1, 0).date())

        assert bill.endswith(b"\r\n")
        header, rows, summary = parse(bill)
        assert ",".join(header) == BILL_HEADER
        assert ",".join(summary) == BILL_SUMMARY_HEADER
        payment, refunded = rows
        assert payment["交易时间"] == beijing(-1, 9, 30).strftime("%Y-%m-%d %H:%M:%S")
        assert payment["公众账号ID"] == channel.config.appid
        assert payment["商户号"] == channel.config.mchid
        assert payment["微信订单号"] == paid.transaction_id
        assert payment["商户订单号"] == paid.order_number
        assert payment["用户标识"] == OPENID
        assert payment["交易类型"] == "JSAPI"
        assert payment["交易状态"] == "SUCCESS"
        assert payment["应结订单金额"] == payment["订单金额"] == "123.45"
        assert payment["手续费"] == "0.74000"  # 0.60% of 123.45, to the fen
        assert payment["费率"] == "0.60%"
        assert payment["商品名称"] == "互联网医院-图文问诊"
        assert refunded["交易状态"] == "REFUND"
        assert refunded["微信退款单号"] == refund.channel_refund_id
        assert refunded["商户退款单号"] == "RF1"
        assert refunded["退款金额"] == refunded["申请退款金额"] == "3.45"
        assert refunded["退款状态"] == "SUCCESS"
        assert refunded["应结订单金额"] == refunded["订单金额"] == "0.00"
        assert refunded["手续费"] == "-0.02000"
        assert summary == {
            "总交易单数": "2",
            "应结订单总金额": "123.45",
            "退款总金额": "3.45",
            "充值券退款总金额": "0.00",
            "手续费总金额": "0.72000",
            "订单总金额": "123.45",
            "申请退款总金额": "3.45",
        }

    async def test_the_day_is_beijing_time(self, channel, sandbox):
        clock.freeze(beijing(-2, 23, 59))
        late = await paid_order(channel, sandbox)
        clock.freeze(beijing(-1, 0, 1))
        early = await paid_order(channel, sandbox)
        clock.freeze(beijing(0, 11))

        _, rows, _ = parse(await channel.download_statement(beijing(-1, 0).date()))
        assert [row["商户订单号"] for row in rows] == [early.order_number]
        _, rows, _ = parse(await channel.download_statement(beijing(-2, 0).date()))
        assert [row["商户订单号"] for row in rows] == [late.order_number]

    async def test_a_refund_still_processing_at_midnight_says_so(self, channel, sandbox):
        clock.freeze(beijing(-1, 23, 50))
        paid = await paid_order(channel, sandbox)
        with control.refunding(delay=timedelta(minutes=30)):
            await channel.refund(refund_request(paid.order_number, "RF1"))
        clock.freeze(beijing(0, 11))

        _, rows, _ = parse(await channel.download_statement(beijing(-1, 0).date()))
        assert rows[1]["退款状态"] == "PROCESSING"

    async def test_today_is_not_out_yet(self, channel, sandbox):
        await paid_order(channel, sandbox)
        with pytest.raises(ChannelError) as refused:
            await channel.download_statement(now().astimezone(wire.WECHAT_ZONE).date())

        assert refused.value.code == "STATEMENT_CREATING"
        assert refused.value.retryable

    async def test_a_day_without_trades(self, channel):
        with pytest.raises(ChannelError) as refused:
            await channel.download_statement(beijing(-3, 0).date())

        assert refused.value.code == "NO_STATEMENT_EXIST"
        assert not refused.value.retryable

    async def test_a_file_that_does_not_match_its_digest(self, channel, sandbox):
        clock.freeze(beijing(-1, 9))
        await paid_order(channel, sandbox)
        clock.freeze(beijing(0, 11))
        honest = sandbox.trade_bill
        calls = 0

        async def changed_on_download(day, *, bill_type="ALL"):
            nonlocal calls
            calls += 1
            bill = await honest(day, bill_type=bill_type)
            return bill if calls == 1 else bill.replace(b"SUCCESS", b"REFUND")

        sandbox.trade_bill = changed_on_download
        with pytest.raises(ChannelError) as refused:
            await channel.download_statement(beijing(-1, 0).date())

        assert refused.value.code == "statement_hash_mismatch"

    async def test_the_download_url_lives_thirty_seconds(self, channel, sandbox):
        import httpx
        from wechatpayv3.utils import build_authorization

        clock.freeze(beijing(-1, 9))
        await paid_order(channel, sandbox)
        clock.freeze(beijing(0, 11))
        token = sandbox._bill_token(beijing(-1, 0).date(), "ALL")
        clock.travel(timedelta(seconds=31))
        merchant = sandbox.merchant
        path = f"/v3/billdownload/file?token={token}"
        authorization = build_authorization(
            path, "GET", merchant.mchid, merchant.certificate_serial, merchant.private_key
        )
        async with httpx.AsyncClient(transport=sandbox.transport(), base_url=sandbox.gateway) as http:
            answer = await http.get(path, headers={"Authorization": authorization})

        assert answer.status_code == 400
        assert answer.json()["code"] == "INVALID_REQUEST"
