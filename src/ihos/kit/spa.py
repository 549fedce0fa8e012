"""Serving a built single-page app: files as they are, any other path under the prefix gets
``index.html`` so that client-side routes survive a reload."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from starlette.exceptions import HTTPException


def mount_spa(app: FastAPI, prefix: str, directory: Path) -> None:
    root = directory.resolve()

    @app.get(prefix, include_in_schema=False)
    async def spa_root() -> RedirectResponse:
        return RedirectResponse(f"{prefix}/")

    @app.get(prefix + "/{path:path}", include_in_schema=False)
    async def spa_file(path: str) -> FileResponse:
        if not (root / "index.html").is_file():
            raise HTTPException(404)
        candidate = (root / path).resolve()
        if candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        if Path(path).suffix and not path.endswith(".html"):
            raise HTTPException(404)  # a missing asset is a 404, not the app shell
        return FileResponse(root / "index.html", headers={"Cache-Control": "no-cache"})
