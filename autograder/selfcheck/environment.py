"""The students' environment, declared once: what a notebook of this course may import.

`pip install autograder` installs these (pyproject.toml's base dependencies, kept
equal to this list by a test), and the grader runs every notebook with the same packages.
A message about an import the grading environment lacks names them.
"""

from __future__ import annotations

import re

#: (import name, what students call it) of every package a notebook may import.
STUDENT_PACKAGES: tuple[tuple[str, str], ...] = (
    ("numpy", "NumPy"),
    ("scipy", "SciPy"),
    ("matplotlib", "Matplotlib"),
)

_NO_MODULE = re.compile(r"No module named '([^']+)'")


def provided() -> str:
    """'NumPy, SciPy and Matplotlib'."""
    names = [shown for _, shown in STUDENT_PACKAGES]
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]


def missing_module_advice(ename: str, evalue: str) -> str:
    """What to do about an import that failed, or "" when `ename` is not a failed import."""
    if ename not in ("ModuleNotFoundError", "ImportError"):
        return ""
    match = _NO_MODULE.search(evalue)
    module = match.group(1) if match else ""
    top = module.split(".")[0]
    if top and top in {name for name, _ in STUDENT_PACKAGES}:
        return f"the module {module} is not part of {top}; check the spelling of the import"
    what = f"the module {module}" if module else "an import"
    return (
        f"{what} is not available where the course is graded, which has {provided()}; "
        "use those, or remove the import"
    )
