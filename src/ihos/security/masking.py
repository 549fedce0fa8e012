"""Show personal data masked (GB/T 35273 去标识化展示): phone numbers, ID numbers, names, and log lines.

The ``mask_*`` functions are for display; ``MaskingFilter`` scrubs phone and ID numbers from log records
so that no log file holds them in clear.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import overload

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_NAME_SEPARATORS = "·•・ "


def _keep_ends(value: str, head: int, tail: int) -> str:
    """``head`` first and ``tail`` last characters kept, the rest starred; too short → all stars."""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


class _Masker:
    """A masking function that lets None and "" through, typed so that str in gives str out."""

    def __init__(self, mask: Callable[[str], str]) -> None:
        self._mask = mask
        wraps(mask)(self)

    @overload
    def __call__(self, value: str) -> str: ...
    @overload
    def __call__(self, value: None) -> None: ...
    @overload
    def __call__(self, value: str | None) -> str | None: ...
    def __call__(self, value: str | None) -> str | None:
        if value is None or value == "":
            return value
        return self._mask(value)


@_Masker
def mask_phone(value: str) -> str:
    """``13812341234`` → ``138****1234``: the first 3 and last 4 characters stay."""
    return _keep_ends(value, 3, 4)


@_Masker
def mask_id_number(value: str) -> str:
    """``11010519491231002X`` → ``110***********002X``: the first 3 and last 4 stay, same length."""
    return _keep_ends(value, 3, 4)


def _mask_chinese_name(name: str) -> str:
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    middle = "".join(ch if ch in _NAME_SEPARATORS else "*" for ch in name[1:-1])
    return name[0] + middle + name[-1]


@_Masker
def mask_name(value: str) -> str:
    """``张三`` → ``张*``, ``张小三`` → ``张*三``, ``欧阳小明`` → ``欧**明``, ``John Smith`` → ``J*** S****``.

    One-character names become ``*``; middle dots in transliterated names (``阿依·买买提``) stay.
    """
    if _CJK.search(value):
        return _mask_chinese_name(value)
    # Latin names: the initial of each word stays, so staff can still tell two patients apart.
    return re.sub(r"\S+", lambda word: word[0][0] + "*" * (len(word[0]) - 1), value)


# -- logs -----------------------------------------------------------------------------------------------

# 18-character resident ID numbers, not part of a longer run of digits.
_ID_NUMBER = re.compile(r"(?<!\d)(\d{3})\d{11}(\d{3}[\dXx])(?![\dXx])")
# Mainland mobile numbers, optionally after +86/86 and with spaces or dashes, not inside a longer run.
_MOBILE = re.compile(r"(?<!\d)((?:\+?86[ -]?)?1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Every ID number and mobile number in free text, masked."""
    text = _ID_NUMBER.sub(lambda m: m[1] + "*" * 11 + m[2], text)
    return _MOBILE.sub(lambda m: m[1] + "****" + m[2], text)


class MaskingFilter(logging.Filter):
    """Rewrites a record's message (after %-formatting), exception text and stack so they hold no
    phone or ID numbers. Attach it to handlers: a logger's own filters miss records from child loggers."""

    @staticmethod
    def _mask_message(record: logging.LogRecord, masked: str) -> None:
        # Mask argument by argument where possible: some formatters read ``args`` themselves
        # (uvicorn's access log expects its five-tuple), so it must stay a tuple of the same shape.
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(mask_text(arg) if isinstance(arg, str) else arg for arg in record.args)
            if isinstance(record.msg, str):
                record.msg = mask_text(record.msg)
            try:
                if record.getMessage() == masked:
                    return
            except Exception:  # noqa: S110 - fall through to the whole-message replacement
                pass
        record.msg = masked
        record.args = ()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        masked = mask_text(message)
        if masked != message:
            self._mask_message(record, masked)
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the masked text is what gets written.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking(*logger_names: str) -> int:
    """Attach one ``MaskingFilter`` to every handler of the root logger and of the named loggers (for
    loggers that do not propagate, e.g. ``uvicorn.access``). Idempotent; returns how many handlers
    got a new filter. Call it after logging is configured: handlers added later are not covered."""
    added = 0
    for logger in [logging.getLogger(), *(logging.getLogger(name) for name in logger_names)]:
        for handler in logger.handlers:
            if not any(isinstance(existing, MaskingFilter) for existing in handler.filters):
                handler.addFilter(MaskingFilter())
                added += 1
    return added
