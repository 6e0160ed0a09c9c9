"""The store: what the poller saw, normalized, plus its history.

Pages read only these tables; nothing here talks to a cluster.
"""

from __future__ import annotations

from django.db import models

from clusters.status.vocabulary import STATUS_ORDER, Status, Sync, Tool

STATUS_CHOICES = [(s.value, s.value) for s in STATUS_ORDER]
SYNC_CHOICES = [(s.value, s.value) for s in Sync]
TOOL_CHOICES = [(Tool.FLUX.value, "Flux CD"), (Tool.ARGOCD.value, "Argo CD")]


class Cluster(models.Model):
    """One cluster from clusters.yaml. Stores where to find credentials, never the credentials."""

    name = models.SlugField(max_length=100, unique=True)
    kubeconfig = models.CharField(max_length=500, blank=True)
    context = models.CharField(max_length=200, blank=True)
    in_cluster = models.BooleanField(default=False)
    poll_interval = models.PositiveIntegerField(default=30, help_text="seconds")
    # False once the entry is removed from clusters.yaml: its data stays, marked as such.
    enabled = models.BooleanField(default=True)
    config_error = models.TextField(blank=True)
    server = models.CharField(max_length=500, blank=True)
    last_poll_started_at = models.DateTimeField(null=True, blank=True)
    last_poll_finished_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_reason = models.CharField(max_length=100, blank=True)
    # Ownership boundaries (YAML, clusters/ownership/boundaries.py). Empty: the ADR-003
    # default. When clusters.yaml names a file, the file wins and is copied here at sync.
    boundaries = models.TextField(blank=True)
    boundaries_file = models.CharField(max_length=500, blank=True)
    boundaries_file_error = models.TextField(blank=True)  # file unreadable: default in use
    # Set before a poll writes anything, cleared once ownership and roll-ups were rebuilt from
    # what it wrote: a poll killed in between leaves it set, and the next poll rebuilds them.
    derived_dirty = models.BooleanField(default=False)
    # How the store is kept current (clusters/sync.py): "watch" (list once, then watch) or
    # "poll" (list everything every poll_interval), and why it polls when watch was wanted.
    WATCH = "watch"
    POLL = "poll"
    sync_mode = models.CharField(max_length=10, blank=True)
    sync_mode_reason = models.TextField(blank=True)
    # Issue 13: whether metrics.k8s.io answered ("" = not tried, "ok", "unavailable") and why
    # not; and the Flux/Argo CD API groups served only at deprecated versions (upgrade
    # blockers): [{"group": ..., "kind": ..., "served": ["v2beta1"], "wanted": "v2"}].
    metrics_state = models.CharField(max_length=20, blank=True)
    metrics_reason = models.TextField(blank=True)
    deprecated_apis = models.JSONField(default=list, blank=True)
    # Issue 13: the clusters.yaml ``argocd:`` block as parsed (url, tokenFile or tokenEnv,
    # caFile, timeoutSeconds): where the token is, never the token. {} = no argocd-server.
    argocd = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class KindState(models.Model):
    """Per cluster and kind: is it served, did the last list work, and since when is it stale."""

    OK = "ok"
    NOT_INSTALLED = "not_installed"
    ERROR = "error"
    STATES = [(OK, "ok"), (NOT_INSTALLED, "not installed"), (ERROR, "error")]

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="kind_states")
    tool = models.CharField(max_length=10, choices=TOOL_CHOICES + [("core", "Kubernetes")])
    group = models.CharField(max_length=200)
    kind = models.CharField(max_length=100)
    version = models.CharField(max_length=50, blank=True)
    state = models.CharField(max_length=20, choices=STATES, default=OK)
    reason = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    object_count = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    # Objects of the last list the store could not keep (a uid longer than the column ...):
    # how many, and the first few as {"namespace", "name", "reason"}.
    skipped_count = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=list, blank=True)
    # The last resourceVersion the store fully handled for this kind (a list, an event, a
    # bookmark): a watch restarted after a crash or a deploy resumes from it instead of listing.
    resource_version = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "group", "kind"], name="kindstate_unique")
        ]
        ordering = ["cluster", "group", "kind"]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.kind}: {self.state}"

    @property
    def skipped_sentence(self) -> str:
        """'1 object skipped: flux-system/x: why' — what the pages say about skipped objects."""
        if not self.skipped_count:
            return ""
        count = f"{self.skipped_count} {self.kind} object{'s' if self.skipped_count > 1 else ''}"
        examples = "; ".join(
            f"{e.get('namespace')}/{e.get('name')}: {e.get('reason')}"
            if e.get("namespace")
            else f"{e.get('name')}: {e.get('reason')}"
            for e in self.skipped[:3]
            if isinstance(e, dict)
        )
        more = " …" if self.skipped_count > 3 else ""
        return f"{count} skipped, not stored: {examples}{more}"


class Namespace(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="namespaces")
    name = models.CharField(max_length=253)
    labels = models.JSONField(default=dict, blank=True)
    uid = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "name"], name="namespace_unique")]
        ordering = ["cluster", "name"]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.name}"


class GitOpsObject(models.Model):
    """One Flux or Argo CD object, normalized (see clusters.status.record.ObjectRecord)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="gitops_objects")
    tool = models.CharField(max_length=10, choices=TOOL_CHOICES)
    group = models.CharField(max_length=200)
    version = models.CharField(max_length=50)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    uid = models.CharField(max_length=64, blank=True)
    resource_version = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, choices=STATUS_CHOICES)
    # Denormalized STATUS_ORDER index so "worst first" is an ORDER BY, not Python.
    status_rank = models.PositiveSmallIntegerField()
    sync = models.CharField(max_length=20, choices=SYNC_CHOICES)
    reason = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    applied_revision = models.CharField(max_length=500, blank=True)
    attempted_revision = models.CharField(max_length=500, blank=True)
    revisions = models.JSONField(default=list, blank=True)
    source = models.JSONField(default=dict, blank=True)
    suspended = models.BooleanField(default=False)
    last_transition_time = models.DateTimeField(null=True, blank=True)
    last_reconcile_time = models.DateTimeField(null=True, blank=True)
    target_namespaces = models.JSONField(default=list, blank=True)
    dependencies = models.JSONField(default=list, blank=True)
    conditions = models.JSONField(default=list, blank=True)
    details = models.JSONField(default=dict, blank=True)
    raw = models.JSONField(default=dict, blank=True)  # without metadata.managedFields
    first_seen_at = models.DateTimeField(auto_now_add=True)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "group", "kind", "namespace", "name"], name="gitopsobject_unique"
            )
        ]
        indexes = [
            models.Index(fields=["cluster", "namespace"]),
            models.Index(fields=["cluster", "status_rank"]),
            models.Index(fields=["cluster", "group", "kind"]),
        ]
        ordering = ["status_rank", "kind", "namespace", "name"]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.kind}/{self.namespace}/{self.name}"


class ObjectTarget(models.Model):
    """A namespace a GitOps object deploys into (one row per target), for indexed look-ups."""

    # No database constraint: the row's object (``obj``, constrained) is of this cluster, so
    # the object's own constraint covers it; each one was a check at commit for every row of a
    # first sync. Deleting a cluster still deletes these rows (the ORM's cascade).
    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    obj = models.ForeignKey(GitOpsObject, on_delete=models.CASCADE, related_name="targets")
    namespace = models.CharField(max_length=253)

    class Meta:
        indexes = [models.Index(fields=["cluster", "namespace"])]


class ManagedResource(models.Model):
    """A claim: a Kubernetes object applied by a GitOps object."""

    # No database constraint: the row's object (``obj``, constrained) is of this cluster, so
    # the object's own constraint covers it; each one was a check at commit for every row of a
    # first sync. Deleting a cluster still deletes these rows (the ORM's cascade).
    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    obj = models.ForeignKey(GitOpsObject, on_delete=models.CASCADE, related_name="managed")
    group = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=253, blank=True)  # "" = cluster-scoped
    name = models.CharField(max_length=253)
    version = models.CharField(max_length=50, blank=True)
    sync = models.CharField(max_length=20, blank=True)
    health = models.CharField(max_length=20, blank=True)  # "" = not reported

    class Meta:
        # No index on the resource's identity: every reader goes by object (the object page,
        # the API) or reads a cluster's claims whole (ownership), and on a first sync that index
        # was the largest thing written (17 MB for 160,000 claims at 20,000 objects, never read).
        ordering = ["namespace", "kind", "name"]


class StatusTransition(models.Model):
    """Every change of status, sync or revision, and every appearance and removal.

    Identity is copied from the object so the history of a deleted object survives it.
    """

    STATUS = "status"
    SYNC = "sync"
    REVISION = "revision"
    PRESENCE = "presence"
    FIELDS = [(STATUS, "status"), (SYNC, "sync"), (REVISION, "revision"), (PRESENCE, "presence")]

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="transitions")
    obj = models.ForeignKey(
        GitOpsObject, on_delete=models.SET_NULL, null=True, blank=True, related_name="transitions"
    )
    tool = models.CharField(max_length=10, choices=TOOL_CHOICES)
    group = models.CharField(max_length=200)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    at = models.DateTimeField()
    field = models.CharField(max_length=20, choices=FIELDS)
    from_value = models.CharField(max_length=500, blank=True)
    to_value = models.CharField(max_length=500, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["cluster", "at"]),
            models.Index(fields=["cluster", "group", "kind", "namespace", "name", "at"]),
        ]
        ordering = ["-at", "-id"]


class PollRun(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="poll_runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.TextField(blank=True)  # cluster-wide failure (unreachable, 401 ...)
    # {"<group>/<Kind>": {"listed": n, "created": n, "updated": n, "deleted": n}}
    counts = models.JSONField(default=dict, blank=True)
    # {"<group>/<Kind>": {"reason": "...", "message": "..."}}
    errors = models.JSONField(default=dict, blank=True)
    objects_written = models.PositiveIntegerField(default=0)
    objects_deleted = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["cluster", "started_at"])]


class NamespaceRollup(models.Model):
    """Per cluster and namespace, what the overview row shows; rebuilt after every poll.

    Computed once per poll so an overview request is a single indexed read whatever the
    number of objects.
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="rollups")
    namespace = models.CharField(max_length=253)
    exists = models.BooleanField(default=True)  # the Namespace object was listed
    deployed_by = models.JSONField(default=list)  # tools deploying into it, sorted
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, blank=True)
    status_rank = models.PositiveSmallIntegerField(default=len(STATUS_ORDER))
    sync = models.CharField(max_length=20, blank=True)
    status_counts = models.JSONField(default=dict)
    sync_counts = models.JSONField(default=dict)
    object_count = models.PositiveIntegerField(default=0)
    # The worst object's one-sentence reason, for "why is this red" before any table.
    headline = models.TextField(blank=True)
    headline_object = models.CharField(max_length=600, blank=True)  # "<Kind>/<ns>/<name>"
    stale_reasons = models.JSONField(default=list)
    declared_owner = models.CharField(max_length=10, blank=True)  # "" = undeclared
    ownership = models.TextField(blank=True)  # one sentence: declared vs observed
    violation_codes = models.JSONField(default=list)
    # Objects and ownership violations on one scale (clusters/attention.py): the overview's
    # order (worst first), row colour and banner. rank 0 = a critical violation, 5 = fine.
    attention_rank = models.PositiveSmallIntegerField(default=5)
    attention = models.CharField(max_length=10, blank=True)  # palette tone; "" = fine
    # Set by rebuild_rollups when the row's content changes (bulk_update skips auto_now).
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "namespace"], name="rollup_unique")
        ]
        ordering = ["cluster", "namespace"]


def status_rank(status: str) -> int:
    return STATUS_ORDER.index(Status(status))


class Workload(models.Model):
    """A Deployment/StatefulSet in a GitOps tool's install namespace or labelled part of one
    (clusters/collect/core.py); which are controllers: clusters/ownership/controllers.py."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="workloads")
    kind = models.CharField(max_length=50)
    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    resource_version = models.CharField(max_length=64, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    annotations = models.JSONField(default=dict, blank=True)
    desired = models.PositiveIntegerField(default=0)
    ready = models.PositiveIntegerField(default=0)
    # Issue 13 (the Controllers view): container images of the pod template, the pods'
    # container restarts summed, and usage from metrics.k8s.io summed over the pods.
    # ``usage`` is None when not measured; ``usage_reason`` says why ("" when measured).
    images = models.JSONField(default=list, blank=True)
    pods = models.PositiveIntegerField(default=0)
    restarts = models.PositiveIntegerField(default=0)
    usage = models.JSONField(null=True, blank=True)  # {"cpuMillicores": int, "memoryBytes": int}
    usage_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "kind", "namespace", "name"], name="workload_unique"
            )
        ]
        ordering = ["namespace", "name"]


class Monitor(models.Model):
    """A prometheus-operator ServiceMonitor or PodMonitor: what Prometheus scrapes."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="monitors")
    kind = models.CharField(max_length=50)
    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    resource_version = models.CharField(max_length=64, blank=True)
    namespace_selector = models.JSONField(default=dict, blank=True)
    selector = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "kind", "namespace", "name"], name="monitor_unique"
            )
        ]
        ordering = ["namespace", "name"]


class Event(models.Model):
    """A Kubernetes Event about a GitOps object, newest kept, bounded per object."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="events")
    uid = models.CharField(max_length=64)
    resource_version = models.CharField(max_length=64, blank=True)
    involved_group = models.CharField(max_length=200, blank=True)
    involved_kind = models.CharField(max_length=100)
    involved_namespace = models.CharField(max_length=253, blank=True)
    involved_name = models.CharField(max_length=253)
    type = models.CharField(max_length=20, blank=True)  # Normal / Warning
    reason = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=200, blank=True)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["cluster", "involved_kind", "involved_namespace", "involved_name"])
        ]
        ordering = ["-last_seen", "-id"]


class Dependency(models.Model):
    """An edge from a GitOps object to another one it names (source, dependsOn, parent, child,
    helmchart), so "what depends on X" is an indexed query rather than a scan of JSON."""

    # No database constraint: the row's object (``obj``, constrained) is of this cluster, so
    # the object's own constraint covers it; each one was a check at commit for every row of a
    # first sync. Deleting a cluster still deletes these rows (the ORM's cascade).
    cluster = models.ForeignKey(
        Cluster, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    obj = models.ForeignKey(GitOpsObject, on_delete=models.CASCADE, related_name="edges")
    relation = models.CharField(max_length=20)
    group = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=253, blank=True)
    name = models.CharField(max_length=253)

    class Meta:
        indexes = [models.Index(fields=["cluster", "kind", "namespace", "name"])]


class OwnershipReport(models.Model):
    """The latest ownership analysis of a cluster (clusters.ownership), rebuilt after each poll.

    Holds per-namespace ownership, the contested resources with their claim chains, and the ADR
    scorecard; violations are also rows (below) so they can be filtered and counted.
    """

    cluster = models.OneToOneField(Cluster, on_delete=models.CASCADE, related_name="ownership")
    computed_at = models.DateTimeField()
    boundaries = models.JSONField(default=dict)
    boundaries_error = models.TextField(blank=True)
    namespaces = models.JSONField(default=list)
    resources = models.JSONField(
        default=list
    )  # only resources that are claimed twice or in a violation
    chains = models.JSONField(default=dict)
    scorecard = models.JSONField(default=dict)


class Violation(models.Model):
    SEVERITIES = ["critical", "high", "medium", "low"]

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="violations")
    vid = models.CharField(max_length=600)  # stable while the violation persists
    code = models.CharField(max_length=10)
    severity = models.CharField(max_length=10)
    severity_rank = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=300)
    explanation = models.TextField()
    namespace = models.CharField(max_length=253, blank=True)
    resource = models.CharField(max_length=600, blank=True)
    tool = models.CharField(max_length=10, blank=True)
    evidence = models.JSONField(default=list)
    object_keys = models.JSONField(default=list)  # "Kind/namespace/name" of the objects involved
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cluster", "vid"], name="violation_unique")]
        indexes = [models.Index(fields=["cluster", "code"])]
        ordering = ["severity_rank", "code", "namespace", "resource"]


class LastWriter(models.Model):
    """Who last wrote a contested resource, read from the live object's metadata by the
    rate-limited background check (never in a page request)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="last_writers")
    resource = models.CharField(max_length=600)  # clusters.ownership resource_key
    writer = models.CharField(max_length=100, blank=True)
    tool = models.CharField(max_length=10, blank=True)
    manager = models.CharField(max_length=200, blank=True)
    written_at = models.DateTimeField(null=True, blank=True)
    explanation = models.TextField(blank=True)
    signals = models.JSONField(default=list)
    checked_at = models.DateTimeField()
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "resource"], name="lastwriter_unique")
        ]


class StoreVersion(models.Model):
    """One row whose ``value`` every store write bumps, last in its own transaction
    (clusters/store/version.py): an open page asks "anything new?" with one primary-key read
    instead of aggregates over the store."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)


class ArgoAppDetail(models.Model):
    """What argocd-server says of one Application (issue 13), read by the worker, never by a page.

    Filled only for clusters whose clusters.yaml entry names an Argo CD server. ``resources`` has
    one entry per resource the Application manages (Secrets dropped, never stored)::

        {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "data-platform",
         "name": "ingest", "sync": "OutOfSync" | "Synced" | "",
         "health": {"status": "Degraded", "message": "..."} | None,   # from the resource tree
         "diff": [{"path": "spec.replicas", "change": "changed" | "added" | "removed",
                   "live": "2", "target": "3"}, ...] | None,          # None: in sync or unread
         "diffTruncated": False}

    ``tree`` holds the live nodes below the managed resources (ReplicaSets, Pods, ...)::

        {"uid": "...", "group": "", "version": "v1", "kind": "Pod", "namespace": "...",
         "name": "...", "parents": ["<uid of the parent node>", ...],
         "health": {"status": "...", "message": "..."} | None,
         "info": [{"name": "Status Reason", "value": "CrashLoopBackOff"}, ...], "images": [...]}

    A failed read keeps the last good ``resources``/``tree`` and records why in ``error``.
    """

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="argo_details")
    obj = models.OneToOneField(GitOpsObject, on_delete=models.CASCADE, related_name="argo_detail")
    # The Application's resourceVersion the stored answers were read for: a newer one on the
    # object means the detail is due for a re-read.
    app_resource_version = models.CharField(max_length=64, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)  # last good read
    attempted_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)  # why the last read failed ("" = it worked)
    resources = models.JSONField(default=list, blank=True)
    tree = models.JSONField(default=list, blank=True)
    secrets_dropped = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"argocd-server detail of {self.obj}"
