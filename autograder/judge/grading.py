"""Pure grading rules: test outcomes of one item -> the item's score, status and diagnosis.

No I/O here. Each rule is written down where it is applied:
- an item's score is its points times the weighted share of its checks that passed;
- status: `passed` when all passed; `missing` when the function is absent or still the stub;
  `timeout` when nothing passed and a check ran out of time; `partial` when some passed;
  `error` when nothing passed and the failures are the student's exceptions or crashes that no
  misconception explains; `failed` otherwise;
- diagnosis: the misconception most checks point to (ties: the first seen) when it explains
  at least as many failed checks as are unexplained, else `other`,
  else `error` / `timeout` / `missing`; an item that timed out with no misconception named is
  `timeout`; empty when passed;
- message: the first failing check's message for that diagnosis, with the misconception's
  title and hint appended. One line, never the suite's source.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from autograder.course.layout import ItemSpec, Misconceptions
from autograder.models import ItemResult, Status

#: Outcome kinds; `misconception` covers every failed value check (including `other`).
KINDS = ("passed", "misconception", "missing", "timeout", "error")
GENERIC = ("other", "error", "timeout", "missing")


@dataclass(frozen=True)
class CheckOutcome:
    """One hidden check's result for one item."""

    item: str
    passed: bool
    weight: float = 1.0
    kind: str = "passed"
    diagnosis: str = ""
    message: str = ""
    failing_input: str = ""


def _pick_diagnosis(failures: list[CheckOutcome]) -> str:
    specific = Counter(f.diagnosis for f in failures if f.diagnosis not in GENERIC)
    unexplained = sum(f.diagnosis == "other" for f in failures)
    if specific:
        best = max(specific.values())
        # A shrunk input (say [1, 1, 1]) can make an unrelated bug look like a known one once;
        # a misconception must explain at least as many failures as nothing explains.
        if best >= unexplained:
            return next(f.diagnosis for f in failures if specific.get(f.diagnosis) == best)
    for generic in GENERIC:
        if any(f.diagnosis == generic for f in failures):
            return generic
    return "other"


def compose_message(item: str, diagnosis: str, detail: str, misconceptions: Misconceptions) -> str:
    """The student's one-line message: what broke, the misconception's name, a hint."""
    text = detail if detail.startswith(item) else f"{item}: {detail}"
    title = misconceptions.title(diagnosis)
    hint = misconceptions.hint(diagnosis)
    if title and diagnosis not in GENERIC:
        text += f" This looks like {title} ({diagnosis})."
    if hint:
        text += f" Hint: {hint}"
    return " ".join(text.split())


def grade_item(
    spec: ItemSpec, outcomes: list[CheckOutcome], misconceptions: Misconceptions, *, duration_s: float = 0.0
) -> ItemResult:
    """Apply the rules above to one item."""
    total = sum(o.weight for o in outcomes)
    passed = sum(o.weight for o in outcomes if o.passed)
    failures = [o for o in outcomes if not o.passed]
    if not outcomes:
        return ItemResult(
            spec.name,
            0.0,
            spec.points,
            "error",
            "error",
            f"{spec.name}: the suite has no check for this item.",
            duration_s,
        )
    if not failures:
        return ItemResult(spec.name, spec.points, spec.points, "passed", duration_s=duration_s)
    score = round(spec.points * passed / total, 4) if total else 0.0
    status: Status
    if any(f.kind == "missing" for f in failures):
        score, status = 0.0, "missing"
    elif score > 0:
        status = "partial"
    elif any(f.kind == "timeout" for f in failures):
        status = "timeout"
    elif all(f.kind == "error" for f in failures):
        status = "error"
    else:
        status = "failed"
    diagnosis = "missing" if status == "missing" else _pick_diagnosis(failures)
    if status == "timeout" and diagnosis in GENERIC:
        diagnosis = "timeout"
    first = next((f for f in failures if f.diagnosis == diagnosis), failures[0])
    message = compose_message(spec.name, diagnosis, first.message, misconceptions)
    return ItemResult(
        spec.name, score, spec.points, status, diagnosis, message, duration_s, first.failing_input
    )
