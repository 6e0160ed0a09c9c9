"""Ownership and ADR scorecard: pages and JSON. Everything was computed at poll time."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from clusters.models import GitOpsObject, LastWriter, OwnershipReport, Violation
from dashboard import request_input
from dashboard.bounds import Window, page_numbers
from dashboard.json_sql import JSONArrayLength, JSONArraySlice
from dashboard.pagination import paginated
from dashboard.views import HtmxHttpRequest

CODES = {
    "TW001": "Deploys across the boundary",
    "TW002": "Claimed by both tools",
    "TW003": "Cluster-scoped resource managed by Argo CD",
    "TW004": "Argo CD not deployed by Flux",
    "TW005": "Claimed twice by one tool",
    "TW006": "No declared owner",
    "TW007": "Cannot tell who deploys Argo CD",
}


# What tool= means for a violation: a violation whose tool is "" is between both tools (TW002
# always; TW005 and TW006 when both tools are involved), so it belongs to either tool's view.
BOTH_TOOLS = ("flux", "argocd")


def violation_tools(v: Violation) -> list[str]:
    return [v.tool] if v.tool else list(BOTH_TOOLS)


def filters(request: HttpRequest, *names: str) -> dict[str, str | None]:
    """The checked cluster/tool/code parameters (a 400 naming the allowed values otherwise)."""
    rules = {
        **request_input.filter_rules("cluster", "tool"),
        "code": request_input.Choice(tuple(CODES), "violation code", fold_case=True),
    }
    return request_input.read(request, {name: rules[name] for name in names})


def object_refs() -> dict[tuple[str, str], tuple[str, str, str]]:
    """Stored objects with a "/" in their namespace or name, by (cluster, "Kind/namespace/name"):
    such a key cannot be split back by itself (the object_link template tag)."""
    rows = GitOpsObject.objects.filter(Q(namespace__contains="/") | Q(name__contains="/"))
    return {
        (cluster, f"{kind}/{namespace}/{name}"): (kind, namespace, name)
        for cluster, kind, namespace, name in rows.values_list(
            "cluster__name", "kind", "namespace", "name"
        )
    }


def violations_filtered(
    cluster: str | None = None, tool: str | None = None, code: str | None = None
) -> QuerySet[Violation]:
    rows = Violation.objects.select_related("cluster").order_by(
        "severity_rank", "code", "cluster__name", "namespace", "resource"
    )
    if cluster:
        rows = rows.filter(cluster__name=cluster)
    if tool:
        rows = rows.filter(Q(tool=tool) | Q(tool=""))
    if code:
        rows = rows.filter(code=code.upper())
    return rows


def active_filters(**filters: str | None) -> str:
    """What a filtered view says it is filtered by, e.g. tool=flux, code=TW003."""
    return ", ".join(f"{key}={value}" for key, value in filters.items() if value)


def reports(cluster: str | None = None) -> list[OwnershipReport]:
    rows = OwnershipReport.objects.select_related("cluster").order_by("cluster__name")
    return list(rows.filter(cluster__name=cluster) if cluster else rows)


def report_pages(cluster: str | None, contested_page: int, size: int) -> list[OwnershipReport]:
    """The reports as /ownership shows them: the claim chains and the scorecard (as large as
    the inventories they were computed from) are not read, and of the contested resources only
    their number (``contested_total``) and one page (``contested``) come from the database."""
    rows = (
        OwnershipReport.objects.select_related("cluster")
        .order_by("cluster__name")
        .defer("chains", "scorecard", "boundaries", "resources")
    )
    if cluster:
        rows = rows.filter(cluster__name=cluster)
    start = (contested_page - 1) * size
    found = list(
        rows.annotate(
            contested_total=JSONArrayLength("resources"),
            contested=JSONArraySlice("resources", start, start + size),
        )
    )
    for report in found:
        window = Window.of("contested_page", contested_page, size, report.contested_total or 0)
        if window.start != start:  # past the end: the last page instead (one more query)
            (report.contested,) = OwnershipReport.objects.filter(pk=report.pk).values_list(
                JSONArraySlice("resources", window.start, window.stop), flat=True
            )
    return found


# The query parameters that page /ownership's lists; one page size: TIDEWATCH_PAGE_ROWS.
OWNERSHIP_PAGE_PARAMS = ("violations_page", "namespaces_page", "contested_page")


def _namespaces(report: OwnershipReport, tool: str | None, code: str | None) -> list[dict]:
    result = []
    for item in report.namespaces:
        codes = sorted({v["code"] for v in item.get("violations") or []})
        if tool and tool != item.get("declared_owner") and tool not in item.get("deployed_by", []):
            continue
        if code and code.upper() not in codes:
            continue
        if not (item.get("deployers") or item.get("resident_count") or item.get("declared_owner")):
            continue  # kube-system & co: nothing declared, nothing deployed, nothing to say
        result.append({**item, "codes": codes})
    return result


@require_safe
def ownership_page(request: HtmxHttpRequest) -> HttpResponse:
    cluster, tool, code = filters(request, "cluster", "tool", "code").values()
    pages = page_numbers(request.GET, OWNERSHIP_PAGE_PARAMS)
    size = settings.TIDEWATCH_PAGE_ROWS
    # Counted in SQL and one page read: a cluster may hold 100,000 violations.
    matching = violations_filtered(cluster, tool, code)
    severity_counts = _severity_counts(matching)
    total = sum(n for _, n in severity_counts)
    window = Window.of("violations_page", pages["violations_page"], size, total)
    violations = list(matching[window.start : window.stop])
    # The sentence before any table names the worst of all, not of this page.
    first_page = violations[0] if violations else None
    worst = first_page if window.page == 1 else matching.first()
    contested = [v.resource for v in violations if v.code == "TW002"]
    writers = {
        (w.cluster_id, w.resource): w for w in LastWriter.objects.filter(resource__in=contested)
    }
    for violation in violations:
        violation.last_writer = writers.get((violation.cluster_id, violation.resource))
        violation.evidence_shown = violation.evidence[:size]
        violation.objects_shown = violation.object_keys[:size]
    context = {
        "reports": [
            _report_page(r, _namespaces(r, tool, code), pages, size)
            for r in report_pages(cluster, pages["contested_page"], size)
        ],
        "violations": violations,
        "violations_window": window,
        "worst": worst,
        "violations_total": total,
        "severity_counts": severity_counts,
        "filters": {"cluster": cluster, "tool": tool, "code": code},
        # A filtered view never reads as an all-clear: it says what it hides (one COUNT).
        "filtered_by": active_filters(cluster=cluster, tool=tool, code=code),
        "total_violations": Violation.objects.count() if (cluster or tool or code) else None,
        "codes": CODES,
        "object_refs": object_refs(),
    }
    template = "dashboard/ownership.html"
    if request.htmx:
        template += "#ownership-body"
    return render(request, template, context)


@require_safe
def scorecard_page(request: HttpRequest) -> HttpResponse:
    cluster = filters(request, "cluster")["cluster"]
    return render(request, "dashboard/scorecard.html", {"reports": reports(cluster)})


# Namespaces whose resources the contested list samples, named in its note (the rest counted).
SAMPLED_NAMED = 10


def _sampled(report: OwnershipReport) -> list[dict]:
    """The namespaces with more resources in their own violation (TW001/TW006) than the
    report lists (TIDEWATCH_OWNERSHIP_NAMESPACE_SAMPLE each)."""
    return [
        item
        for item in report.namespaces
        if (item.get("violation_resources") or 0) > (item.get("violation_resources_listed") or 0)
    ]


def _report_page(
    report: OwnershipReport, namespaces: list[dict], pages: dict[str, int], size: int
) -> dict[str, Any]:
    """One page of a report's namespaces and contested resources, with their counts."""
    contested = report.contested if isinstance(report.contested, list) else []
    ns_window = Window.of("namespaces_page", pages["namespaces_page"], size, len(namespaces))
    total = report.contested_total or 0
    sampled = _sampled(report)
    return {
        "sampled": sampled[:SAMPLED_NAMED],
        "sampled_more": max(0, len(sampled) - SAMPLED_NAMED),
        "sample_size": settings.TIDEWATCH_OWNERSHIP_NAMESPACE_SAMPLE,
        "report": report,
        "namespaces": namespaces[ns_window.start : ns_window.stop],
        "namespaces_window": ns_window,
        "resources": [r for r in contested if isinstance(r, dict)],
        "resources_window": Window.of("contested_page", pages["contested_page"], size, total),
    }


def _severity_counts(violations: QuerySet[Violation]) -> list[tuple[str, int]]:
    """One GROUP BY, not a walk over every violation."""
    grouped = violations.order_by().values("severity").annotate(n=Count("id"))
    counts = dict(grouped.values_list("severity", "n"))
    return [(s, counts[s]) for s in Violation.SEVERITIES if s in counts]


def violation_json(v: Violation) -> dict[str, Any]:
    return {
        "cluster": v.cluster.name,
        "id": v.vid,
        "code": v.code,
        "severity": v.severity,
        "title": v.title,
        "explanation": v.explanation,
        "namespace": v.namespace or None,
        "resource": v.resource or None,
        "tool": v.tool or None,
        "tools": violation_tools(v),  # who a violation belongs to: both when tool is null
        "evidence": v.evidence,
        "objects": v.object_keys,
        "firstSeenAt": v.first_seen_at.isoformat(),
        "lastSeenAt": v.last_seen_at.isoformat(),
    }


@require_safe
def violations_api(request: HttpRequest) -> JsonResponse:
    cluster, tool, code = filters(request, "cluster", "tool", "code").values()
    extra: dict[str, Any] = {}
    if cluster or tool or code:
        # An empty filtered answer must not read as "no violations": say how many there are.
        extra["filteredBy"] = active_filters(cluster=cluster, tool=tool, code=code)
        extra["total"] = Violation.objects.count()
    return paginated(
        request, violations_filtered(cluster, tool, code), "violations", violation_json, extra
    )


@require_safe
def scorecard_api(request: HttpRequest) -> JsonResponse:
    return paginated(
        request, reports(filters(request, "cluster")["cluster"]), "scorecards", scorecard_json
    )


def scorecard_json(r: OwnershipReport) -> dict[str, Any]:
    return {
        "cluster": r.cluster.name,
        "computedAt": r.computed_at.isoformat(),
        "boundariesError": r.boundaries_error or None,
        **r.scorecard,
    }
