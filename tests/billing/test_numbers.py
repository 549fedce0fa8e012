"""Order and refund numbers are drawn at random: a number already taken is drawn again, never reused."""

from __future__ import annotations

import pytest

from ihos.billing import numbers
from tests.billing.conftest import make_order


class TestDrawingAgain:
    async def test_an_order_number_already_taken_is_drawn_again(self, session, payer, monkeypatch):
        first = await make_order(session, payer)
        draws = iter([first.order_number, first.order_number])
        draw_anew = numbers.order_number
        monkeypatch.setattr(numbers, "order_number", lambda: next(draws, None) or draw_anew())
        second = await make_order(session, payer)
        assert second.order_number not in (None, first.order_number)
        assert next(draws, None) is None  # both clashes happened
        assert second.payable_fen == first.payable_fen  # and the order is whole

    async def test_it_gives_up_loudly_rather_than_lose_the_row(self, session, payer, monkeypatch):
        first = await make_order(session, payer)
        monkeypatch.setattr(numbers, "order_number", lambda: first.order_number)
        with pytest.raises(RuntimeError, match="order_number"):
            await make_order(session, payer)
