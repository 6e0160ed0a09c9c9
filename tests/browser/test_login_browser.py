"""A reader who is not staff signs in on Tidewatch's page, lands where they were going, sees
their name in the user menu and signs out from it: in real Chromium, under the strict CSP."""

from __future__ import annotations

import pytest

from tests.browser.csp import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser


def test_sign_in_and_out_through_the_pages(page, live_server, transactional_db, settings):
    from django.contrib.auth.models import User

    settings.TIDEWATCH_ANONYMOUS_READ = False
    User.objects.create_user("rita", password="correct-horse-battery")
    page.add_init_script(RECORD_VIOLATIONS)

    page.goto(live_server.url + "/scorecard")
    assert page.url == live_server.url + "/login?next=/scorecard"
    page.fill("input[name=username]", "rita")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("form.login__form button[type=submit]")
    page.wait_for_url(live_server.url + "/scorecard")
    assert page.text_content("[data-user-menu] .usermenu__who") == "Signed in as rita"

    page.click("[data-user-menu] button[type=submit]")
    page.wait_for_url(live_server.url + "/login")
    assert page.query_selector("[data-user-menu]") is None
    page.goto(live_server.url + "/")
    assert page.url.startswith(live_server.url + "/login?next=")
    assert page.evaluate("window.__csp") == []
    assert page.js_errors == []
