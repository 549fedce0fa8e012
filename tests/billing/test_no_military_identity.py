"""SY-01: the intranet decides a serviceman's discount; ihos receives amounts only and keeps nothing, in
any table, column or log line, that says a patient is a serviceman or a serviceman's family."""

from __future__ import annotations

import logging

from sqlalchemy import select

from ihos.billing import service
from ihos.models import Base
from ihos.models.billing import Order
from tests.billing.conftest import LIU_YANG, make_order, paid, verified_patient

MARKERS = (
    "军人",
    "军属",
    "现役",
    "退役",
    "军官",
    "部队",
    "serviceman",
    "service_member",
    "military",
    "veteran",
    "soldier",
    "army",
)


def mentions(text: str) -> list[str]:
    lowered = text.lower()
    return [marker for marker in MARKERS if marker in lowered]


class TestServicemanDiscount:
    async def test_it_works(self, session, client, run_jobs, caplog):
        caplog.set_level(logging.DEBUG)
        serviceman = await verified_patient(session, LIU_YANG)
        lines = [
            service.LineIn("GH0001", "专家挂号费", 1, 5_000),
            service.LineIn("JC0001", "心电图", 1, 10_000),
        ]
        order = await make_order(session, serviceman, lines=lines)
        number = order.order_number
        assert order.discount_fen > 0  # the intranet gave him his discount…

        await paid(client, session, run_jobs, serviceman, number)

        order = await session.scalar(
            select(Order).where(Order.order_number == number).execution_options(populate_existing=True)
        )
        assert order.state == "paid" and order.paid_fen == order.payable_fen < order.total_fen
        # …and nothing anywhere says why.
        for table in Base.metadata.sorted_tables:
            assert not mentions(table.name), table.name
            assert not any(mentions(column.name) for column in table.columns), table.name
            rows = (await session.execute(select(table))).all()
            found = mentions(repr(rows))
            assert not found, f"{table.name} mentions {found}"
        assert not mentions(caplog.text)

    async def test_a_senior_and_a_serviceman_get_answers_of_the_same_shape(self, session):
        from ihos.config import get_settings
        from ihos.integrations.pricing import pricing_service
        from ihos.integrations.pricing.base import PricedItem

        quote = await pricing_service(get_settings().integrations.pricing).quote(
            patient_id_number=LIU_YANG["id_number"],
            patient_name=LIU_YANG["name"],
            items=(PricedItem("GH0001", "专家挂号费", 1, 5_000),),
            insured=False,
        )
        assert set(vars(quote)) == {
            "total_fen",
            "discount_fen",
            "self_pay_fen",
            "insurance_fund_fen",
            "personal_account_fen",
            "is_insured",
            "quote_id",
        }
