"""The application shell: health checks, the error model, the OpenAPI document."""

from __future__ import annotations


class TestHealth:
    async def test_it_works(self, client):
        response = await client.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_ready_when_database_is_migrated(self, client):
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}


class TestErrors:
    async def test_unknown_route_is_a_json_404(self, client):
        response = await client.get("/api/v1/no-such-thing")
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "message": "要找的内容不存在"}


class TestOpenApi:
    async def test_document_is_served(self, client):
        response = await client.get("/openapi.json")
        assert response.status_code == 200
        assert response.json()["info"]["title"] == "ihos 互联网医院"


class TestMethodOverride:
    """Mini-programs send PUT/PATCH/DELETE as POST with X-HTTP-Method-Override."""

    async def test_post_becomes_delete(self, session, client):
        from tests.factories import bearer, make_account, patient_token

        token = await patient_token(session, await make_account(session))
        listed = await client.get("/api/v1/auth/sessions", headers=bearer(token))
        session_id = listed.json()[0]["id"]
        response = await client.post(
            f"/api/v1/auth/sessions/{session_id}",
            headers=bearer(token) | {"X-HTTP-Method-Override": "DELETE"},
        )
        assert response.status_code == 204
        assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401

    async def test_get_is_never_overridden(self, client):
        response = await client.get("/api/v1/auth/policies", headers={"X-HTTP-Method-Override": "DELETE"})
        assert response.status_code == 200


class TestOpenApiErrors:
    async def test_error_shapes_are_documented(self, client):
        document = (await client.get("/openapi.json")).json()
        responses = document["paths"]["/api/v1/auth/sign-in/password"]["post"]["responses"]
        assert responses["401"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }
        assert responses["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/InvalidRequestOut"
        }

    async def test_one_tag_per_domain(self, client):
        document = (await client.get("/openapi.json")).json()
        tags = {
            tag
            for path in document["paths"].values()
            for operation in path.values()
            for tag in operation["tags"]
        }
        assert tags == {
            "auth",
            "organisation",
            "patients",
            "files",
            "payments",
            "finance",
            "audit",
            "system",
            "sandbox",
            "health",
        }


class TestSystemInfo:
    async def test_it_works(self, client):
        response = await client.get("/api/v1/system/info")
        assert response.json()["demo"] is False
