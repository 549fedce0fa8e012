"""Storing uploaded files and handing them out through short-lived signed links.

Who may upload or receive a link is decided by the calling domain (staff profile, identity review…);
this module checks the content, keeps the bytes in the file storage with a ``StoredFile`` row, and
serves a file to whoever presents a valid, unexpired link signed with the link key.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ihos.config import get_settings
from ihos.db import after_commit
from ihos.errors import IhosError, NotFound
from ihos.files import inspect
from ihos.files.inspect import FileKind
from ihos.files.storage import ObjectMissing, get_storage
from ihos.kit.ids import uuid7
from ihos.kit.time import now
from ihos.models.files import FilePurpose, StoredFile
from ihos.security.gm import hmac_sm3, sm3
from ihos.security.keys import get_keyring

MB = 1024 * 1024
# Where the content endpoint is mounted (``ihos.files.api`` under ``/api/v1``).
CONTENT_PATH = "/api/v1/files/{file_id}/content"
# A link is a bearer credential: keep it short-lived even when a caller asks for more.
MAX_LINK_TTL_SECONDS = 24 * 3600


# ---- errors ---------------------------------------------------------------------------------------


class FileTooLarge(IhosError):
    # 413 like nginx's own refusal above client_max_body_size, so clients handle one status.
    code = "file_too_large"
    status = 413
    default_message = "文件太大"


class FileTypeNotAllowed(IhosError):
    code = "file_type_not_allowed"
    status = 400
    default_message = "不支持此文件类型"


class FileEmpty(IhosError):
    code = "file_empty"
    status = 400
    default_message = "文件是空的，请重新选择"


class LinkExpired(IhosError):
    code = "link_expired"
    status = 403
    default_message = "链接已过期，请刷新页面后重试"


class LinkInvalid(IhosError):
    code = "link_invalid"
    status = 403
    default_message = "链接无效"


class FileNotFound(NotFound):
    code = "file_not_found"
    default_message = "文件不存在或已被删除"


class FileDamaged(IhosError):
    code = "file_damaged"
    status = 500
    default_message = "文件已损坏，请联系管理员"


# ---- rules per purpose ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PurposeRule:
    """What an upload for one purpose may be: its types (as uploaded) and its size in bytes."""

    kinds: frozenset[FileKind]
    max_bytes: int


RULES: dict[FilePurpose, PurposeRule] = {
    FilePurpose.STAFF_PHOTO: PurposeRule(frozenset({FileKind.JPEG, FileKind.PNG, FileKind.WEBP}), 5 * MB),
    FilePurpose.IDENTITY_DOCUMENT: PurposeRule(
        frozenset({FileKind.JPEG, FileKind.PNG, FileKind.PDF}), 10 * MB
    ),
}


def rule_for(purpose: FilePurpose) -> PurposeRule:
    return RULES[FilePurpose(purpose)]


# ---- storing --------------------------------------------------------------------------------------

_KIND_LABEL = re.compile(r"[a-z][a-z0-9_]{0,39}")


async def store_file(
    session: AsyncSession,
    *,
    purpose: FilePurpose,
    data: bytes,
    filename: str | None,
    owner_kind: str,
    owner_id: uuid.UUID,
    uploaded_by_kind: str,
    uploaded_by_id: uuid.UUID,
) -> StoredFile:
    """Check ``data`` against the purpose's rules, store what we produce from it, and add its row.

    Refusals happen before anything is written. Never commits; flushes so that the row exists for
    foreign keys. If the surrounding transaction later rolls back, the stored object is left without
    a row: never served, but kept until a sweep removes it (docs/operator/files.md, Housekeeping).
    """
    purpose = FilePurpose(purpose)
    _check_kind_label(owner_kind)
    _check_kind_label(uploaded_by_kind)
    kind = check_upload(data, rule_for(purpose))
    produced, digest = await asyncio.to_thread(_produce, data, kind)
    file_id = uuid7()
    file = StoredFile(
        id=file_id,
        purpose=purpose,
        content_type=produced.kind.value,
        size=len(produced.data),
        sm3_digest=digest,
        storage_key=f"{purpose.value}/{now():%Y/%m}/{file_id}{produced.kind.extension}",
        original_name=sanitise_filename(filename),
        owner_kind=owner_kind,
        owner_id=owner_id,
        uploaded_by_kind=uploaded_by_kind,
        uploaded_by_id=uploaded_by_id,
    )
    storage = get_storage()
    await storage.put(file.storage_key, produced.data, file.content_type)
    session.add(file)
    try:
        await session.flush()
    except Exception:
        await storage.delete(file.storage_key)
        raise
    return file


def check_upload(data: bytes, rule: PurposeRule) -> FileKind:
    """The upload's kind, read from its bytes, if the rule allows it; otherwise a refusal."""
    if not data:
        raise FileEmpty()
    if len(data) > rule.max_bytes:
        raise FileTooLarge(
            f"文件不能超过 {rule.max_bytes // MB} MB",
            details={"max_bytes": rule.max_bytes},
        )
    kind = inspect.sniff(data)
    if kind is None or kind not in rule.kinds:
        raise _type_not_allowed(rule)
    return kind


def _produce(data: bytes, kind: FileKind) -> tuple[inspect.Produced, str]:
    """Runs in a worker thread: decoding and re-encoding a photo takes a noticeable fraction of a second."""
    try:
        produced = inspect.produce(data, kind)
    except inspect.TooManyPixels:
        raise FileTooLarge(
            f"图片尺寸过大，像素总数不能超过 {inspect.MAX_PIXELS // 10_000} 万",
            details={"max_pixels": inspect.MAX_PIXELS},
        ) from None
    except inspect.NotAcceptable:
        raise FileTypeNotAllowed("文件已损坏或格式不正确，请重新选择") from None
    return produced, sm3(produced.data).hex()


def _type_not_allowed(rule: PurposeRule) -> FileTypeNotAllowed:
    names = [kind.name for kind in FileKind if kind in rule.kinds]
    return FileTypeNotAllowed(
        f"不支持此文件类型，请上传 {'、'.join(names)} 格式的文件",
        details={"allowed": [kind.value for kind in FileKind if kind in rule.kinds]},
    )


def _check_kind_label(label: str) -> None:
    if not _KIND_LABEL.fullmatch(label):
        raise ValueError(f"owner or uploader kind must be a short lower-case label, not {label!r}")


_NAME_FORBIDDEN = set('<>:"|?*')
MAX_NAME_LENGTH = 100


def sanitise_filename(name: str | None) -> str | None:
    """The client's file name reduced to something safe to show and to put in a header, or None.

    Drops any directory part, control and format characters (including the right-to-left override
    used to disguise ``exe.jpg`` names) and characters Windows refuses; keeps the extension when
    shortening.
    """
    if not name:
        return None
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        char
        for char in name
        if char not in _NAME_FORBIDDEN
        and unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
    )
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_NAME_LENGTH - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_NAME_LENGTH]
    return name or None


# ---- reading and deleting -------------------------------------------------------------------------


async def get_file(session: AsyncSession, file_id: uuid.UUID) -> StoredFile:
    file = await session.get(StoredFile, file_id)
    if file is None:
        raise FileNotFound()
    return file


async def read_file(file: StoredFile) -> bytes:
    """The stored bytes, checked against the digest taken when they were stored."""
    try:
        data = await get_storage().get(file.storage_key)
    except ObjectMissing:
        raise FileNotFound() from None
    digest = await asyncio.to_thread(sm3, data)
    # An object that changed under us (a damaged disk, a bucket written by someone else) is never served.
    if not hmac.compare_digest(digest.hex(), file.sm3_digest):
        raise FileDamaged()
    return data


async def delete_file(session: AsyncSession, file: StoredFile) -> None:
    """Delete the row now and the stored object once that deletion has committed."""
    storage, key = get_storage(), file.storage_key
    await session.delete(file)
    await session.flush()

    async def remove_object() -> None:
        await storage.delete(key)

    after_commit(session, remove_object)


# ---- signed links ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at: datetime


def make_link(file: StoredFile, *, ttl_seconds: int | None = None) -> SignedLink:
    """A link to the file's content that anyone holding it may use until it expires."""
    ttl = get_settings().files.link_ttl_seconds if ttl_seconds is None else ttl_seconds
    if not 0 < ttl <= MAX_LINK_TTL_SECONDS:
        raise ValueError(f"link lifetime must be 1..{MAX_LINK_TTL_SECONDS} seconds, not {ttl}")
    expires = int(now().timestamp()) + ttl
    path = CONTENT_PATH.format(file_id=file.id)
    return SignedLink(
        url=f"{path}?expires={expires}&signature={_signature(file.id, expires)}",
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


def signed_link(file: StoredFile, *, ttl_seconds: int | None = None) -> str:
    return make_link(file, ttl_seconds=ttl_seconds).url


async def read_signed(
    session: AsyncSession, file_id: uuid.UUID, expires: int, signature: str
) -> tuple[StoredFile, bytes]:
    """The file behind a link, refusing forged or expired links before touching the database."""
    check_link(file_id, expires, signature)
    file = await get_file(session, file_id)
    return file, await read_file(file)


def check_link(file_id: uuid.UUID, expires: int, signature: str) -> None:
    expected = _signature(file_id, expires)
    # Constant-time, on bytes: compare_digest refuses non-ASCII str, and a link is client input.
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise LinkInvalid()
    # Checked after the signature, so "expired" is only ever said of a link we really issued.
    if now().timestamp() >= expires:
        raise LinkExpired()


def seconds_left(expires: int) -> int:
    return max(0, expires - int(now().timestamp()))


def _signature(file_id: uuid.UUID, expires: int) -> str:
    # The label keeps a file-link signature from ever being valid for another kind of link that
    # shares the link key.
    message = f"file-content|{file_id}|{expires}".encode()
    return hmac_sm3(get_keyring().link_key, message).hex()
