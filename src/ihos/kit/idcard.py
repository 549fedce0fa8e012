"""Resident ID numbers (居民身份证号码, GB 11643-1999): checksum, birth date, sex.

The area code is not checked: real old numbers carry codes that no longer exist. Only 18-character
numbers are accepted; first-generation 15-digit cards stopped being valid in 2013.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CODES = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")


class InvalidIdNumber(ValueError):
    """The reason is a sentence a patient can act on (the app shows the same words)."""


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: date
    sex: str  # "male" | "female"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def check_digit(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CODES[total % 11]


def normalise(value: str) -> str:
    """ASCII digits and X: a Chinese keyboard in full-width mode types "１１０…Ｘ", which must not make the
    same person a second patient."""
    return unicodedata.normalize("NFKC", value).strip().upper().replace(" ", "")


def parse_id_number(value: str, *, today: date) -> IdNumber:
    """Validate an ID number and derive birth date and sex, or raise ``InvalidIdNumber``."""
    number = normalise(value)
    if len(number) != 18:
        raise InvalidIdNumber("身份证号码应为18位")
    if not _SHAPE.match(number):
        raise InvalidIdNumber("身份证号码格式不正确：前17位应为数字，最后一位为数字或X")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber("身份证号码中的出生日期不正确") from None
    if birth.year < 1900 or birth > today:
        raise InvalidIdNumber("身份证号码中的出生日期不正确")
    if check_digit(number[:17]) != number[17]:
        raise InvalidIdNumber("身份证号码校验位不正确，请核对后重新输入")
    sex = "male" if int(number[16]) % 2 == 1 else "female"
    return IdNumber(value=number, birth_date=birth, sex=sex)
