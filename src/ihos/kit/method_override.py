"""``X-HTTP-Method-Override`` for the mini-programs.

Alipay's ``my.request`` sends only GET and POST, and WeChat's ``wx.request`` has no PATCH; the patient app
sends those writes as POST with the header naming the real method. Only POST may be overridden, and only
to PUT, PATCH or DELETE, so the header can never turn a safe request into a write. Signed system requests
sign the overridden method.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"x-http-method-override"
ALLOWED = frozenset({"PUT", "PATCH", "DELETE"})


class MethodOverride:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for name, value in scope["headers"]:
                if name == HEADER:
                    method = value.decode("latin-1").strip().upper()
                    if method in ALLOWED:
                        scope = {**scope, "method": method}
                    break
        await self.app(scope, receive, send)
