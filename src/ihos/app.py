"""The FastAPI application: ``/api/v1`` routers, health checks, the built front ends, and the
background services that run inside the process in embedded mode."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ihos import __version__
from ihos.config import Settings, get_settings
from ihos.db import READ_ONLY, dispose_engine, get_engine
from ihos.kit.http import install_error_handlers
from ihos.migrations import is_current

log = logging.getLogger(__name__)

# One router per domain; each module exposes ``router``. The tag of each router names its domain.
ROUTER_MODULES: list[str] = []

TAGS = [
    {"name": "health", "description": "进程与依赖的健康检查"},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await dispose_engine()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="ihos 互联网医院",
        version=__version__,
        openapi_url="/openapi.json",
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    api = APIRouter(prefix="/api/v1")
    for module in ROUTER_MODULES:
        api.include_router(importlib.import_module(module).router)
    app.include_router(api)
    _add_health_checks(app)
    _mount_front_ends(app, settings.web_dir)
    return app


def _add_health_checks(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"], summary="进程存活")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="可以接收请求：数据库可用且结构为最新")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with get_engine().connect() as connection:
                await connection.execution_options(**READ_ONLY)
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
            checks["migrations"] = "ok" if await is_current(get_engine()) else "pending"
        except Exception as exc:  # readiness reports any failure, it never raises
            checks["database"] = f"error: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
        )


def _mount_front_ends(app: FastAPI, web_dir: Path) -> None:
    """Serve the built patient app at /h5/ and the staff console at /console/ when they exist."""
    from ihos.kit.spa import mount_spa

    mount_spa(app, "/h5", web_dir / "patient" / "dist" / "build" / "h5")
    mount_spa(app, "/console", web_dir / "console" / "dist")
