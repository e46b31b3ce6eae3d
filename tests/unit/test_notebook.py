"""Reading notebooks: every problem is a sentence, never a crash; locked cells are restored."""

from __future__ import annotations

import contextlib
import json

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course.notebook import NotebookError, cells_to_run, load_submission, read_cells
from autograder.models import Cell


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


def nb_json(cells, **top):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells, **top}).encode()


GOOD = {"cell_type": "markdown", "metadata": {}, "source": "# Problem 1"}


def nbgrader_cell(**nbgrader):
    meta = {"grade": True, "solution": False, "locked": True, "grade_id": "t1", "points": 1}
    return {"cell_type": "code", "metadata": {"nbgrader": {**meta, **nbgrader}}, "source": "", "outputs": []}


DOWNLOAD = "Download it again from Jupyter and resubmit."
FRESH = "Copy your answers into a fresh copy of the assignment and submit that."


@pytest.mark.parametrize(
    ("cells", "problem", "action"),
    [
        (
            [GOOD, {"cell_type": "x", "source": ""}],
            "cell 2: its cell_type is not code, markdown or raw",
            DOWNLOAD,
        ),
        ([GOOD, {"source": "x"}], "cell 2: its cell_type is not code, markdown or raw", DOWNLOAD),
        ([GOOD, {"cell_type": "code", "source": 5}], "cell 2: its source is not text", DOWNLOAD),
        ([GOOD, {"cell_type": "code", "source": ["a\n", 1]}], "cell 2: its source is not text", DOWNLOAD),
        ([GOOD, {"cell_type": "raw"}], "cell 2: its source is not text", DOWNLOAD),
        ([GOOD, 7], "cell 2: it is not a JSON object", DOWNLOAD),
        ([GOOD, {**GOOD, "metadata": []}], "cell 2: its metadata is not a JSON object", DOWNLOAD),
        (
            [GOOD, {**GOOD, "metadata": {"nbgrader": "yes"}}],
            "cell 2: its nbgrader metadata is not a JSON object",
            FRESH,
        ),
        (
            [GOOD, {**GOOD, "metadata": {"nbgrader": None}}],
            "cell 2: its nbgrader metadata is not a JSON object",
            FRESH,
        ),
        ([GOOD, nbgrader_cell(grade_id=3)], "cell 2: its nbgrader grade_id is not text", FRESH),
        ([GOOD, nbgrader_cell(checksum=3)], "cell 2: its nbgrader checksum is not text", FRESH),
        ([GOOD, nbgrader_cell(points="1")], "cell 2: its nbgrader points are not a number", FRESH),
        ([GOOD, nbgrader_cell(points=True)], "cell 2: its nbgrader points are not a number", FRESH),
        ([GOOD, nbgrader_cell(points=10**400)], "cell 2: its nbgrader points are not a number", FRESH),
        ([GOOD, nbgrader_cell(points=float("inf"))], "cell 2: its nbgrader points are not a number", FRESH),
        ([GOOD, nbgrader_cell(grade="true")], "cell 2: its nbgrader grade flag is not true or false", FRESH),
        ([GOOD, nbgrader_cell(locked=1)], "cell 2: its nbgrader locked flag is not true or false", FRESH),
    ],
)
def test_a_bad_cell_is_named_in_one_sentence(cells, problem, action):
    with pytest.raises(NotebookError) as info:
        read_cells(nb_json(cells), name="hw.ipynb")
    assert str(info.value) == f"hw.ipynb is not a valid notebook ({problem}). {action}"


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"nbformat": 4, "metadata": {}, "cells": {"0": GOOD}}, "its cells are not a list"),
        ({"nbformat": 4, "metadata": {}, "worksheets": []}, "it has no cells"),
        ({"nbformat": 4, "metadata": [], "cells": [GOOD]}, "its metadata is not a JSON object"),
    ],
)
def test_a_bad_notebook_is_one_sentence(doc, problem):
    with pytest.raises(NotebookError) as info:
        read_cells(json.dumps(doc).encode(), name="hw.ipynb")
    assert str(info.value) == f"hw.ipynb is not a valid notebook ({problem}). {DOWNLOAD}"


def test_deeply_nested_json_is_a_sentence_not_a_recursion_error():
    with pytest.raises(NotebookError, match="not a valid notebook"):
        read_cells(b"[" * 100_000, name="hw.ipynb")


def test_outputs_and_other_fields_are_not_validated():
    """Grading re-runs the code and never reads outputs, so broken ones do not stop it."""
    code = {
        "cell_type": "code",
        "metadata": {"nbgrader": {"grade": False, "solution": True, "grade_id": "f", "schema_version": 3}},
        "source": ["def f():\n", "    return 1"],
        "execution_count": "seven",
        "outputs": [{"text": "no output_type"}, {"output_type": "stream"}, 5],
        "attachments": [1, 2],
        "id": 42,
    }
    # nor the notebook's metadata or nbformat_minor, which nbformat's schema requires
    doc = {"nbformat": 4, "cells": [{"cell_type": "markdown", "source": "# P1"}, code]}
    cells = read_cells(json.dumps(doc).encode())
    assert [(c.cell_type, c.source, c.grade_id, c.is_solution) for c in cells] == [
        ("markdown", "# P1", None, False),
        ("code", "def f():\n    return 1", "f", True),
    ]


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
    source=st.one_of(st.text(max_size=40), st.lists(st.text(max_size=10), max_size=4)),
    cell_type=st.sampled_from(["code", "markdown", "raw"]),
    meta=st.one_of(st.none(), nbgrader_meta),
)
def test_our_checksum_is_nbgraders(source, cell_type, meta):
    """nbgrader.utils.compute_checksum of the cell as nbformat reads it (a list source joined),
    for the plain dict json.loads gives and for nbformat's cell alike; an error where it has one."""
    from nbgrader.utils import compute_checksum

    from autograder.course.notebook import nbgrader_checksum

    doc = {"cell_type": cell_type, "source": source, "metadata": {} if meta is None else {"nbgrader": meta}}
    text = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [doc]})
    node = nbformat.v4.to_notebook_json(json.loads(text)).cells[0]

    def digest(checksum, cell):
        try:
            return checksum(cell)
        except Exception:  # which exception differs (KeyError vs AttributeError); callers catch all
            return "error"

    want = digest(compute_checksum, node)
    assert digest(nbgrader_checksum, json.loads(text)["cells"][0]) == want
    assert digest(nbgrader_checksum, node) == want


def test_a_list_source_keeps_nbgraders_checksum():
    """nbformat writes sources as lists of lines; nbgrader checksums them joined."""
    from nbgrader.utils import compute_checksum

    cell = graded("assert f() == 1\nassert f() != 2\n", "test_f", grade=True, locked=True, points=2)
    cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
    data = nb_bytes([cell])
    assert isinstance(json.loads(data)["cells"][0]["source"], list)
    (read,) = read_cells(data)
    assert read.checksum == cell.metadata.nbgrader["checksum"] and not read.checksum_edited
    cell.source += "pass\n"
    (edited,) = read_cells(nb_bytes([cell]))
    assert edited.checksum_edited
