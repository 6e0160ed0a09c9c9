"""metadata.managedFields for the demo's GitOps objects, as the controllers' writes leave them.

A real API server answers every Flux and Argo CD object with the field-manager record of who wrote
it, and on a GitOps object that record is a large part of the JSON: a Kustomization from a real
cluster is about 2 KB, half of it managedFields. The demo's objects carry the same entries so what
a collector lists, parses and throws away costs what it costs against a real server.

Every entry is derived from the object itself (pure functions, no clock), so entries and object
never disagree:

- the **creator**: what wrote the object's spec and labels. ``kustomize-controller`` server-side
  applies what it builds from git (operation ``Apply``: only the fields it sent, no ``.``
  markers); ``helm-controller`` writes what a Helm chart renders and the HelmCharts it generates
  (``Update``); Argo CD's sync writes as ``argocd-controller`` with client-side apply (an
  ``Update`` plus kubectl's last-applied annotation, as ``kubectl apply`` does); the
  ApplicationSet controller writes the Applications it generates; what was created by hand
  through Argo CD's API is ``argocd-server``'s.
- Flux's **finalizer** write: each Flux controller adds ``finalizers.fluxcd.io`` in an Update of
  its own before the first reconcile.
- the **status** writer: ``gotk-kustomize-controller`` (kustomize-controller's ``StatusManager``,
  ``"gotk-" + controllerName`` in its main.go), ``helm-controller``, ``source-controller``,
  ``notification-controller``, ``image-reflector-controller``, ``image-automation-controller``,
  ``argocd-applicationset-controller``, with ``subresource: status`` where the CRD has the status
  subresource; Argo CD's Application and AppProject have none, so ``argocd-application-controller``
  and ``argocd-server`` write them as plain Updates of the whole object.

FieldsV1 follows the API server: a map is ``f:<key>`` children, a map created by an Update also
owns itself (``"."``), and lists are leaves: the Flux and Argo CD CRDs declare no
``x-kubernetes-list-type: map``, so ``conditions`` is atomic (``"f:conditions": {}``, as in
``shared/reference/apiserver/patch_status_subresource.json``), not keyed by type.

``record_write`` is the API server's bookkeeping for one more write: the writer's entry gains the
fields it changed (and its time moves), other entries lose them, removed fields leave every
entry, and a write that changes nothing leaves the record alone.
"""

from __future__ import annotations

import json
import re
from typing import Any

Obj = dict[str, Any]

FLUX_FINALIZER = "finalizers.fluxcd.io"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Written by the API server or other actors, never part of what a controller applies from git.
_NOT_APPLIED_ANNOTATIONS = frozenset(
    {LAST_APPLIED, "reconcile.fluxcd.io/requestedAt", "reconcile.fluxcd.io/forceAt"}
)
_SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

# (group, kind) -> (status writer, whether it writes through the status subresource).
_STATUS_WRITERS: dict[tuple[str, str], tuple[str, bool]] = {
    ("kustomize.toolkit.fluxcd.io", "Kustomization"): ("gotk-kustomize-controller", True),
    ("helm.toolkit.fluxcd.io", "HelmRelease"): ("helm-controller", True),
    **{
        ("source.toolkit.fluxcd.io", kind): ("source-controller", True)
        for kind in ("GitRepository", "HelmRepository", "HelmChart", "OCIRepository", "Bucket")
    },
    ("notification.toolkit.fluxcd.io", "Receiver"): ("notification-controller", True),
    ("image.toolkit.fluxcd.io", "ImageRepository"): ("image-reflector-controller", True),
    ("image.toolkit.fluxcd.io", "ImagePolicy"): ("image-reflector-controller", True),
    ("image.toolkit.fluxcd.io", "ImageUpdateAutomation"): ("image-automation-controller", True),
    ("argoproj.io", "Application"): ("argocd-application-controller", False),
    ("argoproj.io", "AppProject"): ("argocd-server", False),
    ("argoproj.io", "ApplicationSet"): ("argocd-applicationset-controller", True),
}
# Flux controllers that add finalizers.fluxcd.io (Alert and Provider v1beta3 have none).
_FINALIZER_WRITERS = {
    "kustomize.toolkit.fluxcd.io": "gotk-kustomize-controller",
    "helm.toolkit.fluxcd.io": "helm-controller",
    "source.toolkit.fluxcd.io": "source-controller",
    "notification.toolkit.fluxcd.io": "notification-controller",
    "image.toolkit.fluxcd.io": "image-reflector-controller",
}


def group_kind(obj: Obj) -> tuple[str, str]:
    api_version = str(obj.get("apiVersion") or "")
    return (api_version.rpartition("/")[0], str(obj.get("kind") or ""))


def is_gitops(obj: Obj) -> bool:
    group = group_kind(obj)[0]
    return group.endswith(".fluxcd.io") or group == "argoproj.io"


def status_writer(obj: Obj) -> tuple[str, bool] | None:
    """(manager, through the status subresource) of whoever writes this object's status."""
    return _STATUS_WRITERS.get(group_kind(obj))


def creator(obj: Obj) -> tuple[str, str]:
    """(manager, operation) of the write that put this object's spec and labels there."""
    meta = obj.get("metadata") or {}
    labels, annotations = meta.get("labels") or {}, meta.get("annotations") or {}
    group, kind = group_kind(obj)
    if any(ref.get("kind") == "ApplicationSet" for ref in meta.get("ownerReferences") or []):
        return ("argocd-applicationset-controller", "Update")
    if (group, kind) == ("source.toolkit.fluxcd.io", "HelmChart") and not labels:
        return ("helm-controller", "Update")  # generated from a HelmRelease's chart template
    if "kustomize.toolkit.fluxcd.io/name" in labels:
        return ("kustomize-controller", "Apply")
    if "helm.toolkit.fluxcd.io/name" in labels or "meta.helm.sh/release-name" in annotations:
        return ("helm-controller", "Update")
    if "argocd.argoproj.io/tracking-id" in annotations or "argocd.argoproj.io/instance" in labels:
        return ("argocd-controller", "Update")
    if group == "argoproj.io":
        return ("argocd-server", "Update")
    return ("flux", "Apply")  # `flux create` applies server-side as "flux"


# --- FieldsV1 sets -------------------------------------------------------------------------------


def fields_of(value: Any, *, owned_maps: bool) -> Obj:
    """The FieldsV1 set of a JSON object's fields; ``owned_maps`` adds ``"."`` to nested maps."""
    out: Obj = {}
    for key in sorted(value):  # the API server writes a set's fields in order
        child = value[key]
        if isinstance(child, dict) and child:
            sub = fields_of(child, owned_maps=owned_maps)
            if owned_maps:
                sub = {".": {}, **sub}
            out[f"f:{key}"] = sub
        else:
            out[f"f:{key}"] = {}  # scalars, atomic lists and empty maps are leaves
    return out


def changed_fields(old: Any, new: Obj) -> Obj:
    """Fields of ``new`` that are new or differ from ``old`` (maps it creates own themselves)."""
    before = old if isinstance(old, dict) else {}
    out: Obj = {}
    for key, child in new.items():
        if key in before and before[key] == child:
            continue
        if isinstance(child, dict) and child:
            sub = changed_fields(before.get(key), child)
            if not isinstance(before.get(key), dict):
                sub = {".": {}, **sub}
            if sub:
                out[f"f:{key}"] = sub
        else:
            out[f"f:{key}"] = {}
    return out


def removed_fields(old: Obj, new: Any) -> Obj:
    """Fields of ``old`` that ``new`` no longer has."""
    after = new if isinstance(new, dict) else {}
    out: Obj = {}
    for key, child in old.items():
        if key not in after:
            out[f"f:{key}"] = {}
        elif isinstance(child, dict) and isinstance(after[key], dict):
            sub = removed_fields(child, after[key])
            if sub:
                out[f"f:{key}"] = sub
    return out


def union(a: Obj, b: Obj) -> Obj:
    out = dict(a)
    for key, child in b.items():
        out[key] = union(out[key], child) if key in out else child
    return dict(sorted(out.items()))


def subtract(a: Obj, b: Obj) -> Obj:
    """``a`` without the fields in ``b`` (a leaf in ``b`` takes the whole subtree)."""
    out: Obj = {}
    for key, child in a.items():
        if key not in b:
            out[key] = child
        elif b[key] and child:
            rest = subtract(child, b[key])
            if rest:
                out[key] = rest
    return out


# --- entries -------------------------------------------------------------------------------------


def entry(
    manager: str,
    operation: str,
    api_version: str,
    at: str,
    fields: Obj,
    subresource: str | None = None,
) -> Obj:
    # Keys in ManagedFieldsEntry struct order, as the API server writes them.
    out: Obj = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": at,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        out["subresource"] = subresource
    return out


def latest_timestamp(value: Any) -> str | None:
    """The newest RFC 3339 time anywhere in ``value``: when its writer last changed it."""
    if isinstance(value, str):
        return value if _TIMESTAMP.match(value) else None
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    found = [t for t in (latest_timestamp(c) for c in children) if t]
    # Same format, UTC: string order is time order (fractions sort after whole seconds).
    return max(found) if found else None


def _applied_metadata(meta: Obj, *, with_finalizers: bool) -> Obj:
    out: Obj = {}
    labels = meta.get("labels")
    annotations = {
        k: v
        for k, v in (meta.get("annotations") or {}).items()
        if k not in _NOT_APPLIED_ANNOTATIONS
    }
    if annotations:
        out["annotations"] = annotations
    if labels:
        out["labels"] = labels
    if with_finalizers and meta.get("finalizers"):
        out["finalizers"] = meta["finalizers"]
    return out


def _last_applied(obj: Obj, applied_meta: Obj) -> str:
    meta = obj["metadata"]
    manifest_meta: Obj = {**applied_meta, "name": meta["name"]}
    if meta.get("namespace"):
        manifest_meta["namespace"] = meta["namespace"]
    manifest: Obj = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": manifest_meta,
    }
    if "spec" in obj:
        manifest["spec"] = obj["spec"]
    # kubectl stores compact JSON of what it applied.
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")) + "\n"


def _finalizer_set(finalizers: list[str], *, owned: bool) -> Obj:
    # metadata.finalizers is a set-typed list: each value is its own field, keyed "v:<json>".
    values = {f"v:{json.dumps(value)}": {} for value in finalizers}
    return {".": {}, **values} if owned else values


def with_managed_fields(obj: Obj) -> Obj:
    """``obj`` with the managedFields (and kubectl annotation) its writers would have left.

    Objects that are not Flux or Argo CD objects, or already carry managedFields, come back as
    they are. The result is a new object; ``obj`` is not changed.
    """
    meta = obj.get("metadata") or {}
    if not is_gitops(obj) or meta.get("managedFields"):
        return obj
    api_version = obj["apiVersion"]
    created = meta.get("creationTimestamp") or latest_timestamp(obj.get("status")) or ""
    group = group_kind(obj)[0]
    flux_finalizer = (
        FLUX_FINALIZER in (meta.get("finalizers") or []) and group in _FINALIZER_WRITERS
    )
    manager, operation = creator(obj)
    # Argo CD's manifests carry their own finalizer; Flux's is added by the controller.
    applied_meta = _applied_metadata(meta, with_finalizers=not flux_finalizer)
    meta = dict(meta)
    if manager == "argocd-controller":
        last_applied = _last_applied(obj, applied_meta)
        applied_meta["annotations"] = {
            **applied_meta.get("annotations", {}),
            LAST_APPLIED: last_applied,
        }
        meta["annotations"] = {**(meta.get("annotations") or {}), LAST_APPLIED: last_applied}
    body: Obj = {}
    if applied_meta:
        body["metadata"] = applied_meta
    if "spec" in obj:
        body["spec"] = obj["spec"]
    update = operation == "Update"
    fields = fields_of(body, owned_maps=update)
    if "f:metadata" in fields:
        fields["f:metadata"].pop(".", None)  # metadata always exists; nobody owns it whole
        if "finalizers" in applied_meta:
            fields["f:metadata"]["f:finalizers"] = _finalizer_set(
                applied_meta["finalizers"], owned=update
            )
    entries = [entry(manager, operation, api_version, created, fields)] if fields else []
    if flux_finalizer:
        entries.append(
            entry(
                _FINALIZER_WRITERS[group],
                "Update",
                api_version,
                created,
                {"f:metadata": {"f:finalizers": _finalizer_set([FLUX_FINALIZER], owned=True)}},
            )
        )
    writer = status_writer(obj)
    if writer is not None and obj.get("status"):
        status_manager, subresource = writer
        status_fields = fields_of(obj["status"], owned_maps=True)
        at = latest_timestamp(obj["status"]) or created
        if subresource:
            # The status map came with the object (CRD defaults); the controller owns its fields.
            fields = {"f:status": status_fields}
        else:
            fields = {"f:status": {".": {}, **status_fields}}
        if "operation" in obj and not subresource:
            fields["f:operation"] = {".": {}, **fields_of(obj["operation"], owned_maps=True)}
        entries.append(
            entry(
                status_manager, "Update", api_version, at, fields, "status" if subresource else None
            )
        )
    meta["managedFields"] = entries
    return {**obj, "metadata": meta}


def with_all_managed_fields(objects: list[Obj]) -> list[Obj]:
    return [with_managed_fields(obj) for obj in objects]


def _written_part(obj: Obj, subresource: str | None, status_subresource: bool) -> Obj:
    """What a write of ``obj`` (to ``subresource``) can change, as a FieldsV1-comparable object."""
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    if status_subresource:
        out.pop("status", None)
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_METADATA}
    for identity in ("name", "namespace"):
        meta.pop(identity, None)
    out["metadata"] = meta
    return out


def record_write(
    old: Obj,
    new: Obj,
    manager: str,
    at: str,
    *,
    subresource: str | None = None,
    status_subresource: bool = True,
    operation: str = "Update",
) -> list[Obj] | None:
    """``old``'s managedFields after ``manager`` wrote ``new``; None if ``old`` has none.

    As the API server's field manager does for an Update: the changed fields move to the writer's
    entry (created if it has none, its ``time`` set to ``at``), leave every other entry, removed
    fields leave all of them, and empty entries are dropped. A write that changes nothing keeps
    the record exactly, times included.
    """
    entries = (old.get("metadata") or {}).get("managedFields")
    if not entries:
        return None
    before = _written_part(old, subresource, status_subresource)
    after = _written_part(new, subresource, status_subresource)
    changed = changed_fields(before, after)
    removed = removed_fields(before, after)
    if "f:metadata" in changed:
        changed["f:metadata"].pop(".", None)
        if not changed["f:metadata"]:
            del changed["f:metadata"]
    if not changed and not removed:
        return [dict(e) for e in entries]
    out: list[Obj] = []
    mine: Obj | None = None
    for e in entries:
        fields = subtract(e.get("fieldsV1") or {}, removed)
        if (e.get("manager"), e.get("operation"), e.get("subresource")) == (
            manager,
            operation,
            subresource,
        ):
            mine = entry(
                manager,
                operation,
                new.get("apiVersion", e.get("apiVersion", "")),
                at,
                union(fields, changed),
                subresource,
            )
            out.append(mine)
            continue
        fields = subtract(fields, changed)
        if fields:
            out.append({**e, "fieldsV1": fields})
    if mine is None and changed:
        out.append(entry(manager, operation, new.get("apiVersion", ""), at, changed, subresource))
    return out
