"""The hospital's intranet identity-and-pricing interface (SY-01): asked for every bill.

Given the patient and the items, it answers the total, the discount and what the patient pays himself,
and for an insured patient the split between the insurance fund, the personal account and self-pay.
Discounts for patients over 65, servicemen and their families are decided inside the hospital: the
answer never says why there is a discount, and ihos never stores or logs whether a patient is a
serviceman or family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PricedItem:
    code: str  # the hospital's charge item code (收费项目)
    name: str
    quantity: int
    unit_price_fen: int


@dataclass(frozen=True)
class Quote:
    total_fen: int
    discount_fen: int
    self_pay_fen: int  # what the patient pays (after discount; for the insured, the cash part)
    insurance_fund_fen: int = 0
    personal_account_fen: int = 0
    is_insured: bool = False
    quote_id: str = ""  # the intranet's reference, kept for disputes


class PricingError(Exception):
    def __init__(self, code: str, message: str, *, retryable: bool) -> None:
        self.code = code
        self.message = message
        self.retryable = retryable
        super().__init__(f"{code}: {message}")


class PricingService(Protocol):
    async def quote(
        self, *, patient_id_number: str, patient_name: str, items: tuple[PricedItem, ...], insured: bool
    ) -> Quote: ...
