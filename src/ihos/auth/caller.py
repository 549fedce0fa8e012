"""Who is calling: a patient, a member of staff, a system client, or nobody yet."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ihos.auth.permissions import Permission
from ihos.errors import Unauthenticated


@dataclass(frozen=True)
class Caller:
    kind: str  # anonymous, patient, staff, system, cli
    id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    label: str | None = None  # masked, safe for logs and the audit trail
    roles: frozenset[str] = field(default_factory=frozenset)
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    # Campuses whose data this caller may see; None means every campus.
    campus_ids: frozenset[uuid.UUID] | None = None
    hospital_id: uuid.UUID | None = None
    client_address: str | None = None
    must_change_password: bool = False

    @property
    def is_patient(self) -> bool:
        return self.kind == "patient"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def subject_id(self) -> uuid.UUID:
        """The account, staff or client id; refuses an anonymous caller."""
        if self.id is None:
            raise Unauthenticated()
        return self.id

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def may_see_campus(self, campus_id: uuid.UUID) -> bool:
        return self.campus_ids is None or campus_id in self.campus_ids


def anonymous(client_address: str | None = None) -> Caller:
    return Caller(kind="anonymous", client_address=client_address)


def command_line(label: str = "ihos 命令行") -> Caller:
    """The operator at the server's command line (createadmin, demo, keys)."""
    return Caller(kind="cli", label=label)
