"""Masked display of personal data and the log filter that scrubs phone and ID numbers."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from ihos.security.masking import (
    MaskingFilter,
    install_log_masking,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
)


class TestMaskPhone:
    def test_it_works(self) -> None:
        assert mask_phone("13812341234") == "138****1234"

    def test_other_lengths_keep_three_and_four(self) -> None:
        assert mask_phone("01012345678") == "010****5678"
        assert mask_phone("+8613812341234") == "+86*******1234"

    def test_too_short_is_all_stars(self) -> None:
        assert mask_phone("1234567") == "*******"

    @pytest.mark.parametrize("value", [None, ""])
    def test_nothing_passes_through(self, value: str | None) -> None:
        assert mask_phone(value) == value


class TestMaskIdNumber:
    def test_it_works(self) -> None:
        assert mask_id_number("11010519491231002X") == "110***********002X"

    def test_fifteen_digit_id(self) -> None:
        assert mask_id_number("110105491231002") == "110********1002"

    @pytest.mark.parametrize("value", [None, ""])
    def test_nothing_passes_through(self, value: str | None) -> None:
        assert mask_id_number(value) == value


class TestMaskName:
    @pytest.mark.parametrize(
        ("name", "masked"),
        [
            ("张", "*"),
            ("张三", "张*"),
            ("张小三", "张*三"),
            ("欧阳小明", "欧**明"),
            ("阿依古丽·买买提", "阿***·**提"),
            ("John Smith", "J*** S****"),
            ("Li", "L*"),
        ],
    )
    def test_it_works(self, name: str, masked: str) -> None:
        assert mask_name(name) == masked

    @pytest.mark.parametrize("value", [None, ""])
    def test_nothing_passes_through(self, value: str | None) -> None:
        assert mask_name(value) == value


class TestMaskText:
    def test_phone_and_id_number(self) -> None:
        assert (
            mask_text("patient 13812341234 id 11010519491231002X booked")
            == "patient 138****1234 id 110***********002X booked"
        )

    def test_spelled_with_country_code_and_separators(self) -> None:
        assert mask_text("call +86 138-1234-1234 or 8613912341234") == "call +86 138****1234 or 86139****1234"

    def test_longer_digit_runs_are_left_alone(self) -> None:
        assert mask_text("order 213812341234 and 1381234123456") == "order 213812341234 and 1381234123456"
        assert mask_text("trace 1101051949123100211") == "trace 1101051949123100211"

    def test_numbers_that_are_not_mobiles_are_left_alone(self) -> None:
        assert mask_text("amount 12812341234 fen") == "amount 12812341234 fen"


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through a masked handler into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("ihos.tests.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


class TestMaskingFilter:
    def test_arguments_are_masked_after_formatting(self, capture: tuple[logging.Logger, io.StringIO]) -> None:
        logger, stream = capture
        logger.info("sms to %s for patient %s", "13812341234", "11010519491231002X")
        assert stream.getvalue() == "INFO sms to 138****1234 for patient 110***********002X\n"

    def test_exception_text_is_masked(self, capture: tuple[logging.Logger, io.StringIO]) -> None:
        logger, stream = capture
        try:
            raise ValueError("no patient with phone 13812341234")
        except ValueError:
            logger.exception("lookup failed")
        output = stream.getvalue()
        assert "13812341234" not in output
        assert "ValueError: no patient with phone 138****1234" in output

    def test_a_clean_record_keeps_its_arguments(self) -> None:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "slot %s", ("42",), None)
        assert MaskingFilter().filter(record) is True
        assert record.msg == "slot %s"
        assert record.args == ("42",)


class TestInstallLogMasking:
    def test_it_is_idempotent(self, monkeypatch: pytest.MonkeyPatch) -> None:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        root = logging.getLogger()
        monkeypatch.setattr(root, "handlers", [handler])
        assert install_log_masking() == 1
        assert install_log_masking() == 0
        assert len(handler.filters) == 1

        logging.getLogger("ihos.tests.install").warning("patient 13812341234")
        assert stream.getvalue() == "patient 138****1234\n"

    def test_named_loggers_that_do_not_propagate(self, monkeypatch: pytest.MonkeyPatch) -> None:
        root_handler = logging.StreamHandler(io.StringIO())
        access_handler = logging.StreamHandler(io.StringIO())
        monkeypatch.setattr(logging.getLogger(), "handlers", [root_handler])
        monkeypatch.setattr(logging.getLogger("uvicorn.access"), "handlers", [access_handler])
        assert install_log_masking("uvicorn.access") == 2
        assert [type(f) for f in access_handler.filters] == [MaskingFilter]


class TestAccessLogShape:
    def test_uvicorn_access_records_keep_their_arguments(self):
        import logging

        from ihos.security.masking import MaskingFilter

        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", "/api/v1/sandbox/sms?phone=13812345678", "1.1", 200),
            None,
        )
        assert MaskingFilter().filter(record)
        assert isinstance(record.args, tuple) and len(record.args) == 5
        assert (
            record.getMessage() == '127.0.0.1:5000 - "GET /api/v1/sandbox/sms?phone=138****5678 HTTP/1.1" 200'
        )
