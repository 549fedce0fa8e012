"""Password hashing (argon2id) and the password rules of MLPS level 3 (等保三级).

Production parameters follow OWASP's argon2id baseline (19 MiB, 2 passes, 1 lane: about 30 ms here).
``IHOS_PASSWORD_HASH_FAST=1`` switches to a minimal parameter set so test suites stay fast; hashes
made that way are reported by ``needs_rehash`` once the variable is unset.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
MAX_LENGTH = 64
MIN_CLASSES = 3
# Usernames shorter than this would forbid too many ordinary passwords when checked as substrings.
_MIN_USERNAME_CHECKED = 3

# Well-known passwords that satisfy the length and class rules (compared case-insensitively).
WEAK_PASSWORDS = frozenset(
    {
        "password1!",
        "p@ssw0rd",
        "p@ssword1",
        "passw0rd!",
        "passw0rd",
        "password123",
        "admin@123",
        "admin123!",
        "admin@1234",
        "admin123456",
        "abc@123456",
        "abc@1234",
        "abc123456",
        "aa123456",
        "aa123456!",
        "qq123456",
        "qwer1234",
        "qwer@1234",
        "qwe@1234",
        "qwerty123",
        "qwerty@123",
        "1qaz@wsx",
        "1qaz!qaz",
        "1qaz2wsx#edc",
        "zaq1@wsx",
        "root@123",
        "test@123",
        "woaini1314",
        "iloveyou1",
        "a1234567",
        "a123456789",
        "huawei@123",
        "welcome1",
        "changeme1",
    }
)


# Temporary passwords are read off an SMS or a screen: no characters that look alike (0/O, 1/l/I).
_TEMPORARY_CLASSES = ("abcdefghjkmnpqrstuvwxyz", "ABCDEFGHJKMNPQRSTUVWXYZ", "23456789", "@#%+=?")
TEMPORARY_LENGTH = 12


def _is_fast() -> bool:
    return os.environ.get("IHOS_PASSWORD_HASH_FAST", "").strip().lower() in {"1", "true", "yes"}


@lru_cache(maxsize=2)
def _hasher(fast: bool) -> PasswordHasher:
    if fast:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)


def hasher() -> PasswordHasher:
    """The argon2id hasher for the current mode (see the module docstring)."""
    return _hasher(_is_fast())


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(hash: str, password: str) -> bool:
    """Whether ``password`` matches ``hash``. A wrong password or a malformed hash gives False."""
    try:
        return hasher().verify(hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(hash: str) -> bool:
    """True when ``hash`` was made with other parameters: rehash it after the next good sign-in."""
    try:
        return hasher().check_needs_rehash(hash)
    except InvalidHashError:
        return True


def _character_classes(password: str) -> int:
    lower = any("a" <= ch <= "z" for ch in password)
    upper = any("A" <= ch <= "Z" for ch in password)
    digit = any("0" <= ch <= "9" for ch in password)
    symbol = any(not ("a" <= ch <= "z" or "A" <= ch <= "Z" or "0" <= ch <= "9") for ch in password)
    return lower + upper + digit + symbol


def password_problems(password: str, *, username: str | None = None) -> list[str]:
    """Why ``password`` is not acceptable, as sentences to show the user; empty when it is fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"密码至少需要 {MIN_LENGTH} 个字符。")
    if len(password) > MAX_LENGTH:
        problems.append(f"密码不能超过 {MAX_LENGTH} 个字符。")
    if _character_classes(password) < MIN_CLASSES:
        problems.append("密码需要包含大写字母、小写字母、数字和符号中的至少三类。")
    if username and len(username) >= _MIN_USERNAME_CHECKED and username.lower() in password.lower():
        problems.append("密码不能包含用户名。")
    if password.lower() in WEAK_PASSWORDS:
        problems.append("这个密码太常见，容易被猜到，请换一个。")
    return problems


def temporary_password() -> str:
    """A random 12-character password with all four classes, for resets (the user must change it)."""
    alphabet = "".join(_TEMPORARY_CLASSES)
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(TEMPORARY_LENGTH))
        has_every_class = all(any(ch in chars for ch in password) for chars in _TEMPORARY_CLASSES)
        if has_every_class and not password_problems(password):
            return password
