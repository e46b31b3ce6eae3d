"""Reading notebooks: every problem is a sentence, never a crash; locked cells are restored."""

from __future__ import annotations

import contextlib
import json

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.models import Cell
from autograder.notebook import NotebookError, cells_to_run, load_submission, read_cells


def nb_bytes(cells, **meta):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata.update(meta)
    return nbformat.writes(nb).encode()


def graded(source, grade_id, *, grade=False, solution=False, locked=False, points=0):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": grade,
        "solution": solution,
        "locked": locked,
        "grade_id": grade_id,
        "points": points,
        "schema_version": 3,
    }
    return cell


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"{not json", "not a valid notebook (JSON error, line 1)"),
        (b'{"a": 1}', "not a Jupyter notebook"),
        (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "format 3"),
        (
            json.dumps(
                {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "x"}]}
            ).encode(),
            "not a valid notebook",
        ),
    ],
)
def test_bad_notebooks_are_one_sentence(data, message):
    with pytest.raises(NotebookError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_cells(data, name="hw.ipynb")


@given(st.binary(max_size=300))
def test_reader_fuzzed_never_raises_anything_else(data):
    with contextlib.suppress(NotebookError):
        read_cells(data)


@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
        max_leaves=15,
    )
)
def test_reader_fuzzed_with_json_documents(doc):
    with contextlib.suppress(NotebookError):
        read_cells(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [doc]}).encode())


def test_a_missing_file_is_a_submission_error(tmp_path):
    sub = load_submission("ada", "ps4-softmax", tmp_path / "nope.ipynb")
    assert sub.error and "submit the notebook named ps4-softmax.ipynb" in sub.error


def test_locked_and_test_cells_come_from_source_answers_from_student():
    source = (
        Cell(0, "code", "def f():\n    return 1", "f", is_solution=True),
        Cell(
            1,
            "code",
            "assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() != 2\n### END HIDDEN TESTS",
            "test_f",
            points=1,
            is_grade=True,
            is_locked=True,
        ),
    )
    student = read_cells(
        nb_bytes(
            [
                graded("def f():\n    return 5", "f", solution=True),
                graded("pass  # the student emptied the test", "test_f", grade=True, locked=True),
            ]
        )
    )
    run = cells_to_run(student, source)
    assert run[0][1] == "def f():\n    return 5"
    assert "HIDDEN TESTS" in run[1][1] and run[1][2] == "test_f"


def test_deleted_or_duplicated_test_cells_are_errors():
    source = (
        Cell(0, "code", "x", "test_f", points=1, is_grade=True, is_locked=True),
        Cell(1, "code", "y", "test_g", points=1, is_grade=True, is_locked=True),
    )
    with pytest.raises(NotebookError, match="lost its test cell 'test_f'"):
        cells_to_run(read_cells(nb_bytes([graded("y", "test_g", grade=True)])), source)
    with pytest.raises(NotebookError, match="notebook of another assignment"):
        cells_to_run(read_cells(nb_bytes([graded("z", "test_other", grade=True)])), source)
    twice = read_cells(
        nb_bytes(
            [
                graded("x", "test_f", grade=True),
                graded("x", "test_f", grade=True),
                graded("y", "test_g", grade=True),
            ]
        )
    )
    with pytest.raises(NotebookError, match="appears 2 times"):
        cells_to_run(twice, source)


flags = st.one_of(st.booleans(), st.none(), st.integers(-1, 2), st.text(max_size=3))
nbgrader_meta = st.fixed_dictionaries(
    {},
    optional={
        "grade": flags,
        "solution": flags,
        "locked": flags,
        "grade_id": st.one_of(st.text(max_size=10), st.integers()),
        "points": st.one_of(st.floats(allow_nan=False), st.integers(), st.text(max_size=4)),
    },
)


@settings(max_examples=200, deadline=None)
@given(
    source=st.text(max_size=40),
    cell_type=st.sampled_from(["code", "markdown", "raw"]),
    meta=st.one_of(st.none(), nbgrader_meta),
)
def test_our_checksum_is_nbgraders(source, cell_type, meta):
    """The same digest as nbgrader.utils.compute_checksum, or an error where it has one."""
    from nbgrader.utils import compute_checksum

    from autograder.notebook import nbgrader_checksum

    cell = nbformat.from_dict(
        {"cell_type": cell_type, "source": source, "metadata": {} if meta is None else {"nbgrader": meta}}
    )
    try:
        want: object = compute_checksum(cell)
    except Exception as exc:
        want = type(exc)
    try:
        got: object = nbgrader_checksum(cell)
    except Exception as exc:
        got = type(exc)
    assert got == want
