"""Both apps load from the server and reach its API."""

from __future__ import annotations


class TestShells:
    async def test_the_console_offers_sign_in(self, server, desk_page):
        await desk_page.goto(server.url("/console/"))
        await desk_page.wait_for_url("**/console/sign-in**")
        await desk_page.get_by_label("用户名").wait_for()

    async def test_the_patient_app_opens_at_its_home(self, server, phone_page):
        await phone_page.goto(server.url("/h5/"))
        await phone_page.get_by_text("首页").first.wait_for()
