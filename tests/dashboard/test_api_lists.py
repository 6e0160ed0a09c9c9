"""/api/v1 lists: one pagination (same params, same envelope) on every list, the history and
events of an object, and camelCase keys in every response."""

from __future__ import annotations

import re
from typing import Any

import pytest

from clusters.poll import poll_cluster
from clusters.status.vocabulary import STATUS_ORDER, Sync

pytestmark = pytest.mark.django_db

GITLAB = "/api/v1/objects/demo/HelmRelease/bigbang/gitlab"
# Every list endpoint and the key its items are under.
LISTS = {
    "/api/v1/clusters": "clusters",
    "/api/v1/namespaces": "namespaces",
    "/api/v1/objects": "objects",
    "/api/v1/violations": "violations",
    "/api/v1/scorecard": "scorecards",
    "/api/v1/controllers": "clusters",
    f"{GITLAB}/history": "transitions",
    f"{GITLAB}/events": "events",
}


@pytest.mark.parametrize("path", LISTS)
def test_every_list_pages_the_same_way(client, polled, settings, path):
    key = LISTS[path]
    whole = client.get(path).json()
    assert set(whole) == {"count", "page", "pages", key}, path
    assert whole["page"] == 1 and whole["count"] == len(whole[key]) >= 1, path

    one = client.get(f"{path}?page_size=1").json()
    assert one["pages"] == whole["count"] and one[key] == whole[key][:1], path
    last = client.get(f"{path}?page_size=1&page={whole['count']}").json()
    assert last[key] == whole[key][-1:], path

    past = client.get(f"{path}?page_size=1&page={whole['count'] + 1}")
    assert past.status_code == 404 and "past the last page" in past.json()["error"]
    for bad in ("page=0", "page=x", "page_size=0", "page_size=-3", "page_size=lots"):
        response = client.get(f"{path}?{bad}")
        assert response.status_code == 400, (path, bad)
        assert response.json() == {"error": "page and page_size must be positive integers"}

    settings.TIDEWATCH_API_MAX_PAGE_SIZE = 1
    capped = client.get(f"{path}?page_size=1000").json()
    assert len(capped[key]) == 1 and capped["pages"] == whole["count"], path


def test_the_default_page_size_is_a_setting(client, polled, settings):
    settings.TIDEWATCH_API_PAGE_SIZE = 2
    body = client.get("/api/v1/objects").json()
    assert len(body["objects"]) == 2 and body["pages"] == -(-body["count"] // 2)


def test_history_lists_transitions_newest_first_and_outlives_the_object(client, polled, demo):
    first = client.get(f"{GITLAB}/history").json()["transitions"]
    assert first[-1]["field"] == "presence" and first[-1]["to"] == "Present"

    demo.delete("helm.toolkit.fluxcd.io", "helmreleases", "bigbang", "gitlab")
    poll_cluster(polled)
    assert client.get(GITLAB).status_code == 404  # no longer stored ...
    response = client.get(f"{GITLAB.replace('HelmRelease', 'helmrelease')}/history")
    assert response.status_code == 200  # ... but its history is kept
    body = response.json()
    assert body["count"] == len(first) + 1
    newest = body["transitions"][0]
    assert newest["field"] == "presence" and newest["to"] == "Deleted"
    assert body["transitions"][1:] == first
    assert set(newest) == {"at", "field", "from", "to", "message"}


def test_events_are_the_objects_own_newest_first(client, polled):
    events = client.get(f"{GITLAB}/events").json()["events"]
    reasons = [e["reason"] for e in events]
    assert reasons.index("RollbackSucceeded") < reasons.index("UpgradeFailed")
    assert {e["source"] for e in events} == {"helm-controller"}
    assert [e["lastSeenAt"] for e in events] == sorted(
        (e["lastSeenAt"] for e in events), reverse=True
    )
    other = client.get("/api/v1/objects/demo/Application/argocd/portfolio/events").json()
    assert not {e["message"] for e in other["events"]} & {e["message"] for e in events}


@pytest.mark.parametrize("tail", ["history", "events"])
def test_history_and_events_of_an_object_never_seen_are_a_404(client, polled, tail):
    response = client.get(f"/api/v1/objects/demo/HelmRelease/bigbang/nope/{tail}")
    assert response.status_code == 404
    assert response.json() == {"error": "no HelmRelease bigbang/nope stored for cluster demo"}


CAMEL = re.compile(r"[a-z][a-zA-Z0-9]*")
# Maps whose keys are data (a status or sync value), not field names.
VALUE_KEYED = {
    "statusCounts": {s.value for s in STATUS_ORDER},
    "syncCounts": {s.value for s in Sync},
}


def bad_keys(value: Any, where: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in VALUE_KEYED and isinstance(item, dict):
                found += [f"{where}.{key}.{k}" for k in item if k not in VALUE_KEYED[key]]
                continue
            if not CAMEL.fullmatch(key):
                found.append(f"{where}.{key}")
            found += bad_keys(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            found += bad_keys(item, f"{where}[]")
    return found


def test_every_key_of_every_api_response_is_camel_case(client, polled):
    paths = [*LISTS, "/api/v1/objects?page=999", "/api/v1/objects/demo/Kustomization/x/y"]
    objects = client.get("/api/v1/objects?page_size=500").json()["objects"]
    for obj in objects:
        paths += [obj["url"], f"{obj['url']}/history", f"{obj['url']}/events"]
    problems: set[str] = set()
    for path in paths:
        problems.update(
            f"{path.split('?')[0].rsplit('/', 1)[-1]}: {k}"
            for k in bad_keys(client.get(path).json())
        )
    assert sorted(problems) == []


def test_conditions_carry_camel_case_keys(client, polled):
    conditions = client.get(GITLAB).json()["conditions"]
    assert conditions and all("lastTransitionTime" in c for c in conditions)
    assert not any("last_transition_time" in c for c in conditions)
