"""People sign in on Tidewatch's own page (any active user, not only staff), see who they are,
and sign out with a POST; ?next= is followed only to a page of this site that exists."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture
def locked(settings):
    settings.TIDEWATCH_ANONYMOUS_READ = False


@pytest.fixture
def reader():
    """An ordinary account: not staff, not superuser."""
    return User.objects.create_user("rita", password=PASSWORD)


def sign_in(client: Client, next_url: str | None = None):
    data = {"username": "rita", "password": PASSWORD}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/login", data)


def test_a_page_sends_a_signed_out_user_to_the_tidewatch_login(client, locked):
    response = client.get("/ownership?tool=flux")
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/ownership%3Ftool%3Dflux"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sign in to Tidewatch" in html and "css/tidewatch.css" in html
    assert "admin/css" not in html  # not the admin's page
    assert 'name="next" value="/ownership?tool=flux"' in html


def test_a_user_who_is_not_staff_signs_in_and_reads(client, locked, reader):
    response = sign_in(client, "/ownership?tool=flux")
    assert response.status_code == 302 and response["Location"] == "/ownership?tool=flux"
    for path in ("/", "/ownership", "/scorecard", "/search", "/api/v1/clusters"):
        assert client.get(path).status_code == 200, path


def test_a_wrong_password_says_so_on_the_login_page(client, locked, reader):
    response = client.post("/login", {"username": "rita", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/").status_code == 302


def test_the_admin_stays_staff_only(client, locked, reader):
    sign_in(client)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    refused = Client().post("/admin/login/", {"username": "rita", "password": PASSWORD})
    assert refused.status_code == 200 and "staff account" in refused.content.decode()


@pytest.mark.parametrize(
    "next_url",
    [
        "",
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "ftp://testserver/",
        "/no-such-page",
        "/n",
        "/login",
        "/logout",
        "/%00",
    ],
)
def test_an_unsafe_or_unknown_next_lands_on_the_overview(client, locked, reader, next_url):
    response = sign_in(client, next_url)
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "next_url",
    ["/", "/search?q=gitlab", "/ownership?tool=argocd&code=TW002", "/n/demo/gitlab", "/admin/"],
)
def test_a_safe_next_is_followed(client, locked, reader, next_url):
    response = sign_in(client, next_url)
    assert response.status_code == 302 and response["Location"] == next_url


def test_an_unsafe_next_is_not_echoed_into_the_form(client, locked):
    html = client.get("/login?next=https://evil.example/").content.decode()
    assert "evil.example" not in html


def test_the_user_menu_shows_who_is_signed_in_and_signs_out_with_a_post(locked, reader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reader)
    html = client.get("/").content.decode()
    assert "Signed in as <strong>rita</strong>" in html
    assert '<form class="usermenu__logout" method="post" action="/logout">' in html
    assert 'name="csrfmiddlewaretoken"' in html

    # A link, an <img> or a cross-site form cannot sign anyone out.
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200

    token = client.cookies["csrftoken"].value
    response = client.post("/logout", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_with_anonymous_read_a_signed_out_reader_gets_a_sign_in_link(client, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    html = client.get("/scorecard").content.decode()
    assert 'href="/login?next=/scorecard">Sign in</a>' in html
    assert "Signed in as" not in html
    # Not on the login page itself.
    assert ">Sign in</a>" not in client.get("/login").content.decode()


def test_a_signed_in_user_opening_the_login_page_goes_on(client, locked, reader):
    client.force_login(reader)
    response = client.get("/login?next=/scorecard")
    assert response.status_code == 302 and response["Location"] == "/scorecard"
