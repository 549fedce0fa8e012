"""Settings, read from the environment (prefix ``IHOS_``) and an optional ``.env`` file.

The defaults run ihos embedded: SQLite under ``var/``, no Redis, every counterpart in sandbox mode.
Production sets ``IHOS_DATABASE_URL`` (PostgreSQL), ``IHOS_REDIS_URL`` and the live integrations.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ihos.integrations.settings import IntegrationSettings

ROOT = Path(__file__).resolve().parents[2]


class FilesSettings(BaseModel):
    """Where uploaded files live: local disk (embedded) or an S3-compatible store such as MinIO."""

    backend: Literal["local", "s3"] = "local"
    local_dir: Path = ROOT / "var" / "files"
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "ihos"
    s3_secure: bool = True
    s3_region: str = "us-east-1"
    link_ttl_seconds: int = 300


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="IHOS_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'ihos.db'}"
    # PostgreSQL connections kept per process: enough for the busiest moment (a connection opened past
    # the pool is closed again after use, and opening one costs far more than a booking).
    database_pool_size: int = 32
    database_max_overflow: int = 16
    # Test each connection with a round trip before use. Off by default: stale connections after a
    # database restart are detected on their first error and replaced (see db.create_engine).
    database_pre_ping: bool = False
    redis_url: str | None = None
    key_file: Path = ROOT / "var" / "keys.json"
    timezone: str = "Asia/Shanghai"
    # Demo mode seeds the demo hospital and shows sandbox inboxes (SMS) in the console.
    demo: bool = False
    # Run due work inside the app process (embedded mode). Production runs `ihos worker` instead.
    run_jobs_in_app: bool | None = None
    # Addresses of reverse proxies whose X-Forwarded-For we trust for the client address.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])
    public_base_url: str = "http://127.0.0.1:8000"
    files: FilesSettings = Field(default_factory=FilesSettings)
    integrations: IntegrationSettings = Field(default_factory=IntegrationSettings)
    web_dir: Path = ROOT / "web"
    log_level: str = "INFO"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def jobs_in_app(self) -> bool:
        if self.run_jobs_in_app is not None:
            return self.run_jobs_in_app
        return self.is_sqlite


@lru_cache
def get_settings() -> Settings:
    return Settings()
