"""The smart queue (智能排队叫号): the patient app's, the desks', the other systems' and the live routes."""

from __future__ import annotations

from fastapi import APIRouter

from ihos.queueing import desk_api, patient_api, stream_api, system_api

router = APIRouter()
router.include_router(patient_api.router)
router.include_router(desk_api.router)
router.include_router(system_api.router)
router.include_router(stream_api.router)
