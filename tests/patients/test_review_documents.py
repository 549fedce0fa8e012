"""Identity review photos one at a time (mini-programs upload one file per request), and the phone a
review needs before it can be approved."""

from __future__ import annotations

import io

from PIL import Image

from tests.factories import bearer, make_account, patient_token

REVIEW = "/api/v1/me/real-name/review"


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 90, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


async def submit(client, headers) -> object:  # type: ignore[no-untyped-def]
    return await client.post(
        REVIEW,
        headers=headers,
        data={"name": "郑小红", "id_number": "110101199003070513"},
        files=[("documents", ("front.jpg", jpeg(), "image/jpeg"))],
    )


class TestOnePhotoAtATime:
    async def test_it_works(self, session, client):
        headers = bearer(await patient_token(session, await make_account(session)))
        review = (await submit(client, headers)).json()
        added = await client.post(
            f"{REVIEW}/{review['id']}/documents",
            headers=headers,
            files={"document": ("back.jpg", jpeg(), "image/jpeg")},
        )
        assert added.status_code == 200, added.text
        assert added.json()["state"] == "pending"

    async def test_at_most_three(self, session, client):
        headers = bearer(await patient_token(session, await make_account(session)))
        review = (await submit(client, headers)).json()
        for expected in (200, 200, 400):
            added = await client.post(
                f"{REVIEW}/{review['id']}/documents",
                headers=headers,
                files={"document": ("more.jpg", jpeg(), "image/jpeg")},
            )
            assert added.status_code == expected

    async def test_someone_elses_review_is_not_found(self, session, client):
        owner = bearer(await patient_token(session, await make_account(session)))
        stranger = bearer(await patient_token(session, await make_account(session)))
        review = (await submit(client, owner)).json()
        added = await client.post(
            f"{REVIEW}/{review['id']}/documents",
            headers=stranger,
            files={"document": ("x.jpg", jpeg(), "image/jpeg")},
        )
        assert added.status_code == 404


class TestPhoneFirst:
    async def test_an_account_without_a_phone_binds_one_first(self, session, client):
        headers = bearer(
            await patient_token(session, await make_account(session, username="wuyi", phone=None))
        )
        response = await submit(client, headers)
        assert response.status_code == 400
        assert response.json()["error"] == "phone_required"
