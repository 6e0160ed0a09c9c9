"""Entry point: a raw Kubernetes object (a dict as parsed from JSON) -> one ObjectRecord.

Dispatch is on the apiVersion *group* and kind, never on the version: a cluster serves whatever
its controllers install (Flux v1beta2 objects on old clusters, v1/v2 on new ones) and the status
shapes are read defensively either way (see flux.py and argo.py for the semantics).

``normalize`` never raises. Every field is read through typed accessors (conditions.Node) that
record wrong shapes instead of failing; an object with any recorded problem becomes
Status.UNKNOWN with reason "Malformed" and a message listing what was wrong, while the fields
that could be read are kept. A final ``except`` is the safety net for bugs, not the mechanism.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from clusters.status import argo, flux
from clusters.status.conditions import Node, Problems, type_name
from clusters.status.record import ObjectRecord
from clusters.status.vocabulary import Status, Sync, Tool

FLUX_GROUPS = flux.FLUX_GROUPS
ARGO_GROUP = argo.ARGO_GROUP

MALFORMED = "Malformed"
NAME_LIMIT = 253  # a Kubernetes name (DNS subdomain) or namespace is never longer
# Enough to say what is wrong without turning the headline into a dump.
MAX_PROBLEMS_IN_MESSAGE = 3


def normalize(raw: dict[str, Any]) -> ObjectRecord:
    """Normalize one Flux or Argo CD object. Never raises."""
    try:
        return _within_name_limits(_normalize(raw))
    except Exception as exc:  # the contract is "never raises": bugs become Malformed records
        problems = Problems()
        problems.add(f"internal error while reading the object: {type(exc).__name__}: {exc}")
        return _malformed(_identity_or_blank(raw), problems)


def _within_name_limits(record: ObjectRecord) -> ObjectRecord:
    """Cut namespaces and names read from free text (an Argo CD destination, status.resources, a
    Flux inventory id) to the longest a Kubernetes name can be: they become indexed columns and
    overview rows, and one garbage value must not make the store reject the whole poll."""

    def cut(text: str) -> str:
        return text[:NAME_LIMIT]

    if any(len(ns) > NAME_LIMIT for ns in record.target_namespaces):
        record.target_namespaces = [cut(ns) for ns in record.target_namespaces]
    if any(len(r.namespace) > NAME_LIMIT or len(r.name) > NAME_LIMIT for r in record.managed):
        record.managed = [
            dataclasses.replace(r, namespace=cut(r.namespace), name=cut(r.name))
            for r in record.managed
        ]
    if any(len(d.namespace) > NAME_LIMIT or len(d.name) > NAME_LIMIT for d in record.dependencies):
        record.dependencies = [
            dataclasses.replace(d, namespace=cut(d.namespace), name=cut(d.name))
            for d in record.dependencies
        ]
    return record


def strip_managed_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy without metadata.managedFields (large, and never useful to a dashboard)."""
    if not isinstance(raw, dict):
        return raw
    copy = dict(raw)
    metadata = copy.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        copy["metadata"] = {k: v for k, v in metadata.items() if k != "managedFields"}
    return copy


def split_api_version(api_version: str) -> tuple[str, str]:
    """Split "apps/v1" into ("apps", "v1"); the core group's "v1" gives ("", "v1")."""
    group, sep, version = api_version.rpartition("/")
    return (group, version) if sep else ("", api_version)


def tool_for_group(group: str) -> str:
    """Tool value for a group; "" for groups that belong to neither tool."""
    if group in FLUX_GROUPS or group.endswith(".fluxcd.io"):
        return Tool.FLUX.value
    if group == ARGO_GROUP:
        return Tool.ARGOCD.value
    return ""


def _normalize(raw: Any) -> ObjectRecord:
    problems = Problems()
    if not isinstance(raw, dict):
        problems.add(f"expected an object, got {type_name(raw)}")
    # Below a non-object root every field is "missing": one problem says it all.
    obj = Node(raw, "", problems, broken=not isinstance(raw, dict))
    base = _identity(obj)
    obj.text_of("apiVersion", required=True)
    obj.text_of("kind", required=True)
    metadata = obj.get("metadata")
    if metadata.present():
        metadata.text_of("name", required=True)
    else:
        metadata.text(required=True)  # "metadata is missing"
    if problems:
        return _malformed(base, problems)
    if flux.supports(base.group, base.kind):
        record = flux.read_flux(obj, base)
    elif argo.supports(base.group, base.kind):
        record = argo.read_argo(obj, base)
    else:
        return _unknown_kind(base)
    return _malformed(record, problems) if problems else record


def _identity(obj: Node) -> ObjectRecord:
    """The fields every record has, read without judging the rest of the object."""
    # A throwaway problem list: identity is read again (and judged) by _normalize.
    quiet = Node.root(obj.value, Problems())
    group, version = split_api_version(quiet.text_of("apiVersion"))
    metadata = quiet.get("metadata")
    return ObjectRecord(
        tool=tool_for_group(group),
        group=group,
        version=version,
        kind=quiet.text_of("kind"),
        namespace=metadata.text_of("namespace"),
        name=metadata.text_of("name"),
        uid=metadata.text_of("uid"),
        resource_version=metadata.text_of("resourceVersion"),
        status=Status.UNKNOWN,
        sync=Sync.UNKNOWN,
    )


def _identity_or_blank(raw: Any) -> ObjectRecord:
    try:
        return _identity(Node.root(raw))
    except Exception:  # the object defeats even identity reading: report it nameless
        return ObjectRecord(tool="", group="", version="", kind="", namespace="", name="")


def _unknown_kind(base: ObjectRecord) -> ObjectRecord:
    return dataclasses.replace(
        base,
        status=Status.UNKNOWN,
        sync=Sync.UNKNOWN,
        reason="UnknownKind",
        message=f"Tidewatch does not know how to read {base.kind}",
    )


def _malformed(record: ObjectRecord, problems: Problems) -> ObjectRecord:
    found = problems.as_list()
    shown = "; ".join(found[:MAX_PROBLEMS_IN_MESSAGE])
    if len(found) > MAX_PROBLEMS_IN_MESSAGE:
        shown += f" (and {len(found) - MAX_PROBLEMS_IN_MESSAGE} more)"
    what = " ".join(part for part in (record.kind, _display_name(record)) if part) or "object"
    return dataclasses.replace(
        record,
        status=Status.UNKNOWN,
        # A kind with nothing to sync stays NotApplicable; otherwise we cannot tell.
        sync=Sync.NOT_APPLICABLE if record.sync == Sync.NOT_APPLICABLE else Sync.UNKNOWN,
        reason=MALFORMED,
        message=f"Cannot read {what}: {shown}",
        details={**record.details, "problems": found},
    )


def _display_name(record: ObjectRecord) -> str:
    if record.namespace and record.name:
        return f"{record.namespace}/{record.name}"
    return record.name
