"""ADR-003 ownership: declared boundaries vs observed deployers, violations, scorecard.

Pure (no Django, no network): the poll builds the inputs from the store and keeps the outputs'
``to_dict()``.

    boundaries = default_boundaries()            # or load_boundaries(text) per cluster
    report = analyse(objects, claims, boundaries=boundaries, workloads=workloads,
                     namespaces=namespace_names)
    card = build_scorecard(report, workloads, monitors, monitoring_installed)
    writer = last_writers(live_object["metadata"])   # for TW002 resources

Modules: boundaries (declared), inputs (what goes in), facts (indexes), rules (one function per
violation code), violations (codes and the Violation record), chains (what stands above a claim),
analysis (the report), scorecard, lastwriter.
"""

from __future__ import annotations

from clusters.ownership.analysis import (
    Claimant,
    NamespaceOwnership,
    OwnershipReport,
    ResourceOwnership,
    analyse,
)
from clusters.ownership.boundaries import (
    Boundaries,
    BoundaryError,
    ToolBoundary,
    default_boundaries,
    load_boundaries,
    load_boundaries_file,
)
from clusters.ownership.chains import ChainLink
from clusters.ownership.facts import Deployer, ObjectBrief
from clusters.ownership.inputs import (
    Claim,
    GitOpsObject,
    Monitor,
    SharedResourceWarning,
    Workload,
    claims_from_record,
    object_key,
    resource_key,
)
from clusters.ownership.lastwriter import LastWriter, last_writers
from clusters.ownership.scorecard import Scorecard, ScoreRow, build_scorecard
from clusters.ownership.violations import CODES, ResourceId, Violation

__all__ = [
    "CODES",
    "Boundaries",
    "BoundaryError",
    "ChainLink",
    "Claim",
    "Claimant",
    "Deployer",
    "GitOpsObject",
    "LastWriter",
    "Monitor",
    "NamespaceOwnership",
    "ObjectBrief",
    "OwnershipReport",
    "ResourceId",
    "ResourceOwnership",
    "ScoreRow",
    "Scorecard",
    "SharedResourceWarning",
    "ToolBoundary",
    "Violation",
    "Workload",
    "analyse",
    "build_scorecard",
    "claims_from_record",
    "default_boundaries",
    "last_writers",
    "load_boundaries",
    "load_boundaries_file",
    "object_key",
    "resource_key",
]
