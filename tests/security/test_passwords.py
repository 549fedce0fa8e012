"""argon2id password hashes and the password rules."""

from __future__ import annotations

import pytest

from ihos.security.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    temporary_password,
    verify_password,
)

FAST_PREFIX = "$argon2id$v=19$m=1024,t=1,p=1$"
PRODUCTION_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"

TOO_SHORT = "密码至少需要 8 个字符。"
TOO_LONG = "密码不能超过 64 个字符。"
TOO_FEW_CLASSES = "密码需要包含大写字母、小写字母、数字和符号中的至少三类。"
HAS_USERNAME = "密码不能包含用户名。"
TOO_COMMON = "这个密码太常见，容易被猜到，请换一个。"


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IHOS_PASSWORD_HASH_FAST", "1")


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IHOS_PASSWORD_HASH_FAST", raising=False)


class TestHashPassword:
    def test_it_works(self, fast: None) -> None:
        hashed = hash_password("Zhang-San-2026")
        assert hashed.startswith(FAST_PREFIX)
        assert verify_password(hashed, "Zhang-San-2026") is True

    def test_production_parameters(self, production: None) -> None:
        hashed = hash_password("Zhang-San-2026")
        assert hashed.startswith(PRODUCTION_PREFIX)
        assert verify_password(hashed, "Zhang-San-2026") is True
        assert needs_rehash(hashed) is False

    def test_salted(self, fast: None) -> None:
        assert hash_password("Zhang-San-2026") != hash_password("Zhang-San-2026")


class TestVerifyPassword:
    def test_wrong_password_is_false(self, fast: None) -> None:
        assert verify_password(hash_password("Zhang-San-2026"), "zhang-san-2026") is False

    @pytest.mark.parametrize("stored", ["", "plain text", "$argon2id$v=19$m=1024,t=1,p=1$broken"])
    def test_malformed_hash_is_false(self, fast: None, stored: str) -> None:
        assert verify_password(stored, "Zhang-San-2026") is False


class TestNeedsRehash:
    def test_fast_hashes_are_rehashed_in_production(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("IHOS_PASSWORD_HASH_FAST", "1")
        hashed = hash_password("Zhang-San-2026")
        assert needs_rehash(hashed) is False
        monkeypatch.delenv("IHOS_PASSWORD_HASH_FAST")
        assert needs_rehash(hashed) is True
        assert verify_password(hashed, "Zhang-San-2026") is True  # still accepted until rehashed

    def test_malformed_hash_needs_rehash(self, fast: None) -> None:
        assert needs_rehash("not a hash") is True


class TestPasswordProblems:
    @pytest.mark.parametrize(
        "password", ["Zhang-San-2026", "abcDEF123", "abc!def#123", "ABC 123 xyz", "医院Abc12345"]
    )
    def test_acceptable(self, password: str) -> None:
        assert password_problems(password) == []

    def test_too_short(self) -> None:
        assert password_problems("Ab1!xyz") == [TOO_SHORT]

    def test_too_long(self) -> None:
        assert password_problems("Ab1!" * 16 + "x") == [TOO_LONG]
        assert password_problems("Ab1!" * 16) == []

    @pytest.mark.parametrize("password", ["abcdefgh", "abcdef12", "ABCDEF!!", "12345678"])
    def test_too_few_classes(self, password: str) -> None:
        assert password_problems(password) == [TOO_FEW_CLASSES]

    def test_contains_the_username(self) -> None:
        assert password_problems("Xx-ZhangSan-9", username="zhangsan") == [HAS_USERNAME]
        assert password_problems("Xx-ZhangSan-9", username="li") == []

    @pytest.mark.parametrize("password", ["P@ssw0rd", "Admin@123", "1qaz@WSX", "Aa123456"])
    def test_too_common(self, password: str) -> None:
        assert password_problems(password) == [TOO_COMMON]

    def test_several_problems_at_once(self) -> None:
        assert password_problems("alice", username="alice") == [TOO_SHORT, TOO_FEW_CLASSES, HAS_USERNAME]


class TestTemporaryPassword:
    def test_it_works(self) -> None:
        password = temporary_password()
        assert len(password) == 12
        assert password_problems(password) == []

    def test_every_class_and_no_look_alikes(self) -> None:
        passwords = [temporary_password() for _ in range(50)]
        assert len(set(passwords)) == 50
        for password in passwords:
            assert any(ch.islower() for ch in password)
            assert any(ch.isupper() for ch in password)
            assert any(ch.isdigit() for ch in password)
            assert any(ch in "@#%+=?" for ch in password)
            assert not set(password) & set("0O1lI")
