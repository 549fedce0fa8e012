"""The key file: creation with mode 0600, rotation, validation, and the process's cached key ring."""

from __future__ import annotations

import json
import logging
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from ihos.config import get_settings
from ihos.security.gm import SM2PrivateKey
from ihos.security.keys import (
    KeyFileInvalid,
    KeyFileMissing,
    generate_key_file,
    get_keyring,
    load_keyring,
    reset_keyring_cache,
    rotate_field_key,
)


def read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document))
    path.chmod(0o600)


class TestGenerateKeyFile:
    def test_it_works(self, tmp_path: Path) -> None:
        path = tmp_path / "nested" / "keys.json"
        generate_key_file(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        document = read(path)
        assert document["format"] == "ihos-keys"
        assert document["version"] == 1
        current = document["field_keys"]["current"]
        assert re.fullmatch(r"[0-9a-f]{8}", current)
        assert list(document["field_keys"]["keys"]) == [current]
        assert len(bytes.fromhex(document["field_keys"]["keys"][current]["sm4"])) == 16
        assert len(bytes.fromhex(document["index_key"])) == 32
        assert len(bytes.fromhex(document["link_key"])) == 32
        assert document["sm2"]["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
        assert list(tmp_path.joinpath("nested").iterdir()) == [path]  # no temporary file left behind

    def test_mode_is_0600_whatever_the_umask(self, tmp_path: Path) -> None:
        import os

        previous = os.umask(0)
        try:
            generate_key_file(tmp_path / "keys.json")
        finally:
            os.umask(previous)
        assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600

    def test_an_existing_file_is_kept(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        generate_key_file(path)
        before = path.read_text()
        with pytest.raises(FileExistsError):
            generate_key_file(path)
        assert path.read_text() == before

    def test_overwrite_replaces_every_key(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        generate_key_file(path)
        before = read(path)
        generate_key_file(path, overwrite=True)
        after = read(path)
        assert after["index_key"] != before["index_key"]
        assert after["sm2"]["private_key"] != before["sm2"]["private_key"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


class TestLoadKeyring:
    def test_it_works(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        generate_key_file(path)
        document = read(path)
        keyring = load_keyring(path)
        current = document["field_keys"]["current"]
        assert keyring.current_field_key_id == current
        assert keyring.field_keys == {current: bytes.fromhex(document["field_keys"]["keys"][current]["sm4"])}
        assert keyring.current_field_key == keyring.field_keys[current]
        assert keyring.index_key == bytes.fromhex(document["index_key"])
        assert keyring.link_key == bytes.fromhex(document["link_key"])
        assert keyring.sm2_private.to_pem() == document["sm2"]["private_key"]
        assert keyring.sm2_public.to_pem() == document["sm2"]["public_key"]

    def test_repr_shows_no_secret(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        generate_key_file(path)
        keyring = load_keyring(path)
        text = repr(keyring)
        for secret in [keyring.index_key, keyring.link_key, *keyring.field_keys.values()]:
            assert secret.hex() not in text
        assert keyring.sm2_private.to_hex() not in text

    def test_a_file_readable_by_others_is_loaded_with_a_warning(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "keys.json"
        generate_key_file(path)
        path.chmod(0o644)
        with caplog.at_level(logging.WARNING, logger="ihos.security.keys"):
            load_keyring(path)
        assert f"key file {path} is readable by others (mode 644): chmod 600 it" in caplog.messages

    def test_a_missing_file_raises(self, tmp_path: Path) -> None:
        with pytest.raises(FileNotFoundError):
            load_keyring(tmp_path / "absent.json")

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda d: d.update(format="other"), "is not an ihos key file"),
            (lambda d: d.update(version=2), "has version 2"),
            (
                lambda d: d["field_keys"].update(current="nope"),
                "field_keys.current 'nope' is not one of the keys",
            ),
            (lambda d: d["field_keys"].update(keys={}), "field_keys.keys is missing or empty"),
            (lambda d: d.update(index_key="00" * 16), "index_key must be 32 bytes, found 16"),
            (lambda d: d.update(link_key="zz"), "link_key is not hex"),
            (lambda d: d["field_keys"]["keys"].update({"Bad.Id": {"sm4": "00" * 16}}), "bad field key id"),
            (lambda d: d["sm2"].update(private_key="junk"), "sm2 key: no PEM block found"),
            (
                lambda d: d["sm2"].update(public_key=SM2PrivateKey.generate().public_key().to_pem()),
                "sm2.public_key does not belong to sm2.private_key",
            ),
        ],
    )
    def test_a_broken_file_is_refused(self, tmp_path: Path, change: Any, message: str) -> None:
        path = tmp_path / "keys.json"
        generate_key_file(path)
        document = read(path)
        change(document)
        write(path, document)
        with pytest.raises(KeyFileInvalid, match=re.escape(message)):
            load_keyring(path)

    def test_bad_json_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        path.write_text("{not json")
        with pytest.raises(KeyFileInvalid, match="cannot be read"):
            load_keyring(path)


class TestRotateFieldKey:
    def test_it_works(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        generate_key_file(path)
        before = read(path)
        new_id = rotate_field_key(path)
        after = read(path)
        old_id = before["field_keys"]["current"]
        assert new_id != old_id
        assert after["field_keys"]["current"] == new_id
        assert sorted(after["field_keys"]["keys"]) == sorted([old_id, new_id])
        assert after["field_keys"]["keys"][old_id] == before["field_keys"]["keys"][old_id]
        assert after["index_key"] == before["index_key"]
        assert after["sm2"] == before["sm2"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load_keyring(path).current_field_key_id == new_id

    def test_a_broken_file_is_not_rewritten(self, tmp_path: Path) -> None:
        path = tmp_path / "keys.json"
        generate_key_file(path)
        document = read(path)
        document["index_key"] = "00"
        write(path, document)
        with pytest.raises(KeyFileInvalid):
            rotate_field_key(path)
        assert read(path) == document


class TestGetKeyring:
    def test_it_is_loaded_once(self, key_file: Path) -> None:
        keyring = get_keyring()
        assert keyring.source == key_file
        assert get_keyring() is keyring

    def test_reset_reads_the_file_again(self, key_file: Path) -> None:
        first = get_keyring()
        reset_keyring_cache()
        assert get_keyring() is not first
        assert get_keyring().index_key == first.index_key

    def test_rotation_is_seen_by_this_process(self, key_file: Path) -> None:
        get_keyring()
        new_id = rotate_field_key(key_file)
        assert get_keyring().current_field_key_id == new_id

    def test_embedded_mode_generates_a_missing_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "var" / "keys.json"
        monkeypatch.setattr(get_settings(), "key_file", path)
        monkeypatch.setattr(get_settings(), "database_url", "sqlite+aiosqlite:///var/ihos.db")
        reset_keyring_cache()
        try:
            with caplog.at_level(logging.WARNING, logger="ihos.security.keys"):
                keyring = get_keyring()
        finally:
            reset_keyring_cache()
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert keyring.index_key == load_keyring(path).index_key
        assert caplog.messages == [f"no key file at {path}: generating one for embedded mode; back it up"]

    def test_server_mode_refuses_to_invent_keys(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "keys.json"
        monkeypatch.setattr(get_settings(), "key_file", path)
        monkeypatch.setattr(get_settings(), "database_url", "postgresql+asyncpg://ihos@db/ihos")
        reset_keyring_cache()
        try:
            with pytest.raises(KeyFileMissing, match=re.escape("`ihos keys generate`")):
                get_keyring()
        finally:
            reset_keyring_cache()
        assert not path.exists()
