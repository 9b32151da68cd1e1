"""Rules: ``[[risk.rules]]`` and the defaults taken from practice.

A rule compares one signal's value for a member with a threshold over a rolling window. Signals
marked pending are computed by the KPI module (issue 18 item 4); their rules are accepted and listed,
but nothing evaluates them until those figures exist.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

OFF_ASSIGNMENT, CONTACT_DIVERSION = "off_assignment", "contact_diversion"
DELETIONS, CHURN_AFTER_HANDOVER = "deletions", "churn_after_handover"
EVALUATED = (OFF_ASSIGNMENT, CONTACT_DIVERSION, DELETIONS, CHURN_AFTER_HANDOVER)
PENDING = ("coverage", "response", "orders", "conversion", "repeat", "anomaly")
SIGNALS = (*EVALUATED, *PENDING)
OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
SEVERITIES = ("low", "medium", "high")
RECIPIENTS = ("manager", "compliance", "admin", "hr")
# contact_diversion's value is the strongest hit's confidence, so "any high hit" is ">= 3".
CONFIDENCE = {"low": 1.0, "medium": 2.0, "high": 3.0}


@dataclass(frozen=True)
class RuleSpec:
    name: str
    signal: str
    op: str
    threshold: float
    window_days: int
    members: tuple[str, ...] = ()
    departments: tuple[int, ...] = ()
    severity: str = "medium"
    notify: tuple[str, ...] = ("manager", "compliance")
    note: str = ""  # why a default is only partly evaluated (not a config key)

    @property
    def evaluated(self) -> bool:
        return self.signal in EVALUATED

    def fires(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)


DEFAULT_RULES = (
    RuleSpec("非分配客户跟进", OFF_ASSIGNMENT, ">", 5, 7, severity="medium"),
    RuleSpec("联系方式外泄", CONTACT_DIVERSION, ">=", CONFIDENCE["high"], 1, severity="high"),
    # Compound in the issue: coverage down 50% AND orders up 30% against the member's baseline.
    RuleSpec("跟进骤降", "coverage", "<=", -50, 7, severity="medium",
             note="pending: needs coverage and orders against the 4-week baseline (KPI module); "
                  "fires only with orders up 30% too"),
    # Compound in the issue: new-customer conversion >= 90% AND repeat rate <= 10%.
    RuleSpec("新客异常", "conversion", ">=", 90, 28, severity="medium",
             note="pending: needs conversion and repeat from the ledger (KPI module); fires only with repeat <= 10%"),
)


def merged(configured: tuple[RuleSpec, ...], use_defaults: bool) -> tuple[RuleSpec, ...]:
    """The configured rules; the defaults too unless turned off (a configured rule replaces a
    default of the same name)."""
    names = {r.name for r in configured}
    base = tuple(r for r in DEFAULT_RULES if r.name not in names) if use_defaults else ()
    return base + configured


def for_signal(rules: tuple[RuleSpec, ...], signal: str) -> list[RuleSpec]:
    return [r for r in rules if r.signal == signal]
