"""Links and details of the object page (and the times around it) that a user reads wrong."""

from __future__ import annotations

import re

import pytest

from clusters.poll import poll_cluster
from dashboard.object_selectors import condition_badge
from dashboard.object_views import object_url

pytestmark = pytest.mark.django_db

HELM = "helm.toolkit.fluxcd.io"
ARGO = "argoproj.io"


def page(client, kind: str, namespace: str, name: str) -> str:
    response = client.get(object_url("demo", kind, namespace, name))
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def chain_items(html: str) -> list[tuple[str, str, str, str]]:
    """(direction, kind, namespace, name) of every item of the dependency chain."""
    items = []
    for match in re.finditer(
        r'<ul class="obj-chain" data-direction="(\w+)">(.*?)</ul>', html, re.S
    ):
        for kind, namespace, name in re.findall(
            r'data-kind="([^"]+)" data-namespace="([^"]+)" data-name="([^"]+)"', match.group(2)
        ):
            items.append((match.group(1), kind, namespace, name))
    return items


@pytest.mark.parametrize(
    ("ctype", "status", "icon", "tone"),
    [
        ("Ready", "True", "✓", "ok"),
        ("Ready", "False", "✕", "bad"),
        ("Released", "Unknown", "◔", "progress"),
        # abnormal-true: True is the bad news, False the quiet state
        ("Remediated", "True", "⚠", "warn"),
        ("Stalled", "True", "✕", "bad"),
        ("Stalled", "False", "–", "muted"),
        ("Reconciling", "True", "◔", "progress"),
        ("ComparisonError", "True", "✕", "bad"),
        ("SyncError", "True", "✕", "bad"),
        ("OrphanedResourceWarning", "True", "⚠", "warn"),
        ("SharedResourceWarning", "True", "⚠", "warn"),
        ("ErrorOccurred", "True", "✕", "bad"),
        ("Remediated", "Unknown", "?", "warn"),
    ],
)
def test_condition_polarity(ctype: str, status: str, icon: str, tone: str) -> None:
    badge = condition_badge(ctype, status)
    assert (badge.icon, badge.tone, badge.text) == (icon, tone, status)


def test_a_remediated_condition_is_a_warning_on_the_page(client, polled, demo):
    release = demo.get(HELM, "helmreleases", "bigbang", "gitlab")
    conditions = release["status"]["conditions"] + [
        {
            "type": "Remediated",
            "status": "True",
            "reason": "RollbackSucceeded",
            "message": "Helm rollback to previous release succeeded",
            "lastTransitionTime": "2026-11-30T10:00:00Z",
            "observedGeneration": release["metadata"].get("generation", 1),
        }
    ]
    demo.patch_status(HELM, "helmreleases", "bigbang", "gitlab", {"conditions": conditions})
    poll_cluster(polled)
    html = page(client, "HelmRelease", "bigbang", "gitlab")
    row = html[html.index('data-condition="Remediated"') :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge badge--warn"><span aria-hidden="true">⚠</span>&nbsp;True' in row


def test_a_reference_to_a_stored_object_links_to_it(client, polled):
    """An Alert's providerRef is no dependency edge, yet the Provider is stored."""
    html = page(client, "Alert", "monitoring", "grafana")
    source = html[html.index("data-source-ref") :]
    source = source[: source.index("</dd>")]
    assert f'href="{object_url("demo", "Provider", "monitoring", "grafana")}"' in source
    assert "not stored" not in source


def test_an_object_that_applies_itself_is_not_its_own_parent_or_child(client, polled):
    html = page(client, "Kustomization", "flux-system", "flux-system")
    items = chain_items(html)
    assert ("downstream", "Kustomization", "flux-system", "infrastructure") in items
    assert not [i for i in items if i[1:] == ("Kustomization", "flux-system", "flux-system")]


def test_a_succeeded_sync_does_not_say_running(client, polled):
    html = page(client, "Application", "argocd", "data-platform")
    operation = html[html.index('id="operation"') :]
    operation = operation[: operation.index("</section>")]
    assert "&nbsp;Succeeded</span>" in operation
    assert 'data-sync-result="ConfigMap/pipeline-config"' in operation
    assert "Running" not in operation  # hookPhase of a plain resource means nothing


def test_objects_without_a_condition_time_say_when_they_were_first_seen(client, polled):
    html = client.get("/n/demo/argocd").content.decode()
    row = html[html.index('data-object="AppProject/argocd/applications"') :]
    row = row[: row.index("</tr>")]
    assert "never" not in row and "first seen" in row and "<time datetime=" in row


def test_the_last_writer_time_is_relative_with_the_absolute_time_as_title(client, polled):
    html = client.get("/ownership?code=TW002").content.decode()
    writer = html[html.index("Last writer:") :]
    writer = writer[: writer.index("</p>")]
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", writer.split("<time")[0])
    assert re.search(r'written <time datetime="[^"]+" title="\d{4}-\d\d-\d\d [\d:]+ UTC">', writer)
    assert " ago</time>" in writer
