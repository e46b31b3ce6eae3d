"""Course rules for submissions: deadline and lateness, attempts, cool-down, which one counts, size.

Read from `serve.toml` at the course root (optional; every key has a default):

    [defaults]                 # every assignment
    max_attempts = 20          # submissions per student and assignment in the window...
    attempts_window_h = 24     # ...of this many hours (0: over the whole assignment)
    cooldown_s = 30            # between two submissions of one student and assignment
    counts = "last"            # which submission is the grade: "last" or "best"
    max_upload_mb = 5          # a larger notebook is refused (413) before it is read
    late = "accept"            # after the deadline: "accept" (flagged late) or "refuse"

    [assignments.ps4-softmax]  # per assignment, overriding the defaults
    deadline = 2026-12-20T23:59:00Z

Without a `deadline` here, nbgrader's own due date (`nbgrader db assignment add --duedate`,
UTC) applies. An identical resubmission is not graded again and uses no attempt.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from autograder.errors import CourseError

FILE = "serve.toml"

_nbgrader_assignment = sa.table("assignment", sa.column("name", sa.String), sa.column("duedate", sa.DateTime))


@dataclass(frozen=True)
class Rules:
    """One assignment's submission rules."""

    max_attempts: int = 20
    attempts_window_h: float = 24.0
    cooldown_s: float = 30.0
    counts: str = "last"
    max_upload_mb: float = 5.0
    late: str = "accept"
    deadline: float | None = None  # seconds since the epoch

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass(frozen=True)
class Refusal:
    """Why a submission is refused now: the HTTP status, a message, and when to retry."""

    status: int
    message: str
    retry_after_s: int | None = None


def _table(data: dict[str, Any], where: str) -> dict[str, Any]:
    known = {"max_attempts", "attempts_window_h", "cooldown_s", "counts", "max_upload_mb", "late", "deadline"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CourseError(f"{where}: unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))}).")
    out: dict[str, Any] = {}
    for key in ("max_attempts",):
        if key in data:
            if isinstance(data[key], bool) or not isinstance(data[key], int) or data[key] < 1:
                raise CourseError(
                    f"{where}: '{key}' must be a whole number of at least 1, not {data[key]!r}."
                )
            out[key] = data[key]
    for key in ("attempts_window_h", "cooldown_s", "max_upload_mb"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise CourseError(f"{where}: '{key}' must be a non-negative number, not {value!r}.")
            out[key] = float(value)
    for key, choices in (("counts", ("last", "best")), ("late", ("accept", "refuse"))):
        if key in data:
            if data[key] not in choices:
                raise CourseError(f"{where}: '{key}' must be one of {', '.join(choices)}, not {data[key]!r}.")
            out[key] = data[key]
    if "deadline" in data:
        out["deadline"] = _epoch(data["deadline"], where)
    return out


def _epoch(value: Any, where: str) -> float:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CourseError(
                f"{where}: 'deadline' {value!r} is not an ISO date (2026-12-20T23:59:00Z)."
            ) from None
    if not isinstance(value, datetime):
        raise CourseError(f"{where}: 'deadline' must be a date and time, not {value!r}.")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


def load_rules(root: Path, assignment_ids: list[str]) -> dict[str, Rules]:
    """Each assignment's rules from `serve.toml` (defaults where it is absent)."""
    path = root / FILE
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CourseError(f"{path}: not valid TOML ({exc}).") from None
    unknown = sorted(set(data) - {"defaults", "assignments"})
    if unknown:
        raise CourseError(f"{path}: unknown table [{unknown[0]}] (known: [defaults], [assignments.<id>]).")
    defaults = _table(data.get("defaults", {}), f"{path} [defaults]")
    per = data.get("assignments", {})
    strays = sorted(set(per) - set(assignment_ids))
    if strays:
        raise CourseError(f"{path}: [assignments.{strays[0]}] names no assignment of this course.")
    return {
        a: Rules(**{**defaults, **_table(per.get(a, {}), f"{path} [assignments.{a}]")})
        for a in assignment_ids
    }


def with_nbgrader_deadlines(engine: sa.Engine, rules: dict[str, Rules]) -> dict[str, Rules]:
    """Fill in nbgrader's due dates (UTC, as nbgrader stores them) where serve.toml sets none."""
    if not sa.inspect(engine).has_table("assignment"):
        return rules
    with engine.connect() as conn:
        due = {str(n): d for n, d in conn.execute(sa.select(_nbgrader_assignment)) if d is not None}
    out = dict(rules)
    for a, r in rules.items():
        if r.deadline is None and a in due:
            out[a] = Rules(**{**r.__dict__, "deadline": due[a].replace(tzinfo=UTC).timestamp()})
    return out


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def check(rules: Rules, now: float, earlier: list[float]) -> Refusal | None:
    """Whether a new submission (at `now`, after those at `earlier`) may be accepted."""
    if rules.deadline is not None and now > rules.deadline and rules.late == "refuse":
        when = datetime.fromtimestamp(rules.deadline, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return Refusal(
            422, f"the deadline ({when}) has passed and this assignment takes no late submissions."
        )
    # An upload sent at the same moment as the last one may be checked after it was accepted,
    # with a `now` a little before its time: no time has passed then, not a negative one.
    since = max(0.0, now - earlier[-1]) if earlier else 0.0
    if earlier and since < rules.cooldown_s:
        wait = rules.cooldown_s - since
        return Refusal(
            429,
            f"you submitted {since:.0f} s ago; wait {_minutes(wait)} between submissions "
            f"(the cool-down is {_minutes(rules.cooldown_s)}).",
            max(1, int(wait + 0.999)),
        )
    window = rules.attempts_window_h * 3600
    used = [t for t in earlier if not window or now - t < window]
    if len(used) >= rules.max_attempts:
        if window:
            wait = used[-rules.max_attempts] + window - now
            return Refusal(
                429,
                f"you have used all {rules.max_attempts} submissions allowed in {_minutes(window)}; "
                f"the next one is possible in {_minutes(wait)}.",
                max(1, int(wait + 0.999)),
            )
        return Refusal(
            429,
            f"you have used all {rules.max_attempts} submissions of this assignment; "
            "ask your instructor if you need another.",
            86400,
        )
    return None


def is_late(rules: Rules, when: float) -> bool:
    return rules.deadline is not None and when > rules.deadline
