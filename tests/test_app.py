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
