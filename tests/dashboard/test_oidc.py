"""Single sign-on through a real OpenID provider (tests/oidc: the npm package oidc-provider) on
loopback: the whole authorization-code flow with PKCE, the groups claim mapped to Tidewatch
roles at every sign-in, and every way it can fail ending on a page that says why, signed out."""

from __future__ import annotations

import re
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

import dashboard.urls  # noqa: F401 (imported now, OIDC off: as a site without an issuer has it)
from dashboard import oidc_provider
from dashboard.oidc_claims import groups_from_claims, roles_for_groups, username_from_claims
from tests.oidc_service import running_provider, sign_in_at_provider

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/oidc/callback"
OPERATOR_GROUP, VIEWER_GROUP = "tidewatch-operators", "tidewatch-viewers"
USERS = {
    "olga": {"email": "olga@example.com", "groups": ["platform-oncall", "system:authenticated"]},
    "victor": {"email": "victor@example.com", "groups": ["developers"]},
    "nobody": {"email": "nobody@example.com", "groups": ["marketing"]},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc"), [CALLBACK]) as running:
        yield running


def configure(settings, issuer: str, secret: str = "tidewatch-test-secret") -> None:
    settings.TIDEWATCH_ANONYMOUS_READ = False
    settings.TIDEWATCH_OIDC_ISSUER = issuer
    settings.TIDEWATCH_OIDC_CLIENT_ID = "tidewatch"
    settings.TIDEWATCH_OIDC_CLIENT_SECRET = secret
    settings.TIDEWATCH_OIDC_PROVIDER_NAME = "Example SSO"
    settings.TIDEWATCH_OIDC_OPERATOR_GROUPS = ["platform-oncall"]
    settings.TIDEWATCH_OIDC_VIEWER_GROUPS = ["developers"]
    settings.TIDEWATCH_OIDC_DEFAULT_ROLE = "viewer"
    settings.AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "dashboard.oidc.OIDCBackend",
    ]
    settings.ROOT_URLCONF = "tests.dashboard.oidc_on_urls"
    oidc_provider.forget()


@pytest.fixture
def sso_settings(settings):
    yield settings
    oidc_provider.forget()


@pytest.fixture
def sso(sso_settings, provider):
    configure(sso_settings, provider.issuer)
    provider.set_users(USERS)
    return provider


def start(client: Client, next_url: str = "") -> str:
    """Press "Sign in with …": the provider's authorization URL Tidewatch redirects to."""
    response = client.get("/oidc/authenticate" + (f"?next={next_url}" if next_url else ""))
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def sso_sign_in(client: Client, login: str, next_url: str = ""):
    callback = sign_in_at_provider(start(client, next_url), login, CALLBACK)
    return client.get(callback.removeprefix("http://testserver"))


def role_groups(username: str) -> set[str]:
    user = User.objects.get(username=username)
    return set(user.groups.values_list("name", flat=True))


def test_an_operator_group_member_lands_signed_in_as_operator(client, sso):
    response = sso_sign_in(client, "olga", next_url="/ownership")
    assert response.status_code == 302 and response["Location"] == "/ownership"
    assert role_groups("olga") == {OPERATOR_GROUP}
    page = client.get("/ownership").content.decode()
    assert "Signed in as <strong>olga</strong>" in page
    assert '<span class="usermenu__role" data-user-role>operator</span>' in page
    assert client.session["tidewatch_kube_groups"] == ["platform-oncall", "system:authenticated"]
    user = User.objects.get(username="olga")
    assert user.email == "olga@example.com" and not user.has_usable_password()


def test_a_viewer_group_member_lands_as_viewer(client, sso):
    assert sso_sign_in(client, "victor").status_code == 302
    assert role_groups("victor") == {VIEWER_GROUP}
    assert "data-user-role>viewer<" in client.get("/").content.decode()
    assert client.session["tidewatch_kube_groups"] == ["developers"]


def test_the_authorization_request_uses_pkce_state_and_nonce(client, sso):
    query = parse_qs(urlsplit(start(client)).query)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["scope"] == ["openid email profile groups"]
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [CALLBACK]


def test_a_user_whose_groups_change_loses_the_role_at_the_next_sign_in(client, sso, settings):
    sso_sign_in(client, "olga")
    assert role_groups("olga") == {OPERATOR_GROUP}
    client.post("/logout")
    sso.set_users({**USERS, "olga": {"email": "olga@example.com", "groups": ["developers"]}})
    sso_sign_in(client, "olga")
    assert role_groups("olga") == {VIEWER_GROUP}
    assert client.session["tidewatch_kube_groups"] == ["developers"]

    # Out of every mapped group with TIDEWATCH_OIDC_DEFAULT_ROLE=none: refused, no role left.
    client.post("/logout")
    settings.TIDEWATCH_OIDC_DEFAULT_ROLE = "none"
    sso.set_users({**USERS, "olga": {"email": "olga@example.com", "groups": []}})
    refused = sso_sign_in(client, "olga")
    assert refused.status_code == 403
    assert "olga is in none of the Example SSO groups that give a Tidewatch role" in (
        refused.content.decode()
    )
    assert role_groups("olga") == set()
    assert "_auth_user_id" not in client.session


def test_a_user_in_no_mapped_group_is_a_viewer_by_default(client, sso):
    assert sso_sign_in(client, "nobody").status_code == 302
    assert role_groups("nobody") == {VIEWER_GROUP}


def test_the_session_keeps_at_most_max_groups(client, sso, settings):
    settings.TIDEWATCH_OIDC_MAX_GROUPS = 3
    many = [f"team-{n}" for n in range(10)] + ["platform-oncall"]
    sso.set_users({"olga": {"email": "olga@example.com", "groups": many}})
    sso_sign_in(client, "olga")
    assert client.session["tidewatch_kube_groups"] == ["team-0", "team-1", "team-2"]
    assert role_groups("olga") == {OPERATOR_GROUP}  # the role sees every group, not the cut list


def test_a_bad_client_secret_says_so_and_signs_nobody_in(client, sso_settings, provider):
    configure(sso_settings, provider.issuer, secret="wrong-secret")
    provider.set_users(USERS)
    response = sso_sign_in(client, "olga")
    assert response.status_code == 502
    html = response.content.decode()
    assert "Example SSO refused Tidewatch&#x27;s client credentials (invalid_client)" in html
    assert "TIDEWATCH_OIDC_CLIENT_SECRET" in html
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="olga").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_issuer_is_a_message_not_a_crash(client, sso_settings):
    issuer = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    configure(sso_settings, issuer)
    page = client.get("/login")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Single sign-on is unavailable: The sign-in provider at {issuer} cannot be reached" in (
        html
    )
    assert "data-oidc-login" not in html and 'name="password"' in html  # the local form stays
    response = client.get("/oidc/authenticate")
    assert response.status_code == 503 and "cannot be reached" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("suffix", "says"),
    [("/no-such-realm", "answered HTTP 404: check TIDEWATCH_OIDC_ISSUER"), ("/", None)],
)
def test_a_misconfigured_issuer_says_what_is_wrong(client, sso_settings, provider, suffix, says):
    configure(sso_settings, provider.issuer + suffix)
    html = client.get("/login").content.decode()
    if says is None:  # a trailing slash is the same issuer
        assert "data-oidc-login" in html and "unavailable" not in html
    else:
        assert "Single sign-on is unavailable" in html and says in html


def test_a_tampered_state_is_refused(client, sso):
    callback = sign_in_at_provider(start(client), "olga", CALLBACK)
    split = urlsplit(callback)
    query = parse_qs(split.query)
    tampered = f"/oidc/callback?code={query['code'][0]}&state=forged-{query['state'][0]}"
    response = client.get(tampered)
    assert response.status_code == 400
    assert "does not belong to a sign-in started in this browser" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(username="olga").exists()


def test_a_callback_cannot_be_replayed(client, sso):
    callback = sign_in_at_provider(start(client), "olga", CALLBACK).removeprefix(
        "http://testserver"
    )
    assert client.get(callback).status_code == 302
    client.post("/logout")
    assert client.get(callback).status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_refusal_at_the_provider_is_shown(client, sso):
    state = parse_qs(urlsplit(start(client)).query)["state"][0]
    response = client.get(
        f"/oidc/callback?error=access_denied&error_description=End-User+aborted&state={state}"
    )
    assert response.status_code == 403
    assert "did not sign you in (access_denied: End-User aborted)" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_single_sign_on_does_not_take_over_a_local_account(client, sso):
    User.objects.create_user("olga", password="local-password-123")
    response = sso_sign_in(client, "olga")
    assert response.status_code == 403
    assert "already exists with a password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_login_page_offers_both_ways_and_sign_out_ends_the_session(client, sso):
    html = client.get("/login?next=/scorecard").content.decode()
    assert 'href="/oidc/authenticate?next=/scorecard"' in html
    assert "Sign in with Example SSO" in html and 'name="password"' in html
    sso_sign_in(client, "victor")
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_logout_at_the_provider_when_asked(client, sso, settings):
    settings.TIDEWATCH_OIDC_LOGOUT_AT_PROVIDER = True
    sso_sign_in(client, "victor")
    response = client.post("/logout")
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (f"{sso.issuer}/session/end")
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert query["id_token_hint"][0].count(".") == 2
    assert client.get("/").status_code == 302


def test_without_an_issuer_there_is_no_button_and_no_route(client, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = False
    html = client.get("/login").content.decode()
    assert "Sign in with" not in html and "oidc" not in html
    User.objects.create_user("rita", password="correct-horse-battery")
    client.post("/login", {"username": "rita", "password": "correct-horse-battery"})
    assert client.get("/oidc/authenticate").status_code == 404
    assert client.get("/oidc/callback?code=x&state=y").status_code == 404


@pytest.mark.parametrize(
    ("claims", "claim", "expected"),
    [
        ({"preferred_username": "olga", "email": "o@x", "sub": "1"}, "preferred_username", "olga"),
        ({"email": "o@x", "sub": "1"}, "preferred_username", "o@x"),
        ({"preferred_username": " ", "sub": "1"}, "preferred_username", "1"),
        ({"preferred_username": ["olga"], "sub": "1"}, "preferred_username", "1"),
        ({"upn": "olga@corp"}, "upn", "olga@corp"),
        ({}, "preferred_username", ""),
    ],
)
def test_username_from_claims(claims, claim, expected):
    assert username_from_claims(claims, claim) == expected


@pytest.mark.parametrize(
    ("value", "limit", "expected"),
    [
        (["a", "b", "a", "c"], None, ["a", "b", "c"]),
        (["a", "b", "c"], 2, ["a", "b"]),
        ("admins", None, ["admins"]),
        ([1, None, {"x": 1}, "ok", ""], None, ["ok"]),
        (["x" * 257, "ok"], None, ["ok"]),
        ({"a": 1}, None, []),
        (None, None, []),
    ],
)
def test_groups_from_claims(value, limit, expected):
    assert groups_from_claims({"groups": value}, "groups", limit) == expected


@pytest.mark.parametrize(
    ("groups", "default", "expected"),
    [
        (["ops"], "viewer", {"operator"}),
        (["devs"], "none", {"viewer"}),
        (["ops", "devs"], "none", {"operator", "viewer"}),
        (["other"], "viewer", {"viewer"}),
        (["other"], "none", set()),
        ([], "none", set()),
    ],
)
def test_roles_for_groups(groups, default, expected):
    assert roles_for_groups(groups, ["ops"], ["devs"], default) == expected


ISSUER = "https://sso.example.com/realms/platform"
GOOD = {
    "issuer": ISSUER,
    "authorization_endpoint": f"{ISSUER}/auth",
    "token_endpoint": f"{ISSUER}/token",
    "jwks_uri": f"{ISSUER}/certs",
}


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ([], "is not a JSON object"),
        ({**GOOD, "issuer": "https://evil.example"}, "announces issuer 'https://evil.example'"),
        ({**GOOD, "jwks_uri": None}, "has no jwks_uri"),
        ({**GOOD, "token_endpoint": "ftp://x"}, "has no token_endpoint"),
        ({**GOOD, "id_token_signing_alg_values_supported": ["HS256"]}, "does not sign ID tokens"),
        ({**GOOD, "code_challenge_methods_supported": ["plain"]}, "PKCE with S256"),
    ],
)
def test_an_unusable_discovery_document_says_what_is_wrong(document, says):
    with pytest.raises(oidc_provider.ProviderUnavailable, match=re.escape(says)):
        oidc_provider.parse_document(ISSUER, document)


def test_a_usable_discovery_document():
    config = oidc_provider.parse_document(
        ISSUER + "/", {**GOOD, "end_session_endpoint": f"{ISSUER}/logout"}
    )
    assert config.token_endpoint == f"{ISSUER}/token" and config.userinfo_endpoint == ""
    assert config.end_session_endpoint == f"{ISSUER}/logout"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "/no-such-page"])
def test_an_unsafe_next_lands_on_the_overview(client, sso, next_url):
    response = sso_sign_in(client, "victor", next_url=next_url)
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_provider_that_goes_away_mid_sign_in_is_a_message(client, sso_settings, tmp_path):
    with running_provider(tmp_path, [CALLBACK]) as short_lived:
        configure(sso_settings, short_lived.issuer)
        short_lived.set_users(USERS)
        callback = sign_in_at_provider(start(client), "olga", CALLBACK)
    # Stopped (and waited for): the token request finds nothing listening.
    response = client.get(callback.removeprefix("http://testserver"))
    assert response.status_code == 502
    assert "could not be reached during sign-in (ConnectionError)" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_local_form_still_signs_in_with_oidc_on(client, sso):
    User.objects.create_user("rita", password="correct-horse-battery")
    response = client.post(
        "/login?code=x&state=y", {"username": "rita", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"
    assert "tidewatch_kube_groups" not in client.session
