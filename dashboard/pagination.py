"""One way to page a JSON list: ``?page=`` (from 1) and ``?page_size=`` (default
TIDEWATCH_API_PAGE_SIZE, at most TIDEWATCH_API_MAX_PAGE_SIZE), answered as
``{"count", "page", "pages", "<items>": [...]}``. Every /api/v1 list uses it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.paginator import EmptyPage, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse

T = TypeVar("T")


class BadPage(ValueError):
    pass


def page_params(request: HttpRequest) -> tuple[int, int]:
    """(page number, page size); BadPage when either is not a positive integer. A size over the
    maximum is clamped, not refused: a client asking for everything gets the most we give."""
    try:
        number = int(request.GET.get("page", 1))
        size = int(request.GET.get("page_size", settings.TIDEWATCH_API_PAGE_SIZE))
    except ValueError:
        raise BadPage("page and page_size must be positive integers") from None
    if number < 1 or size < 1:
        raise BadPage("page and page_size must be positive integers")
    return number, min(size, settings.TIDEWATCH_API_MAX_PAGE_SIZE)


def paginated(
    request: HttpRequest,
    rows: QuerySet[Any] | Sequence[T],
    key: str,
    serialize: Callable[[T], dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> JsonResponse:
    """The page asked for, as JSON (with ``extra`` keys beside the envelope): 400 for a
    malformed page, 404 past the last one."""
    try:
        number, size = page_params(request)
    except BadPage as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    paginator = Paginator(rows, size)
    try:
        page = paginator.page(number)
    except EmptyPage:
        return JsonResponse({"error": f"page {number} is past the last page"}, status=404)
    return JsonResponse(
        {
            "count": paginator.count,
            "page": number,
            "pages": paginator.num_pages,
            key: [serialize(row) for row in page.object_list],
            **(extra or {}),
        }
    )
