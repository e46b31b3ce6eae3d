"""Course rules: deadline and lateness, attempts, cool-down, which submission counts."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from running import ASSIGNMENT, Server, serving

from autograder.errors import CourseError
from autograder.serve.rules import Rules, check, is_late, load_rules

NOW = 1_800_000_000.0


def test_the_cool_down_refuses_with_429_and_when_to_retry() -> None:
    refusal = check(Rules(cooldown_s=60), NOW, [NOW - 15])
    assert refusal is not None
    assert (refusal.status, refusal.retry_after_s) == (429, 45)
    assert refusal.message == "you submitted 15 s ago; wait 45 s between submissions (the cool-down is 60 s)."
    assert check(Rules(cooldown_s=60), NOW, [NOW - 61]) is None


def test_the_attempt_limit_counts_the_window_and_says_when_the_next_is_possible() -> None:
    rules = Rules(cooldown_s=0, max_attempts=3, attempts_window_h=1)
    refusal = check(rules, NOW, [NOW - 3000, NOW - 2000, NOW - 100])
    assert refusal is not None
    assert (refusal.status, refusal.retry_after_s) == (429, 600)
    assert refusal.message == "you have used all 3 submissions allowed in 60 min; the next one is possible in 10 min."
    assert check(rules, NOW, [NOW - 4000, NOW - 2000, NOW - 100]) is None  # the first left the window


def test_an_attempt_limit_over_the_whole_assignment_sends_students_to_the_instructor() -> None:
    refusal = check(Rules(cooldown_s=0, max_attempts=1, attempts_window_h=0), NOW, [NOW - 10**6])
    assert refusal is not None and refusal.status == 429
    assert refusal.message == "you have used all 1 submissions of this assignment; ask your instructor if you need another."


def test_after_the_deadline_a_submission_is_late_or_refused() -> None:
    accept = Rules(deadline=NOW - 1)
    assert check(accept, NOW, []) is None and is_late(accept, NOW) and not is_late(accept, NOW - 61)
    refusal = check(Rules(deadline=NOW - 60, late="refuse"), NOW, [])
    assert refusal is not None and refusal.status == 422
    assert refusal.message == "the deadline (2027-01-15 07:59 UTC) has passed and this assignment takes no late submissions."


def test_serve_toml_is_checked_with_a_message_naming_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "serve.toml").write_text('[defaults]\ncounts = "first"\n')
    with pytest.raises(CourseError, match=r"serve.toml \[defaults\]: 'counts' must be one of last, best, not 'first'."):
        load_rules(tmp_path, [ASSIGNMENT])
    (tmp_path / "serve.toml").write_text("[assignments.ps9]\ncooldown_s = 1\n")
    with pytest.raises(CourseError, match=r"\[assignments.ps9\] names no assignment of this course."):
        load_rules(tmp_path, [ASSIGNMENT])
    (tmp_path / "serve.toml").write_text(f'[defaults]\ncooldown_s = 5\n[assignments.{ASSIGNMENT}]\ndeadline = "2026-12-20T23:59:00Z"\n')
    rules = load_rules(tmp_path, [ASSIGNMENT])[ASSIGNMENT]
    assert rules.cooldown_s == 5 and rules.deadline == 1797811140.0


RULES = f"""
[defaults]
cooldown_s = 4
max_attempts = 3
attempts_window_h = 0
counts = "best"

[assignments.{ASSIGNMENT}]
deadline = 2020-01-01T00:00:00Z
"""


@pytest.fixture(scope="module")
def ruled(tmp_path_factory: pytest.TempPathFactory, released_template: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("ruled") / "course"
    shutil.copytree(released_template, root)
    with serving(root, rules=RULES) as s:
        yield s


def test_over_http_late_best_counts_cool_down_and_attempts(ruled: Server, notebooks: dict[str, bytes]) -> None:
    token = ruled.tokens["alice"]
    good = ruled.submit("alice", notebooks["solution"])
    assert good.status == 202
    too_soon = ruled.submit("alice", notebooks["stub"])
    assert too_soon.status == 429 and 1 <= int(too_soon.headers["retry-after"]) <= 4
    assert re.fullmatch(
        r"you submitted \d s ago; wait \d s between submissions \(the cool-down is 4 s\)\.", too_soon.body["error"]
    )
    time.sleep(4.1)
    worse = ruled.submit("alice", notebooks["stub"])
    assert worse.status == 202
    first = ruled.wait_graded(good.body["id"], token)
    second = ruled.wait_graded(worse.body["id"], token)
    assert first["late"] is True and second["late"] is True
    assert first["counts"] is True and second["counts"] is False  # "best": the 18, not the later 0
    time.sleep(4.1)
    assert ruled.submit("alice", notebooks["mutant"]).status == 202
    time.sleep(4.1)
    over = ruled.submit("alice", notebooks["solution"] + b" ")
    assert over.status == 429
    assert over.body["error"] == "you have used all 3 submissions of this assignment; ask your instructor if you need another."
    assert over.headers["retry-after"] == "86400"
