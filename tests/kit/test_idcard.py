"""GB 11643 ID numbers."""

from __future__ import annotations

from datetime import date

import pytest

from ihos.kit.idcard import InvalidIdNumber, check_digit, parse_id_number

TODAY = date(2026, 11, 27)


def make(first17: str) -> str:
    return first17 + check_digit(first17)


class TestParseIdNumber:
    def test_it_works(self):
        parsed = parse_id_number("11010519491231002X", today=TODAY)
        assert parsed.birth_date == date(1949, 12, 31)
        assert parsed.sex == "female"

    def test_male_from_odd_17th_digit(self):
        parsed = parse_id_number(make("44030419900307001"), today=TODAY)
        assert parsed.sex == "male"
        assert parsed.age_on(TODAY) == 36

    def test_lower_case_x_and_spaces_are_normalised(self):
        assert parse_id_number(" 11010519491231002x ", today=TODAY).value == "11010519491231002X"

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("110105194912310021", "校验位"),
            ("11010519491231002", "18位"),
            ("1101051949123100AX", "格式"),
            (make("11010519491331002"), "出生日期"),
            (make("11010518991231002"), "出生日期"),
            (make("11010520301231002"), "出生日期"),
        ],
    )
    def test_refusals_say_why(self, value, message):
        with pytest.raises(InvalidIdNumber, match=message):
            parse_id_number(value, today=TODAY)

    def test_full_width_digits_become_ascii(self):
        assert (
            parse_id_number("１１０１０５１９４９１２３１００２Ｘ", today=TODAY).value == "11010519491231002X"
        )

    def test_other_scripts_digits_are_refused(self):
        with pytest.raises(InvalidIdNumber, match="格式"):
            parse_id_number("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", today=TODAY)
