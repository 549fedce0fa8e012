"""The FastAPI application: ``/api/v1`` routers, health checks, the built front ends, and the
background services that run inside the process in embedded mode."""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ihos import __version__
from ihos.config import Settings, get_settings
from ihos.db import READ_ONLY, dispose_engine, get_engine
from ihos.jobs import in_app
from ihos.kit.http import install_error_handlers
from ihos.kit.method_override import MethodOverride
from ihos.kit.ratelimit import close_rate_limiter
from ihos.kit.schema import ERROR_RESPONSES
from ihos.migrations import is_current
from ihos.realtime import close_hub
from ihos.security.keys import get_keyring
from ihos.security.masking import install_log_masking

log = logging.getLogger(__name__)

# One router per domain; each module exposes ``router``. The tag of each router names its domain.
ROUTER_MODULES = [
    "ihos.auth.api",
    "ihos.organization.api",
    "ihos.patients.api",
    "ihos.files.api",
    "ihos.billing.api",
    "ihos.scheduling.api",
    "ihos.booking.api",
    "ihos.queueing.api",
    "ihos.audit.api",
    "ihos.backoffice.api",
    "ihos.backoffice.sandbox_api",
]

TAGS = [
    {"name": "auth", "description": "注册、登录、短信验证码、密码与会话"},
    {"name": "organisation", "description": "医院、院区、科室、工作人员与角色"},
    {"name": "patients", "description": "就诊人、实名认证、收货地址；患者后台管理与实名审核"},
    {"name": "files", "description": "文件（仅凭短时签名链接访问）"},
    {"name": "payments", "description": "订单、支付、退款、诊间缴费；支付渠道回调；对接系统下单"},
    {
        "name": "scheduling",
        "description": "号源：号类、号别、渠道、节假日、排班计划、预约规则、出诊生成与加诊、取消；"
        "预约挂号记录与号源状态；我的排班；患者端科室、医生与排班查询",
    },
    {"name": "booking", "description": "预约挂号：锁号、支付、取消、我的预约"},
    {
        "name": "booking-desk",
        "description": "预约管理：查询、退号、释放锁号、签到与爽约、黑名单、停诊、预约链接",
    },
    {"name": "booking-system", "description": "预约挂号对接接口：HIS窗口、自助机（签名请求）"},
    {"name": "queue", "description": "候诊：手机签到、签到码、我的候诊"},
    {"name": "queue-desk", "description": "排队叫号：分诊签到、叫号、队列与规则、叫号屏"},
    {"name": "queue-system", "description": "排队叫号对接接口（自助机、HIS）"},
    {"name": "queue-live", "description": "叫号屏、工作站与患者端的实时推送"},
    {"name": "finance", "description": "财务：订单查询、退款审批、异常订单、渠道与权限设置"},
    {"name": "audit", "description": "操作日志（审计管理员）"},
    {"name": "system", "description": "字典、系统规则、后台任务、对接系统"},
    {"name": "sandbox", "description": "演示模式：沙箱收件箱与模拟授权码"},
    {"name": "health", "description": "进程与依赖的健康检查"},
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    install_log_masking("uvicorn.access", "uvicorn.error")
    # httpx logs whole request URLs at INFO, and some counterparts take secrets in the query string.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    get_keyring()  # fail at start-up, not at the first request, when keys are missing
    # What start-up built (routes, models, schemas, the ORM's mappers: most of the heap) lives as long as
    # the process. Frozen, it is no longer walked by the collector's full collections, each of which
    # otherwise stalls every request of the process for over 0.1 s (450,000 objects here): the booking
    # rush's p99 went from 340–400 ms to under 200 ms (docs/benchmarks.md).
    gc.collect()
    gc.freeze()
    async with AsyncExitStack() as stack:
        if settings.jobs_in_app:
            await stack.enter_async_context(in_app())
        yield
    await close_hub()
    await close_rate_limiter()
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
    app.state.session_override = None  # tests put their session here (kit.http.db_session)
    install_error_handlers(app)
    app.add_middleware(MethodOverride)
    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
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
