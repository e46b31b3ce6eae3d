"""collect: a folder or an LMS zip of notebooks -> submitted/<student>/<a>/<a>.ipynb."""

from __future__ import annotations

import json
import os
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nbgrader.utils import parse_utc

from autograder.course.collect import collect, load_mapping, sanitise_id, student_key
from autograder.course.layout import Course, copy_course
from autograder.errors import UsageError

A = "ps4-softmax"
NOON = (2025, 3, 1, 12, 0, 0)
EVENING = (2025, 3, 1, 20, 0, 0)


@pytest.fixture
def course(tmp_path: Path, repo_course: Course) -> Course:
    """A copy of the course's config and specs: collect needs no release and no gradebook."""
    return copy_course(repo_course, tmp_path / "course")


def notebook(tag: str) -> bytes:
    """A small valid notebook whose one cell says which file it came from."""
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [{"cell_type": "markdown", "id": "c1", "metadata": {}, "source": tag}],
    }
    return json.dumps(nb).encode()


def make_zip(path: Path, entries: list[tuple[str, bytes, tuple[int, ...]]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, when in entries:
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data, compress_type=zipfile.ZIP_DEFLATED)
    return path


def submitted(course: Course, student: str) -> Path:
    return course.submitted_dir / student / A / f"{A}.ipynb"


def tag_of(path: Path) -> str:
    return str(json.loads(path.read_bytes())["cells"][0]["source"])


def test_collect_imports_plain_names_from_a_folder(course: Course, tmp_path: Path) -> None:
    src = tmp_path / "download"
    (src / "bob").mkdir(parents=True)
    (src / "cy" / A).mkdir(parents=True)
    (src / "ada.ipynb").write_bytes(notebook("ada"))
    (src / "bob" / f"{A}.ipynb").write_bytes(notebook("bob"))
    (src / "cy" / A / f"{A}.ipynb").write_bytes(notebook("cy"))

    summary = collect(course, src, A)

    assert [s for s, _ in summary.imported] == ["ada", "bob", "cy"]
    assert summary.duplicates == summary.late == summary.skipped == ()
    for student in ("ada", "bob", "cy"):
        assert tag_of(submitted(course, student)) == student
        stamp = (submitted(course, student).parent / "timestamp.txt").read_text()
        assert parse_utc(stamp) is not None  # nbgrader reads our timestamp
    assert [s for s, _ in course.submissions(A)] == ["ada", "bob", "cy"]


def test_collect_reads_canvas_and_moodle_names_from_a_zip(course: Course, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "lms.zip",
        [
            (f"lovelaceada_12345_67890_{A}.ipynb", notebook("canvas"), NOON),
            (f"Grace Hopper_4242_assignsubmission_file_{A}.ipynb", notebook("moodle"), NOON),
            (f"José García_77_assignsubmission_file_/{A}.ipynb", notebook("moodle folder"), NOON),
        ],
    )

    summary = collect(course, archive, A)

    assert sorted(s for s, _ in summary.imported) == ["grace_hopper", "jose_garcia", "lovelaceada"]
    assert tag_of(submitted(course, "lovelaceada")) == "canvas"
    assert tag_of(submitted(course, "grace_hopper")) == "moodle"
    assert tag_of(submitted(course, "jose_garcia")) == "moodle folder"


def test_mapping_file_maps_lms_ids_and_skips_students_not_in_it(course: Course, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id,name\nada,12345,Ada Lovelace\ngrace,4242,Grace Hopper\n")
    archive = make_zip(
        tmp_path / "lms.zip",
        [
            (f"lovelaceada_12345_67890_{A}.ipynb", notebook("ada"), NOON),
            (f"Grace Hopper_4242_assignsubmission_file_{A}.ipynb", notebook("grace"), NOON),
            (f"strangerdan_99999_1_{A}.ipynb", notebook("dan"), NOON),
        ],
    )

    summary = collect(course, archive, A, mapping=load_mapping(roster))

    assert sorted(s for s, _ in summary.imported) == ["ada", "grace"]
    assert summary.skipped == ((f"strangerdan_99999_1_{A}.ipynb", "'99999' is not in the student mapping"),)
    assert tag_of(submitted(course, "ada")) == "ada"
    assert not (course.submitted_dir / "strangerdan").exists()


def test_a_mapping_file_without_a_student_id_column_is_refused(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n1,Ada\n")
    with pytest.raises(UsageError, match=r"roster.csv: needs a header row with a 'student_id' column"):
        load_mapping(roster)


def test_duplicates_keep_the_newest_zip_entry_and_are_reported(course: Course, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "lms.zip",
        [
            (f"lovelaceada_12345_2_{A}-1.ipynb", notebook("second"), EVENING),
            (f"lovelaceada_12345_1_{A}.ipynb", notebook("first"), NOON),
        ],
    )

    summary = collect(course, archive, A)

    assert [s for s, _ in summary.imported] == ["lovelaceada"]
    assert summary.duplicates == (
        ("lovelaceada", f"lovelaceada_12345_2_{A}-1.ipynb", f"lovelaceada_12345_1_{A}.ipynb"),
    )
    assert tag_of(submitted(course, "lovelaceada")) == "second"


def test_duplicates_in_a_folder_keep_the_newest_file_by_mtime(course: Course, tmp_path: Path) -> None:
    src = tmp_path / "download"
    (src / "ada").mkdir(parents=True)
    old, new = src / "ada.ipynb", src / "ada" / f"{A}.ipynb"
    old.write_bytes(notebook("old"))
    new.write_bytes(notebook("new"))
    os.utime(old, (1_700_000_000, 1_700_000_000))
    os.utime(new, (1_700_000_100, 1_700_000_100))

    summary = collect(course, src, A)

    assert summary.duplicates == (("ada", f"ada/{A}.ipynb", "ada.ipynb"),)
    assert tag_of(submitted(course, "ada")) == "new"


def test_late_files_are_imported_and_reported(course: Course, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "lms.zip",
        [
            ("ada.ipynb", notebook("on time"), NOON),
            ("bob.ipynb", notebook("late"), EVENING),
            (f"hoppergrace_late_4242_1_{A}.ipynb", notebook("canvas says late"), NOON),
        ],
    )
    deadline = datetime(2025, 3, 1, 18, 0, 0)  # naive: local time, like the zip's dates

    summary = collect(course, archive, A, deadline=deadline)

    assert [s for s, _ in summary.imported] == ["ada", "bob", "hoppergrace"]
    assert [s for s, _ in summary.late] == ["bob", "hoppergrace"]
    late_at = dict(summary.late)["bob"]
    assert late_at - deadline.astimezone() == timedelta(hours=2)
    assert tag_of(submitted(course, "bob")) == "late"
    stamp = parse_utc((submitted(course, "bob").parent / "timestamp.txt").read_text())
    assert stamp.replace(tzinfo=UTC) == late_at.astimezone(UTC)


def test_zip_slip_and_non_notebook_entries_are_refused(course: Course, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    archive = make_zip(
        work / "lms.zip",
        [
            ("../evil.ipynb", notebook("evil"), NOON),
            ("/abs/evil.ipynb", notebook("evil"), NOON),
            ("ok/../../evil2.ipynb", notebook("evil"), NOON),
            ("notes.txt", b"not a notebook", NOON),
            ("__MACOSX/._ada.ipynb", b"resource fork", NOON),
            ("ada.ipynb", notebook("ada"), NOON),
        ],
    )

    summary = collect(course, archive, A)

    assert [s for s, _ in summary.imported] == ["ada"]
    reasons = dict(summary.skipped)
    unsafe = "unsafe path in the zip (absolute, or with '..'): refused"
    assert reasons["../evil.ipynb"] == reasons["/abs/evil.ipynb"] == reasons["ok/../../evil2.ipynb"] == unsafe
    assert reasons["notes.txt"] == "not a notebook (.ipynb)"
    assert reasons["__MACOSX/._ada.ipynb"] == "system file (macOS or Jupyter metadata)"
    assert not list(tmp_path.rglob("evil*.ipynb"))
    assert sorted(p.name for p in course.submitted_dir.iterdir()) == ["ada"]


def test_a_zip_that_unpacks_past_the_limit_is_refused_whole(course: Course, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "bomb.zip",
        [("ada.ipynb", notebook("ada"), NOON), ("bob.ipynb", b" " * (3 << 20), NOON)],
    )
    assert archive.stat().st_size < 64 << 10  # three megabytes of spaces pack small

    with pytest.raises(UsageError, match=r"bomb.zip unpacks to 3.0 MB of notebooks, over the 1.0 MB limit"):
        collect(course, archive, A, max_total_bytes=1 << 20)
    assert not course.submitted_dir.exists()


def test_dry_run_reports_without_writing(course: Course, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "lms.zip", [("ada.ipynb", notebook("ada"), NOON)])

    summary = collect(course, archive, A, dry_run=True)

    assert summary.imported == (("ada", submitted(course, "ada")),)
    assert not course.submitted_dir.exists()


def test_collect_replaces_an_earlier_import_of_the_same_student(course: Course, tmp_path: Path) -> None:
    make_zip(tmp_path / "one.zip", [("ada.ipynb", notebook("first"), NOON)])
    make_zip(tmp_path / "two.zip", [("ada.ipynb", notebook("second"), EVENING)])
    collect(course, tmp_path / "one.zip", A)
    collect(course, tmp_path / "two.zip", A)
    assert tag_of(submitted(course, "ada")) == "second"


def test_a_file_that_is_not_a_zip_or_a_folder_is_a_usage_error(course: Course, tmp_path: Path) -> None:
    bad = tmp_path / "download.zip"
    bad.write_text("this is not a zip")
    with pytest.raises(UsageError, match=r"download.zip is neither a folder nor a readable zip file"):
        collect(course, bad, A)
    with pytest.raises(UsageError, match=r"nowhere: no such folder or zip file"):
        collect(course, tmp_path / "nowhere", A)


def test_a_notebook_named_like_the_assignment_in_no_folder_is_skipped(course: Course, tmp_path: Path) -> None:
    make_zip(tmp_path / "lms.zip", [(f"{A}.ipynb", notebook("whose?"), NOON)])
    summary = collect(course, tmp_path / "lms.zip", A)
    assert summary.imported == ()
    assert summary.skipped == (
        (f"{A}.ipynb", "no student id in the name (named like the assignment, in no folder)"),
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Ada", "ada"), ("José García", "jose_garcia"), ("o'brien.k-2", "obrien.k-2"), ("../..", "")],
)
def test_sanitise_id_folds_to_safe_characters(raw: str, expected: str) -> None:
    assert sanitise_id(raw) == expected


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        (f"lovelaceada_12345_67890_{A}.ipynb", (["12345", "lovelaceada"], False)),
        (f"lovelaceada_LATE_12345_67890_{A}.ipynb", (["12345", "lovelaceada"], True)),
        (f"Ada Lovelace_12345_assignsubmission_file_{A}.ipynb", (["12345", "Ada Lovelace"], False)),
        (f"ada/{A} (1).ipynb", (["ada"], False)),
        (f"class/ada/{A}/{A}.ipynb", (["ada"], False)),
        ("ada.ipynb", (["ada"], False)),
    ],
)
def test_student_key_reads_lms_file_names(name: str, keys: tuple[list[str], bool]) -> None:
    assert student_key(name, A) == keys
