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

    async def test_schema_names_are_unique(self, client):
        # Two response models with one class name get module-path names ("ihos__x__EntryOut")
        # that break the front ends' typed client; each schema needs its own name.
        document = (await client.get("/openapi.json")).json()
        clashing = [name for name in document["components"]["schemas"] if name.startswith("ihos__")]
        assert clashing == []

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
            "scheduling",
            "booking",
            "booking-desk",
            "booking-system",
            "queue",
            "queue-desk",
            "queue-system",
            "queue-live",
            "audit",
            "system",
            "sandbox",
            "health",
        }


class TestSystemInfo:
    async def test_it_works(self, client):
        response = await client.get("/api/v1/system/info")
        assert response.json()["demo"] is False


class TestNoBlockingDependencies:
    """FastAPI runs a plain ``def`` endpoint or dependency in a worker thread: a thread hop per request
    that cost the booking rush a tenth of its speed. Everything on a request path is ``async def``."""

    @staticmethod
    def _endpoints(routes):  # type: ignore[no-untyped-def]
        for route in routes:
            if hasattr(route, "original_router"):  # an included router (FastAPI ≥ 0.16x)
                yield from TestNoBlockingDependencies._endpoints(route.original_router.routes)
            elif getattr(route, "dependant", None) is not None:
                yield route

    def test_every_endpoint_and_dependency_is_async(self, shared_app):
        import inspect

        def is_async(call) -> bool:  # type: ignore[no-untyped-def]
            return any(
                inspect.iscoroutinefunction(c) or inspect.isasyncgenfunction(c)
                for c in (call, type(call).__call__)
            )

        blocking: set[str] = set()

        def visit(dependant) -> None:  # type: ignore[no-untyped-def]
            if dependant.call is not None and not is_async(dependant.call):
                blocking.add(f"{dependant.call.__module__}.{dependant.call.__qualname__}")
            for sub in dependant.dependencies:
                visit(sub)

        endpoints = list(self._endpoints(shared_app.routes))
        for route in endpoints:
            visit(route.dependant)
        assert len(endpoints) > 100  # the walk reached the routers
        assert blocking == set()
