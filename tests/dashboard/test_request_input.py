"""Request input: one parser for pages and API (dashboard/request_input.py), and what a user
sees for bad input: a 400 or 404 with a message, a styled page for HTML, JSON under /api/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import RequestFactory

from dashboard import errors
from dashboard.request_input import (
    Choice,
    Problem,
    Text,
    WholeNumber,
    nul_problems,
    parse,
)

RULES = {
    "status": Choice(("Degraded", "Healthy"), "status", fold_case=True),
    "cluster": Choice(lambda: ["demo", "prod"], "cluster"),
    "q": Text(5),
    "page": WholeNumber(maximum=1000),
}


@pytest.mark.parametrize(
    "params, values, bad",
    [
        ({}, {"status": None, "cluster": None, "q": None, "page": None}, []),
        ({"status": "", "cluster": "", "q": "", "page": ""}, {"page": None}, []),
        ({"status": "Healthy"}, {"status": "Healthy"}, []),
        ({"status": "degraded"}, {"status": "Degraded"}, []),  # folded, answered in its spelling
        ({"status": "bogus"}, {"status": None}, ["status"]),
        ({"cluster": "demo"}, {"cluster": "demo"}, []),
        ({"cluster": "Demo"}, {"cluster": None}, ["cluster"]),  # names are exact
        ({"cluster": "nope", "status": "x"}, {}, ["status", "cluster"]),
        ({"q": "  abc  "}, {"q": "abc"}, []),
        ({"q": "abcdef"}, {"q": None}, ["q"]),
        ({"page": "1"}, {"page": 1}, []),
        ({"page": " 7 "}, {"page": 7}, []),
        ({"page": "1000"}, {"page": 1000}, []),
        ({"page": "1001"}, {}, ["page"]),
        ({"page": "0"}, {}, ["page"]),
        ({"page": "-1"}, {}, ["page"]),
        ({"page": "+1"}, {}, ["page"]),
        ({"page": "1e3"}, {}, ["page"]),
        ({"page": "1_0"}, {}, ["page"]),
        ({"page": "abc"}, {}, ["page"]),
        ({"page": "٣"}, {}, ["page"]),  # a digit to str.isdigit, not to a user
        ({"page": "99999999999999999999"}, {}, ["page"]),
        ({"page": "9" * 5000}, {}, ["page"]),  # int() itself refuses more than 4300 digits
        ({"other": "x", "since": "abc"}, {}, []),  # not ours: ignored
    ],
)
def test_parse(params, values, bad):
    parsed, problems = parse(params, RULES)
    assert [p.parameter for p in problems] == bad
    for name, value in values.items():
        assert parsed[name] == value


def test_a_problem_names_the_parameter_the_value_and_the_allowed_values():
    _, (problem,) = parse({"status": "bogus"}, RULES)
    assert problem == Problem(
        "status",
        "bogus",
        'status: "bogus" is not a known status; allowed: Degraded, Healthy',
        ("Degraded", "Healthy"),
    )
    assert problem.to_json()["allowed"] == ["Degraded", "Healthy"]


@pytest.mark.parametrize(
    "path, params, bad",
    [
        ("/n/demo/x", {"cluster": ["demo"]}, []),
        # The path as the server decoded it once. A stored name "%00" arrives as "%2500".
        ("/n/demo/%2500", {}, []),
        ("/n/demo/\x00", {}, ["path"]),
        ("/n/demo/%00", {}, ["path"]),  # the name converter decodes it once more: NUL
        ("/", {"cluster": ["\x00"]}, ["cluster"]),
        ("/", {"q": ["ok", "a\x00b"]}, ["q"]),
        ("/", {"\x00": ["1"]}, ["\\0"]),
    ],
)
def test_nul_problems(path, params, bad):
    assert [p.parameter for p in nul_problems(path, params)] == bad


# --- over HTTP -----------------------------------------------------------------------------------

NUL_PATHS = [
    "/?cluster=%00",
    "/?page=%00",
    "/?%00=1",
    "/n/demo/%00",
    "/n/%00/flux-system",
    "/o/demo/Application/argocd/%00",
    "/o/demo/Kustomization/%00/flux-system",
    "/search?q=%00",
    "/search?namespace=%00",
    "/search?q=ok&q=a%00",
    "/ownership?cluster=%00",
    "/scorecard?cluster=%00",
    "/api/v1/namespaces?cluster=%00",
    "/api/v1/objects?namespace=%00",
    "/api/v1/objects?kind=%00",
    "/api/v1/objects/demo/Application/argocd/%00",
    "/api/v1/violations?code=%00",
    "/api/v1/scorecard?cluster=%00",
    "/api/v1/controllers?cluster=%00",
    "/clusters/%00/controllers",
]


def assert_styled(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "/static/css/tidewatch.css" in body and 'class="topbar"' in body
    assert f'data-error="{status}"' in body
    return body


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_byte_anywhere_is_a_400_with_a_message(client, polled, path):
    response = client.get(path)
    if path.startswith("/api/"):
        assert response.status_code == 400
        assert "NUL" in response.json()["error"]
    else:
        assert "NUL byte" in assert_styled(response, 400)


@pytest.mark.parametrize("page", ["99999999999999999999", "0", "-3", "abc", "1.5"])
def test_an_impossible_page_number_is_a_400(client, polled, page):
    body = assert_styled(client.get(f"/?page={page}"), 400)
    assert "page" in body and "a whole number from 1" in body


def test_a_page_past_the_last_is_a_404_saying_so(client, polled):
    body = assert_styled(client.get("/?page=4000"), 404)
    assert "Page 4000 is past the last page of namespaces (1)" in body


API_FILTERS = [
    ("/api/v1/objects?status=bogus", "status", "Degraded"),
    ("/api/v1/objects?cluster=nope", "cluster", "demo"),
    ("/api/v1/objects?tool=nope", "tool", "argocd"),
    ("/api/v1/objects?kind=Deployment", "kind", "HelmRelease"),
    ("/api/v1/objects?sync=bogus", "sync", "OutOfSync"),
    ("/api/v1/namespaces?cluster=nope", "cluster", "demo"),
    ("/api/v1/violations?cluster=nope", "cluster", "demo"),
    ("/api/v1/violations?tool=helm", "tool", "flux"),
    ("/api/v1/violations?code=TW999", "code", "TW002"),
    ("/api/v1/scorecard?cluster=nope", "cluster", "demo"),
    ("/api/v1/controllers?cluster=nope", "cluster", "demo"),
]


@pytest.mark.parametrize("path, parameter, allowed", API_FILTERS)
def test_an_unknown_filter_value_is_a_400_naming_the_parameter_and_the_allowed_values(
    client, polled, path, parameter, allowed
):
    response = client.get(path)
    assert response.status_code == 400
    data = response.json()
    (problem,) = data["problems"]
    assert problem["parameter"] == parameter and allowed in problem["allowed"]
    assert parameter in data["error"] and allowed in data["error"]


PAGE_FILTERS = [
    ("/?cluster=nope", "cluster", "nope"),
    ("/search?status=bogus", "status", "bogus"),
    ("/search?cluster=nope", "cluster", "nope"),
    ("/search?tool=helm", "tool", "helm"),
    ("/search?kind=Deployment", "kind", "Deployment"),
    ("/search?sync=bogus", "sync", "bogus"),
    (f"/search?q={'x' * 300}", "q", "at most 200 characters"),
    ("/ownership?tool=helm", "tool", "helm"),
    ("/ownership?code=TW999", "code", "TW999"),
    ("/ownership?cluster=nope", "cluster", "nope"),
    ("/scorecard?cluster=nope", "cluster", "nope"),
]


@pytest.mark.parametrize("path, parameter, value", PAGE_FILTERS)
def test_an_unknown_filter_value_on_a_page_says_so(client, polled, path, parameter, value):
    """Not an empty green page: a 400 whose message names the parameter, the value, what is
    allowed, and links to the same page without the bad value."""
    body = assert_styled(client.get(path), 400)
    assert f'data-parameter="{parameter}"' in body and value in body
    assert "summary--ok" not in body
    assert "data-retry" in body


def test_known_values_in_any_case_still_filter(client, polled):
    rows = client.get("/api/v1/objects?status=degraded&kind=helmrelease&tool=FLUX").json()
    assert rows["count"] > 0
    assert {(o["status"], o["kind"]) for o in rows["objects"]} == {("Degraded", "HelmRelease")}
    assert client.get("/search?kind=helmrelease&sync=outofsync").status_code == 200
    assert client.get("/ownership?code=tw002&tool=argocd").status_code == 200


def test_unknown_namespace_cluster_and_page_are_styled_404s(client, polled):
    assert "No namespace nope stored for cluster demo" in assert_styled(
        client.get("/n/demo/nope"), 404
    )
    assert "There is no cluster nope" in assert_styled(client.get("/n/nope/flux-system"), 404)
    assert_styled(client.get("/no/such/page"), 404)
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404 and response.json()["error"]


def test_the_500_page_is_styled_and_json_under_the_api():
    request = RequestFactory().get("/")
    response = errors.server_error(request)
    assert response.status_code == 500
    body = response.content.decode()
    assert "/static/css/tidewatch.css" in body and 'data-error="500"' in body
    api = errors.server_error(RequestFactory().get("/api/v1/objects"))
    assert api.status_code == 500 and api["Content-Type"] == "application/json"


def test_every_page_links_a_favicon_that_staticfiles_serves(client, polled):
    body = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body
    path = finders.find("favicon.svg")
    assert path and Path(path).read_text().startswith("<svg")
