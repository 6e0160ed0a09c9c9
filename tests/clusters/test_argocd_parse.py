"""The pure parsers of argocd-server's answers (clusters/argocd_server/parse.py), table-driven."""

from __future__ import annotations

import json

import pytest

from clusters.argocd_server.parse import build_detail, comparable, field_diff, parse_tree


def state(obj: object) -> str:
    return json.dumps(obj)


DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}}


@pytest.mark.parametrize(
    ("live", "target", "expected"),
    [
        (
            {**DEPLOY, "spec": {"replicas": 4}},
            {**DEPLOY, "spec": {"replicas": 3}},
            [("spec.replicas", "changed", "4", "3")],
        ),
        (
            {**DEPLOY, "spec": {}},
            {**DEPLOY, "spec": {"paused": True}},
            [("spec.paused", "added", None, "true")],
        ),
        (
            {**DEPLOY, "metadata": {"name": "w", "labels": {"app.kubernetes.io/name": "w"}}},
            DEPLOY,
            [('metadata.labels["app.kubernetes.io/name"]', "removed", "w", None)],
        ),
        (
            {**DEPLOY, "spec": {"c": [{"image": "a:1"}]}},
            {**DEPLOY, "spec": {"c": [{"image": "a:2"}, {"image": "b:1"}]}},
            [("spec.c[0].image", "changed", "a:1", "a:2"),
             ("spec.c[1].image", "added", None, "b:1")],
        ),
        (None, {**DEPLOY, "spec": {"replicas": 1}},  # not in the cluster yet: all added
         [("apiVersion", "added", None, "apps/v1"), ("kind", "added", None, "Deployment"),
          ("metadata.name", "added", None, "w"), ("spec.replicas", "added", None, "1")]),
        (
            # What Argo CD does not compare: status and the API server's bookkeeping.
            {
                **DEPLOY,
                "metadata": {
                    "name": "w",
                    "uid": "u",
                    "resourceVersion": "9",
                    "generation": 4,
                    "creationTimestamp": "2026-01-01T00:00:00Z",
                    "managedFields": [{"manager": "kubectl"}],
                    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
                },
                "status": {"replicas": 4},
            },
            DEPLOY,
            [],
        ),
        # A string and a number that read alike are told apart.
        ({**DEPLOY, "spec": {"x": "1"}}, {**DEPLOY, "spec": {"x": 1}},
         [("spec.x", "changed", '"1"', "1")]),
    ],
    ids=["changed", "added", "removed", "list items", "to be created", "ignored", "type"],
)  # fmt: skip
def test_field_diff(live, target, expected):
    diff, truncated = field_diff(live, target, max_fields=50)
    assert [(d["path"], d["change"], d["live"], d["target"]) for d in diff] == expected
    assert truncated is False


def test_field_diff_is_capped():
    live = {"data": {f"k{i:03}": "a" for i in range(30)}}
    target = {"data": {f"k{i:03}": "b" for i in range(30)}}
    diff, truncated = field_diff(live, target, max_fields=10)
    assert len(diff) == 10 and truncated is True


def test_a_long_value_is_shortened():
    diff, _ = field_diff({"data": {"a": "x" * 5000}}, {"data": {"a": "y"}}, max_fields=5)
    assert len(diff[0]["live"]) == 500 and diff[0]["live"].endswith("…")


def test_comparable_keeps_other_annotations():
    obj = {
        "metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "a": "b"}
        }
    }
    assert comparable(obj) == {"metadata": {"annotations": {"a": "b"}}}


def node(kind: str, name: str, uid: str, parents: list[str] = (), group: str = "", **extra):
    out = {"kind": kind, "name": name, "namespace": "ns", "uid": uid, "version": "v1", **extra}
    if group:
        out["group"] = group
    if parents:
        out["parentRefs"] = [{"kind": "X", "name": "x", "uid": p} for p in parents]
    return out


TREE = {
    "nodes": [
        node("Deployment", "w", "d1", group="apps", health={"status": "Healthy"}),
        node("ReplicaSet", "w-1", "r1", ["d1"], group="apps"),
        node("Pod", "w-1-a", "p1", ["r1"], health={"status": "Degraded", "message": "back-off"},
             info=[{"name": "Status Reason", "value": "CrashLoopBackOff"}], images=["w:1"]),
        node("Secret", "creds", "s1"),
        node("Pod", "from-secret", "p2", ["s1"]),
        node("Service", "unmanaged", "x1"),
    ]
}  # fmt: skip
MANAGED = {("apps", "Deployment", "ns", "w"), ("", "Secret", "ns", "creds")}


@pytest.mark.parametrize(
    ("answer", "max_nodes", "kinds", "truncated"),
    [
        (TREE, 100, ["Deployment", "ReplicaSet", "Pod"], False),
        (TREE, 2, ["Deployment", "ReplicaSet"], True),
        ({}, 100, [], False),
        ({"nodes": "nonsense"}, 100, [], False),
        ({"nodes": [None, 3, {"kind": "Pod"}]}, 100, [], False),
    ],
    ids=["whole", "capped", "empty", "not a list", "junk nodes"],
)
def test_parse_tree(answer, max_nodes, kinds, truncated):
    tree = parse_tree(answer, MANAGED, max_nodes=max_nodes)
    assert [n["kind"] for n in tree.nodes] == kinds
    assert tree.truncated is truncated


def test_tree_nodes_name_their_parents_and_keep_health_and_info():
    tree = parse_tree(TREE, MANAGED, max_nodes=100)
    pod = tree.nodes[2]
    assert pod["parents"] == ["r1"] and tree.nodes[0]["parents"] == []
    assert pod["health"] == {"status": "Degraded", "message": "back-off"}
    assert pod["info"] == [{"name": "Status Reason", "value": "CrashLoopBackOff"}]
    assert pod["images"] == ["w:1"]
    assert tree.secrets == {("", "Secret", "ns", "creds")}
    assert "from-secret" not in {n["name"] for n in tree.nodes}


def diff_item(kind, name, *, group="", modified=False, live=None, target=None, **extra):
    item = {"kind": kind, "name": name, "namespace": "ns", **extra}
    if group:
        item["group"] = group
    if modified:
        item["modified"] = True
    if live is not None:
        item["normalizedLiveState"] = state(live)
    if target is not None:
        item["predictedLiveState"] = state(target)
    return item


@pytest.mark.parametrize(
    ("items", "expected_diff"),
    [
        ([diff_item("Deployment", "w", group="apps")], None),
        (
            [diff_item("Deployment", "w", group="apps", modified=True,
                       live={"spec": {"replicas": 2}}, target={"spec": {"replicas": 3}})],
            [("spec.replicas", "changed")],
        ),
        (
            # No prediction (an older server): the target is what it compares with.
            [diff_item("Deployment", "w", group="apps", modified=True,
                       live={"spec": {"replicas": 2}},
                       targetState=state({"spec": {"replicas": 5}}))],
            [("spec.replicas", "changed")],
        ),
        (
            [diff_item("Deployment", "w", group="apps", modified=True,
                       normalizedLiveState="{not json")],
            None,
        ),
        (
            [diff_item("Secret", "creds", modified=True,
                       live={"data": {"p": "++++++++"}}, target={"data": {"p": "++++++++"}})],
            None,
        ),
        ([diff_item("Deployment", "w", group="apps", modified=True, hook=True)], None),
    ],
    ids=["in sync", "drifted", "no prediction", "bad JSON", "secret", "hook"],
)  # fmt: skip
def test_build_detail(items, expected_diff):
    listed = [
        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "ns", "name": "w",
         "status": "OutOfSync" if items[0].get("modified") else "Synced"},
        {"kind": "Secret", "version": "v1", "namespace": "ns", "name": "creds", "status": "Synced"},
    ]  # fmt: skip
    detail = build_detail(listed, TREE, {"items": items}, max_nodes=100, max_fields=50)
    (deployment,) = detail.resources
    assert deployment["health"] == {"status": "Healthy", "message": ""}
    assert deployment["uid"] == "d1" and deployment["version"] == "v1"
    diff = deployment["diff"]
    assert (None if diff is None else [(d["path"], d["change"]) for d in diff]) == expected_diff
    assert detail.secrets_dropped == 1  # the same Secret, wherever it appeared
    assert "creds" not in json.dumps([detail.resources, detail.tree])


def test_build_detail_of_answers_that_are_not_objects():
    detail = build_detail([], None, "nonsense", max_nodes=10, max_fields=10)
    assert (detail.resources, detail.tree, detail.secrets_dropped) == ([], [], 0)


def test_a_resource_only_argocd_server_knows_is_kept_with_its_sync():
    managed = {"items": [diff_item("ConfigMap", "new", modified=True, target={"data": {"a": "1"}})]}
    detail = build_detail([], {}, managed, max_nodes=10, max_fields=10)
    (entry,) = detail.resources
    assert entry["sync"] == "OutOfSync" and entry["health"] is None
    assert [d["change"] for d in entry["diff"]] == ["added"]
