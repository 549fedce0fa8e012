"""The sandbox platform's split: exact figures for the demo people, and the sum always the bill."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ihos.integrations.identity import demo_people
from ihos.integrations.payment.insurance import rules
from ihos.integrations.payment.insurance.rules import ChargeLine, ItemClass, Usage, settle

A = ItemClass("甲", 0)
B = ItemClass("乙", 10)
C = rules.OUTSIDE_CATALOGUE


def person(name: str) -> rules.InsuredPerson:
    return next(p for p in rules.insured_people().values() if p.name == name)


class TestRegistry:
    def test_it_works(self):
        people = rules.insured_people()
        demo = {p.id_number: p.name for p in demo_people()}
        assert len(people) >= 15
        for number, insured in people.items():
            assert demo[number] == insured.name
        for entry in rules.registry()["not_insured"]["people"]:
            assert entry["id_number"] in demo
            assert entry["id_number"] not in people

    def test_the_person_number_does_not_reveal_the_id_number(self):
        numbers = {p.person_number for p in rules.insured_people().values()}
        assert len(numbers) == len(rules.insured_people())
        for insured in rules.insured_people().values():
            assert insured.id_number[6:14] not in insured.person_number
            assert len(insured.person_number) == 20

    def test_the_catalogue(self):
        assert rules.classify("001101000010000") == A
        assert rules.classify("XJ01CAA040A001010100985") == A
        assert rules.classify("XB05XXX") == B
        assert rules.classify("C1234") == ItemClass("乙", 20)
        assert rules.classify("HOSP-OWN-ITEM") == C


class TestSettle:
    def test_it_works(self):
        # 张伟: employee, 200 yuan deductible not yet met, 1286.50 in the account.
        split = settle(person("张伟"), [ChargeLine(5000, A)], usage=Usage(), use_account=True)

        assert (split.act_pay_dedc, split.fund_pay_sumamt, split.acct_pay, split.psn_cash_pay) == (
            5000,
            0,
            5000,
            0,
        )
        assert split.balc == 128650 - 5000

    def test_the_fund_pays_its_ratio_above_the_deductible(self):
        # 刘洋 met his deductible: the fund pays 60 %.
        split = settle(person("刘洋"), [ChargeLine(10000, A)], usage=Usage(), use_account=True)

        assert (split.hifp_pay, split.pool_prop_selfpay, split.acct_pay, split.psn_cash_pay) == (
            6000,
            4000,
            4000,
            0,
        )

    def test_the_deductible_left_comes_first(self):
        # 吴建国, retired: 60 yuan of his 100 deductible left, then 70 %.
        split = settle(person("吴建国"), [ChargeLine(16000, A)], usage=Usage(), use_account=True)

        assert (split.act_pay_dedc, split.hifp_pay) == (6000, 7000)
        assert split.acct_pay + split.psn_cash_pay == 9000

    def test_the_account_pays_up_to_its_balance(self):
        # 王芳 has 35.20 in her account.
        split = settle(person("王芳"), [ChargeLine(10000, A)], usage=Usage(), use_account=True)

        assert (split.acct_pay, split.psn_cash_pay, split.balc) == (3520, 6480, 0)

    def test_without_the_account_everything_personal_is_cash(self):
        split = settle(person("张伟"), [ChargeLine(5000, A)], usage=Usage(), use_account=False)

        assert (split.acct_pay, split.psn_cash_pay) == (0, 5000)

    def test_residents_have_no_account(self):
        # 李娜: resident scheme, deductible met, 50 %.
        split = settle(person("李娜"), [ChargeLine(8000, A)], usage=Usage(), use_account=True)

        assert (split.fund_pay_sumamt, split.acct_pay, split.psn_cash_pay) == (4000, 0, 4000)

    def test_the_year_allowance_caps_the_fund(self):
        # 黄强 has 10 yuan left of his 2000 allowance.
        split = settle(person("黄强"), [ChargeLine(10000, A)], usage=Usage(), use_account=True)

        assert split.fund_pay_sumamt == 1000
        assert split.pool_prop_selfpay == 9000  # what the cap holds back stays with the patient

    def test_catalogue_classes(self):
        split = settle(
            person("刘洋"),
            [ChargeLine(1000, A), ChargeLine(2000, B), ChargeLine(3000, C)],
            usage=Usage(),
            use_account=False,
        )

        assert (split.fulamt_ownpay_amt, split.preselfpay_amt, split.inscp_scp_amt) == (3000, 200, 2800)
        assert split.fund_pay_sumamt == 1680
        assert split.psn_cash_pay == 6000 - 1680

    def test_what_the_ledger_used_is_counted(self):
        used = Usage(account_spent_fen=128000, deductible_paid_fen=20000, fund_paid_fen=0)

        split = settle(person("张伟"), [ChargeLine(10000, A)], usage=used, use_account=True)

        assert (split.act_pay_dedc, split.fund_pay_sumamt, split.acct_pay, split.psn_cash_pay) == (
            0,
            6000,
            650,
            3350,
        )

    @given(
        name=st.sampled_from(sorted(p.name for p in rules.insured_people().values())),
        amounts=st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=5_000_000), st.sampled_from([A, B, C, ItemClass("乙", 20)])
            ),
            min_size=1,
            max_size=8,
        ),
        account=st.integers(min_value=0, max_value=1_000_000),
        deductible=st.integers(min_value=0, max_value=30_000),
        fund=st.integers(min_value=0, max_value=400_000),
        use_account=st.booleans(),
    )
    def test_the_parts_always_add_up_to_the_bill(self, name, amounts, account, deductible, fund, use_account):
        lines = [ChargeLine(amount, item_class) for amount, item_class in amounts]
        usage = Usage(account_spent_fen=account, deductible_paid_fen=deductible, fund_paid_fen=fund)

        split = settle(person(name), lines, usage=usage, use_account=use_account)

        total = sum(amount for amount, _ in amounts)
        assert split.fund_pay_sumamt + split.acct_pay + split.psn_cash_pay == split.medfee_sumamt == total
        assert split.fulamt_ownpay_amt + split.preselfpay_amt + split.inscp_scp_amt == total
        assert split.act_pay_dedc + split.hifp_pay + split.pool_prop_selfpay == split.inscp_scp_amt
        assert min(split.amounts().values()) >= 0
        assert split.fund_pay_sumamt <= split.inscp_scp_amt


def test_the_demo_people_with_a_birth_date_agree_with_the_registry():
    born = {p.id_number: p.birth_date for p in demo_people()}
    for insured in rules.insured_people().values():
        assert born[insured.id_number] < date(2026, 1, 1)
