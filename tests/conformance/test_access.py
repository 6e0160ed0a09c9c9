"""What the shipped ClusterRole lets the `tidewatch` user do on a real API server: read (list,
watch with bookmarks) and nothing else."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from tests.conformance.conftest import Namespaces, samples_dir

KUSTOMIZATIONS = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
# The server closes a watch at its timeoutSeconds; that bounds each watch below.
WATCH_SECONDS = 6


def forbidden(call, *args, **kwargs) -> int:
    try:
        call(*args, **kwargs)
    except ApiException as exc:
        return exc.status
    return 200


def test_tidewatch_can_list_but_every_write_verb_is_denied(tidewatch_api, namespaces: Namespaces):
    namespace = namespaces.create("rbac")
    sample = namespaces.apply_sample(
        samples_dir() / "flux_kustomization_ready_inventory_dependson.yaml", namespace
    )
    name = sample["metadata"]["name"]
    custom = k8s.CustomObjectsApi(tidewatch_api)
    core = k8s.CoreV1Api(tidewatch_api)
    group, version, plural = KUSTOMIZATIONS

    listed = custom.list_namespaced_custom_object(group, version, namespace, plural)
    assert [o["metadata"]["name"] for o in listed["items"]] == [name]
    assert custom.get_namespaced_custom_object(group, version, namespace, plural, name)
    assert namespace in [n.metadata.name for n in core.list_namespace().items]

    body = {**sample, "metadata": {"name": "intruder"}}
    patch = {"metadata": {"labels": {"tidewatch": "wrote"}}}
    denied = {
        "create": forbidden(
            custom.create_namespaced_custom_object, group, version, namespace, plural, body
        ),
        "patch": forbidden(
            custom.patch_namespaced_custom_object, group, version, namespace, plural, name, patch
        ),
        "patch status": forbidden(
            custom.patch_namespaced_custom_object_status,
            *(group, version, namespace, plural, name),
            {"status": {"conditions": []}},
        ),
        "replace": forbidden(
            custom.replace_namespaced_custom_object,
            *(group, version, namespace, plural, name),
            sample,
        ),
        "delete": forbidden(
            custom.delete_namespaced_custom_object, group, version, namespace, plural, name
        ),
        "delete collection": forbidden(
            custom.delete_collection_namespaced_custom_object, group, version, namespace, plural
        ),
        "create namespace": forbidden(core.create_namespace, {"metadata": {"name": "intruder"}}),
        "list secrets": forbidden(core.list_namespaced_secret, namespace),
    }
    assert denied == dict.fromkeys(denied, 403)
    # Nothing was changed by the attempts.
    admin = namespaces.custom
    after = admin.get_namespaced_custom_object(group, version, namespace, plural, name)
    assert after["metadata"]["resourceVersion"] == sample["metadata"]["resourceVersion"]


def test_tidewatch_watches_with_bookmarks_through_the_real_client(
    tidewatch_api, namespaces: Namespaces
):
    """List, then watch from the list's resourceVersion with allowWatchBookmarks, as the
    `tidewatch` user: the create and the status write arrive in order and nothing else; a
    BOOKMARK (sent at the server's discretion: never assumed) only moves the version on; and a
    second watch resumed from the client's last version sees only the next change."""
    namespace = namespaces.create("watch")
    custom = k8s.CustomObjectsApi(tidewatch_api)
    group, version, plural = KUSTOMIZATIONS
    listed = custom.list_namespaced_custom_object(group, version, namespace, plural)
    since = listed["metadata"]["resourceVersion"]
    # Made after the list and before the watch: a watch from the list's version must still
    # deliver it (no gap between list and watch).
    created = namespaces.apply_sample(
        samples_dir() / "flux_kustomization_ready_inventory_dependson.yaml", namespace
    )
    name = created["metadata"]["name"]

    stream = watch.Watch()
    first = watched(stream, custom, namespace, resource_version=since)
    changes = [(kind, meta["name"]) for kind, meta in first if kind != "BOOKMARK"]
    assert changes == [("ADDED", name), ("MODIFIED", name)], first
    delivered = [int(meta["resourceVersion"]) for kind, meta in first if kind != "BOOKMARK"]
    assert delivered == sorted(delivered)
    assert delivered[-1] == int(created["metadata"]["resourceVersion"])
    newest = 0
    for kind, meta in first:
        if kind == "BOOKMARK":
            assert set(meta) <= {"resourceVersion", "annotations"}, meta
            assert int(meta["resourceVersion"]) >= newest, "a bookmark went back in time"
        newest = max(newest, int(meta["resourceVersion"]))
    resume = stream.resource_version
    assert int(resume) >= delivered[-1]

    patched = namespaces.custom.patch_namespaced_custom_object_status(
        group, version, namespace, plural, name, {"status": {"lastHandledReconcileAt": "now"}}
    )
    second = watched(stream, custom, namespace, resource_version=resume, until="MODIFIED")
    changes = [(kind, meta["resourceVersion"]) for kind, meta in second if kind != "BOOKMARK"]
    assert changes == [("MODIFIED", patched["metadata"]["resourceVersion"])], second


def watched(
    stream: watch.Watch,
    custom: k8s.CustomObjectsApi,
    namespace: str,
    *,
    resource_version: str,
    until: str = "",
) -> list[tuple[str, dict]]:
    """Events of one watch (type, metadata) until the server's deadline or the first ``until``."""
    group, version, plural = KUSTOMIZATIONS
    events = []
    for event in stream.stream(
        custom.list_namespaced_custom_object,
        *(group, version, namespace, plural),
        resource_version=resource_version,
        allow_watch_bookmarks=True,
        timeout_seconds=WATCH_SECONDS,
    ):
        events.append((event["type"], event["object"]["metadata"]))
        if event["type"] == until:
            stream.stop()
    return events


@pytest.mark.parametrize("context", ["viewer", "operator"])
def test_users_without_a_binding_cannot_list(realapi_kubeconfig, tidewatch_rbac, context):
    """The binding is to the tidewatch ServiceAccount only: other users get nothing from it."""
    from tests.conformance.conftest import api_client

    with api_client(realapi_kubeconfig, context) as api:
        group, version, plural = KUSTOMIZATIONS
        status = forbidden(
            k8s.CustomObjectsApi(api).list_cluster_custom_object, group, version, plural
        )
    assert status == 403
