"""Objects and ownership violations on one attention scale (clusters/attention.py)."""

from __future__ import annotations

import pytest

from clusters.attention import namespace_attention, violation_tone

TW002 = {"code": "TW002", "severity": "critical", "explanation": "ConfigMap m/x is contested."}
TW001 = {"code": "TW001", "severity": "high", "explanation": "Argo CD deploys into m."}
TW006 = {"code": "TW006", "severity": "medium", "explanation": "No owner is declared for m."}
TW007 = {"code": "TW007", "severity": "low", "explanation": "Cannot tell who deploys Argo CD."}
DEGRADED = "HelmRelease m/x is Degraded: install failed"
OUT_OF_SYNC = "Application argocd/x is OutOfSync: 1 resource out of sync: ConfigMap m/y"


@pytest.mark.parametrize(
    ("status", "headline", "violations", "rank", "tone", "starts"),
    [
        ("Healthy", "", [], 5, "", ""),
        ("", "", [], 5, "", ""),
        ("Degraded", DEGRADED, [], 1, "bad", "HelmRelease"),
        ("Healthy", OUT_OF_SYNC, [], 2, "warn", "Application"),
        ("Progressing", "Kustomization m/x is Progressing: …", [], 3, "progress", "Kust"),
        # a critical conflict alone is red, and it outranks (and headlines before) Degraded
        ("Healthy", "", [TW002], 0, "bad", "Ownership violation TW002 (critical): ConfigMap"),
        ("Degraded", DEGRADED, [TW002], 0, "bad", "Ownership violation TW002"),
        # other severities count at their severity; the object's sentence leads a tie
        ("Healthy", "", [TW001], 1, "bad", "Ownership violation TW001 (high)"),
        ("Degraded", DEGRADED, [TW001], 1, "bad", "HelmRelease"),
        ("Healthy", "", [TW006], 2, "warn", "Ownership violation TW006 (medium)"),
        ("Healthy", "", [TW007], 2, "warn", "Ownership violation TW007 (low)"),
        ("Progressing", "Kustomization m/x is Progressing", [TW006], 2, "warn", "Ownership"),
        ("", "", [TW006, TW002], 0, "bad", "Ownership violation TW002"),
    ],
)
def test_namespace_attention(status, headline, violations, rank, tone, starts) -> None:
    verdict = namespace_attention(status, headline, violations)
    assert (verdict.rank, verdict.tone) == (rank, tone)
    assert verdict.headline.startswith(starts)
    if headline:
        assert headline in verdict.headline  # nothing said before is dropped
    if violations:
        assert "Ownership violation" in verdict.headline


def test_every_violation_is_counted_in_the_sentence() -> None:
    verdict = namespace_attention("Healthy", "", [TW002, TW001, TW006])
    assert verdict.headline == (
        "Ownership violation TW002 (critical): ConfigMap m/x is contested. "
        "(2 more ownership violations)"
    )
    both = namespace_attention("Degraded", DEGRADED, [TW006])
    assert (
        both.headline
        == f"{DEGRADED} Also: Ownership violation TW006 (medium): {TW006['explanation']}"
    )


@pytest.mark.parametrize(
    ("code", "tone"),
    [("TW001", "bad"), ("TW002", "bad"), ("TW003", "bad"), ("TW006", "warn"), ("TW007", "warn")],
)
def test_violation_code_tones_follow_severity(code: str, tone: str) -> None:
    assert violation_tone(code) == tone
