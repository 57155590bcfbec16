"""Eligible payment solutions for an order (advanced flow).

Each solution is a partner (PSP) and a method.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["EligibleSolution", "EligibleSolutionList"]


@attrs.frozen(kw_only=True)
class EligibleSolution:
    partner: str | None = None
    method: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class EligibleSolutionList:
    amount: int | None = None
    currency: str | None = None
    eligible_solutions: tuple[EligibleSolution, ...] = ()
    extra: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
