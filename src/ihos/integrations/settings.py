"""Which implementation of each counterpart runs, and its credentials (``IHOS_INTEGRATIONS__…``).

Every counterpart defaults to its sandbox so that ihos runs and is tested offline.
"""

from __future__ import annotations

from pydantic import BaseModel


class IntegrationSettings(BaseModel):
    pass
