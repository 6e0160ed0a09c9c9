from __future__ import annotations

import pytest

from clusters.status.conditions import Node
from clusters.status.inventory import InventoryIdError, parse_inventory_id, read_inventory
from clusters.status.record import ResourceRef

# id -> (namespace, name, group, kind)
VALID_IDS = [
    ("default_podinfo__Service", ("default", "podinfo", "", "Service")),
    ("webapp_backend_apps_Deployment", ("webapp", "backend", "apps", "Deployment")),
    ("_flux-system__Namespace", ("", "flux-system", "", "Namespace")),
    (
        "flux-system_infrastructure_kustomize.toolkit.fluxcd.io_Kustomization",
        ("flux-system", "infrastructure", "kustomize.toolkit.fluxcd.io", "Kustomization"),
    ),
    (
        "_system__controller__foo_rbac.authorization.k8s.io_ClusterRole",
        ("", "system:controller:foo", "rbac.authorization.k8s.io", "ClusterRole"),
    ),
    (
        "_flux-system__reconciler_rbac.authorization.k8s.io_ClusterRole",
        ("", "flux-system:reconciler", "rbac.authorization.k8s.io", "ClusterRole"),
    ),
    (
        "kube-system_system__leader-locking-foo_rbac.authorization.k8s.io_RoleBinding",
        ("kube-system", "system:leader-locking-foo", "rbac.authorization.k8s.io", "RoleBinding"),
    ),
    # A colon-name in the core group: the empty group sits right before the kind.
    ("team-a_a__b__ConfigMap", ("team-a", "a:b", "", "ConfigMap")),
    # A trailing colon: three underscores before the group, two of them are the colon.
    (
        "_foo___rbac.authorization.k8s.io_ClusterRole",
        ("", "foo:", "rbac.authorization.k8s.io", "ClusterRole"),
    ),
    (
        "_a__b__c_rbac.authorization.k8s.io_ClusterRole",
        ("", "a:b:c", "rbac.authorization.k8s.io", "ClusterRole"),
    ),
]

MALFORMED_IDS = [
    "",
    "nonsense",
    "ns_name",
    "ns_name_Kind",  # three fields: no group separator
    "ns_name_apps_Deployment_extra",  # five fields
    "ns__apps_Deployment",  # empty name
    "ns_name_apps_",  # empty kind
    "ns_a___b_apps_Deployment",  # odd underscore run: a field separator inside the name
]


@pytest.mark.parametrize(("entry_id", "expected"), VALID_IDS, ids=[i for i, _ in VALID_IDS])
def test_parse_inventory_id(entry_id: str, expected: tuple[str, str, str, str]) -> None:
    namespace, name, group, kind = expected
    ref = parse_inventory_id(entry_id, "v1")
    assert ref == ResourceRef(group=group, kind=kind, namespace=namespace, name=name, version="v1")
    assert ref.sync is None and ref.health is None


@pytest.mark.parametrize("entry_id", MALFORMED_IDS)
def test_malformed_inventory_id_raises(entry_id: str) -> None:
    with pytest.raises(InventoryIdError):
        parse_inventory_id(entry_id)


def test_non_string_id_raises() -> None:
    with pytest.raises(InventoryIdError):
        parse_inventory_id(42)  # type: ignore[arg-type]


def test_read_inventory_keeps_good_entries_and_records_bad_ones() -> None:
    node = Node.root(
        {
            "entries": [
                {"id": "default_podinfo__Service", "v": "v1"},
                {"id": "garbage"},
                {"v": "v1"},
                "not-an-entry",
                {"id": "_podinfo_rbac.authorization.k8s.io_ClusterRole", "v": "v1"},
            ]
        }
    )
    refs = read_inventory(node)
    assert [(r.namespace, r.name, r.kind) for r in refs] == [
        ("default", "podinfo", "Service"),
        ("", "podinfo", "ClusterRole"),
    ]
    problems = node.problems.as_list()
    assert len(problems) == 3
    assert any("entries[1].id" in p for p in problems)
    assert any("entries[2].id is missing" in p for p in problems)
    assert any("entries[3]" in p for p in problems)


def test_read_inventory_absent_is_empty_and_fine() -> None:
    node = Node.root({})
    assert read_inventory(node.get("inventory")) == []
    assert not node.problems


def test_read_inventory_wrong_type_is_a_problem() -> None:
    node = Node.root({"entries": "default_podinfo__Service"})
    assert read_inventory(node) == []
    assert node.problems.as_list() == ["entries: expected a list, got str"]
