"""feedback: per-student pages from the gradebook, and nbgrader's own feedback on our grades.

One small class is graded once for the module (the solution, two mutants, a stub, and a
student whose code returns markup); the leak tests read every page it produces.
"""

from __future__ import annotations

import html
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

import autograder.judge.reference
from autograder import batch
from autograder.course import synth
from autograder.course.layout import Course, load_course
from autograder.errors import UsageError
from autograder.models import GradeResult, ItemResult
from autograder.store.gradebook import GradeStore
from autograder.views import autograded, feedback

A = "ps4-softmax"
MARKUP = "<script>alert(1)</script>"
QUIZ_MARKUP = "<img src=x onerror=alert(2)>"


@dataclass(frozen=True)
class GradedClass:
    course: Course
    students: tuple[str, ...]
    pages: dict[str, Path]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, released_template: Path) -> GradedClass:
    """The class graded and given feedback once; tests read it and add only their own files."""
    root = tmp_path_factory.mktemp("feedback") / "course"
    shutil.copytree(released_template, root)
    course = load_course(root)
    spec = course.assignment(A)
    solution = synth.solution_sources(course, spec)
    right = synth.quiz_answers(spec, correct={q.id for q in spec.quiz})
    wrong = synth.quiz_answers(spec, correct=set())
    mutants = {m.name: m for m in synth.modules(spec, "mutants")}
    release_nb = course.release_notebook(A)
    answers = {
        "alice01": {**solution, **right},
        "bobby02": {**solution, **wrong, **mutants["mse_not_squared"].cells},
        "carol03": {},  # the released stub, nothing answered
        "dave04": {
            **solution,
            **right,
            **mutants["xent_wrong_sign"].cells,
            "softmax": f"def softmax(z, axis=-1):\n    return {MARKUP!r}",
            "answer_argmax_label": f"answer_argmax_label = {QUIZ_MARKUP!r}",
        },
    }
    for student, cells in answers.items():
        synth.write_submission(course, A, student, synth.build_notebook(release_nb, cells))
    batch.grade(course, A, workers=2)
    pages = feedback.write_feedback(course, A)  # grade wrote the autograded notebooks
    return GradedClass(course, tuple(answers), {p.parent.parent.name: p for p in pages})


def page_text(page: str) -> str:
    """What a reader sees: no styles or scripts, no tags, entities decoded."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def nontrivial_lines(paths: list[Path]) -> set[str]:
    """The done-when rule: stripped lines over 12 characters, not comments, not imports."""
    out = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if len(text) > 12 and not text.startswith(("#", "import ", "from ")):
                out.add(text)
    return out


def notebook_lines(path: Path) -> set[str]:
    nb = nbformat.read(path, as_version=4)
    return {line.strip() for cell in nb.cells for line in str(cell.source).splitlines()}


def hidden_test_lines(course: Course) -> set[str]:
    """Lines between the source notebook's hidden-test markers."""
    nb = nbformat.read(course.source_notebook(A), as_version=4)
    out, inside = set(), False
    for cell in nb.cells:
        for line in str(cell.source).splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 12 and not line.strip().startswith("#"):
                out.add(line.strip())
    assert out, "the source notebook should have hidden tests for this check to mean anything"
    return out


def test_every_student_gets_a_page_in_nbgraders_feedback_layout(graded: GradedClass) -> None:
    assert sorted(graded.pages) == sorted(graded.students)
    for student, path in graded.pages.items():
        assert path == graded.course.feedback_dir / student / A / "feedback.html"
        autograded = graded.course.autograded_dir / student / A
        assert (autograded / f"{A}.ipynb").is_file()  # for nbgrader's generate_feedback
        assert (autograded / "feedback.html").read_bytes() == path.read_bytes()


def test_no_page_contains_a_line_of_the_hidden_suite_or_the_reference(graded: GradedClass) -> None:
    spec = graded.course.assignment(A)
    reference = sorted(Path(autograder.judge.reference.__file__).parent.glob("*.py"))
    secret = nontrivial_lines([*spec.suite_files, *reference]) | hidden_test_lines(graded.course)
    assert len(secret) > 100
    for student, path in graded.pages.items():
        raw = path.read_text(encoding="utf-8")
        text = page_text(raw)
        leaked = sorted(line for line in secret if line in text or line in raw)
        assert leaked == [], f"{student}'s page shows hidden lines: {leaked[:3]}"


def test_no_page_shows_a_quiz_key(graded: GradedClass) -> None:
    spec = graded.course.assignment(A)
    for student, path in graded.pages.items():
        raw = path.read_text(encoding="utf-8")
        lowered = page_text(raw).lower()
        for phrase in ("right answer", "correct answer", "the answer is", "answer key"):
            assert phrase not in lowered, (student, phrase)
        sections = [s for s in re.findall(r"<section.*?</section>", raw, flags=re.S) if "Question" in s]
        assert len(sections) == len(spec.quiz)
        for n, (section, question) in enumerate(zip(sections, spec.quiz, strict=True), 1):
            text = page_text(section)
            assert text.startswith(f"Question {n}")
            text = text.replace(question.prompt, "")  # the prompt is in the student's notebook too
            # The options the student chose, quoted back to them, are their answer, not the key.
            text = re.sub(r"\([a-h]: \u201c[^\u201d]*\u201d(; [a-h]: \u201c[^\u201d]*\u201d)*\)", "", text)
            assert f"{question.variable} =" not in text
            key = question.answer
            forms = [repr(key), f'"{key}"']
            if question.kind == "choice":
                forms.append(question.choices["abcdefgh".index(str(key))])
            elif question.kind == "multi":
                forms += [question.choices["abcdefgh".index(k)] for k in key]
            elif question.kind == "shape":
                forms += [str(tuple(key)), str(list(key))]
            else:
                forms.append(str(key))
            for form in forms:
                assert form not in text, (student, question.id, form)


def test_each_page_shows_only_its_own_student(graded: GradedClass) -> None:
    for student, path in graded.pages.items():
        raw = path.read_text(encoding="utf-8")
        assert student in raw
        for other in graded.students:
            if other != student:
                assert other not in raw, f"{student}'s page names {other}"


def test_page_shows_score_status_misconception_hint_and_failing_input(graded: GradedClass) -> None:
    store = GradeStore(graded.course)
    try:
        rows = [r for r in store.item_rows(A) if r["student"] == "bobby02"]
    finally:
        store.close()
    total, max_total = sum(r["score"] for r in rows), sum(r["max_score"] for r in rows)
    text = page_text(graded.pages["bobby02"].read_text(encoding="utf-8"))
    assert f"{total:g} / {max_total:g} points ({100 * total / max_total:.0f}%)" in text
    mse = next(r for r in rows if r["item"] == "mse")
    assert mse["status"] == "failed" and mse["diagnosis"] == "mse.not_squared" and mse["failing_input"]
    spec = graded.course.assignment(A)
    section = text[text.index("mse0 / 2") :]
    assert "Not right yet" in section
    assert f"This looks like {spec.misconceptions.title('mse.not_squared')}." in section
    assert f"Hint: {spec.misconceptions.hint('mse.not_squared')}" in section
    assert f"The smallest input we found that goes wrong: {mse['failing_input']}" in section
    assert section.count(spec.misconceptions.hint("mse.not_squared")) == 1  # not repeated
    assert text.index("cross_entropy") < text.index("mse") < text.index("Question 1")
    full = page_text(graded.pages["alice01"].read_text(encoding="utf-8"))
    assert "Everything passed: well done!" in full and "Hint" not in full
    stub = page_text(graded.pages["carol03"].read_text(encoding="utf-8"))
    assert "0 / 18 points (0%)" in stub and stub.count("Not answered yet") == len(rows)


def test_markup_returned_by_a_student_is_shown_as_text(graded: GradedClass) -> None:
    raw = graded.pages["dave04"].read_text(encoding="utf-8")
    assert "<script" not in raw.lower() and "<img" not in raw.lower()
    text = page_text(raw)
    assert MARKUP in text and QUIZ_MARKUP in text


def nbgrader_api(course: Course) -> Any:
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = course.db_url
    config.Exchange.root = str(course.state_dir / "exchange")
    config.Application.log_level = logging.ERROR
    config.NbGraderAPI.log_level = logging.ERROR
    return NbGraderAPI(config=config)


def test_nbgrader_generate_feedback_works_on_our_gradebook_without_hidden_tests(
    graded: GradedClass, monkeypatch: pytest.MonkeyPatch
) -> None:
    course, student = graded.course, "bobby02"
    api = nbgrader_api(course)
    # nbgrader's page shows the whole notebook: what the student already has (the release and
    # their own code) is no secret, nor is any part of it.
    visible = notebook_lines(course.release_notebook(A)) | notebook_lines(
        course.submitted_dir / student / A / f"{A}.ipynb"
    )
    hidden = hidden_test_lines(course) | nontrivial_lines(list(course.assignment(A).suite_files))
    hidden = {line for line in hidden if not any(line in v for v in visible)}
    assert len(hidden) > 50
    nbgrader_page = course.feedback_dir / student / A / f"{A}.html"

    # Control: the autograded notebook as nbgrader's autograde leaves it (hidden tests restored)
    # makes nbgrader's feedback show them. The check below would catch that.
    with monkeypatch.context() as m:
        m.setattr(autograded, "strip_hidden_tests", lambda source: source)
        write_autograded(course, student)
    result = api.generate_feedback(A, student)
    assert result["success"], result.get("error")
    assert any(line in page_text(nbgrader_page.read_text()) for line in hidden)

    write_autograded(course, student)
    result = api.generate_feedback(A, student)
    assert result["success"], result.get("error")
    text = page_text(nbgrader_page.read_text())
    assert [line for line in hidden if line in text] == []
    assert "BEGIN HIDDEN TESTS" not in text
    store = GradeStore(course)
    try:
        rows = {r["item"]: r for r in store.item_rows(A) if r["student"] == student}
        total = store.nbgrader_totals(A)[student]
    finally:
        store.close()
    assert total == sum(r["score"] for r in rows.values())
    assert f"Score: {total:.1f} / 18.0" in text
    assert f"Score: {rows['mse']['score']:.1f} / 2.0" in text
    # nbgrader's --force empties feedback/<student>/<a>/; our page comes back from autograded/.
    assert (course.feedback_dir / student / A / "feedback.html").is_file()


def write_autograded(course: Course, student: str) -> Path:
    store = GradeStore(course)
    try:
        rows = store.item_rows(A)
    finally:
        store.close()
    (path,) = autograded.write_autograded(course, A, rows, students=[student])
    return path


def test_autograded_notebook_restores_tests_without_hidden_blocks_with_verdicts_as_outputs(
    graded: GradedClass,
) -> None:
    course = graded.course
    path = write_autograded(course, "alice01")
    assert path == course.autograded_dir / "alice01" / A / f"{A}.ipynb"
    nb = nbformat.read(path, as_version=4)
    source = {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in nbformat.read(course.source_notebook(A), as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("grade_id")
    }
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_softmax")
    assert test_cell.source == feedback.strip_hidden_tests(source["test_softmax"].source)
    assert "HIDDEN" not in test_cell.source and test_cell.source.startswith("expect_close(softmax(")
    assert [o["text"] for o in test_cell.outputs] == ["softmax: 3 / 3 points. Passed: full marks.\n"]
    graded_ids = set(course.assignment(A).grade_ids())
    assert all(
        c.outputs == []
        for c in nb.cells
        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade_id") not in graded_ids
    )
    # bobby02's wrong mse: the output names the misconception and says why, as formgrader shows it.
    bob = nbformat.read(course.autograded_dir / "bobby02" / A / f"{A}.ipynb", as_version=4)
    mse = next(c for c in bob.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_mse")
    (output,) = mse.outputs
    assert output["name"] == "stderr" and output["text"].startswith("mse: 0 / 2 points. Not right yet.\n")
    assert "Hint: " in output["text"]


# --- fast checks on crafted grades -------------------------------------------------------------


def record(course: Course, student: str, items: list[ItemResult]) -> None:
    spec = course.assignment(A)
    store = GradeStore(course)
    try:
        store.record_many([GradeResult(student, A, "0" * 64, spec.suite_sha256, tuple(items))], spec)
    finally:
        store.close()


def test_page_blanks_hidden_lines_and_escapes_whatever_a_message_holds(course: Course) -> None:
    spec = course.assignment(A)
    secret = next(
        line.strip()
        for line in spec.suite_files[0].read_text().splitlines()
        if feedback.is_secret_line(line) and "(" in line
    )
    record(
        course,
        "mallory",
        [
            ItemResult("softmax", 0.0, 3.0, "failed", "other", f"softmax: {secret} <b>bold</b>", 0.1, "<i>"),
            ItemResult("quiz.argmax_label", 0.0, 1.0, "missing", "missing", "quiz.argmax_label: no answer."),
        ],
    )
    (path,) = feedback.write_feedback(course, A)
    raw = path.read_text(encoding="utf-8")
    assert secret not in page_text(raw)
    assert feedback.REDACTED in page_text(raw)
    assert "<b>bold" not in raw and "&lt;b&gt;bold&lt;/b&gt;" in raw and "<code>&lt;i&gt;</code>" in raw


def test_write_feedback_names_students_that_were_not_graded(course: Course) -> None:
    with pytest.raises(UsageError, match=r"no graded submissions of ps4-softmax yet; run `autograder grade"):
        feedback.write_feedback(course, A)
    record(course, "ada", [ItemResult("mse", 2.0, 2.0, "passed")])
    with pytest.raises(UsageError, match=r"no graded submission of ps4-softmax for: bob, cy; run"):
        feedback.write_feedback(course, A, students=["ada", "bob", "cy"])
    assert feedback.write_feedback(course, A, students=["ada"]) == [
        course.feedback_dir / "ada" / A / "feedback.html"
    ]
    # The recorded notebook is not the one in submitted/ (there is none): no autograded copy.
    assert not (course.autograded_dir / "ada").exists()


def test_strip_hidden_tests_removes_each_block_and_an_unclosed_one() -> None:
    source = (
        "a = 1\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nb = 2\n### BEGIN HIDDEN TESTS\nx()\n"
    )
    assert feedback.strip_hidden_tests(source) == "a = 1\nb = 2"
