"""The late policy (course/late.py) and submission times (course/timestamps.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from autograder.course.late import LatePolicy, course_policy, read_policy
from autograder.course.layout import load_course
from autograder.course.timestamps import format_timestamp, parse_utc, read_timestamp
from autograder.errors import CourseError

HOUR = 3600.0
DAY = 86400.0


@pytest.mark.parametrize(
    ("policy", "score", "late_s", "penalty"),
    [
        (LatePolicy(), 10.0, 5 * DAY, 0.0),  # none
        (LatePolicy(method="zero"), 7.0, 1.0, 7.0),
        (LatePolicy(method="zero"), 7.0, 0.0, 0.0),  # on time
        (LatePolicy(method="subtract", per_hour=0.5), 10.0, 2.5 * HOUR, 1.5),  # 3 started hours
        (LatePolicy(method="subtract", per_hour=5), 4.0, 9 * HOUR, 4.0),  # never more than the score
        (LatePolicy(method="per_day", per_day_percent=10), 20.0, 1.0, 2.0),  # a started day
        (LatePolicy(method="per_day", per_day_percent=10), 20.0, 2.1 * DAY, 6.0),
        (LatePolicy(method="per_day", per_day_percent=10, max_percent=25), 20.0, 9 * DAY, 5.0),  # cap
        (LatePolicy(method="per_day", grace_minutes=15), 20.0, 14 * 60, 0.0),  # in the grace period
        (LatePolicy(method="per_day", grace_minutes=15), 20.0, 16 * 60, 2.0),
    ],
)
def test_penalty_follows_the_method_grace_and_cap(
    policy: LatePolicy, score: float, late_s: float, penalty: float
) -> None:
    assert policy.penalty(score, 20.0, late_s) == pytest.approx(penalty)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"method": "half"}, "late policy 'method' must be one of none, zero, subtract, per_day, not 'half'."),
        ({"per_day_percent": -1}, "late policy 'per_day_percent' must be a non-negative number, not -1."),
        ({"due": "tomorrow"}, "late policy 'due' 'tomorrow' is not an ISO date and time"),
        ({"due": datetime(2026, 12, 1)}, "has no time zone; add one"),
        ({"penalty": 1}, "unknown late policy key 'penalty'"),
    ],
)
def test_a_bad_late_policy_is_a_course_error_naming_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(CourseError, match="^assignment.toml \\[late\\]: ") as info:
        read_policy(table, LatePolicy(), "assignment.toml [late]")
    assert message in str(info.value)


def test_a_due_date_with_a_zone_is_stored_as_naive_utc() -> None:
    policy = read_policy({"due": "2026-12-01T23:59:00+01:00"}, LatePolicy(), "x")
    assert policy.due == datetime(2026, 12, 1, 22, 59)


def test_the_course_policy_reads_nbgraders_setting_then_ours(tmp_path: Path) -> None:
    config = {"LateSubmissionPlugin": {"penalty_method": "zero"}}
    assert course_policy(config, "nbgrader_config.py").method == "zero"
    config["LatePolicy"] = {"method": "per_day", "max_percent": 50}
    assert course_policy(config, "nbgrader_config.py") == LatePolicy(method="per_day", max_percent=50)


def test_an_assignment_toml_late_table_overrides_the_course(course_root: Path) -> None:
    (course_root / "nbgrader_config.py").write_text(
        'c = get_config()\nc.LatePolicy.method = "subtract"\nc.LatePolicy.per_hour = 2\n'
    )
    toml = course_root / "assignments" / "ps4-softmax" / "assignment.toml"
    toml.write_text(toml.read_text() + '\n[late]\nper_hour = 0.5\ndue = 2026-12-01T12:00:00Z\n')
    course = load_course(course_root)
    assert course.late_policy == LatePolicy(method="subtract", per_hour=2)
    late = course.assignment("ps4-softmax").late
    assert (late.method, late.per_hour, late.due) == ("subtract", 0.5, datetime(2026, 12, 1, 12))


@pytest.fixture
def course_root(tmp_path: Path, released_template: Path) -> Path:
    import shutil

    root = tmp_path / "course"
    shutil.copytree(released_template, root)
    return root


@pytest.mark.parametrize(
    ("text", "when"),
    [
        ("2026-12-01 10:00:00.250000 UTC", datetime(2026, 12, 1, 10, 0, 0, 250000)),  # nbgrader's exchange
        # nbgrader reads a numeric zone as seconds, not hhmm; formgrader compares with its reading
        ("2026-12-01 11:00:00 +3600", datetime(2026, 12, 1, 10)),
        ("2026-12-01T11:00:00+01:00", datetime(2026, 12, 1, 10)),  # ISO
        ("2026-12-01 10:00:00", datetime(2026, 12, 1, 10)),  # no zone: UTC
    ],
)
def test_timestamps_parse_as_nbgrader_parses_them(text: str, when: datetime) -> None:
    from nbgrader.utils import parse_utc as nbgraders

    assert parse_utc(text) == when == nbgraders(text)


def test_timestamp_txt_round_trips_and_a_bad_one_means_no_time(tmp_path: Path) -> None:
    when = datetime(2026, 12, 1, 10, 0, 0, 123456)
    (tmp_path / "timestamp.txt").write_text(format_timestamp(when))
    assert read_timestamp(tmp_path) == when
    (tmp_path / "timestamp.txt").write_text("last tuesday-ish")
    assert read_timestamp(tmp_path) is None
    assert read_timestamp(tmp_path / "nowhere") is None
