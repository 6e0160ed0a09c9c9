"""Fuzzing the pure parts that read what a cluster sends: ``normalize`` must never raise and must
always return a well-formed record, whatever the object looks like.

Inputs, about 10,400 objects per run (derandomized, so CI sees the same ones every time; run with
TIDEWATCH_FUZZ_REPORT=1 and -s to see the counts):

- random JSON-like values, and random bodies under a real apiVersion/kind (so the Flux and Argo
  CD readers get past identity and into status);
- the real samples (shared/reference/samples) and the test fixtures, mutated: keys deleted, types
  swapped, huge or odd strings, None, nested junk, odd timestamps.

Also fuzzed lightly: the ownership analysis (``clusters.ownership``) over normalized junk, and
the boundaries loader (raises BoundaryError and nothing else).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clusters import ownership as own
from clusters.status.normalize import normalize
from clusters.status.record import Condition, DependencyRef, ObjectRecord, ResourceRef
from clusters.status.vocabulary import Status, Sync

ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = ROOT.parent / "shared/reference/samples"
FIXTURES_DIR = ROOT / "tests/fixtures"

# Examples per test, and the objects normalized (a mutant example yields one object per step).
RANDOM_JSON = 1000
RANDOM_KINDS = 1300
MUTATED_SAMPLES = 1200
MUTATED_SAMPLES_OBJECTS = 4500
MUTATED_FIXTURES = 600
MUTATED_FIXTURES_OBJECTS = 2000
OWNERSHIP = 100

FUZZ = {
    "derandomize": True,  # the same inputs on every run: CI stays stable
    "database": None,  # no .hypothesis/ directory in the work tree
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


def _load(directory: Path) -> list[dict[str, Any]]:
    found = []
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict):
                # As the API would send it: JSON (YAML timestamps become strings).
                found.append(json.loads(json.dumps(document, default=str)))
    return found


SAMPLES = _load(SAMPLES_DIR) if SAMPLES_DIR.is_dir() else []
FIXTURES = _load(FIXTURES_DIR)

KINDS = [
    ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ("source.toolkit.fluxcd.io/v1", "HelmRepository"),
    ("source.toolkit.fluxcd.io/v1", "HelmChart"),
    ("source.toolkit.fluxcd.io/v1", "OCIRepository"),
    ("source.toolkit.fluxcd.io/v1", "Bucket"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
    ("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease"),
    ("notification.toolkit.fluxcd.io/v1beta3", "Alert"),
    ("notification.toolkit.fluxcd.io/v1beta3", "Provider"),
    ("notification.toolkit.fluxcd.io/v1", "Receiver"),
    ("image.toolkit.fluxcd.io/v1beta2", "ImagePolicy"),
    ("image.toolkit.fluxcd.io/v1beta2", "ImageRepository"),
    ("image.toolkit.fluxcd.io/v1beta2", "ImageUpdateAutomation"),
    ("argoproj.io/v1alpha1", "Application"),
    ("argoproj.io/v1alpha1", "ApplicationSet"),
    ("argoproj.io/v1alpha1", "AppProject"),
    ("apps/v1", "Deployment"),
    ("", ""),
    ("v1", "ConfigMap"),
]

HUGE = [
    "x" * 1_000_000,
    "<script>alert(1)</script>" * 20_000,
    "\u202e" * 1000 + "gnp.exe",
    "é" * 100_000,
    "\n" * 50_000,
]
ODD = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "True",
    "False",
    "true",
    "Unknown",
    "null",
    "None",
    "0",
    "-1",
    "1e309",
    "NaN",
    "Ready",
    "Healthy",
    "Degraded",
    "OutOfSync",
    "/",
    "//",
    "a/b/c/d",
    "sha1:",
    "main@sha1:",
    "@",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-13-45T99:99:99Z",
    "2026-11-26T10:00:00",
    "2026-11-26T10:00:00.123456789+05:30",
    "2026-11-26",
    "yesterday",
    "🙂" * 10,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "<img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "{{ 7*7 }}",
    "%s%s%s%n",
    "../../etc/passwd",
]

# JSON as the API server sends it: no NaN/Infinity, no lone surrogates, 64-bit integers.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=30)
    | st.sampled_from(ODD)
)
KEYS = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    [
        "status",
        "conditions",
        "type",
        "reason",
        "message",
        "metadata",
        "name",
        "namespace",
        "spec",
        "health",
        "sync",
        "resources",
        "history",
        "inventory",
        "entries",
        "id",
        "v",
        "lastTransitionTime",
        "observedGeneration",
        "generation",
        "suspend",
        "sourceRef",
        "dependsOn",
        "destination",
        "source",
        "sources",
        "operationState",
        "revision",
        "revisions",
        "lastAppliedRevision",
        "lastAttemptedRevision",
        "targetNamespace",
        "chart",
        "kind",
        "group",
        "version",
        "labels",
        "annotations",
        "ownerReferences",
        "deletionTimestamp",
        "artifact",
        "url",
        "repoURL",
        "path",
        "applicationStatus",
        "resourceHealthSource",
        "summary",
    ]
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=15,
)


def _with_kind(pair: tuple[str, str], body: dict[str, Any], metadata: Any) -> dict[str, Any]:
    api_version, kind = pair
    return {**body, "apiVersion": api_version, "kind": kind, "metadata": metadata}


METADATA = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"name": SCALARS, "namespace": SCALARS},
        optional={
            "generation": SCALARS,
            "labels": JSON,
            "annotations": JSON,
            "deletionTimestamp": SCALARS,
            "resourceVersion": SCALARS,
            "uid": SCALARS,
            "ownerReferences": JSON,
        },
    ),
)
TYPED_OBJECTS = st.builds(
    _with_kind,
    st.sampled_from(KINDS),
    st.fixed_dictionaries({}, optional={"spec": JSON, "status": JSON}),
    METADATA,
)


# --- checking a record ---------------------------------------------------------------------------

_STR_FIELDS = (
    "tool",
    "group",
    "version",
    "kind",
    "namespace",
    "name",
    "uid",
    "resource_version",
    "reason",
    "message",
    "applied_revision",
    "attempted_revision",
)


def check_record(record: ObjectRecord) -> None:
    assert isinstance(record, ObjectRecord)
    assert isinstance(record.status, Status), record.status
    assert isinstance(record.sync, Sync), record.sync
    for name in _STR_FIELDS:
        assert isinstance(getattr(record, name), str), (name, getattr(record, name))
    for name in ("last_transition_time", "last_reconcile_time"):
        assert getattr(record, name) is None or isinstance(getattr(record, name), str), name
    assert isinstance(record.suspended, bool)
    for name in ("revisions", "target_namespaces"):
        value = getattr(record, name)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), (name, value)
    assert isinstance(record.source, dict) and isinstance(record.details, dict)
    assert isinstance(record.managed, list) and isinstance(record.dependencies, list)
    assert isinstance(record.conditions, list)
    # Namespaces and names fit the store's columns (253, a Kubernetes name's limit).
    assert all(len(ns) <= 253 for ns in record.target_namespaces)
    for ref in record.managed:
        assert isinstance(ref, ResourceRef)
        assert len(ref.namespace) <= 253 and len(ref.name) <= 253
        assert all(isinstance(getattr(ref, f), str) for f in ("group", "kind", "namespace", "name"))
        assert ref.sync is None or isinstance(ref.sync, str)
        assert ref.health is None or isinstance(ref.health, str)
    for dep in record.dependencies:
        assert isinstance(dep, DependencyRef)
        assert len(dep.namespace) <= 253 and len(dep.name) <= 253
        assert all(
            isinstance(getattr(dep, f), str) for f in ("relation", "kind", "namespace", "name")
        )
    for condition in record.conditions:
        assert isinstance(condition, Condition)
        assert all(
            isinstance(getattr(condition, f), str) for f in ("type", "status", "reason", "message")
        )
    data = record.to_dict()
    # Strict JSON, as the store's JSON columns need it (PostgreSQL rejects NaN in jsonb).
    json.dumps(data, allow_nan=False)
    orjson.dumps(data)


def normalized(raw: Any) -> ObjectRecord:
    before = copy.deepcopy(raw)
    record = normalize(raw)
    assert raw == before, "normalize changed its input"
    check_record(record)
    return record


# --- mutations -----------------------------------------------------------------------------------


def _slots(value: Any, depth: int = 0) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a JSON value: the places a mutation can hit."""
    found: list[tuple[Any, Any]] = []
    if depth > 12:
        return found
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((value, key))
            found.extend(_slots(child, depth + 1))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((value, index))
            found.extend(_slots(child, depth + 1))
    return found


def _swap_type(value: Any) -> Any:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return {"value": value} if len(value) % 2 else [value]
    return {}


def _nest(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"status": value}
    return value


OPERATIONS = ["delete", "swap", "huge", "odd", "none", "junk", "nest", "duplicate", "random"]


@st.composite
def mutants(draw: st.DrawFn, pool: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One real object mutated 1-8 times; every step is a new object to normalize."""
    obj = copy.deepcopy(draw(st.sampled_from(pool)))
    steps = []
    for _ in range(draw(st.integers(1, 8))):
        slots = _slots(obj)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        operation = draw(st.sampled_from(OPERATIONS))
        if operation == "delete":
            if isinstance(container, dict):
                del container[key]
            else:
                container.pop(key)
        elif operation == "swap":
            container[key] = _swap_type(container[key])
        elif operation == "huge":
            container[key] = draw(st.sampled_from(HUGE))
        elif operation == "odd":
            container[key] = draw(st.sampled_from(ODD))
        elif operation == "none":
            container[key] = None
        elif operation == "junk":
            container[key] = draw(JSON)
        elif operation == "nest":
            container[key] = _nest(container[key], draw(st.integers(1, 60)))
        elif operation == "duplicate" and isinstance(container[key], list):
            container[key] = container[key] * draw(st.integers(2, 50))
        else:
            container[key] = draw(SCALARS)
        steps.append(copy.deepcopy(obj))
    return steps or [obj]


# --- the tests -----------------------------------------------------------------------------------


def test_the_pools_are_real():
    """The mutated inputs start from real objects of both tools."""
    assert len(SAMPLES) >= 30, f"samples not found at {SAMPLES_DIR}"
    assert len(FIXTURES) >= 15
    kinds = {o.get("kind") for o in SAMPLES + FIXTURES}
    assert {"Application", "HelmRelease", "Kustomization", "GitRepository"} <= kinds
    for obj in SAMPLES + FIXTURES:
        normalized(obj)


def fuzz(strategy: st.SearchStrategy[Any], examples: int) -> int:
    """Run normalize over ``examples`` draws of ``strategy`` (one object or a list of them);
    returns how many objects it normalized."""
    seen = [0]

    @settings(max_examples=examples, **FUZZ)
    @given(strategy)
    def run(drawn: Any) -> None:
        for raw in drawn if isinstance(drawn, list) and strategy is not JSON else [drawn]:
            normalized(raw)
            seen[0] += 1

    run()
    if os.environ.get("TIDEWATCH_FUZZ_REPORT"):
        print(f"normalized {seen[0]} objects from {examples} examples")
    return seen[0]


def test_random_json_values():
    assert fuzz(JSON, RANDOM_JSON) >= RANDOM_JSON


def test_random_bodies_of_real_kinds():
    assert fuzz(TYPED_OBJECTS, RANDOM_KINDS) >= RANDOM_KINDS


@pytest.mark.skipif(not SAMPLES, reason="shared/reference/samples not present")
def test_mutated_reference_samples():
    assert fuzz(mutants(SAMPLES), MUTATED_SAMPLES) >= MUTATED_SAMPLES_OBJECTS


def test_mutated_test_fixtures():
    assert fuzz(mutants(FIXTURES), MUTATED_FIXTURES) >= MUTATED_FIXTURES_OBJECTS


@settings(max_examples=OWNERSHIP, **FUZZ)
@given(
    st.lists(mutants(SAMPLES + FIXTURES) | st.lists(TYPED_OBJECTS, max_size=2), max_size=3), JSON
)
def test_the_ownership_analysis_of_junk(batches, namespaces):
    """Records of junk objects, as the store would keep them, through the whole analysis."""
    objects, claims = [], []
    for index, raw in enumerate(raw for batch in batches for raw in batch):
        record = normalized(raw)
        metadata = raw.get("metadata") if isinstance(raw, dict) else None
        labels = metadata.get("labels") if isinstance(metadata, dict) else None
        labels = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
        objects.append(own.GitOpsObject.from_record(record, labels=labels, id=index))
        claims.extend(own.claims_from_record(record))
        # The same object as the store hands it back: JSON columns, row values.
        data = record.to_dict()
        objects.append(
            own.GitOpsObject(
                tool=data["tool"],
                group=data["group"],
                kind=data["kind"],
                namespace=data["namespace"] + "-row",
                name=data["name"],
                status=data["status"],
                sync=data["sync"],
                target_namespaces=data["target_namespaces"],
                dependencies=data["dependencies"],
                conditions=data["conditions"],
                id=f"row-{index}",
            )
        )
    names = [str(n) for n in namespaces] if isinstance(namespaces, list) else []
    report = own.analyse(objects, claims, namespaces=names, workloads=[])
    json.dumps(report.to_dict(), allow_nan=False)
    card = own.build_scorecard(report, [], [], monitoring_installed=False)
    json.dumps(card.to_dict(), allow_nan=False)


@settings(max_examples=300, **FUZZ)
@given(JSON | st.text(st.characters(codec="utf-8"), max_size=200))
def test_broken_boundaries_files_raise_boundary_error_only(document):
    text = document if isinstance(document, str) else yaml.safe_dump(document)
    with contextlib.suppress(own.BoundaryError):
        own.load_boundaries(text, "fuzz.yaml")
