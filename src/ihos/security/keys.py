"""Keys kept outside the code: one JSON key file (mode 0600) read once per process into a ``KeyRing``.

The file holds the SM4 field-encryption keys by id (one current, older ones still decrypt), the
blind-index key, the link-signing key and the server's SM2 key pair. Its format and the operator's
commands are described in docs/security/cryptography.md.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ihos.config import get_settings
from ihos.kit.time import now
from ihos.security.gm import SM4_KEY_SIZE, SM2PrivateKey, SM2PublicKey

logger = logging.getLogger(__name__)

FORMAT = "ihos-keys"
VERSION = 1
SECRET_KEY_SIZE = 32
_KEY_ID = re.compile(r"^[a-z0-9]{1,16}$")


class KeyFileMissing(RuntimeError):
    """No key file where the settings say; production never makes one silently."""


class KeyFileInvalid(ValueError):
    """The key file exists but cannot be used (bad JSON, missing or malformed keys)."""


@dataclass(frozen=True, repr=False)
class KeyRing:
    """Every key ihos uses at run time. Secret fields never appear in its repr."""

    field_keys: dict[str, bytes]
    current_field_key_id: str
    index_key: bytes
    link_key: bytes
    sm2_private: SM2PrivateKey
    sm2_public: SM2PublicKey
    source: Path | None = field(default=None, compare=False)

    @property
    def current_field_key(self) -> bytes:
        return self.field_keys[self.current_field_key_id]

    def __repr__(self) -> str:
        return (
            f"KeyRing(field_keys={sorted(self.field_keys)}, current={self.current_field_key_id!r}, "
            f"sm2_public={self.sm2_public!r}, source={self.source})"
        )


# -- writing --------------------------------------------------------------------------------------------


def _new_key_id(existing: dict[str, Any]) -> str:
    # Random rather than sequential: two copies of a file rotated independently cannot collide.
    while True:
        key_id = secrets.token_hex(4)
        if key_id not in existing:
            return key_id


def _field_key_entry() -> dict[str, str]:
    return {"sm4": secrets.token_bytes(SM4_KEY_SIZE).hex(), "created_at": now().isoformat()}


def _new_document() -> dict[str, Any]:
    key_id = _new_key_id({})
    private = SM2PrivateKey.generate()
    return {
        "format": FORMAT,
        "version": VERSION,
        "created_at": now().isoformat(),
        "field_keys": {"current": key_id, "keys": {key_id: _field_key_entry()}},
        "index_key": secrets.token_bytes(SECRET_KEY_SIZE).hex(),
        "link_key": secrets.token_bytes(SECRET_KEY_SIZE).hex(),
        "sm2": {"private_key": private.to_pem(), "public_key": private.public_key().to_pem()},
    }


def _write_private(path: Path, document: dict[str, Any], *, replace: bool) -> None:
    """Write atomically with mode 0600: readers see the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask says
            json.dump(document, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if the file exists, even when another process just made it
    finally:
        temporary.unlink(missing_ok=True)


def generate_key_file(path: Path, *, overwrite: bool = False) -> None:
    """Create a key file with fresh keys. Overwriting loses every key in the old file: data encrypted
    under it can no longer be read, so keep a backup of the old file if any data depends on it."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"key file {path} already exists")
    _write_private(path, _new_document(), replace=overwrite)


def rotate_field_key(path: Path) -> str:
    """Add a new field key, make it current and return its id. Older keys stay to decrypt old data."""
    document = _read_document(path)
    _parse(document, path)  # refuse to rewrite a file that is already broken
    keys = document["field_keys"]["keys"]
    key_id = _new_key_id(keys)
    keys[key_id] = _field_key_entry()
    document["field_keys"]["current"] = key_id
    _write_private(path, document, replace=True)
    logger.info("field key rotated in %s: current key id is now %s", path, key_id)
    reset_keyring_cache()  # this process sees the new current key at once
    return key_id


# -- reading --------------------------------------------------------------------------------------------


def _read_document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as error:
        raise KeyFileInvalid(f"key file {path} cannot be read: {error}") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise KeyFileInvalid(f"{path} is not an ihos key file")
    if document.get("version") != VERSION:
        raise KeyFileInvalid(f"key file {path} has version {document.get('version')!r}; expected {VERSION}")
    return document


def _secret(value: Any, size: int, name: str) -> bytes:
    try:
        secret = bytes.fromhex(value)
    except (TypeError, ValueError) as error:
        raise KeyFileInvalid(f"{name} is not hex") from error
    if len(secret) != size:
        raise KeyFileInvalid(f"{name} must be {size} bytes, found {len(secret)}")
    return secret


def _parse_field_keys(section: Any) -> tuple[dict[str, bytes], str]:
    if not isinstance(section, dict) or not isinstance(section.get("keys"), dict) or not section["keys"]:
        raise KeyFileInvalid("field_keys.keys is missing or empty")
    keys: dict[str, bytes] = {}
    for key_id, entry in section["keys"].items():
        if not _KEY_ID.match(key_id) or not isinstance(entry, dict):
            raise KeyFileInvalid(f"bad field key id or entry {key_id!r}")
        keys[key_id] = _secret(entry.get("sm4"), SM4_KEY_SIZE, f"field key {key_id}")
    current = section.get("current")
    if current not in keys:
        raise KeyFileInvalid(f"field_keys.current {current!r} is not one of the keys")
    return keys, current


def _parse_sm2(section: Any) -> SM2PrivateKey:
    if not isinstance(section, dict) or not isinstance(section.get("private_key"), str):
        raise KeyFileInvalid("sm2.private_key is missing")
    try:
        private = SM2PrivateKey.from_pem(section["private_key"])
        public = section.get("public_key")
        if public is not None and SM2PublicKey.from_pem(public) != private.public_key():
            raise KeyFileInvalid("sm2.public_key does not belong to sm2.private_key")
    except KeyFileInvalid:
        raise
    except ValueError as error:
        raise KeyFileInvalid(f"sm2 key: {error}") from error
    return private


def _parse(document: dict[str, Any], path: Path | None) -> KeyRing:
    field_keys, current = _parse_field_keys(document.get("field_keys"))
    private = _parse_sm2(document.get("sm2"))
    return KeyRing(
        field_keys=field_keys,
        current_field_key_id=current,
        index_key=_secret(document.get("index_key"), SECRET_KEY_SIZE, "index_key"),
        link_key=_secret(document.get("link_key"), SECRET_KEY_SIZE, "link_key"),
        sm2_private=private,
        sm2_public=private.public_key(),
        source=path,
    )


def load_keyring(path: Path) -> KeyRing:
    """Read and check a key file. ``FileNotFoundError`` if absent, ``KeyFileInvalid`` if unusable."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("key file %s is readable by others (mode %o): chmod 600 it", path, mode & 0o777)
    return _parse(_read_document(path), path)


# -- the process's key ring -----------------------------------------------------------------------------


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keyring: KeyRing | None = None
        self.signature: tuple[int, int] | None = None  # (mtime_ns, size) of the file when loaded


_state = _State()


def _file_signature(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


def _load_configured() -> KeyRing:
    settings = get_settings()
    path = settings.key_file
    if not path.exists():
        if not settings.is_sqlite:
            raise KeyFileMissing(
                f"key file {path} does not exist. Create it once with `ihos keys generate` (and back it "
                "up: encrypted data cannot be read without it), or set IHOS_KEY_FILE to where it is."
            )
        logger.warning("no key file at %s: generating one for embedded mode; back it up", path)
        # Another process of the same install may get there first: then its file is the one to use.
        with contextlib.suppress(FileExistsError):
            generate_key_file(path)
    keyring = load_keyring(path)
    _state.signature = _file_signature(path)
    return keyring


def get_keyring() -> KeyRing:
    """The process's key ring, loaded from the settings' key file on first use."""
    keyring = _state.keyring
    if keyring is None:
        with _state.lock:
            if _state.keyring is None:
                _state.keyring = _load_configured()
            keyring = _state.keyring
    return keyring


def reload_keyring_if_changed() -> KeyRing:
    """Re-read the key file if it changed since it was loaded (a rotation done by another process)."""
    keyring = get_keyring()
    if keyring.source is not None and _file_signature(keyring.source) != _state.signature:
        with _state.lock:
            _state.keyring = None
    return get_keyring()


def reset_keyring_cache() -> None:
    """Forget the loaded key ring so the next ``get_keyring()`` reads the file again (tests, rotation)."""
    with _state.lock:
        _state.keyring = None
        _state.signature = None
