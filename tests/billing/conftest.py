"""Billing tests: sandbox channels whose notifications reach the app in-process, a verified patient
who pays, and orders made through the real services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ihos.billing import sandbox, service
from ihos.integrations.payment import courier
from ihos.models.accounts import Account
from ihos.models.billing import Order
from ihos.models.patients import Patient
from ihos.patients import service as patients
from tests.factories import bearer, make_account, patient_caller, patient_token

# 张伟 of the sandbox registries: real-name registry, insured (在职), no discount.
ZHANG_WEI = {"name": "张伟", "id_number": "110105198503120135", "phone": "13900000001"}
# 周秀英, 71: the intranet gives her 50% off registration and consultation.
ZHOU_XIUYING = {"name": "周秀英", "id_number": "500103195006060289", "phone": "13900000009"}
# 刘洋: a serviceman in the intranet's own registry (which ihos never sees).
LIU_YANG = {"name": "刘洋", "id_number": "510107197905300190", "phone": "13900000004"}

LINES = [service.LineIn("JC0001", "血常规", 1, 2_500), service.LineIn("ZC0001", "复诊诊查费", 1, 1_000)]


@pytest.fixture(autouse=True)
def _notifications_reach_the_app(app: Any) -> Iterator[None]:
    courier.transport = httpx.ASGITransport(app=app)
    yield
    courier.transport = None


@pytest.fixture(autouse=True)
def _sandboxes_behave() -> Iterator[None]:
    sandbox.reset_controls()
    yield
    sandbox.reset_controls()


@dataclass
class PayingPatient:
    account_id: Any
    patient_id: Any
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def verified_patient(session: AsyncSession, person: dict[str, str] = ZHANG_WEI) -> PayingPatient:
    account = await make_account(session, phone=person["phone"])
    patient = await patients.verify_real_name(
        session, patient_caller(account), name=person["name"], id_number=person["id_number"], phone=None
    )
    return PayingPatient(account.id, patient.id, await patient_token(session, account))


@pytest.fixture
async def payer(session: AsyncSession) -> PayingPatient:
    return await verified_patient(session)


async def make_order(
    session: AsyncSession,
    payer: PayingPatient,
    *,
    lines: list[service.LineIn] | None = None,
    kind: str = "exam",
) -> Order:
    patient = await session.get_one(Patient, payer.patient_id)
    caller = patient_caller(await session.get_one(Account, payer.account_id))
    return await service.create_order(
        session,
        caller,
        account_id=payer.account_id,
        patient=patient,
        business_kind=kind,
        business_reference=None,
        description="测试缴费",
        lines=lines or LINES,
    )


async def paid(
    client: httpx.AsyncClient,
    session: AsyncSession,
    run_jobs: Any,
    payer: PayingPatient,
    order_number: str,
    channel: str = "wechat",
) -> None:
    """The patient opens the channel's payment and pays; its notification and the HIS write-back follow."""
    response = await client.post(
        f"/api/v1/me/orders/{order_number}/pay",
        headers=payer.headers,
        json={"channel": channel, "scene": "h5"},
    )
    assert response.status_code == 200, response.text
    await sandbox.simulate_payment(session, channel, order_number)
    await session.commit()
    await run_jobs()
