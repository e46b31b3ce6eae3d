"""Self-checks where students work: check(name) in the kernel, selfcheck.json, `autograder check`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest

from autograder.course import synth
from autograder.course.layout import Course, copy_course, load_course
from autograder.judge import visible
from autograder.sandbox.process import Zygote
from autograder.selfcheck import cases as selfcheck_cases
from autograder.selfcheck.cases import CheckResult, Named
from autograder.selfcheck.cli import check_notebook

A = "ps4-softmax"
REPO = Path(__file__).resolve().parents[2]
SPEC = load_course(REPO).assignment(A)
SPEC_MUTANTS = [
    (m.name, f, diagnosis) for m in synth.modules(SPEC, "mutants") for f, diagnosis in m.expect.items()
]


@pytest.fixture(scope="module")
def checks_file(tmp_path_factory: pytest.TempPathFactory, repo_course: Course) -> Path:
    """selfcheck.json of ps4, written by write_checks into a copy of the course."""
    course = copy_course(repo_course, tmp_path_factory.mktemp("visible") / "course")
    return visible.write_checks(course, A)


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with Zygote() as z:
        yield z


def run_in_notebook(source: str, call: str) -> tuple[CheckResult, str]:
    """Run `source` then `call` in a fresh namespace, as cells of a notebook's __main__ would."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile("import numpy as np", "<setup cell>", "exec"), namespace)
    exec(compile(source, "<answer cell>", "exec"), namespace)
    exec(compile(f"from autograder.selfcheck import check\n_result = {call}", "<cell>", "exec"), namespace)
    result = namespace["_result"]
    assert isinstance(result, CheckResult)
    return result, "\n".join(result.lines)


def solution(repo_course: Course, name: str) -> str:
    return synth.solution_sources(repo_course, repo_course.assignment(A))[name]


def release_cell(repo_course: Course, grade_id: str) -> str:
    nb = nbformat.read(repo_course.release_notebook(A), as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


# --- check(name) in the kernel ----------------------------------------------------------------


def test_check_passes_a_correct_function_and_prints_one_line_per_case(repo_course, checks_file, capsys):
    result, text = run_in_notebook(
        solution(repo_course, "softmax"), f'check("softmax", path={str(checks_file)!r})'
    )
    assert (result.passed, result.total) == (4, 4)
    printed = capsys.readouterr().out
    assert "softmax: ok on [1, 2, 3]\n" in printed
    assert "softmax: ok on [[1000, 1001]]\n" in printed
    assert "softmax: all 4 visible checks passed (the graded tests try more inputs).\n" in printed
    assert printed.strip() == text
    assert repr(result) == "CheckResult(softmax: 4 of 4 passed)"


@pytest.mark.parametrize(
    ("mutant", "function", "diagnosis"), SPEC_MUTANTS, ids=[m for m, _, _ in SPEC_MUTANTS]
)
def test_check_names_the_misconception_of_each_mutant_without_raising(
    mutant, function, diagnosis, checks_file
):
    module = synth.load_module(REPO / "assignments" / A / "mutants" / f"{mutant}.py", [function])
    result, text = run_in_notebook(module.cells[function], f"check({function!r}, path={str(checks_file)!r})")
    (report,) = result.functions
    assert report.status == "failed" and report.diagnoses == (diagnosis,)
    title = SPEC.misconceptions.title(diagnosis)
    assert f"This looks like {title} ({diagnosis}). Hint: " in text
    assert f"{function}: {report.passed} of {report.total} visible checks passed." in text


def test_no_max_shift_reads_as_the_issue_promises(checks_file):
    module = synth.load_module(REPO / "assignments" / A / "mutants" / "softmax_no_max_shift.py", ["softmax"])
    _, text = run_in_notebook(module.cells["softmax"], f"check('softmax', path={str(checks_file)!r})")
    assert (
        "softmax: for z = [[1000, 1001]] you returned [[nan, nan]] (shape (1, 2)); expected [[0.2689, 0.7311]] (shape (1, 2)). "
        "This looks like exponentiating raw scores (no max shift) (softmax.no_max_shift). "
        "Hint: exp(1000) overflows to inf in float64." in text
    )


@pytest.mark.parametrize(
    "variant", sorted(p.stem for p in (REPO / "assignments" / A / "variants").glob("*.py"))
)
def test_correct_answers_in_other_styles_pass_every_visible_check(variant, checks_file):
    names = [i.name for i in SPEC.items]
    module = synth.load_module(REPO / "assignments" / A / "variants" / f"{variant}.py", names)
    for name, source in module.cells.items():
        result, text = run_in_notebook(source, f"check({name!r}, path={str(checks_file)!r})")
        assert result.functions[0].status == "passed", text


def test_the_released_stub_is_not_written_yet(repo_course, checks_file):
    result, text = run_in_notebook(
        release_cell(repo_course, "mse"), f"check('mse', path={str(checks_file)!r})"
    )
    (report,) = result.functions
    assert report.status == "missing" and report.passed == 0
    assert text == (
        "mse: not written yet (it still raises NotImplementedError). "
        "Write it in its answer cell, run that cell, then check again."
    )


def test_a_function_never_defined_is_named_and_unknown_names_list_the_known(checks_file):
    result, text = run_in_notebook("", f"check('predict', path={str(checks_file)!r})")
    assert result.functions[0].status == "missing"
    assert "predict: not defined yet; run its answer cell first" in text
    _, text = run_in_notebook("", f"check('softmx', path={str(checks_file)!r})")
    assert (
        text == "no visible checks for 'softmx' here (there are for: softmax, predict, cross_entropy, mse)."
    )


def test_check_finds_selfcheck_json_in_the_working_folder_or_above(checks_file, tmp_path, monkeypatch):
    (tmp_path / "selfcheck.json").write_bytes(checks_file.read_bytes())
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    result, _ = run_in_notebook("def mse(a, b):\n    return 0.0", "check('mse')")
    assert result.total == 2
    (tmp_path / "deeper" / "still").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deeper" / "still")
    result, _ = run_in_notebook("", "check('mse')")
    assert result.functions[0].status == "missing"


def test_without_selfcheck_json_check_says_where_to_put_it(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    (tmp_path / "a" / "b" / "c").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b" / "c")
    result, text = run_in_notebook("", "check('softmax')")
    assert result.total == 0 and "no selfcheck.json found" in text
    assert "keep it in the folder of the notebook" in capsys.readouterr().out


def test_check_flags_mutation_and_warnings_even_when_the_values_are_right():
    entry = {
        "params": ["z"],
        "cases": [
            {
                "args": [selfcheck_cases.encode_value(np.array([-1000.0, 2.0]))],
                "show": "z = [-1000, 2]",
                "expect": {"value": selfcheck_cases.encode_value(np.array([0.0, 2.0]))},
            }
        ],
    }

    def call(func):
        return lambda case: selfcheck_cases.call_function(func, *selfcheck_cases.decode_call(case))

    def in_place(z):
        z[z < 0] = 0
        return z

    report = selfcheck_cases.check_function("relu", entry, {}, call(in_place))
    assert "you returned the right values but changed the argument z in place." in report.lines[0]
    report = selfcheck_cases.check_function(
        "relu", entry, {}, call(lambda z: np.where(np.exp(-z) > 0, np.maximum(z, 0), 0.0))
    )
    assert "you returned the right values, but NumPy warned: overflow encountered in exp." in report.lines[0]


# --- selfcheck.json ---------------------------------------------------------------------------


def test_selfcheck_json_is_plain_json_with_titles_and_hints(checks_file, repo_course):
    text = checks_file.read_text(encoding="utf-8")

    def no_constants(name: str) -> None:
        raise AssertionError(f"non-standard JSON constant {name}")

    data = json.loads(text, parse_constant=no_constants)
    assert checks_file.relative_to(checks_file.parents[2]) == Path("release", A, "selfcheck.json")
    assert list(data["functions"]) == ["softmax", "predict", "cross_entropy", "mse"]
    spec = repo_course.assignment(A)
    assert set(data["misconceptions"]) == {d for _, _, d in SPEC_MUTANTS}
    for diagnosis, about in data["misconceptions"].items():
        assert about == {
            "title": spec.misconceptions.title(diagnosis),
            "hint": spec.misconceptions.hint(diagnosis),
        }
    predict = data["functions"]["predict"]["cases"][2]
    assert predict["args"][1] == [10, 20, 30]  # ints stay ints
    assert predict["expect"]["value"] == {"array": [20], "dtype": "int64", "shape": [1]}
    xent = data["functions"]["cross_entropy"]["cases"][0]["expect"]["value"]
    assert isinstance(xent, float)


def test_selfcheck_json_holds_no_reference_code_and_no_hidden_test_text(checks_file, repo_course):
    text = checks_file.read_text(encoding="utf-8")
    for marker in ("def ", "import ", "assert ", "BEGIN HIDDEN", "lambda ", "student.", "ref.", "pytest"):
        assert marker not in text, marker
    spec = repo_course.assignment(A)
    secret_lines = {
        line.strip()
        for path in [
            *spec.suite_files,
            REPO / "autograder" / "judge" / "reference" / "np_ref.py",
            repo_course.source_notebook(A),
        ]
        for line in path.read_text(encoding="utf-8").splitlines()
        if len(line.strip()) > 30 and not line.strip().startswith(("#", '"', "'"))
    }
    leaked = [line for line in secret_lines if line in text]
    assert not leaked, leaked[:3]


@pytest.mark.parametrize(
    "value",
    [
        3,
        3.0,
        math.nan,
        -math.inf,
        "dog",
        None,
        True,
        (1, 2.5),
        [np.int64(4), "x"],
        {"W": np.ones((2, 0))},
        np.array([[np.nan, 1.0], [np.inf, -0.5]]),
        np.array([1.5, 2.0], dtype=np.float32),
        np.array(["cat", "bird"]),
        np.float64(2.5),
    ],
)
def test_values_survive_the_json_round_trip_with_their_types(value):
    back = selfcheck_cases.decode_value(
        json.loads(json.dumps(selfcheck_cases.encode_value(value), allow_nan=False))
    )
    assert type(back) is type(value) or isinstance(value, np.generic | np.ndarray)
    if isinstance(value, np.ndarray | np.generic):
        assert np.asarray(back).dtype == np.asarray(value).dtype and np.asarray(back).shape == np.shape(value)
        np.testing.assert_array_equal(back, value)
        assert isinstance(back, np.ndarray) == isinstance(value, np.ndarray)
    elif isinstance(value, float) and math.isnan(value):
        assert math.isnan(back)
    elif isinstance(value, list | dict):
        assert repr(back) == repr(value) or str(back) == str(value)
    else:
        assert back == value


def test_functions_travel_by_name():
    encoded = selfcheck_cases.encode_value([Named("relu"), Named("sigmoid")])
    assert encoded == [{"function": "relu"}, {"function": "sigmoid"}]
    relu, sigmoid = selfcheck_cases.decode_value(encoded)
    np.testing.assert_array_equal(relu(np.array([-1.0, 2.0])), [0.0, 2.0])
    assert sigmoid(np.array([0.0]))[0] == 0.5


# --- autograder check NOTEBOOK ----------------------------------------------------------------


def test_check_notebook_passes_everything_on_the_source_notebook(repo_course, checks_file, zygote):
    report = check_notebook(repo_course.source_notebook(A), checks_file=checks_file, zygote=zygote)
    assert [c.status for c in report.cells] == ["passed"] * len(repo_course.assignment(A).grade_ids())
    assert [(f.name, f.status) for f in report.functions] == [
        ("softmax", "passed"),
        ("predict", "passed"),
        ("cross_entropy", "passed"),
        ("mse", "passed"),
    ]
    assert report.lines()[-1] == "12 of 12 test and quiz cells passed; 12 of 12 visible checks passed."
    assert not report.has_failures


def test_check_notebook_reports_the_released_stubs_as_not_written(repo_course, checks_file, tmp_path, zygote):
    folder = tmp_path / "student"
    folder.mkdir()
    notebook = folder / f"{A}.ipynb"
    notebook.write_bytes(repo_course.release_notebook(A).read_bytes())
    (folder / "selfcheck.json").write_bytes(checks_file.read_bytes())
    report = check_notebook(notebook, zygote=zygote)
    assert report.checks_file == folder / "selfcheck.json"
    assert {c.status for c in report.cells} == {"not_written"}
    assert {f.status for f in report.functions} == {"missing"}
    assert report.lines()[-1] == (
        "0 of 12 test and quiz cells passed; 0 of 12 visible checks passed; "
        "not written yet: softmax, predict, cross_entropy, mse."
    )
    assert report.has_failures


def test_autograder_check_exits_1_when_a_check_does_not_pass(repo_course, checks_file, tmp_path):
    from click.testing import CliRunner

    from autograder.cli import main

    folder = tmp_path / "student"
    folder.mkdir()
    notebook = folder / f"{A}.ipynb"
    notebook.write_bytes(repo_course.release_notebook(A).read_bytes())
    (folder / "selfcheck.json").write_bytes(checks_file.read_bytes())
    result = CliRunner().invoke(main, ["check", str(notebook)])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1].startswith("0 of 12 test and quiz cells passed")


def test_check_notebook_gives_the_test_cell_message_and_the_misconception(
    repo_course, checks_file, tmp_path, zygote
):
    spec = repo_course.assignment(A)
    mutant = synth.load_module(spec.folder / "mutants" / "xent_unstable.py", ["cross_entropy"])
    answers = {
        **synth.solution_sources(repo_course, spec),
        **synth.quiz_answers(spec, correct={"max_shift"}),
        "cross_entropy": mutant.cells["cross_entropy"],
    }
    answers["mse"] = "def mse(y_true, y_pred):\n    while True:\n        pass\n"
    notebook = tmp_path / f"{A}.ipynb"
    nbformat.write(synth.build_notebook(repo_course.release_notebook(A), answers), notebook)
    report = check_notebook(
        notebook, checks_file=checks_file, zygote=zygote, cell_timeout_s=3, call_timeout_s=2
    )
    cells = {c.grade_id: c for c in report.cells}
    assert cells["test_softmax"].status == "passed"
    assert cells["test_cross_entropy"].status == "failed"
    assert cells["test_cross_entropy"].message.startswith(
        "cross_entropy([[1e4, 0], [0, 1e4]], labels=[1, 1]): returned nan"
    )
    assert cells["quiz_max_shift"].status == "passed"
    assert cells["quiz_argmax_label"].status == "failed"
    assert "is not right yet" in cells["quiz_argmax_label"].message
    assert cells["test_mse"].status == "error" and "TimeoutError" in cells["test_mse"].message
    functions = {f.name: f for f in report.functions}
    assert functions["cross_entropy"].diagnoses == ("xent.unstable",)
    assert any("an unstable log of softmax (xent.unstable)" in line for line in report.lines())
    assert functions["mse"].status == "failed"
    assert "your function raised TimeoutError: no answer within 2 s" in functions["mse"].lines[0]


def test_check_notebook_says_what_to_do_with_a_file_that_is_not_a_notebook(tmp_path):
    from autograder.errors import UsageError

    with pytest.raises(UsageError, match="no notebook .*missing.ipynb; give the path of your .ipynb file"):
        check_notebook(tmp_path / "missing.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(UsageError, match="bad.ipynb is not a valid notebook .JSON error, line 1"):
        check_notebook(bad)


def _same_json(a: Any, b: Any) -> bool:
    """Equal JSON trees, floats within rounding (another BLAS may sum in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("assignment", load_course(REPO).assignment_ids())
def test_a_committed_selfcheck_json_is_not_stale(assignment, repo_course):
    committed = repo_course.release_notebook(assignment).parent / selfcheck_cases.CHECKS_FILE
    if not committed.is_file():
        pytest.skip(f"release/{assignment} has no {selfcheck_cases.CHECKS_FILE} yet")
    fresh = visible.build_checks(repo_course, repo_course.assignment(assignment))
    assert _same_json(json.loads(committed.read_text(encoding="utf-8")), fresh), (
        f"release/{assignment}/{selfcheck_cases.CHECKS_FILE} is stale: run `autograder release {assignment}`"
    )


def test_check_notebook_says_when_a_quiz_answer_is_computed_not_written(repo_course, checks_file, tmp_path, zygote):
    spec = repo_course.assignment(A)
    answers = {
        **synth.solution_sources(repo_course, spec),
        **synth.quiz_answers(spec, correct={q.id for q in spec.quiz}),
        "answer_max_shift": 'answer_max_shift = "ab"[1]',
    }
    notebook = tmp_path / f"{A}.ipynb"
    nbformat.write(synth.build_notebook(repo_course.release_notebook(A), answers), notebook)
    report = check_notebook(notebook, checks_file=checks_file, zygote=zygote)
    (quiz,) = [c for c in report.cells if c.grade_id == "quiz_max_shift"]
    assert (quiz.status, quiz.message) == (
        "failed",
        "answer_max_shift = 'ab'[1] is not a plain value; write the answer itself (a number, a letter "
        "in quotes, a list or tuple of them); the grader reads only that",
    )
    assert report.has_failures
