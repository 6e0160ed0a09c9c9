"""Write a poll's results into the store.

Each kind is written in its own short transaction, after all network I/O is over. Only objects
whose resourceVersion changed are written; objects gone from the cluster are deleted with a
transition recorded; a kind whose list failed is left exactly as it was and its KindState says
why (that is what "stale" means on every page).
"""

from __future__ import annotations

import json
import operator
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

from clusters.collect.kinds import KindSpec
from clusters.collect.snapshot import ERROR, NOT_INSTALLED, KindResult
from clusters.kube import KubeError
from clusters.models import (
    Cluster,
    Dependency,
    GitOpsObject,
    KindState,
    ManagedResource,
    Namespace,
    ObjectTarget,
    StatusTransition,
    status_rank,
)
from clusters.status.normalize import normalize, strip_managed_fields
from clusters.status.record import Condition, DependencyRef, ObjectRecord
from clusters.store.version import bump, writing

BATCH = 500
CHUNK = 1000
PRESENT = "Present"
DELETED = "Deleted"

# Fields copied from the record onto the row; also the bulk_update field list.
_RECORD_FIELDS = (
    "tool",
    "version",
    "uid",
    "resource_version",
    "status",
    "status_rank",
    "sync",
    "reason",
    "message",
    "applied_revision",
    "attempted_revision",
    "revisions",
    "source",
    "suspended",
    "last_transition_time",
    "last_reconcile_time",
    "target_namespaces",
    "dependencies",
    "conditions",
    "details",
    "raw",
    "changed_at",
)


# How many skipped objects a KindState keeps by name (the count is always exact).
SKIPPED_EXAMPLES = 10
# The longest name or namespace shown in a skip reason: the name may be the problem.
SHOWN_NAME = 80


@dataclass
class KindCounts:
    listed: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    # The first SKIPPED_EXAMPLES skipped objects: {"namespace", "name", "reason"}.
    skipped_examples: list[dict[str, str]] = field(default_factory=list)

    def skip(self, namespace: str, name: str, reason: str) -> None:
        self.skipped += 1
        if len(self.skipped_examples) < SKIPPED_EXAMPLES:
            self.skipped_examples.append(
                {"namespace": _shown(namespace), "name": _shown(name), "reason": reason[:500]}
            )

    @property
    def written(self) -> int:
        return self.created + self.updated

    def as_dict(self) -> dict[str, int]:
        return {
            "listed": self.listed,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "skipped": self.skipped,
        }


def store_kind(cluster: Cluster, result: KindResult, now: datetime | None = None) -> KindCounts:
    """Apply one kind's list result. A failed kind leaves its objects untouched."""
    now = now or timezone.now()
    if result.state == ERROR:
        _mark_failed(cluster, result, now)
        return KindCounts()
    if result.state == NOT_INSTALLED:
        return _not_installed(cluster, result, now)
    counts = KindCounts()
    pages = result.pages if result.pages is not None else [result.items]
    try:
        _upsert_objects(cluster, result.spec, pages, now, counts)
    except KubeError as exc:
        # A streamed list failed part-way: what was written is newer than before and stays;
        # nothing is deleted; the kind is stale with the reason, as for any failed list.
        result.state, result.error = ERROR, exc
        _mark_failed(cluster, result, now)
        return counts
    _set_kind_state(
        cluster,
        result.spec,
        now,
        state=KindState.OK,
        version=result.served.version if result.served else "",
        object_count=counts.listed,
        success=True,
        skipped=counts,
        # A poll wrote the kind: a watch that starts later lists it, never replays from an
        # older position over what the poll stored.
        resource_version="",
    )
    return counts


def store_namespaces(cluster: Cluster, result: KindResult, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if result.state != "ok":
        _mark_failed(cluster, result, now)
        return
    listed: dict[str, dict[str, Any]] = {}
    for item in result.items:
        metadata = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
        name = metadata.get("name")
        # A name longer than any Kubernetes namespace can have is not one: PostgreSQL would
        # refuse the row and with it every namespace of the cluster.
        if isinstance(name, str) and name and len(name) <= _limit(Namespace, "name"):
            labels = metadata.get("labels")
            listed[name] = {
                "labels": labels if isinstance(labels, dict) else {},
                "uid": str(metadata.get("uid") or "")[: _limit(Namespace, "uid")],
            }
    with transaction.atomic():
        existing = {ns.name: ns for ns in Namespace.objects.filter(cluster=cluster)}
        Namespace.objects.filter(cluster=cluster).exclude(name__in=listed).delete()
        changed = []
        for name, values in listed.items():
            row = existing.get(name)
            if row is None:
                changed.append(Namespace(cluster=cluster, name=name, **values))
            elif row.labels != values["labels"] or row.uid != values["uid"]:
                row.labels, row.uid = values["labels"], values["uid"]
                row.save(update_fields=["labels", "uid"])
        Namespace.objects.bulk_create(changed, batch_size=BATCH)
        _set_kind_state(
            cluster,
            result.spec,
            now,
            state=KindState.OK,
            version="v1",
            object_count=len(listed),
            success=True,
        )
        bump()


def mark_kind_failed(cluster: Cluster, result: KindResult, now: datetime) -> None:
    """Record a failed list on the kind; its stored rows stay as they were (stale)."""
    _mark_failed(cluster, result, now)


def set_kind_ok(
    cluster: Cluster, result: KindResult, now: datetime, count: int, state: str = KindState.OK
) -> None:
    _set_kind_state(
        cluster,
        result.spec,
        now,
        state=state,
        version=result.served.version if result.served else "",
        object_count=count,
        success=True,
    )


def mark_cluster_unreachable(cluster: Cluster, reason: str, message: str) -> None:
    """The whole cluster could not be asked: every kind keeps its objects and becomes stale."""
    now = timezone.now()
    with writing():
        KindState.objects.filter(cluster=cluster).exclude(state=KindState.NOT_INSTALLED).update(
            state=KindState.ERROR, reason=reason, error=message, last_attempt_at=now
        )


def _mark_failed(cluster: Cluster, result: KindResult, now: datetime) -> None:
    error = result.error
    _set_kind_state(
        cluster,
        result.spec,
        now,
        state=KindState.ERROR,
        version=result.served.version if result.served else None,
        reason=error.reason if error else "Error",
        error=error.message if error else "list failed",
    )


def _not_installed(cluster: Cluster, result: KindResult, now: datetime) -> KindCounts:
    stored = GitOpsObject.objects.filter(
        cluster=cluster, group=result.spec.group, kind=result.spec.kind
    ).count()
    if stored:
        # The CRD vanished while we hold objects of it: more likely a broken API server or an
        # RBAC change than a real uninstall, so keep them (stale) and say so.
        _set_kind_state(
            cluster,
            result.spec,
            now,
            state=KindState.ERROR,
            reason="NotServed",
            error=f"{result.spec.kind} ({result.spec.group}) is no longer served by the API; "
            f"showing the last {stored} stored objects",
        )
    else:
        _set_kind_state(
            cluster,
            result.spec,
            now,
            state=KindState.NOT_INSTALLED,
            object_count=0,
            success=True,
            skipped=KindCounts(),
        )
    return KindCounts()


def _set_kind_state(
    cluster: Cluster,
    spec: KindSpec,
    now: datetime,
    *,
    state: str,
    version: str | None = None,
    reason: str = "",
    error: str = "",
    object_count: int | None = None,
    success: bool = False,
    skipped: KindCounts | None = None,
    resource_version: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "tool": spec.tool,
        "state": state,
        "reason": reason,
        "error": error,
        "last_attempt_at": now,
    }
    if version is not None:
        values["version"] = version
    if object_count is not None:
        values["object_count"] = object_count
    if success:
        values["last_success_at"] = now
    if skipped is not None:  # a failed list says nothing about which objects could be kept
        values["skipped_count"] = skipped.skipped
        values["skipped"] = skipped.skipped_examples
    if resource_version is not None:
        values["resource_version"] = resource_version[: _limit(KindState, "resource_version")]
    with writing():
        KindState.objects.update_or_create(
            cluster=cluster, group=spec.group, kind=spec.kind, defaults=values
        )


def _upsert_objects(
    cluster: Cluster,
    spec: KindSpec,
    pages: Iterable[Sequence[dict[str, Any]]],
    now: datetime,
    counts: KindCounts,
) -> None:
    # Only what comparing needs: (namespace, name) -> (id, resourceVersion). An unchanged
    # re-poll of 20,000 objects reads nothing more; what a changed row was before is read per
    # chunk, for the changed rows only.
    existing: dict[tuple[str, str], tuple[int, str]] = {
        (namespace, name): (pk, version)
        for pk, namespace, name, version in GitOpsObject.objects.filter(
            cluster=cluster, group=spec.group, kind=spec.kind
        ).values_list("id", "namespace", "name", "resource_version")
    }
    # Normalize only what changed (an unchanged re-poll is the common case), and write it in
    # chunks as pages arrive, each chunk its own short transaction: a first poll of 10,000
    # Applications holds a page and a chunk at a time, not ten thousand raw objects.
    changed: list[tuple[tuple[str, str], dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for page in pages:
        for item in page:
            key, problem = _identity_of(item)
            if key is not None and key in seen:  # the first pages again after a 410 restart
                continue
            if problem:
                counts.skip(*(key or _shown_identity(item)), problem)
                if key is not None:
                    # Known identity, unstorable field: keep the last stored state of it
                    # (stale) rather than delete it as if it were gone.
                    seen.add(key)
                continue
            assert key is not None
            seen.add(key)
            row = existing.get(key)
            if row is not None and row[1] == _resource_version(item) != "":
                continue
            changed.append((key, item))
            if len(changed) >= CHUNK:
                _write_or_skip(cluster, spec, changed, existing, now, counts)
                changed = []
    if changed:
        _write_or_skip(cluster, spec, changed, existing, now, counts)
    counts.listed = len(seen)
    gone = [(key, row[0]) for key, row in existing.items() if key not in seen]
    if gone:
        _delete_gone(cluster, spec, gone, now)
        counts.deleted = len(gone)


def _count(counts: KindCounts, written: tuple[int, int]) -> None:
    counts.created += written[0]
    counts.updated += written[1]


def _write_or_skip(
    cluster: Cluster,
    spec: KindSpec,
    chunk: Sequence[tuple[tuple[str, str], dict[str, Any]]],
    existing: dict[tuple[str, str], tuple[int, str]],
    now: datetime,
    counts: KindCounts,
) -> None:
    """Write a chunk; if the database refuses it (a value no check above foresaw), write its
    objects one by one so that only the refused ones are skipped, each with the reason."""
    try:
        _count(counts, _write_chunk(cluster, spec, chunk, existing, now))
        return
    except (DataError, IntegrityError) as exc:
        if len(chunk) == 1:
            _skip_refused(counts, chunk[0][0], exc)
            return
    for one in chunk:
        try:
            _count(counts, _write_chunk(cluster, spec, [one], existing, now))
        except (DataError, IntegrityError) as exc:
            _skip_refused(counts, one[0], exc)


def _skip_refused(counts: KindCounts, key: tuple[str, str], exc: Exception) -> None:
    lines = str(exc).strip().splitlines()
    counts.skip(*key, f"the database refused it: {lines[0] if lines else type(exc).__name__}")


def _write_chunk(
    cluster: Cluster,
    spec: KindSpec,
    chunk: Sequence[tuple[tuple[str, str], dict[str, Any]]],
    existing: dict[tuple[str, str], tuple[int, str]],
    now: datetime,
) -> tuple[int, int]:
    fresh: dict[tuple[str, str], ObjectRecord] = {}
    raws: dict[tuple[str, str], dict[str, Any]] = {}
    for key, item in chunk:
        record = normalize(item)
        # Identity comes from the list we asked for, whatever the object claims.
        record.tool, record.group, record.kind = spec.tool, spec.group, spec.kind
        fresh[key] = record
        raws[key] = strip_managed_fields(item)

    ids = [existing[key][0] for key in fresh if key in existing]
    before = (
        {
            row["id"]: row
            for row in GitOpsObject.objects.filter(id__in=ids).values(
                "id", "status", "sync", "applied_revision"
            )
        }
        if ids  # a first sync (or only new objects): nothing to compare with
        else {}
    )
    at = _db_datetime(now)
    with transaction.atomic():
        _cache_commit()
        transitions: list[tuple[Any, ...]] = []
        new_rows: list[GitOpsObject] = []
        changed_rows: list[GitOpsObject] = []
        for key, record in fresh.items():
            obj = _row_from_record(cluster, record, raws[key], now)
            if key not in existing:
                new_rows.append(obj)
            else:
                obj.id = existing[key][0]
                changed_rows.append(obj)
                if obj.id in before:
                    transitions.extend(_transitions(cluster, obj, before[obj.id], at))
        # New objects and their child rows (ten or more per object) as plain values: the ORM's
        # per-field preparation of model instances was most of a first sync's time.
        _insert_objects(new_rows)
        for obj in new_rows:
            transitions.extend(_appearance(cluster, obj, at))
        GitOpsObject.objects.bulk_update(changed_rows, _RECORD_FIELDS, batch_size=BATCH)

        touched = new_rows + changed_rows
        changed_ids = [o.id for o in changed_rows]
        if changed_ids:  # new objects have no child rows yet
            ManagedResource.objects.filter(obj__in=changed_ids).delete()
            ObjectTarget.objects.filter(obj__in=changed_ids).delete()
            Dependency.objects.filter(obj__in=changed_ids).delete()
        cid = cluster.pk
        _insert(
            Dependency,
            ("cluster", "obj", "relation", "group", "kind", "namespace", "name"),
            (
                # Free text in the CR (Argo CD destinations, status.resources): cut to the
                # column, or PostgreSQL rejects the whole poll.
                (
                    cid,
                    obj.id,
                    d["relation"][:20],
                    d["group"][:200],
                    d["kind"][:100],
                    d["namespace"][:253],
                    d["name"][:253],
                )
                for obj in touched
                for d in obj.dependencies
            ),
        )
        _insert(
            ManagedResource,
            ("cluster", "obj", "group", "kind", "namespace", "name", "version", "sync", "health"),
            (
                (
                    cid,
                    obj.id,
                    ref.group[:200],
                    ref.kind[:100],
                    ref.namespace[:253],
                    ref.name[:253],
                    ref.version[:50],
                    (ref.sync or "")[:20],
                    (ref.health or "")[:20],
                )
                for obj in touched
                for ref in fresh[(obj.namespace, obj.name)].managed
            ),
        )
        _insert(
            ObjectTarget,
            ("cluster", "obj", "namespace"),
            ((cid, obj.id, ns[:253]) for obj in touched for ns in obj.target_namespaces),
        )
        _insert(StatusTransition, _TRANSITION_COLUMNS, transitions)
        bump()
    # Only once committed (or part of the caller's transaction): a refused chunk leaves
    # ``existing`` as it was. A watched kind keeps ``existing`` across many chunks.
    for obj in touched:
        if obj.id is not None:
            existing[(obj.namespace, obj.name)] = (obj.id, obj.resource_version)
    return len(new_rows), len(changed_rows)


# Every column of a new GitOpsObject row (the id comes back from the database).
_OBJECT_FIELDS = ("cluster", "group", "kind", "namespace", "name", *_RECORD_FIELDS, "first_seen_at")


def _insert_objects(rows: list[GitOpsObject]) -> None:
    """INSERT new objects (multi-row statements with RETURNING; on PostgreSQL a COPY); sets
    each row's ``id``.

    What ``bulk_create`` writes, with JSON serialised by orjson (the standard library's
    encoder was a tenth of a first sync)."""
    if not rows:
        return
    ops = connection.ops
    meta = GitOpsObject._meta
    fields = [meta.get_field(name) for name in _OBJECT_FIELDS]
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    json_value = _json_adapter()
    json_text = _json_text_adapter()
    attnames = [f.attname for f in fields]
    json_columns = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    time_columns = [i for i, f in enumerate(fields) if f.get_internal_type() == "DateTimeField"]
    # Every column's value in one C call; only the JSON and time columns are prepared.
    column_values = operator.itemgetter(*attnames)
    # A first sync's rows share their first_seen_at / changed_at (and many a condition time):
    # each distinct datetime is adapted once.
    adapted: dict[datetime, Any] = {}

    def adapt_time(value: datetime | None) -> Any:
        if value is None:
            return None
        found = adapted.get(value)
        if found is None:
            found = adapted[value] = ops.adapt_datetimefield_value(value)
        return found

    per_statement = max(1, min(BATCH, _max_parameters() // len(fields)))
    placeholder = _placeholders(len(fields))
    table = ops.quote_name(meta.db_table)
    returning = ", ".join(ops.quote_name(c) for c in ("id", "namespace", "name"))
    inserted = timezone.now()
    for obj in rows:  # what auto_now_add / auto_now set on an insert
        obj.first_seen_at = obj.changed_at = inserted

    def values(obj: GitOpsObject) -> list[Any]:
        state = obj.__dict__
        row = list(column_values(state))
        dumped = state.get("_tw_dumped") or {}  # JSON text _row_from_record already made
        for i in json_columns:
            text = dumped.get(attnames[i])
            row[i] = json_value(row[i]) if text is None else json_text(text)
        for i in time_columns:
            row[i] = adapt_time(row[i])
        return row

    if connection.vendor == "postgresql":
        # Ids from the table's own sequence, then one COPY: no statement per few rows.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [meta.db_table, len(rows)],
            )
            for obj, (pk,) in zip(rows, cursor.fetchall(), strict=True):
                obj.id = pk
        with_id = f"{ops.quote_name('id')}, {columns}"
        _copy(meta.db_table, with_id, ([obj.id, *values(obj)] for obj in rows))
        return
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params = [value for obj in batch for value in values(obj)]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES "
                f"{', '.join([placeholder] * len(batch))} RETURNING {returning}",
                params,
            )
            ids = {(namespace, name): pk for pk, namespace, name in cursor.fetchall()}
            for obj in batch:
                obj.id = ids[(obj.namespace, obj.name)]


def _placeholders(count: int) -> str:
    """One row's placeholders for a multi-row INSERT; on SQLite in the qmark style.

    Django's SQLite cursor rewrites each ``%s`` of a statement with a regular expression
    before every execute: over the ~2 million placeholders of a first sync of 20,000 objects
    that cost ~0.3 s. A statement without ``%s`` passes through unchanged, and still through
    Django's cursor (its error mapping and query log)."""
    mark = "?" if connection.vendor == "sqlite" else "%s"
    return f"({', '.join([mark] * count)})"


def _max_parameters() -> int:
    """Bound parameters one statement may carry on this database."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return 65_535  # PostgreSQL's wire protocol


def _json_adapter() -> Any:
    """Python value → what a JSON column takes in a raw statement on this database."""
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda value: Jsonb(value, dumps=_json_dumps)
    return lambda value: _json_text(_json_dumps(value))


def _json_text_adapter() -> Any:
    """JSON text (orjson's bytes) → what a JSON column takes in a raw statement."""
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        return lambda text: Jsonb(text, dumps=bytes)  # already JSON: sent as it is
    return bytes.decode


def _json_dumps(value: Any) -> str | bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # what orjson refuses (int keys, huge ints): as the ORM would write it
        return json.dumps(value)


def _json_text(dumped: str | bytes) -> str:
    return dumped.decode() if isinstance(dumped, bytes) else dumped


# Rows per SQLite INSERT statement. sqlite3 keeps each distinct statement compiled (a chunk's
# last, shorter one is distinct): a few hundred rows make few steps, and small statements.
ROWS_PER_INSERT = 200


def _insert(model: type[Any], fields: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """INSERT plain tuples of already prepared values (strings, ints, None, database datetimes)
    for ``fields`` of ``model``: on SQLite as multi-row statements of up to ROWS_PER_INSERT rows,
    on PostgreSQL through COPY."""
    ops = connection.ops
    meta = model._meta
    columns = ", ".join(ops.quote_name(meta.get_field(name).column) for name in fields)
    if connection.vendor == "postgresql":
        _copy(meta.db_table, columns, rows)
        return
    # SQLite: many rows per statement, not executemany's statement step per row.
    per_statement = max(1, min(ROWS_PER_INSERT, _max_parameters() // len(fields)))
    placeholder = _placeholders(len(fields))
    head = f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns}) VALUES "
    full = head + ", ".join([placeholder] * per_statement)
    batch: list[Any] = []
    count = 0
    with connection.cursor() as cursor:
        for row in rows:
            batch.extend(row)
            count += 1
            if count >= per_statement:
                cursor.execute(full, batch)
                batch, count = [], 0
        if count:
            cursor.execute(head + ", ".join([placeholder] * count), batch)


def _copy(table: str, columns: str, rows: Iterable[Sequence[Any]]) -> None:
    """PostgreSQL: the rows through COPY, one round trip instead of one statement per row
    (executemany waited on the server for each of 200,000 rows of a first sync)."""
    sql = f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _cache_commit() -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk.

    The store is a cache of the cluster that the next list or resync rewrites: a server crash
    can lose the last few hundred milliseconds of commits (never corrupt or half-apply one),
    and the lost objects are written again by the next sync. It is the PostgreSQL twin of
    SQLite's ``synchronous=NORMAL`` (dashboard/env.py). Statements inside a caller's
    transaction (the watch applier's) make that whole transaction asynchronous alike."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _db_datetime(value: datetime) -> Any:
    """``value`` as the database takes it in a raw statement (what the ORM would send)."""
    return connection.ops.adapt_datetimefield_value(value)


_TRANSITION_COLUMNS = (
    "cluster",
    "obj",
    "tool",
    "group",
    "kind",
    "namespace",
    "name",
    "at",
    "field",
    "from_value",
    "to_value",
    "message",
)


def _delete_gone(
    cluster: Cluster, spec: KindSpec, gone: list[tuple[tuple[str, str], int]], now: datetime
) -> None:
    with transaction.atomic():
        _cache_commit()
        StatusTransition.objects.bulk_create(
            (
                StatusTransition(
                    cluster=cluster,
                    obj=None,
                    tool=spec.tool,
                    group=spec.group,
                    kind=spec.kind,
                    namespace=namespace,
                    name=name,
                    at=now,
                    field=StatusTransition.PRESENCE,
                    from_value=PRESENT,
                    to_value=DELETED,
                    message="no longer in the cluster",
                )
                for (namespace, name), _ in gone
            ),
            batch_size=BATCH,
        )
        GitOpsObject.objects.filter(id__in=[pk for _, pk in gone]).delete()
        bump()


def _row_from_record(
    cluster: Cluster, record: ObjectRecord, raw: dict[str, Any], now: datetime
) -> GitOpsObject:
    obj = _new_object(
        cluster,
        tool=record.tool,
        group=record.group,
        version=record.version[: _limit(GitOpsObject, "version")],
        kind=record.kind,
        namespace=record.namespace,
        name=record.name,
        uid=record.uid,
        resource_version=record.resource_version,
        status=record.status.value,
        status_rank=status_rank(record.status),
        sync=record.sync.value,
        reason=record.reason[:200],
        message=_capped(record.message),
        applied_revision=record.applied_revision[:500],
        attempted_revision=record.attempted_revision[:500],
        revisions=record.revisions,
        source=record.source,
        suspended=record.suspended,
        last_transition_time=parse_time(record.last_transition_time),
        last_reconcile_time=parse_time(record.last_reconcile_time),
        target_namespaces=sorted(set(record.target_namespaces)),
        dependencies=[_dependency_dict(d) for d in record.dependencies],
        changed_at=now,
    )
    # Condition messages, details (Argo CD operation messages ...) and the raw copy can hold
    # the same megabyte message: capped alike, so no page or row carries it whole. The JSON
    # text that told us a value needs no cap is the text a new row's INSERT sends (kept on the
    # instance): each of these values is serialised once, not twice.
    dumped: dict[str, bytes] = {}
    for attname, value in (
        ("conditions", [_condition_dict(c) for c in record.conditions]),
        ("details", record.details),
        ("raw", raw),
    ):
        capped, text = _capped_json(value)
        setattr(obj, attname, capped)
        if text is not None:
            dumped[attname] = text
    obj._tw_dumped = dumped  # type: ignore[attr-defined]
    return obj


def _new_object(cluster: Cluster, **values: Any) -> GitOpsObject:
    """``GitOpsObject(cluster=cluster, **values)`` for a row built from a record, which names
    every column but the id and ``first_seen_at``: without Model.__init__'s work per field
    (defaults, descriptors, the init signals), a tenth of building a first sync's rows."""
    if signals.pre_init.has_listeners(GitOpsObject) or signals.post_init.has_listeners(
        GitOpsObject
    ):
        return GitOpsObject(cluster=cluster, **values)  # someone listens: the full path
    obj = GitOpsObject.__new__(GitOpsObject)
    obj._state = ModelState()
    obj.__dict__.update(id=None, cluster_id=cluster.pk, first_seen_at=None, **values)
    _CLUSTER_FIELD.set_cached_value(obj, cluster)
    return obj


_CLUSTER_FIELD = GitOpsObject._meta.get_field("cluster")


# By hand rather than dataclasses.asdict (a deep copy, field by field): the same keys in the
# same order, at a fraction of the cost on a first sync.
def _dependency_dict(d: DependencyRef) -> dict[str, str]:
    return {
        "relation": d.relation,
        "kind": d.kind,
        "namespace": d.namespace,
        "name": d.name,
        "group": d.group,
    }


def _condition_dict(c: Condition) -> dict[str, Any]:
    return {
        "type": c.type,
        "status": c.status,
        "reason": c.reason,
        "message": c.message,
        "last_transition_time": c.last_transition_time,
    }


def _transitions(
    cluster: Cluster, obj: GitOpsObject, before: dict[str, Any], at: Any
) -> list[tuple[Any, ...]]:
    result = []
    for field_name, attr in (
        (StatusTransition.STATUS, "status"),
        (StatusTransition.SYNC, "sync"),
        (StatusTransition.REVISION, "applied_revision"),
    ):
        old, new = before[attr], getattr(obj, attr)
        if old != new:
            result.append(_transition(cluster, obj, at, field_name, old, new))
    return result


def _appearance(cluster: Cluster, obj: GitOpsObject, at: Any) -> list[tuple[Any, ...]]:
    # Presence and status shape the history strip; the first sync value is on the object itself
    # (a row per new object less matters on a first poll of 20,000 objects).
    return [
        _transition(cluster, obj, at, StatusTransition.PRESENCE, "", PRESENT),
        _transition(cluster, obj, at, StatusTransition.STATUS, "", obj.status),
    ]


def _transition(
    cluster: Cluster, obj: GitOpsObject, at: Any, field_name: str, old: str, new: str
) -> tuple[Any, ...]:
    """One StatusTransition row as _TRANSITION_COLUMNS; ``at`` as _db_datetime gives it."""
    return (
        cluster.pk,
        obj.id,
        obj.tool,
        obj.group,
        obj.kind,
        obj.namespace,
        obj.name,
        at,
        field_name,
        old[:500],
        new[:500],
        obj.message[:2000],
    )


# A controller can write megabytes into a message (a whole rendered manifest in an error): keep
# enough for a human and say that the rest was cut.
MESSAGE_LIMIT = 32_000


def _capped(message: str) -> str:
    if len(message) <= MESSAGE_LIMIT:
        return message
    return f"{message[:MESSAGE_LIMIT]}… [truncated by Tidewatch: {len(message):,} characters]"


def _capped_json(value: Any) -> tuple[Any, bytes | None]:
    """``value`` with every string longer than MESSAGE_LIMIT capped, at any depth; and its JSON
    text when that was what told that no string needed a cap (else None)."""
    if isinstance(value, (dict, list)):
        try:
            text = orjson.dumps(value)
        except (TypeError, orjson.JSONEncodeError):  # not plain JSON (a YAML fixture's date ...)
            text = None
        if text is not None and len(text) <= MESSAGE_LIMIT:
            # No string inside can be longer than the whole: the common case, without the walk
            # over every field (seconds on a first sync of thousands of objects).
            return value, text
    return _capped_walk(value), None


def _capped_walk(value: Any) -> Any:
    if isinstance(value, str):
        return _capped(value)
    if isinstance(value, dict):
        return {key: _capped_walk(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_capped_walk(item) for item in value]
    return value


def _limit(model: type[Any], name: str) -> int:
    limit = model._meta.get_field(name).max_length
    assert limit is not None, name
    return limit


def _identity_of(item: Any) -> tuple[tuple[str, str] | None, str]:
    """(namespace, name) of a listed object, and why the store cannot keep it ("" if it can).

    The key is None when the identity itself is unusable. Limits are the columns' own: a longer
    value makes PostgreSQL refuse the whole chunk (and once, the whole poll)."""
    metadata = item.get("metadata") if isinstance(item, dict) else None
    if not isinstance(metadata, dict):
        return None, "metadata is missing or not an object"
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or not name:
        return None, "metadata.name is missing or not a string"
    if namespace is not None and not isinstance(namespace, str):
        # Stored as "" it would pose as cluster-scoped and break the namespace rows.
        return None, f"metadata.namespace is a {type(namespace).__name__}, not a string"
    namespace = namespace or ""
    for label, value, column in (("name", name, "name"), ("namespace", namespace, "namespace")):
        limit = _limit(GitOpsObject, column)
        if len(value) > limit:
            return None, f"metadata.{label} is {len(value):,} characters, longer than {limit}"
    key = (namespace, name)
    for label, column in (("uid", "uid"), ("resourceVersion", "resource_version")):
        value = metadata.get(label)
        limit = _limit(GitOpsObject, column)
        if value is not None and len(str(value)) > limit:
            return key, f"metadata.{label} is {len(str(value)):,} characters, longer than {limit}"
    return key, ""


def _shown_identity(item: Any) -> tuple[str, str]:
    """Something to call an object by in a skip reason, whatever its metadata holds."""
    metadata = item.get("metadata") if isinstance(item, dict) else None
    if not isinstance(metadata, dict):
        return "", "(no metadata)"
    namespace, name = metadata.get("namespace"), metadata.get("name")
    return (
        namespace if isinstance(namespace, str) else repr(namespace),
        name if isinstance(name, str) and name else "(no name)",
    )


def _shown(text: str) -> str:
    return text if len(text) <= SHOWN_NAME else f"{text[:SHOWN_NAME]}…"


def _resource_version(item: dict[str, Any]) -> str:
    metadata = item.get("metadata")
    return str(metadata.get("resourceVersion") or "") if isinstance(metadata, dict) else ""


def parse_time(value: str | None) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed, timezone.utc)


# --- a watched kind ------------------------------------------------------------------------------


class WatchedKind:
    """The store side of one kind kept current by a watch (clusters/sync.py).

    Every event is written as it comes, through the same chunk writer and deletion as a poll, so
    one status change is one object write and one transition, and a flip that reverts is two.
    LISTED objects (a list or relist) are upserted chunk by chunk as they arrive; ``synced``
    then deletes what the list did not hold. Only the applier thread calls this.
    """

    def __init__(self, cluster: Cluster, spec: KindSpec, version: str = "") -> None:
        self.cluster = cluster
        self.spec = spec
        self.version = version
        # (namespace, name) -> (id, resourceVersion), kept across chunks: what comparing needs.
        self.existing: dict[tuple[str, str], tuple[int, str]] = {
            (namespace, name): (pk, rv)
            for pk, namespace, name, rv in GitOpsObject.objects.filter(
                cluster=cluster, group=spec.group, kind=spec.kind
            ).values_list("id", "namespace", "name", "resource_version")
        }
        # Objects the store could not keep, by identity, with the reason; shown on the pages.
        self.skips: dict[tuple[str, str], str] = {}
        self._unkeyed_listed: set[tuple[str, str]] = set()  # skipped without a usable key
        self._skips_written: dict[tuple[str, str], str] = {}

    def apply(self, events: Sequence[Any], now: datetime) -> KindCounts:
        """Write ``events`` (clusters.collect.watch.WatchEvent) in order; returns the counts."""
        counts = KindCounts()
        chunk: list[tuple[tuple[str, str], dict[str, Any]]] = []
        in_chunk: set[tuple[str, str]] = set()

        def flush() -> None:
            if chunk:
                _write_or_skip(self.cluster, self.spec, chunk, self.existing, now, counts)
                chunk.clear()
                in_chunk.clear()

        for event in events:
            key, problem = _identity_of(event.object)
            if problem:
                shown = key or _shown_identity(event.object)
                if key is None and event.type == "LISTED":
                    self._unkeyed_listed.add(shown)
                if event.type == "DELETED":
                    self.skips.pop(shown, None)
                else:
                    self.skips[shown] = problem[:500]
                if key is None or event.type != "DELETED":
                    continue
            assert key is not None
            if event.type == "DELETED":
                flush()
                row = self.existing.pop(key, None)
                if row is not None:
                    _delete_gone(self.cluster, self.spec, [(key, row[0])], now)
                    counts.deleted += 1
                continue
            self.skips.pop(key, None)
            row = self.existing.get(key)
            if row is not None and row[1] == _resource_version(event.object) != "":
                continue  # a relist or a replayed event of what is stored already
            if key in in_chunk:
                flush()  # the same object twice: each version is its own write and transition
            chunk.append((key, event.object))
            in_chunk.add(key)
            if len(chunk) >= CHUNK:
                flush()
        flush()
        for skipped in counts.skipped_examples:
            self.skips[(skipped["namespace"], skipped["name"])] = skipped["reason"]
        return counts

    def synced(self, keys: frozenset[tuple[str, str]], resource_version: str, now: datetime) -> int:
        """A list ended holding exactly ``keys``: delete the rest, the kind is current again."""
        gone = [(key, row[0]) for key, row in self.existing.items() if key not in keys]
        if gone:
            _delete_gone(self.cluster, self.spec, gone, now)
            for key, _ in gone:
                del self.existing[key]
        self.skips = {
            key: reason
            for key, reason in self.skips.items()
            if key in keys or key in self._unkeyed_listed
        }
        self._unkeyed_listed = set()
        self._skips_written = dict(self.skips)
        _set_kind_state(
            self.cluster,
            self.spec,
            now,
            state=KindState.OK,
            version=self.version,
            object_count=len(keys),
            success=True,
            skipped=self._skip_counts(),
            resource_version=resource_version,
        )
        return len(gone)

    def save_position(self, resource_version: str) -> None:
        """Remember the last handled version (and any skip seen since), for a resume."""
        values: dict[str, Any] = {
            "resource_version": resource_version[: _limit(KindState, "resource_version")]
        }
        if self.skips != self._skips_written:
            counts = self._skip_counts()
            values.update(skipped_count=counts.skipped, skipped=counts.skipped_examples)
            self._skips_written = dict(self.skips)
        KindState.objects.filter(
            cluster=self.cluster, group=self.spec.group, kind=self.spec.kind
        ).update(**values)

    def _skip_counts(self) -> KindCounts:
        counts = KindCounts()
        for (namespace, name), reason in self.skips.items():
            counts.skip(namespace, name, reason)
        return counts


def resume_versions(cluster: Cluster) -> dict[tuple[str, str, str], str]:
    """(group, kind, version) -> the resourceVersion a watch can resume from, for the kinds
    whose last list succeeded (a stale kind lists again)."""
    return {
        (group, kind, version): rv
        for group, kind, version, rv in KindState.objects.filter(
            cluster=cluster, state=KindState.OK
        )
        .exclude(resource_version="")
        .values_list("group", "kind", "version", "resource_version")
    }
