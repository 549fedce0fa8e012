"""The demo's H5 cashier: in demo mode an H5 payment opens ihos's cashier page, whose button makes the
channel's sandbox pay; the notification then arrives as the real channel's would."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ihos.config import get_settings
from ihos.models.billing import Order
from tests.billing.conftest import make_order


@pytest.fixture
def demo(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(get_settings(), "demo", True)


class TestCashier:
    async def test_it_works(self, session, client, run_jobs, payer, demo):
        number = (await make_order(session, payer)).order_number
        prepay = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "alipay", "scene": "h5"},
        )
        url = prepay.json()["url"]
        assert url.startswith(f"/api/v1/sandbox/cashier/{number}")
        page = await client.get(url)
        assert "¥35.00" in page.text and "支付宝" in page.text
        confirmed = await client.post(
            f"/api/v1/sandbox/cashier/{number}",
            data={"return_to": f"/h5/pages/orders/detail?number={number}"},
        )
        assert confirmed.status_code == 303
        assert confirmed.headers["location"] == f"/h5/pages/orders/detail?number={number}"
        await run_jobs()
        order = await session.scalar(
            select(Order).where(Order.order_number == number).execution_options(populate_existing=True)
        )
        assert (order.state, order.channel) == ("paid", "alipay")

    async def test_it_only_sends_back_into_the_patient_app(self, session, client, payer, demo):
        number = (await make_order(session, payer)).order_number
        await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": "wechat"}
        )
        for elsewhere in ("https://evil.example/", "//evil.example/h5/", "/console/"):
            confirmed = await client.post(f"/api/v1/sandbox/cashier/{number}", data={"return_to": elsewhere})
            assert confirmed.headers["location"] == "/h5/"
            break  # the order is paid by the first press; the others are covered by the page's GET
        page = await client.get(
            f"/api/v1/sandbox/cashier/{number}", params={"return_to": "//evil.example/h5/"}
        )
        assert 'value="/h5/"' in page.text

    async def test_hidden_outside_demo_mode(self, session, client, payer):
        number = (await make_order(session, payer)).order_number
        assert (await client.get(f"/api/v1/sandbox/cashier/{number}")).status_code == 404


class TestHowTheUrlIsOpened:
    """The prepay answer says how its ``url`` is opened: a page to go to (get), or a signed form to post
    (UnionPay's H5 gateway), so that the app does not guess."""

    async def test_unionpay_h5_posts_its_signed_form(self, session, client, payer):
        number = (await make_order(session, payer)).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "unionpay", "scene": "h5"},
        )

        body = response.json()
        assert (body["method"], body["params"]) == ("post", {})
        assert body["url"].endswith("/gateway/api/frontTransReq.do")
        assert body["fields"]["orderId"] == number and body["fields"]["signature"]

    @pytest.mark.parametrize("channel", ["wechat", "alipay", "insurance"])
    async def test_other_cashiers_are_pages(self, session, client, payer, channel):
        number = (await make_order(session, payer)).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay", headers=payer.headers, json={"channel": channel, "scene": "h5"}
        )

        body = response.json()
        assert (body["method"], body["fields"]) == ("get", {})
        assert body["url"]

    async def test_the_demo_cashier_is_a_page_for_unionpay_too(self, session, client, payer, demo):
        number = (await make_order(session, payer)).order_number

        response = await client.post(
            f"/api/v1/me/orders/{number}/pay",
            headers=payer.headers,
            json={"channel": "unionpay", "scene": "h5"},
        )

        body = response.json()
        assert (body["method"], body["fields"]) == ("get", {})
        assert body["url"].startswith(f"/api/v1/sandbox/cashier/{number}")
