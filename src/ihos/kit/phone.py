"""Mainland mobile numbers: normalised to 11 digits, validated with ``phonenumbers``."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


class InvalidPhone(ValueError):
    pass


def normalise_mobile(value: str) -> str:
    """``+86 138-1234-1234`` → ``13812341234``, or ``InvalidPhone``."""
    # NFKC: full-width digits typed on a Chinese keyboard are the same number.
    digits = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", value or ""))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _MOBILE.match(digits):
        raise InvalidPhone("请输入正确的11位手机号码")
    parsed = phonenumbers.parse(digits, "CN")
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhone("请输入正确的11位手机号码")
    return digits
