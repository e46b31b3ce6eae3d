"""The late policy: when a submission is late, and how many points that costs.

nbgrader's own methods (`LateSubmissionPlugin.penalty_method`: `none`, `zero`) and the
`subtract` method of its documentation (points per hour late), plus `per_day`: a percent of
the assignment's points for each started day late. Every method has a grace period (late by
less counts as on time) and a cap (a percent of the points). Set course-wide in
`nbgrader_config.py`:

    c.LateSubmissionPlugin.penalty_method = "zero"   # nbgrader's own setting, read as is
    c.LatePolicy.method = "per_day"                  # ours: overrides nbgrader's method
    c.LatePolicy.per_day_percent = 10
    c.LatePolicy.max_percent = 50
    c.LatePolicy.grace_minutes = 15

or per assignment in `assignments/<a>/assignment.toml` (overrides the course's):

    [late]
    due = 2026-11-30T23:59:00+01:00   # else nbgrader's due date (`nbgrader db assignment add --duedate`)
    method = "subtract"
    per_hour = 0.5

As nbgrader's `AssignLatePenalties` does, a penalty is never below 0 nor above the score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from autograder.errors import CourseError

LATE_METHODS = ("none", "zero", "subtract", "per_day")
_NUMBERS = ("per_hour", "per_day_percent", "max_percent", "grace_minutes")
KEYS = ("method", *_NUMBERS, "due")


@dataclass(frozen=True)
class LatePolicy:
    """How late work is marked down."""

    method: str = "none"
    per_hour: float = 1.0  # subtract: points for each started hour late
    per_day_percent: float = 10.0  # per_day: percent of the points for each started day late
    max_percent: float = 100.0  # the penalty never takes more than this percent of the points
    grace_minutes: float = 0.0  # late by at most this much counts as on time
    due: datetime | None = None  # naive UTC, as nbgrader stores it; None: nbgrader's due date

    def is_late(self, seconds_late: float) -> bool:
        return seconds_late > 60 * self.grace_minutes

    def penalty(self, score: float, max_score: float, seconds_late: float) -> float:
        """Points taken off a submission `seconds_late` past its due date (0 when on time)."""
        if not self.is_late(seconds_late) or self.method == "none":
            return 0.0
        if self.method == "zero":
            raw = score
        elif self.method == "subtract":
            raw = self.per_hour * math.ceil(seconds_late / 3600)
        else:  # per_day
            raw = max_score * self.per_day_percent / 100 * math.ceil(seconds_late / 86400)
        capped = min(raw, max_score * self.max_percent / 100)
        return max(0.0, min(capped, score))  # nbgrader's AssignLatePenalties: within [0, score]


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CourseError(f"{where}: late policy '{key}' must be a non-negative number, not {value!r}.")
    return float(value)


def _due(value: Any, where: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CourseError(
                f"{where}: late policy 'due' {value!r} is not an ISO date and time "
                "(like 2026-11-30T23:59:00+01:00)."
            ) from None
    if not isinstance(value, datetime):
        raise CourseError(f"{where}: late policy 'due' must be a date and time, not {value!r}.")
    if value.tzinfo is None:
        raise CourseError(
            f"{where}: late policy 'due' {value.isoformat()} has no time zone; "
            "add one (like 2026-11-30T23:59:00+01:00, or Z for UTC)."
        )
    return value.astimezone(UTC).replace(tzinfo=None)


def read_policy(table: dict[str, Any], base: LatePolicy, where: str) -> LatePolicy:
    """`base` with the keys of `table` (from nbgrader's config or assignment.toml) applied."""
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise CourseError(f"{where}: unknown late policy key {unknown[0]!r} (known: {', '.join(KEYS)}).")
    changes: dict[str, Any] = {}
    if "method" in table:
        method = table["method"]
        if method not in LATE_METHODS:
            raise CourseError(
                f"{where}: late policy 'method' must be one of {', '.join(LATE_METHODS)}, not {method!r}."
            )
        changes["method"] = method
    for key in _NUMBERS:
        if key in table:
            changes[key] = _number(table[key], key, where)
    if "due" in table:
        changes["due"] = _due(table["due"], where)
    return replace(base, **changes)


def course_policy(config: Any, where: str) -> LatePolicy:
    """The course's policy from nbgrader's config: nbgrader's own method, then `c.LatePolicy`."""
    policy = LatePolicy()
    nbgrader_method = config.get("LateSubmissionPlugin", {}).get("penalty_method")
    if nbgrader_method is not None:
        policy = read_policy({"method": nbgrader_method}, policy, f"{where} LateSubmissionPlugin")
    ours = config.get("LatePolicy", {})
    return read_policy(dict(ours), policy, f"{where} LatePolicy") if ours else policy
