"""The user agreement, the privacy policy and the separate consents (PIPL), with their versions.

Registration accepts only the current versions, explicitly (nothing is pre-ticked in the apps).
Health data is sensitive personal information: its consent is separate, asked for at registration
and again before the first medical service if it was not given. A guardian consents for a family
patient under 14.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.errors import InvalidInput
from ihos.kit.time import now
from ihos.models.accounts import Consent

POLICY_DIR = Path(__file__).parent / "policies"


@dataclass(frozen=True)
class PolicyDocument:
    document: str
    version: str
    title: str
    body: str


DOCUMENTS = {
    "user_agreement": ("2026-11-01", "用户服务协议"),
    "privacy_policy": ("2026-11-01", "隐私政策"),
    "health_data": ("2026-11-01", "健康医疗信息处理单独同意书"),
    "guardian": ("2026-11-01", "未满十四周岁就诊人监护人同意书"),
}
REQUIRED_AT_REGISTRATION = ("user_agreement", "privacy_policy")


class ConsentRequired(InvalidInput):
    code = "consent_required"
    default_message = "请阅读并同意《用户服务协议》和《隐私政策》"


class ConsentOutdated(InvalidInput):
    code = "consent_outdated"
    default_message = "协议已更新，请重新阅读并同意最新版本"


@lru_cache
def policy(document: str) -> PolicyDocument:
    version, title = DOCUMENTS[document]
    body = (POLICY_DIR / f"{document}.md").read_text(encoding="utf-8")
    return PolicyDocument(document, version, title, body)


def current_version(document: str) -> str:
    return DOCUMENTS[document][0]


def check_registration_consents(given: dict[str, str | None]) -> dict[str, str]:
    """The consents to record, or a refusal when a required one is missing or outdated."""
    accepted: dict[str, str] = {}
    for document in DOCUMENTS:
        version = given.get(document)
        if version is None:
            if document in REQUIRED_AT_REGISTRATION:
                raise ConsentRequired()
            continue
        if version != current_version(document):
            raise ConsentOutdated()
        accepted[document] = version
    return accepted


async def record(
    session: AsyncSession,
    account_id: uuid.UUID,
    documents: dict[str, str],
    *,
    client_address: str | None,
    patient_id: uuid.UUID | None = None,
) -> None:
    for document, version in documents.items():
        session.add(
            Consent(
                account_id=account_id,
                document=document,
                version=version,
                patient_id=patient_id,
                accepted_at=now(),
                client_address=client_address,
            )
        )
    await session.flush()


async def has_consented(session: AsyncSession, account_id: uuid.UUID, document: str) -> bool:
    found = await session.scalar(
        select(Consent.id).where(
            Consent.account_id == account_id,
            Consent.document == document,
            Consent.version == current_version(document),
            Consent.withdrawn_at.is_(None),
        )
    )
    return found is not None
