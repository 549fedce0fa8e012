"""Browser tests: Python Playwright driving Debian's Chromium (never a downloaded browser) against a real
``ihos serve`` with the demo hospital, in a database and key file of its own.

They need Chromium (``apt-get install chromium``) and the built front ends (``make test`` builds them);
without Chromium they are skipped with a message that says so. Each test saves a screenshot of its last
screen under ``var/e2e/`` (a CI artifact and the source of the screenshots in the user guides).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest

from ihos.config import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = ROOT / "var" / "e2e"
H5_BUILD = ROOT / "web" / "patient" / "dist" / "build" / "h5" / "index.html"
CONSOLE_BUILD = ROOT / "web" / "console" / "dist" / "index.html"
# The demo administrators' TOTP secrets (ihos.demo.ADMIN_TOTP).
DEMO_PASSWORD = "Ihos@2026"

if not Path(CHROMIUM).exists():
    pytest.skip(
        "Chromium is not installed (apt-get install chromium): browser tests skipped", allow_module_level=True
    )


@pytest.hookimpl(tryfirst=True)  # before -m "not e2e" deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path

    def sms_code(self, phone: str) -> str:
        """The newest verification code the phone received (the demo's SMS sandbox inbox)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            messages = httpx.get(self.url("/api/v1/sandbox/sms"), params={"phone": phone, "limit": 1}).json()
            if messages and (match := re.search(r"验证码为(\d{6})", messages[0]["text"])):
                return match.group(1)
            time.sleep(0.2)
        raise AssertionError(f"no SMS code reached {phone}")

    @staticmethod
    def totp(secret: str) -> str:
        return pyotp.TOTP(secret).now()


def _allow_many_sign_ins(database: Path) -> None:
    """Every browser and API client of the suite signs in from 127.0.0.1: raise the per-address sign-in
    limit (20 a minute by default, a system rule) to its maximum, or a fast run is throttled mid-test."""
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT OR REPLACE INTO system_rules (key, value, created_at, updated_at)"
            " VALUES ('auth.sign_in_per_minute_per_address', '600', datetime('now'), datetime('now'))"
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``ihos serve`` in demo mode on a free port, after ``ihos migrate`` and ``ihos demo``."""
    for build in (H5_BUILD, CONSOLE_BUILD):
        if not build.exists():
            pytest.fail(f"{build.relative_to(ROOT)} is missing: build the front ends first (make web-build)")
    workdir = tmp_path_factory.mktemp("e2e-server")
    port = _free_port()
    env = os.environ | {
        "IHOS_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'ihos.db'}",
        "IHOS_KEY_FILE": str(workdir / "keys.json"),
        "IHOS_FILES__LOCAL_DIR": str(workdir / "files"),
        "IHOS_DEMO": "true",
        "IHOS_RUN_JOBS_IN_APP": "true",
        "IHOS_PASSWORD_HASH_FAST": "1",
        "IHOS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [sys.executable, "-m", "ihos.cli"]
    for step in (["migrate"], ["demo"]):
        subprocess.run([*command, *step], env=env, check=True, capture_output=True, timeout=180)  # noqa: S603
    _allow_many_sign_ins(workdir / "ihos.db")
    log = (workdir / "serve.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [*command, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base_url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"ihos serve did not start; see {workdir / 'serve.log'}")
            time.sleep(0.3)
        yield Server(base_url)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield chromium
        await chromium.close()


async def _page(browser, request: pytest.FixtureRequest, **context_options):  # type: ignore[no-untyped-def]
    context = await browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context_options)
    context.set_default_timeout(15_000)
    page = await context.new_page()
    return context, page


async def _finish(context, page, request: pytest.FixtureRequest) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    await context.close()


@pytest.fixture
async def phone_page(browser, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A page the size of a phone (375 × 812), as the patient app is used."""
    context, page = await _page(
        browser,
        request,
        viewport={"width": 375, "height": 812},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    yield page
    await _finish(context, page, request)


@pytest.fixture
async def desk_page(browser, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A page the size of a desk screen (1366 × 900), as the console is used."""
    context, page = await _page(browser, request, viewport={"width": 1366, "height": 900})
    yield page
    await _finish(context, page, request)
