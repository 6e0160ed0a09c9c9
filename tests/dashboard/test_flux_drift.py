"""Flux drift over HTTP against the demo: HelmRelease bigbang/istiod has drift detection in warn
mode and drifted; helm-controller's condition and Events are shown word for word, as a problem,
and counted on the overview (docs/flux-drift.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clusters.poll import poll_cluster
from dashboard.object_views import object_url

pytestmark = pytest.mark.django_db

HELM = "helm.toolkit.fluxcd.io"
DETECTED = (
    "Cluster state of release istio-system/istiod.v3 has drifted from the desired state:\n"
    "ConfigMap/istio-system/istio changed (0 additions, 1 changes, 0 removals)\n"
    "HorizontalPodAutoscaler/istio-system/istiod changed (0 additions, 2 changes, 0 removals)"
)


@pytest.fixture
def polled(demo_cluster, settings):
    settings.TIDEWATCH_ANONYMOUS_READ = True
    poll_cluster(demo_cluster)
    return demo_cluster


def page(client, name: str) -> str:
    response = client.get(object_url("demo", "HelmRelease", "bigbang", name))
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def section(html: str) -> str:
    start = html.index('<section class="obj-section" id="drift"')
    return html[start : html.index("</section>", start)]


def escaped(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def test_the_drifted_release_says_why_first_and_shows_what_helm_controller_reported(client, polled):
    html = page(client, "istiod")
    # The headline (before any table): OutOfSync, with helm-controller's reason and message.
    headline = html[html.index("data-headline") : html.index("<table")]
    assert "HelmRelease bigbang/istiod is OutOfSync:" in headline
    assert "DriftDetected" in headline and "has drifted from the desired state" in headline
    drift = section(html)
    assert 'data-drift="drifted"' in drift and 'data-drift-mode="warn"' in drift
    why = drift[drift.index("data-drift-why") : drift.index("<dl")]
    assert 'summary--warn" role="status"' in drift
    assert "nothing corrects it: drift detection is in warn mode" in why
    assert "spec.driftDetection.mode: warn" in drift
    # Word for word, from the condition and from the Event (19 times, the newest a minute ago).
    assert drift.count(DETECTED) == 1  # the condition and the Event say the same: shown once
    assert "Drifted condition" in drift
    assert "Latest Event" in drift and "Warning Event, 19 times" in drift
    assert "the same message" in drift
    assert "<table" not in drift
    # Said once, in its own section: not again as raw keys under Details.
    assert "drift.mode" not in html and "drift.sentence" not in html


def test_the_event_is_shown_when_the_condition_is_missing(client, polled, demo):
    """helm-controller before v1.6.0 sets no Drifted condition: its Event says it."""
    hr = demo.get(HELM, "helmreleases", "bigbang", "istiod")
    hr["status"]["conditions"] = [c for c in hr["status"]["conditions"] if c["type"] != "Drifted"]
    demo.apply(hr)
    poll_cluster(polled)
    drift = section(page(client, "istiod"))
    assert 'data-drift="drifted"' in drift
    assert "Warning Event, 19 times" in drift and DETECTED in drift


def test_a_release_without_drift_is_not_a_problem(client, polled):
    html = page(client, "cert-manager")
    drift = section(html)
    assert 'data-drift="in-sync"' in drift and "spec.driftDetection.mode: enabled" in drift
    assert "No drift detected against the cluster state" in drift
    assert "summary--" not in drift
    assert "is Healthy and Synced" in html


def drift_correction_failed(demo) -> str:
    """cert-manager (mode enabled): drift helm-controller could not correct."""
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = (now - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    detected = (
        "Cluster state of release cert-manager/cert-manager.v3 has drifted from the desired "
        "state:\nDeployment/cert-manager/cert-manager-webhook changed (0 additions, 1 changes, "
        "0 removals)"
    )
    failed = (
        "Failed to correct cluster state of release cert-manager/cert-manager.v3:\n"
        "Deployment/cert-manager/cert-manager-webhook patch failure: admission webhook "
        '"validate.kyverno.svc-fail" denied the request'
    )
    hr = demo.get(HELM, "helmreleases", "bigbang", "cert-manager")
    for condition in hr["status"]["conditions"]:
        if condition["type"] == "Drifted":
            condition.update(
                status="True", reason="DriftDetected", message=detected, lastTransitionTime=stamp
            )
    demo.apply(hr)
    demo.apply(helm_event(hr, "DriftCorrectionFailed", failed, "Warning", stamp))
    return failed


def helm_event(hr: dict[str, Any], reason: str, message: str, type_: str, at: str) -> dict:
    metadata = hr["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{metadata['name']}.{reason.lower()}",
            "namespace": metadata["namespace"],
            "uid": f"event-{metadata['name']}-{reason}",
        },
        "involvedObject": {
            "apiVersion": f"{HELM}/v2",
            "kind": "HelmRelease",
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata.get("uid", ""),
        },
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": "helm-controller"},
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
    }


def test_a_failed_correction_is_red_with_both_messages(client, polled, demo):
    failed = drift_correction_failed(demo)
    poll_cluster(polled)
    drift = section(page(client, "cert-manager"))
    assert 'data-drift="correction-failed"' in drift and 'summary--bad" role="status"' in drift
    assert "helm-controller failed to correct it" in drift
    assert 'data-drift-report="DriftCorrectionFailed"' in drift
    assert escaped(failed).replace('"', "&quot;") in drift
    assert "Deployment/cert-manager/cert-manager-webhook changed" in drift


def test_the_overview_counts_drifted_releases_and_links_them(client, polled, demo):
    html = client.get("/").content.decode()
    line = html[html.index("data-drifted=") : html.index("</p>", html.index("data-drifted="))]
    assert 'data-drifted="1"' in line and "1 HelmRelease drifted" in line
    assert object_url("demo", "HelmRelease", "bigbang", "istiod") in line
    drift_correction_failed(demo)
    poll_cluster(polled)
    html = client.get("/?cluster=demo").content.decode()
    assert 'data-drifted="2"' in html and "2 HelmReleases drifted" in html


def test_the_json_api_carries_the_finding(client, polled):
    body = client.get("/api/v1/objects/demo/HelmRelease/bigbang/istiod").json()
    assert body["sync"] == "OutOfSync" and body["status"] == "Healthy"
    drift = body["details"]["drift"]
    assert (drift["mode"], drift["state"], drift["problem"]) == ("warn", "drifted", True)
    assert drift["reported"]["reason"] == "DriftDetected"
    assert drift["reported"]["message"] == DETECTED
    assert body["drift"]["state"] == "drifted"  # the same, read with the Events
    assert body["drift"]["reported"] == drift["reported"]


def test_the_json_api_names_a_failed_correction(client, polled, demo):
    failed = drift_correction_failed(demo)
    poll_cluster(polled)
    body = client.get("/api/v1/objects/demo/HelmRelease/bigbang/cert-manager").json()
    assert (body["drift"]["state"], body["drift"]["problem"]) == ("correction-failed", True)
    assert body["drift"]["correction"]["reason"] == "DriftCorrectionFailed"
    assert body["drift"]["correction"]["message"] == failed
    assert body["details"]["drift"]["state"] == "drifted"  # what the object alone says


def drifted_release(index: int) -> dict[str, Any]:
    name = f"drifted-{index}"
    message = (
        f"Cluster state of release bigbang/{name}.v1 has drifted from the desired state:\n"
        f"Deployment/bigbang/{name} removed"
    )
    at = "2026-12-01T10:00:00Z"
    ready = "Helm install succeeded for release bigbang/{name}.v1 with chart app@1.0.0"
    return {
        "apiVersion": f"{HELM}/v2",
        "kind": "HelmRelease",
        "metadata": {"name": name, "namespace": "bigbang", "generation": 1},
        "spec": {
            "interval": "10m",
            "driftDetection": {"mode": "warn"},
            "chart": {
                "spec": {"chart": "./chart", "sourceRef": {"kind": "GitRepository", "name": "x"}}
            },
        },
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "InstallSucceeded"}
                | {"message": ready, "lastTransitionTime": at},
                {"type": "Drifted", "status": "True", "reason": "DriftDetected"}
                | {"message": message, "lastTransitionTime": at},
            ],
        },
    }


def test_the_overview_count_costs_the_same_whatever_the_number_of_drifted_releases(
    client, polled, demo, django_assert_num_queries
):
    for index in range(7):
        demo.apply(drifted_release(index))
    poll_cluster(polled)
    with CaptureQueriesContext(connection) as few:
        html = client.get("/").content.decode()
    assert 'data-drifted="8"' in html and "and 3 more" in html
    for index in range(7, 40):
        demo.apply(drifted_release(index))
    poll_cluster(polled)

    with django_assert_num_queries(len(few.captured_queries)):
        html = client.get("/").content.decode()
    assert 'data-drifted="41"' in html and "and 36 more" in html


def test_an_open_overview_redraws_when_a_release_drifts_whatever_its_roll_up(client, polled):
    # A release already OutOfSync for another reason that then drifts leaves its namespace's
    # roll-up as it was: the overview's live check must still see the drift count move.
    import re

    from clusters.models import GitOpsObject
    from clusters.store.version import bump

    html = client.get("/").content.decode()
    assert 'data-drifted="1"' in html
    token = re.search(r'name="since" value="([^"]+)"', html).group(1)
    assert client.get(f"/?since={token}", headers={"HX-Request": "true"}).status_code == 204
    release = GitOpsObject.objects.get(kind="HelmRelease", namespace="bigbang", name="istiod")
    release.details = {**release.details, "drift": {**release.details["drift"], "problem": False}}
    release.save(update_fields=["details"])
    bump()
    refreshed = client.get(f"/?since={token}", headers={"HX-Request": "true"})
    assert refreshed.status_code == 200
    assert "data-drifted=" not in refreshed.content.decode()
