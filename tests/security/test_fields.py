"""Encrypted fields: tokens, tampering, key rotation, blind indexes and the EncryptedString column."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.security.fields import (
    EncryptedString,
    UnknownFieldKey,
    blind_index,
    decrypt_field,
    encrypt_field,
)
from ihos.security.gm import IntegrityError, hmac_sm3, sm4_gcm_encrypt
from ihos.security.keys import get_keyring, reset_keyring_cache, rotate_field_key

TOKEN = re.compile(r"v1\.([0-9a-f]{8})\.([A-Za-z0-9_-]+)")


class TestEncryptField:
    def test_it_works(self, key_file: Path) -> None:
        token = encrypt_field("13812341234")
        match = TOKEN.fullmatch(token)
        assert match is not None
        assert match[1] == get_keyring().current_field_key_id
        assert decrypt_field(token) == "13812341234"

    def test_twenty_characters_fit_a_varchar_255(self, key_file: Path) -> None:
        # v1. + 8-character key id + . + base64url of 12 (nonce) + 20 + 16 (tag) bytes
        assert len(encrypt_field("a" * 20)) == 3 + 8 + 1 + 64
        assert len(encrypt_field("张" * 20)) == 3 + 8 + 1 + 118

    def test_each_encryption_differs(self, key_file: Path) -> None:
        assert encrypt_field("same") != encrypt_field("same")

    @pytest.mark.parametrize("value", ["", "张小三", "Zoë 🙂"])
    def test_round_trip(self, key_file: Path, value: str) -> None:
        assert decrypt_field(encrypt_field(value)) == value


def alter_body(token: str, position: int) -> str:
    version, key_id, body = token.split(".")
    data = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data[position] ^= 0x01
    return f"{version}.{key_id}.{base64.urlsafe_b64encode(bytes(data)).rstrip(b'=').decode()}"


class TestTampering:
    @pytest.mark.parametrize("position", [0, 11, 12, -1])  # nonce, nonce, ciphertext, tag
    def test_altered_bytes_are_refused(self, key_file: Path, position: int) -> None:
        with pytest.raises(IntegrityError):
            decrypt_field(alter_body(encrypt_field("13812341234"), position))

    def test_relabelled_key_id_is_refused(self, key_file: Path) -> None:
        # Even under an id that holds the very same key bytes: the id is authenticated as AAD.
        token = encrypt_field("13812341234")
        current = get_keyring().current_field_key_id
        document = json.loads(key_file.read_text())
        document["field_keys"]["keys"]["copy1"] = document["field_keys"]["keys"][current]
        key_file.write_text(json.dumps(document))
        reset_keyring_cache()
        assert get_keyring().field_keys["copy1"] == get_keyring().field_keys[current]
        with pytest.raises(IntegrityError):
            decrypt_field(token.replace(f"v1.{current}.", "v1.copy1."))

    @pytest.mark.parametrize(
        "token",
        [
            "",
            "v1",
            "v2.abcdef01.AAAA",
            "v1..AAAA",
            "v1.abcdef01.AA.AA",
            "v1.abcdef01.!!!!",
            "v1.abcdef01.AAAA",  # shorter than a nonce
        ],
    )
    def test_malformed_tokens_are_refused(self, key_file: Path, token: str) -> None:
        with pytest.raises(IntegrityError):
            decrypt_field(token)

    def test_non_canonical_base64_is_refused(self, key_file: Path) -> None:
        token = encrypt_field("x")  # 29 bytes: the last base64url character carries 2 unused bits
        last = token[-1]
        sibling = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        index = sibling.index(last)
        other = sibling[index ^ 1]  # same 4 significant bits, different padding bits
        with pytest.raises(IntegrityError, match="canonical"):
            decrypt_field(token[:-1] + other)

    def test_unknown_key_id_is_refused(self, key_file: Path) -> None:
        token = encrypt_field("x")
        key_id = get_keyring().current_field_key_id
        with pytest.raises(UnknownFieldKey, match="'0000aaaa' is not in the key file"):
            decrypt_field(token.replace(key_id, "0000aaaa"))


class TestRotation:
    def test_old_tokens_still_decrypt_and_new_ones_use_the_new_key(self, key_file: Path) -> None:
        old_id = get_keyring().current_field_key_id
        old_token = encrypt_field("110105194912310021")
        new_id = rotate_field_key(key_file)
        new_token = encrypt_field("110105194912310021")
        assert old_token.startswith(f"v1.{old_id}.")
        assert new_token.startswith(f"v1.{new_id}.")
        assert decrypt_field(old_token) == "110105194912310021"
        assert decrypt_field(new_token) == "110105194912310021"

    def test_a_key_added_by_another_process_is_picked_up(self, key_file: Path) -> None:
        get_keyring()  # loaded and cached before the file changes
        document = json.loads(key_file.read_text())
        key = bytes(range(16))
        document["field_keys"]["keys"]["ext1"] = {"sm4": key.hex(), "created_at": "2026-01-01T00:00:00+00:00"}
        key_file.write_text(json.dumps(document, indent=4))
        nonce = bytes(12)
        sealed = sm4_gcm_encrypt(key, nonce, b"from elsewhere", b"v1.ext1")
        token = "v1.ext1." + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()
        assert decrypt_field(token) == "from elsewhere"


class TestBlindIndex:
    def test_it_is_hmac_sm3_of_kind_and_value(self, key_file: Path) -> None:
        expected = hmac_sm3(get_keyring().index_key, b"phone:13812341234").hex()
        assert blind_index("13812341234", kind="phone") == expected
        assert len(expected) == 64

    def test_same_input_same_index(self, key_file: Path) -> None:
        assert blind_index("13812341234", kind="phone") == blind_index("13812341234", kind="phone")

    @pytest.mark.parametrize(
        "spelling",
        [
            "+86 138 1234 1234",
            "86-138-1234-1234",
            "0086 13812341234",
            "１３８１２３４１２３４",
            " 13812341234 ",
        ],
    )
    def test_phone_spellings_share_an_index(self, key_file: Path, spelling: str) -> None:
        assert blind_index(spelling, kind="phone") == blind_index("13812341234", kind="phone")

    def test_id_number_ignores_case_and_spaces(self, key_file: Path) -> None:
        expected = hmac_sm3(get_keyring().index_key, b"id_number:11010519491231002X").hex()
        assert blind_index("110105 19491231 002x", kind="id_number") == expected

    def test_username_keeps_case(self, key_file: Path) -> None:
        expected = hmac_sm3(get_keyring().index_key, b"username:Alice").hex()
        assert blind_index(" Alice ", kind="username") == expected
        assert blind_index("alice", kind="username") != expected

    def test_kinds_do_not_collide(self, key_file: Path) -> None:
        indexes = {blind_index("13812341234", kind=kind) for kind in ("phone", "id_number", "username")}
        assert len(indexes) == 3

    def test_different_values_differ(self, key_file: Path) -> None:
        assert blind_index("13812341234", kind="phone") != blind_index("13812341235", kind="phone")

    def test_bad_kind_is_refused(self, key_file: Path) -> None:
        with pytest.raises(ValueError, match="bad blind index kind"):
            blind_index("x", kind="phone:extra")


metadata = MetaData()
secrets_table = Table(
    "test_encrypted_values",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("phone", EncryptedString()),
    Column("note", EncryptedString(length=40)),
)


class TestEncryptedString:
    async def test_round_trip_through_a_table(self, key_file: Path, session: AsyncSession) -> None:
        await session.run_sync(lambda sync: secrets_table.create(sync.connection()))
        await session.execute(
            insert(secrets_table), [{"id": 1, "phone": "13812341234"}, {"id": 2, "phone": None}]
        )
        rows = (await session.execute(select(secrets_table).order_by(secrets_table.c.id))).all()
        assert [(row.id, row.phone) for row in rows] == [(1, "13812341234"), (2, None)]

        stored = (
            (await session.execute(text("SELECT phone FROM test_encrypted_values ORDER BY id")))
            .scalars()
            .all()
        )
        assert stored[1] is None
        assert TOKEN.fullmatch(stored[0])
        assert "13812341234" not in stored[0]
        assert decrypt_field(stored[0]) == "13812341234"

    async def test_a_value_too_long_for_the_column_is_refused(
        self, key_file: Path, session: AsyncSession
    ) -> None:
        await session.run_sync(lambda sync: secrets_table.create(sync.connection()))
        with pytest.raises(StatementError, match="value too long to store encrypted"):
            await session.execute(insert(secrets_table).values(id=1, note="x" * 20))

    def test_comparisons_are_refused(self) -> None:
        for comparison in (
            lambda: secrets_table.c.phone == "13812341234",
            lambda: secrets_table.c.phone.in_(["13812341234"]),
            lambda: secrets_table.c.phone.like("138%"),
        ):
            with pytest.raises(TypeError, match="query its blind index"):
                comparison()

    def test_null_tests_are_allowed(self) -> None:
        assert str(secrets_table.c.phone.is_(None)) == "test_encrypted_values.phone IS NULL"
        assert str(secrets_table.c.phone == None) == "test_encrypted_values.phone IS NULL"  # noqa: E711
        assert str(secrets_table.c.phone != None) == "test_encrypted_values.phone IS NOT NULL"  # noqa: E711

    def test_column_type_is_a_varchar(self) -> None:
        assert str(secrets_table.c.phone.type.compile()) == "VARCHAR(255)"
        assert str(secrets_table.c.note.type.compile()) == "VARCHAR(40)"
