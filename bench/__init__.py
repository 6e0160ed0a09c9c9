"""Benchmarks (issue 6): ``python bench/run.py --sizes 1000 5000 20000``; docs/performance.md."""

from __future__ import annotations
