"""System clients (HIS windows, kiosks): HMAC-SM3 signed requests, timestamps, nonces."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from ihos.auth import system_clients
from ihos.kit.ids import token
from ihos.kit.time import clock, now
from tests.factories import make_org

PATH = "/api/v1/system/ping"


def signed_headers(
    key_id: str,
    secret: str,
    *,
    method: str = "GET",
    path: str = PATH,
    body: bytes = b"",
    at: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    timestamp = str(at if at is not None else int(now().timestamp()))
    nonce = nonce or token(12)
    return {
        "X-Ihos-Key": key_id,
        "X-Ihos-Timestamp": timestamp,
        "X-Ihos-Nonce": nonce,
        "X-Ihos-Signature": system_clients.sign(secret, method, path, timestamp, nonce, body),
    }


@pytest.fixture
async def kiosk(session):
    org = await make_org(session)
    return await system_clients.create_client(
        session, org.admin, name="门诊一楼自助机", kind="kiosk", campus_id=org.campus.id
    )


class TestSignedRequests:
    async def test_it_works(self, client, kiosk):
        response = await client.get(PATH, headers=signed_headers(kiosk.client.key_id, kiosk.secret))
        assert response.status_code == 200, response.text
        assert response.json()["client"] == "门诊一楼自助机"
        assert response.json()["kind"] == "kiosk"

    async def test_unsigned(self, client):
        response = await client.get(PATH)
        assert response.status_code == 401
        assert response.json()["error"] == "signature_required"

    async def test_wrong_secret(self, client, kiosk):
        response = await client.get(PATH, headers=signed_headers(kiosk.client.key_id, "not-the-secret"))
        assert response.json()["error"] == "bad_signature"

    async def test_tampered_path(self, client, kiosk):
        headers = signed_headers(kiosk.client.key_id, kiosk.secret, path="/api/v1/system/other")
        assert (await client.get(PATH, headers=headers)).json()["error"] == "bad_signature"

    async def test_old_timestamp(self, client, kiosk):
        headers = signed_headers(kiosk.client.key_id, kiosk.secret, at=int(time.time()) - 301)
        assert (await client.get(PATH, headers=headers)).json()["error"] == "request_expired"

    async def test_replayed_nonce(self, client, kiosk):
        headers = signed_headers(kiosk.client.key_id, kiosk.secret)
        assert (await client.get(PATH, headers=headers)).status_code == 200
        replay = await client.get(PATH, headers=headers)
        assert replay.status_code == 401
        assert replay.json()["error"] == "request_replayed"

    async def test_deactivated_client(self, session, client, kiosk):
        org = await make_org(session)
        await system_clients.set_active(session, org.admin, kiosk.client.id, is_active=False)
        response = await client.get(PATH, headers=signed_headers(kiosk.client.key_id, kiosk.secret))
        assert response.json()["error"] == "bad_signature"

    async def test_rotated_secret(self, session, client, kiosk):
        org = await make_org(session)
        old_secret = kiosk.secret
        rotated = await system_clients.rotate_secret(session, org.admin, kiosk.client.id)
        key_id = kiosk.client.key_id
        assert (await client.get(PATH, headers=signed_headers(key_id, old_secret))).status_code == 401
        assert (await client.get(PATH, headers=signed_headers(key_id, rotated.secret))).status_code == 200

    async def test_nonces_are_pruned_after_the_window(self, session, client, kiosk, run_jobs):
        from sqlalchemy import func, select

        from ihos.models.system import RequestNonce

        await client.get(PATH, headers=signed_headers(kiosk.client.key_id, kiosk.secret))
        clock.travel(timedelta(minutes=11))
        await run_jobs()
        assert await session.scalar(select(func.count()).select_from(RequestNonce)) == 0
