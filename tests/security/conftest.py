"""Fixtures for the security tests: a private key file per test and each SM2 backend in turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ihos.config import get_settings
from ihos.security import gm
from ihos.security.keys import generate_key_file, reset_keyring_cache


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh key file that ``get_keyring()`` reads for the duration of the test."""
    path = tmp_path / "keys" / "keys.json"
    generate_key_file(path)
    monkeypatch.setattr(get_settings(), "key_file", path)
    reset_keyring_cache()
    yield path
    reset_keyring_cache()


@pytest.fixture(params=sorted(gm.BACKENDS))
def sm2_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs the test once per installed SM2 backend (gmssl-pyx and snowland-smx)."""
    previous = gm.active_backend()
    gm.use_backend(request.param)
    yield request.param
    gm.use_backend(previous)
