"""What "needs attention" means for a namespace row: object health and ownership violations on
one scale, so the overview sorts, colours and explains them together (pure).

A namespace whose objects are all Healthy and Synced still needs attention when an ownership
violation names it: a critical one (TW002, two controllers fighting over one resource) is red
and is named before anything else; the others count at their severity (high red, medium and
low amber).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clusters.ownership.violations import CODES, CRITICAL, SEVERITY_ORDER

# Palette tones (static/css: badge--*, summary--*, row--*), most urgent first. Rank 0 is kept
# for critical violations so that they sort (and headline the banner) before a Degraded object.
CRITICAL_RANK = 0
TONE_RANK = {"bad": 1, "warn": 2, "progress": 3, "muted": 4}
FINE_RANK = 5
STATUS_TONE = {
    "Degraded": "bad",
    "Missing": "bad",
    "Unknown": "warn",
    "Progressing": "progress",
    "Suspended": "muted",
}
# "low" (TW007: a check that could not run) is still something to look at: amber, not grey.
SEVERITY_TONE = {"critical": "bad", "high": "bad", "medium": "warn", "low": "warn"}


@dataclass(frozen=True)
class Attention:
    rank: int  # sort key: 0 critical violation, 1 red, 2 amber, 3 progressing, 4 muted, 5 fine
    tone: str  # palette tone, "" when nothing needs attention
    headline: str  # one sentence (or two), the most urgent first; "" when fine


def violation_tone(code: str) -> str:
    """The palette tone of a violation code (its severity is fixed by the code)."""
    severity = CODES.get(code, ("low", ""))[0]
    return SEVERITY_TONE.get(severity, "warn")


def namespace_attention(
    status: str, object_headline: str, violations: Sequence[Mapping[str, Any]]
) -> Attention:
    """Combine the worst object's headline (``status`` is the namespace's worst status, ""
    without objects) with the namespace's violations (dicts with code, severity, explanation).
    """
    object_rank, object_tone = FINE_RANK, ""
    if object_headline:
        # A Healthy namespace with a headline is out of sync (or sync Unknown): amber.
        object_tone = STATUS_TONE.get(status, "warn")
        object_rank = TONE_RANK[object_tone]
    worst = min(violations, key=_severity_index, default=None)
    if worst is None:
        return Attention(object_rank, object_tone, object_headline)
    violation_rank = (
        CRITICAL_RANK
        if worst["severity"] == CRITICAL
        else TONE_RANK[SEVERITY_TONE.get(worst["severity"], "warn")]
    )
    sentence = violation_sentence(worst, len(violations))
    if violation_rank < object_rank:
        parts = [sentence, object_headline]
        rank, tone = violation_rank, SEVERITY_TONE.get(worst["severity"], "warn")
    else:
        parts = [object_headline, sentence]
        rank, tone = object_rank, object_tone
    headline = " Also: ".join(part for part in parts if part)
    return Attention(rank, tone, headline)


def violation_sentence(violation: Mapping[str, Any], count: int = 1) -> str:
    """Ownership violation TW002 (critical): <explanation>, and how many more there are."""
    more = count - 1
    tail = f" ({more} more ownership violation{'s' if more > 1 else ''})" if more else ""
    return (
        f"Ownership violation {violation['code']} ({violation['severity']}): "
        f"{violation['explanation']}{tail}"
    )


def _severity_index(violation: Mapping[str, Any]) -> tuple[int, str]:
    severity = violation.get("severity", "low")
    index = SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
    return index, violation.get("code", "")
