"""Rate limits on the sign-in and SMS endpoints, per client address (MLPS: resist brute force).

Per-account limits are the lockout (``auth.lockout_*``) and the SMS code rules; these limits stop
one address from trying many accounts or asking for many codes.
"""

from __future__ import annotations

from fastapi import Depends

from ihos.backoffice.rules import get_rule
from ihos.kit.http import ClientAddress, DbSession
from ihos.kit.ratelimit import enforce_rate_limit

SMS_REQUESTS_PER_MINUTE = 5


async def limit_sign_in(session: DbSession, address: ClientAddress) -> None:
    per_minute = await get_rule(session, "auth.sign_in_per_minute_per_address")
    await enforce_rate_limit(f"sign_in:{address}", limit=per_minute, window_seconds=60)


async def limit_sms(address: ClientAddress) -> None:
    await enforce_rate_limit(f"sms:{address}", limit=SMS_REQUESTS_PER_MINUTE, window_seconds=60)


SignInThrottle = Depends(limit_sign_in)
SmsThrottle = Depends(limit_sms)
