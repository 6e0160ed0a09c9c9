"""Ownership and ADR scorecard: pages and JSON. Everything was computed at poll time."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from clusters.models import LastWriter, OwnershipReport, Violation
from dashboard.bounds import BadPage, Window, page_numbers
from dashboard.json_sql import JSONArrayLength, JSONArraySlice
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


def violations_filtered(
    cluster: str | None = None, tool: str | None = None, code: str | None = None
) -> QuerySet[Violation]:
    rows = Violation.objects.select_related("cluster").order_by(
        "severity_rank", "code", "cluster__name", "namespace", "resource"
    )
    if cluster:
        rows = rows.filter(cluster__name=cluster)
    if tool:
        rows = rows.filter(tool=tool)
    if code:
        rows = rows.filter(code=code.upper())
    return rows


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


@require_GET
def ownership_page(request: HtmxHttpRequest) -> HttpResponse:
    cluster, tool, code = (request.GET.get(k) or None for k in ("cluster", "tool", "code"))
    try:
        pages = page_numbers(request.GET, OWNERSHIP_PAGE_PARAMS)
    except BadPage as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
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
        "codes": CODES,
    }
    template = "dashboard/ownership.html"
    if request.htmx:
        template += "#ownership-body"
    return render(request, template, context)


@require_GET
def scorecard_page(request: HttpRequest) -> HttpResponse:
    cluster = request.GET.get("cluster") or None
    return render(request, "dashboard/scorecard.html", {"reports": reports(cluster)})


def _report_page(
    report: OwnershipReport, namespaces: list[dict], pages: dict[str, int], size: int
) -> dict[str, Any]:
    """One page of a report's namespaces and contested resources, with their counts."""
    contested = report.contested if isinstance(report.contested, list) else []
    ns_window = Window.of("namespaces_page", pages["namespaces_page"], size, len(namespaces))
    total = report.contested_total or 0
    return {
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
        "evidence": v.evidence,
        "objects": v.object_keys,
        "firstSeenAt": v.first_seen_at.isoformat(),
        "lastSeenAt": v.last_seen_at.isoformat(),
    }


@require_GET
def violations_api(request: HttpRequest) -> JsonResponse:
    rows = violations_filtered(
        request.GET.get("cluster"), request.GET.get("tool"), request.GET.get("code")
    )
    return JsonResponse({"violations": [violation_json(v) for v in rows]})


@require_GET
def scorecard_api(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "scorecards": [
                {
                    "cluster": r.cluster.name,
                    "computedAt": r.computed_at.isoformat(),
                    "boundariesError": r.boundaries_error or None,
                    **r.scorecard,
                }
                for r in reports(request.GET.get("cluster"))
            ]
        }
    )
