"""Who may do what with bookings, in one place (the codes are in ``ihos.auth.permissions``).

``booking.read``: customer service, outpatient office; ``booking.manage`` (cancel or release for the
patient) and ``blacklist.manage``: the same two; ``schedule.manage`` (suspensions): outpatient office;
``queue.checkin`` (arrival, no-show): triage nurses, outpatient office; ``booking.link``: doctors.
"""

from __future__ import annotations

from ihos.auth.caller import Caller
from ihos.auth.permissions import Permission

BOOKING_READ = Permission.BOOKING_READ
BOOKING_MANAGE = Permission.BOOKING_MANAGE
BOOKING_ATTENDANCE = Permission.QUEUE_CHECKIN
BLACKLIST_MANAGE = Permission.BLACKLIST_MANAGE
SUSPENSION_MANAGE = Permission.SCHEDULE_MANAGE
BOOKING_LINK = Permission.BOOKING_LINK

# The actor of what the booking sweeps do by themselves (no-shows, expired holds, reminders).
SYSTEM = Caller(kind="system", label="预约系统")
