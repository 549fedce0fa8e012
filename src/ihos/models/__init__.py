"""Every ORM table, one module per aggregate, sharing one metadata for Alembic.

Importing this package imports every module in it, so ``Base.metadata`` is complete wherever it is used.
"""

from __future__ import annotations

import importlib
import pkgutil

from ihos.models.base import Base

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Base"]
