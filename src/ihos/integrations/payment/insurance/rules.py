"""How the sandbox insurance platform splits a bill (医保结算规则), as a rule table (``insured.json``).

Per fee line, the catalogue class decides what the insurance covers: 丙类 (outside the catalogue) is paid
in full by the patient (``fulamt_ownpay_amt``), 乙类 first takes a share from the patient
(``preselfpay_amt``), the rest is within the policy (``inscp_scp_amt``). Of that, the year's deductible
left comes first (``act_pay_dedc``), then the pooled fund pays its ratio (``hifp_pay``) up to what is
left of the year's fund allowance. What remains for the patient (``psn_part_amt``) is taken from the
personal account up to its balance (``acct_pay``) when the patient allows it; the rest is cash
(``psn_cash_pay``). So ``fund_pay_sumamt + acct_pay + psn_cash_pay == medfee_sumamt`` always.

Pure arithmetic in integer fen, rounding half up; the sandbox and the sandbox intranet both use it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from ihos.kit.money import yuan_to_fen
from ihos.security.gm import sm3

ItemClassName = Literal["甲", "乙", "丙"]
# The national 收费项目等级 codes of the classes.
CHARGE_LEVEL: dict[str, str] = {"甲": "01", "乙": "02", "丙": "03"}


@dataclass(frozen=True)
class ItemClass:
    name: ItemClassName
    preselfpay_percent: int  # 先行自付比例; 100 for 丙类


OUTSIDE_CATALOGUE = ItemClass("丙", 100)


@dataclass(frozen=True)
class Scheme:
    """险种 and 人员类别 together: what the fund pays for this kind of insured person."""

    code: str  # "<insutype>/<psn_type>", e.g. "310/11"
    label: str
    deductible_fen: int
    fund_ratio_percent: int
    annual_fund_cap_fen: int
    has_personal_account: bool

    @property
    def insurance_type(self) -> str:  # insutype
        return self.code.split("/")[0]

    @property
    def person_type(self) -> str:  # psn_type
        return self.code.split("/")[1]


@dataclass(frozen=True)
class InsuredPerson:
    name: str
    id_number: str
    scheme: Scheme
    account_opening_fen: int  # the personal account's balance before the demo
    deductible_used_fen: int  # this year's deductible already paid before the demo
    fund_used_fen: int  # this year's fund payments before the demo
    behaviour: str | None = None  # "timeout" | "unavailable": how the platform fails for this person

    @property
    def person_number(self) -> str:
        """psn_no: the platform's own number for the person, derived from but not revealing the ID number."""
        return "5101" + str(int.from_bytes(sm3(self.id_number.encode("ascii"))[:8], "big") % 10**16).zfill(16)


@dataclass(frozen=True)
class Usage:
    """What the ledger says the person used this year, beyond the registry's opening figures."""

    account_spent_fen: int = 0
    deductible_paid_fen: int = 0
    fund_paid_fen: int = 0


@dataclass(frozen=True)
class ChargeLine:
    amount_fen: int
    item_class: ItemClass


@dataclass(frozen=True)
class Settlement:
    """The split, in fen, with the national settlement field names (setlinfo)."""

    medfee_sumamt: int  # 医疗费总额
    fulamt_ownpay_amt: int  # 全自费金额
    preselfpay_amt: int  # 先行自付金额
    inscp_scp_amt: int  # 符合政策范围金额
    act_pay_dedc: int  # 实际支付起付线
    hifp_pay: int  # 基本医疗保险统筹基金支出
    pool_prop_selfpay: int  # 基本医疗保险统筹基金支付比例内自负（含超限额）
    fund_pay_sumamt: int  # 基金支付总额
    psn_part_amt: int  # 个人负担总金额
    acct_pay: int  # 个人账户支出
    psn_cash_pay: int  # 个人现金支出
    balc: int  # 余额: the personal account after this bill

    def amounts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _percent(amount_fen: int, percent: int) -> int:
    return (amount_fen * percent + 50) // 100


def settle(
    person: InsuredPerson, lines: Sequence[ChargeLine], *, usage: Usage, use_account: bool
) -> Settlement:
    scheme = person.scheme
    total = sum(line.amount_fen for line in lines)
    full_own = sum(line.amount_fen for line in lines if line.item_class.name == "丙")
    preselfpay = sum(
        _percent(line.amount_fen, line.item_class.preselfpay_percent)
        for line in lines
        if line.item_class.name != "丙"
    )
    within_policy = total - full_own - preselfpay
    deductible_left = max(0, scheme.deductible_fen - person.deductible_used_fen - usage.deductible_paid_fen)
    deductible = min(within_policy, deductible_left)
    above_deductible = within_policy - deductible
    fund_left = max(0, scheme.annual_fund_cap_fen - person.fund_used_fen - usage.fund_paid_fen)
    fund = min(_percent(above_deductible, scheme.fund_ratio_percent), fund_left)
    personal_part = total - fund
    balance = max(0, person.account_opening_fen - usage.account_spent_fen)
    account = min(balance, personal_part) if use_account and scheme.has_personal_account else 0
    return Settlement(
        medfee_sumamt=total,
        fulamt_ownpay_amt=full_own,
        preselfpay_amt=preselfpay,
        inscp_scp_amt=within_policy,
        act_pay_dedc=deductible,
        hifp_pay=fund,
        pool_prop_selfpay=above_deductible - fund,
        fund_pay_sumamt=fund,
        psn_part_amt=personal_part,
        acct_pay=account,
        psn_cash_pay=personal_part - account,
        balc=balance - account,
    )


# -- the registry ---------------------------------------------------------------------------------------


@lru_cache
def registry() -> dict[str, Any]:
    text = resources.files("ihos.integrations.payment.insurance").joinpath("insured.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@lru_cache
def schemes() -> dict[str, Scheme]:
    return {
        code: Scheme(
            code=code,
            label=entry["label"],
            deductible_fen=yuan_to_fen(entry["deductible"]),
            fund_ratio_percent=int(entry["fund_ratio_percent"]),
            annual_fund_cap_fen=yuan_to_fen(entry["annual_fund_cap"]),
            has_personal_account=bool(entry["personal_account"]),
        )
        for code, entry in registry()["schemes"].items()
    }


@lru_cache
def insured_people() -> dict[str, InsuredPerson]:
    """Everyone the sandbox platform insures, by ID number."""
    people = {}
    for entry in registry()["insured"]:
        person = InsuredPerson(
            name=entry["name"],
            id_number=entry["id_number"],
            scheme=schemes()[entry["scheme"]],
            account_opening_fen=yuan_to_fen(entry["account"]),
            deductible_used_fen=yuan_to_fen(entry["deductible_used"]),
            fund_used_fen=yuan_to_fen(entry["fund_used"]),
            behaviour=entry.get("behaviour"),
        )
        people[person.id_number] = person
    return people


def classify(code: str) -> ItemClass:
    """The catalogue class of a 医保目录编码 (listed codes, then prefixes, else 丙类)."""
    catalogue = registry()["catalogue"]
    listed = catalogue["listed"].get(code)
    if listed is not None:
        return ItemClass(listed["class"], int(listed["preselfpay_percent"]))
    for rule in catalogue["prefixes"]:
        if code.startswith(rule["prefix"]):
            return ItemClass(rule["class"], int(rule["preselfpay_percent"]))
    return OUTSIDE_CATALOGUE
