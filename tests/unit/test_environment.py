"""The students' environment is declared once: pyproject's base install is what notebooks get."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from autograder.selfcheck import environment

REPO = Path(__file__).resolve().parents[2]

#: What a student's kernel must import `autograder.selfcheck` without.
GRADER_ONLY = (
    "nbgrader", "dask", "distributed", "pytest", "hypothesis", "pandas", "sqlalchemy", "nbformat",
    "IPython", "jupyterlab", "traitlets", "array_api_compat",
)


def test_the_base_install_is_the_students_environment():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ]", d)[0] for d in project["dependencies"]}
    assert names == {name for name, _ in environment.STUDENT_PACKAGES} | {"click"}
    grader = {re.split(r"[<>=\[ ]", d)[0] for d in project["optional-dependencies"]["grader"]}
    assert not grader & {name for name, _ in environment.STUDENT_PACKAGES}
    assert "student" in project["optional-dependencies"]


def test_selfcheck_and_autograder_check_import_without_the_graders_packages():
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {GRADER_ONLY!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
from autograder.selfcheck import check, quiz, quiz_key
import autograder.cli, autograder.selfcheck.cli  # `autograder check` too
quiz("q", "b", quiz_key("q", "b"))
print(sorted(m for m in sys.modules if m.split(".")[0] in {GRADER_ONLY!r}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["quiz q: right.", "[]"]


def test_a_missing_module_names_it_and_what_the_course_provides():
    assert environment.missing_module_advice("ModuleNotFoundError", "No module named 'torch'") == (
        "the module torch is not available where the course is graded, which has NumPy, SciPy and "
        "Matplotlib; use those, or remove the import"
    )
    assert environment.missing_module_advice("ModuleNotFoundError", "No module named 'scipy.specail'") == (
        "the module scipy.specail is not part of scipy; check the spelling of the import"
    )
    assert environment.missing_module_advice("ValueError", "x") == ""
