"""Single sign-on in real Chromium: the "Sign in with …" button, the real provider's own login and
consent pages (oidc-provider on loopback), back signed in with the role in the user menu, under
the strict CSP."""

from __future__ import annotations

import pytest

from tests.browser.csp import RECORD_VIOLATIONS
from tests.dashboard.test_oidc import USERS, configure
from tests.oidc_service import running_provider

pytestmark = pytest.mark.browser


@pytest.fixture
def provider(live_server, tmp_path):
    with running_provider(tmp_path, [live_server.url + "/oidc/callback"]) as running:
        running.set_users(USERS)
        yield running


def test_an_operator_signs_in_with_single_sign_on(
    page, live_server, provider, transactional_db, settings
):
    configure(settings, provider.issuer)
    page.add_init_script(RECORD_VIOLATIONS)

    page.goto(live_server.url + "/scorecard")
    assert page.url == live_server.url + "/login?next=/scorecard"
    assert page.text_content("[data-oidc-login]") == "Sign in with Example SSO"
    page.click("[data-oidc-login]")
    page.wait_for_url(provider.issuer + "/interaction/**")
    page.fill("input[name=login]", "olga")
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Authorize")  # the provider's consent page
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/scorecard")
    assert page.text_content("[data-user-menu] .usermenu__who") == "Signed in as olga operator"
    assert page.text_content("[data-user-role]") == "operator"

    page.click("[data-user-menu] button[type=submit]")
    page.wait_for_url(live_server.url + "/login")
    assert page.query_selector("[data-user-menu]") is None
    assert page.evaluate("window.__csp") == []
    assert page.js_errors == []
