"""What the back office sees of background work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ihos.kit.schema import Schema


class FailedJob(Schema):
    """A parked job (已搁置的任务): out of attempts or failed for good, waiting for an administrator."""

    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    last_error: str | None
    due_at: datetime
    created_at: datetime
    # When it was parked: nothing else changes a parked row.
    updated_at: datetime
