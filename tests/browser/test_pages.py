"""Pages in Debian's Chromium: login, the layout at desktop and phone sizes (F2, F16)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, no_horizontal_scroll, shot

pytestmark = [pytest.mark.chromium, pytest.mark.slow]


@pytest.mark.req("F2")
def test_login_page_logs_an_administrator_in(browser, site) -> None:
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    try:
        page.goto(f"{site.url}/account")
        assert "/login" in page.url
        shot(page, "login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        assert "wrong user name or password" in page.inner_text("[data-testid=login-error]")
        login(page, site, "admin")
        page.goto(f"{site.url}/account")
        assert "admin (administrator)" in page.inner_text("[data-testid=whoami]")
        assert no_horizontal_scroll(page)
    finally:
        page.close()


@pytest.mark.req("F16")
def test_pages_load_only_vendored_same_origin_assets(browser, site) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        page.goto(f"{site.url}/login")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof htmx") == "object"
        assert no_horizontal_scroll(page)
    finally:
        page.close()
    assert requested and all(url.startswith(site.url) for url in requested), requested
