"""The file content endpoint, reached only through signed links, and a helper for upload endpoints."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response, UploadFile

from ihos.files import service
from ihos.files.inspect import FileKind
from ihos.kit.http import DbSession
from ihos.models.files import FilePurpose, StoredFile

router = APIRouter(prefix="/files", tags=["files"])

# Shown in the browser; everything else (PDF) is downloaded, never rendered in our origin.
_INLINE_TYPES = {FileKind.JPEG.value, FileKind.PNG.value, FileKind.WEBP.value}
_EXTENSIONS = {kind.value: kind.extension for kind in FileKind}


@router.get(
    "/{file_id}/content",
    summary="文件内容（凭签名链接访问）",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}, "application/pdf": {}}},
        403: {"description": "链接无效（link_invalid）或已过期（link_expired）"},
        404: {"description": "文件不存在（file_not_found）"},
    },
)
async def file_content(
    file_id: uuid.UUID,
    session: DbSession,
    expires: Annotated[int, Query(description="链接失效时间（Unix 秒）")],
    signature: Annotated[str, Query(max_length=128, description="HMAC-SM3 签名（十六进制）")],
) -> Response:
    file, data = await service.read_signed(session, file_id, expires, signature)
    return Response(
        content=data, media_type=file.content_type, headers=content_headers(file, expires=expires)
    )


def content_headers(file: StoredFile, *, expires: int) -> dict[str, str]:
    return {
        # Personal data: only the holder's browser may cache it, and not beyond the link's life.
        "Cache-Control": f"private, max-age={service.seconds_left(expires)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": content_disposition(file),
        # Should a browser ever treat the bytes as a document, it may run nothing and load nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }


def content_disposition(file: StoredFile) -> str:
    """``inline`` for images, ``attachment`` otherwise, with a name that has the stored type's extension."""
    disposition = "inline" if file.content_type in _INLINE_TYPES else "attachment"
    extension = _EXTENSIONS.get(file.content_type, "")
    stem = PurePosixPath(file.original_name).stem if file.original_name else ""
    name = (stem or str(file.id)) + extension
    # Plain filename= for old clients only when the name is printable ASCII; filename* carries UTF-8.
    plain = name.isascii() and name.isprintable() and not set(name) & {'"', "\\"}
    fallback = name if plain else f"{file.id}{extension}"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


async def read_upload(upload: UploadFile, purpose: FilePurpose) -> bytes:
    """An upload's bytes, read no further than one byte past the purpose's limit.

    For upload endpoints in other domains: ``service.store_file`` then refuses the oversized ones,
    without us holding an arbitrarily large body in memory first.
    """
    limit = service.rule_for(purpose).max_bytes
    return await upload.read(limit + 1)
