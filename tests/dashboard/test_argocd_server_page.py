"""The object page and the JSON API of an Argo CD Application, with what argocd-server said of
it (ArgoAppDetail rows, written here as the worker would): per-resource health with Argo CD's
message, the live tree, field-level diffs, the not-configured and failed cases, and Secrets
never shown."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clusters.models import GitOpsObject
from clusters.store.version import bump
from dashboard.object_views import object_url
from tests.builders import argo_detail, argo_node, argo_resource

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
NS = "data-platform"
URL = object_url("demo", "Application", "argocd", "data-platform")
API = "/api/v1/objects/demo/Application/argocd/data-platform"
PROGRESS = 'Deployment "ingest-worker" exceeded its progress deadline'
BACKOFF = "back-off 5m0s restarting failed container=worker pod=ingest-worker-7c9-abc"
SECRET_VALUE = "hunter2-never-shown"


def app() -> GitOpsObject:
    return GitOpsObject.objects.get(kind="Application", namespace="argocd", name="data-platform")


def resources(secret: bool = True) -> list[dict]:
    rows = [
        argo_resource(
            "apps",
            "Deployment",
            NS,
            "ingest-worker",
            sync="OutOfSync",
            health=("Degraded", PROGRESS),
            diff=[
                ("spec.replicas", "changed", "2", "3"),
                ("metadata.labels.tier", "added", "", "batch"),
                ("spec.template.spec.nodeSelector.pool", "removed", "spot", ""),
            ],
        ),
        argo_resource(
            "",
            "ConfigMap",
            NS,
            "pipeline-config",
            sync="OutOfSync",
            diff=[("data.SCHEDULE", "changed", "@hourly", "@daily")],
            diff_truncated=True,
        ),
        argo_resource("", "Service", NS, "airflow-webserver"),
        argo_resource("apps", "Deployment", NS, "airflow-scheduler", health=("Progressing", "")),
    ]
    if secret:  # a row that somehow holds one: never shown
        rows.append(
            argo_resource(
                "",
                "Secret",
                NS,
                "db-credentials",
                sync="OutOfSync",
                diff=[("data.password", "changed", SECRET_VALUE, SECRET_VALUE + "2")],
            )
        )
    return rows


def tree(pods: int = 1) -> list[dict]:
    nodes = [
        argo_node("d1", "apps", "Deployment", NS, "ingest-worker", health=("Degraded", PROGRESS)),
        argo_node("r1", "apps", "ReplicaSet", NS, "ingest-worker-7c9", parents=("d1",)),
        argo_node("s1", "", "Secret", NS, "db-credentials-token", parents=("d1",)),
    ]
    nodes[1]["health"] = {"status": "Healthy", "message": ""}
    for index in range(pods):
        nodes.append(
            argo_node(
                f"p{index}",
                "",
                "Pod",
                NS,
                "ingest-worker-7c9-abc" if index == 0 else f"ingest-worker-7c9-{index:04d}",
                parents=("r1",),
                health=("Degraded", BACKOFF) if index == 0 else ("Healthy", ""),
                info={"Status Reason": "CrashLoopBackOff", "Containers": "0/1"}
                if index == 0
                else {"Containers": "1/1"},
                images=("registry.example.mil/data/ingest-worker:0.31.2",),
            )
        )
    return nodes


def html_of(client, url: str = URL, **kwargs) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


def resource_row(html: str, kind: str, name: str) -> str:
    match = re.search(rf'<tr data-resource="{kind}/{NS}/{name}".*?</tr>', html, re.S)
    assert match, f"no row for {kind} {name}"
    return match.group(0)


def detail_row(html: str, kind: str, name: str) -> str:
    # The row's own end: its inner diff table's rows end indented deeper.
    match = re.search(
        rf'<tr class="obj-argo" data-argo-for="{kind}/{NS}/{name}">.*?\n  </td>\n</tr>', html, re.S
    )
    return match.group(0) if match else ""


def test_resource_health_with_argo_cds_message_and_why_before_any_table(client, polled):
    argo_detail(app(), resources(), tree(), secrets_dropped=2)
    html = html_of(client)

    why = html[html.index("data-argocd-why") :]
    assert html.index("data-argocd-why") < html.index("<table")
    sentence = why[: why.index("</p>")]
    assert "1 resource unhealthy per argocd-server:" in sentence
    assert "Deployment data-platform/ingest-worker is Degraded" in sentence
    assert "exceeded its progress deadline" in sentence

    row = resource_row(html, "Deployment", "ingest-worker")
    assert 'data-health="Degraded"' in row
    assert '<span aria-hidden="true">✕</span>&nbsp;Degraded' in row and "badge--bad" in row
    assert "exceeded its progress deadline" in row
    scheduler = resource_row(html, "Deployment", "airflow-scheduler")
    assert 'data-health="Progressing"' in scheduler and "badge--progress" in scheduler
    # a resource argocd-server does not name is still "not reported", never guessed
    assert 'data-health="not-reported"' in resource_row(html, "ServiceAccount", "spark")
    # the unhealthy resource comes first, and "not reported" is no longer said of the app
    rows = re.findall(r'<tr data-resource="([^"]+)"', html)
    assert rows[0] == f"Deployment/{NS}/ingest-worker"
    assert "keeps it out of the Application (resourceHealthSource: appTree)" not in html
    assert "1 unhealthy" in html[html.index('id="resources-title"') :]


def test_the_live_tree_below_a_managed_resource(client, polled):
    argo_detail(app(), resources(), tree(pods=3))
    detail = detail_row(html_of(client), "Deployment", "ingest-worker")
    tree_part = detail[detail.index("data-tree") :]
    # open, as something in it is unhealthy; the crashing Pod first under its ReplicaSet
    assert re.search(r'<details class="obj-argo__block" data-key="tree-[^"]+" open>', detail)
    assert "Live tree: 1 ReplicaSet, 3 Pods" in detail and "1 unhealthy" in detail
    nodes = re.findall(r'data-node="([^"]+)"', tree_part)
    assert nodes[:2] == [f"ReplicaSet/{NS}/ingest-worker-7c9", f"Pod/{NS}/ingest-worker-7c9-abc"]
    assert "obj-tree__node--d2" in tree_part  # the Pod is indented below its ReplicaSet
    assert "back-off 5m0s restarting failed container" in tree_part
    assert "Status Reason: <strong>CrashLoopBackOff</strong>" in tree_part
    assert "registry.example.mil/data/ingest-worker:0.31.2" in tree_part


def test_a_tree_larger_than_the_cap_says_so(client, polled, settings):
    settings.TIDEWATCH_PAGE_TREE_NODES = 5
    argo_detail(app(), resources(), tree(pods=30))
    detail = detail_row(html_of(client), "Deployment", "ingest-worker")
    assert len(re.findall(r'data-node="', detail)) == 5
    assert "Showing 5 of 31 live nodes" in detail


def test_each_out_of_sync_resource_shows_a_field_level_diff(client, polled):
    argo_detail(app(), resources(), tree())
    html = html_of(client)
    diff = detail_row(html, "Deployment", "ingest-worker")
    lines = dict(re.findall(r'data-diff-path="([^"]+)">(.*?)</tr>', diff, re.S))
    assert set(lines) == {
        "spec.replicas",
        "metadata.labels.tier",
        "spec.template.spec.nodeSelector.pool",
    }
    replicas = lines["spec.replicas"]
    assert "changed" in replicas and "<code>2</code>" in replicas and "<code>3</code>" in replicas
    assert replicas.index("<code>2</code>") < replicas.index("→") < replicas.index("<code>3</code>")
    assert (
        "+ added" in lines["metadata.labels.tier"] and "(absent)" in lines["metadata.labels.tier"]
    )
    removed = lines["spec.template.spec.nodeSelector.pool"]
    assert "− removed" in removed and "<code>spot</code>" in removed
    assert "data-diff-truncated" not in diff

    config = detail_row(html, "ConfigMap", "pipeline-config")
    assert "data.SCHEDULE" in config and "@hourly" in config and "@daily" in config
    assert "Diff truncated" in config
    assert "2 resources differ from Git" in html
    # a resource in sync has no detail row at all
    assert detail_row(html, "Service", "airflow-webserver") == ""


def test_secrets_are_never_shown_even_when_a_row_holds_one(client, polled):
    argo_detail(app(), resources(secret=True), tree(), secrets_dropped=2)
    html = html_of(client)
    assert "db-credentials" not in html and SECRET_VALUE not in html
    assert 'data-secrets-dropped="3"' in html
    assert (
        "3 Secrets are managed by this app; Tidewatch never stores or shows their state "
        "(live, target or diff)." in html
    )
    body = client.get(API).json()
    assert "db-credentials" not in str(body) and SECRET_VALUE not in str(body)
    assert body["argocdServer"]["secretsDropped"] == 3


def test_without_a_server_the_page_says_so_in_one_sentence(client, polled):
    html = html_of(client)
    note = re.search(
        r'<p class="obj-note" data-argocd-server="not-configured">(.*?)</p>', html, re.S
    )
    assert note, "the not-configured sentence"
    text = " ".join(note.group(1).split())
    assert text.startswith(
        "Per-resource health is not reported: Argo CD 3 keeps it in argocd-server"
    )
    assert "no Argo CD server is configured for this cluster" in text
    assert "docs/argocd-server.md" in text
    assert "data-argocd-why" not in html and 'class="obj-argo"' not in html

    body = client.get(API).json()
    assert body["argocdServer"]["state"] == "not-configured"
    assert "no Argo CD server is configured" in body["argocdServer"]["reason"]
    assert body["argocdServer"]["fetchedAt"] is None
    assert all(m["diff"] is None for m in body["managedResources"])


def test_a_failed_read_keeps_the_last_good_data_marked_stale(client, polled):
    good = timezone.now() - timedelta(hours=2)
    reason = "argocd-server https://argocd.example: 503 Service Unavailable"
    argo_detail(app(), resources(), tree(), fetched_at=good, error=reason)
    html = html_of(client)
    stale = re.search(
        r'<p class="why why--warn obj-stale" data-stale="argocd-server">(.*?)</p>', html, re.S
    )
    assert stale and html.index('data-stale="argocd-server"') < html.index("<table")
    text = " ".join(stale.group(1).split())
    assert "argocd-server could not be read for this Application:" in text
    assert "503 Service Unavailable" in text
    assert f"from the last good read, {good:%Y-%m-%d %H:%M} UTC" in text
    # the last good data is still there, said to be stale
    assert "exceeded its progress deadline" in resource_row(html, "Deployment", "ingest-worker")
    assert "spec.replicas" in detail_row(html, "Deployment", "ingest-worker")
    assert "at the last good read, <strong>stale</strong>" in html

    body = client.get(API).json()["argocdServer"]
    assert body["state"] == "error" and body["reason"] == reason
    assert body["fetchedAt"] == good.isoformat()


def test_a_failed_first_read_says_nothing_was_read(client, polled):
    argo_detail(app(), [], [], fetched_at=None, error="argocd-server: 401 Unauthorized")
    html = html_of(client)
    assert "Nothing has been read successfully yet." in html
    note = re.search(r'data-argocd-server="error">(.*?)</p>', html, re.S).group(1)
    assert "reading it failed (argocd-server: 401 Unauthorized)" in " ".join(note.split())
    body = client.get(API).json()
    assert body["argocdServer"]["state"] == "error"
    assert all(m["health"] is None for m in body["managedResources"])


def test_the_api_carries_health_and_diff_per_managed_resource(client, polled):
    argo_detail(app(), resources(), tree())
    body = client.get(API).json()
    assert body["argocdServer"]["state"] == "ok" and body["argocdServer"]["reason"] == ""
    by_name = {m["name"]: m for m in body["managedResources"]}
    worker = by_name["ingest-worker"]
    assert worker["health"] == {
        "status": "Degraded",
        "message": PROGRESS,
        "source": "argocd-server",
    }
    assert worker["diff"][0] == {
        "path": "spec.replicas",
        "change": "changed",
        "live": "2",
        "target": "3",
    }
    assert worker["diffTruncated"] is False
    assert by_name["pipeline-config"]["diffTruncated"] is True
    assert by_name["airflow-webserver"]["diff"] is None
    assert by_name["spark"]["health"] is None  # argocd-server did not name it


def test_the_query_count_does_not_grow_with_the_tree(client, polled, django_assert_num_queries):
    argo_detail(app(), resources(), tree(pods=1))
    with CaptureQueriesContext(connection) as small:
        html_of(client)
    with CaptureQueriesContext(connection) as small_api:
        client.get(API)
    argo_detail(app(), resources(), tree(pods=300))
    with django_assert_num_queries(len(small.captured_queries)):
        html = html_of(client)
    assert "Showing 50 of 301 live nodes" in html
    with django_assert_num_queries(len(small_api.captured_queries)):
        client.get(API)


def test_an_open_page_redraws_when_the_detail_changes(client, polled):
    token = re.search(r'name="since" value="([^"]+)"', html_of(client)).group(1)
    refreshed = client.get(f"{URL}?since={token}", headers=HTMX)
    assert refreshed.status_code == 204

    argo_detail(app(), resources(), tree())
    bump()  # the worker's write moves the store version, as every store write does
    refreshed = client.get(f"{URL}?since={token}", headers=HTMX)
    assert refreshed.status_code == 200
    assert "exceeded its progress deadline" in refreshed.content.decode()
    token = re.search(r'name="since" value="([^"]+)"', refreshed.content.decode()).group(1)

    # a failed re-read: the page marks the data stale
    argo_detail(app(), resources(), tree(), error="argocd-server: timed out after 10s")
    bump()
    refreshed = client.get(f"{URL}?since={token}", headers=HTMX)
    assert refreshed.status_code == 200
    assert 'data-stale="argocd-server"' in refreshed.content.decode()


def test_hostile_text_from_argocd_server_is_inert(client, polled):
    hostile = "<img src=x onerror=alert(1)>"
    rows = [
        argo_resource(
            "apps",
            "Deployment",
            NS,
            "ingest-worker",
            sync="OutOfSync",
            health=("Degraded", hostile),
            diff=[(f"spec.{hostile}", "changed", hostile, f"</td></tr>{hostile}")],
        )
    ]
    nodes = [
        argo_node("d1", "apps", "Deployment", NS, "ingest-worker"),
        argo_node(
            "p1",
            "",
            "Pod",
            NS,
            hostile,
            parents=("d1",),
            health=("Degraded", hostile),
            info={hostile: hostile},
            images=(hostile,),
        ),
    ]
    argo_detail(app(), rows, nodes, error=hostile)
    html = html_of(client)
    assert hostile not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    body = client.get(API).json()
    worker = next(m for m in body["managedResources"] if m["name"] == "ingest-worker")
    assert worker["health"]["message"] == hostile  # JSON, not HTML


def test_a_long_diff_value_is_cut_with_the_full_value_in_details(client, polled):
    long = "x" * 5000
    rows = [
        argo_resource(
            "",
            "ConfigMap",
            NS,
            "pipeline-config",
            sync="OutOfSync",
            diff=[("data.script", "changed", long, "short")],
        )
    ]
    argo_detail(app(), rows)
    diff = detail_row(html_of(client), "ConfigMap", "pipeline-config")
    assert "Full value (5000 characters)" in diff and long in diff
    assert "<code>short</code>" in diff


def test_empty_values_and_absent_sides_as_the_worker_writes_them(client, polled):
    # The worker's own output (None for an absent side): an added or removed field whose
    # value is "" shows "", never "(absent)", on the page and in the API.
    from clusters.argocd_server.parse import field_diff

    live = {"metadata": {"name": "c", "annotations": {"gone": ""}}, "data": {"a": ""}}
    target = {"metadata": {"name": "c", "labels": {"new": ""}}, "data": {"a": "x"}}
    diff, _ = field_diff(live, target, max_fields=50)
    entry = argo_resource("", "ConfigMap", NS, "pipeline-config", sync="OutOfSync")
    entry["diff"] = diff
    argo_detail(app(), [entry])
    lines = dict(
        re.findall(
            r'data-diff-path="([^"]+)">(.*?)</tr>',
            detail_row(html_of(client), "ConfigMap", "pipeline-config"),
            re.S,
        )
    )

    def cells(path: str) -> tuple[str, str]:
        found = re.search(
            r'obj-diff__live">(.*?)</td>.*obj-diff__target">(.*?)</td>', lines[path], re.S
        )
        assert found, lines[path]
        return found.group(1), found.group(2)

    assert cells("metadata.labels.new") == (
        '<span class="muted">(absent)</span>',
        '<code>""</code>',
    )
    assert cells("metadata.annotations.gone") == (
        '<code>""</code>',
        '<span class="muted">(absent)</span>',
    )
    assert cells("data.a") == ('<code>""</code>', "<code>x</code>")
    body = client.get(API).json()
    config = next(m for m in body["managedResources"] if m["name"] == "pipeline-config")
    by_path = {d["path"]: d for d in config["diff"]}
    assert (by_path["metadata.labels.new"]["live"], by_path["metadata.labels.new"]["target"]) == (
        None,
        "",
    )
    assert by_path["metadata.annotations.gone"]["target"] is None
    assert by_path["data.a"]["live"] == ""
