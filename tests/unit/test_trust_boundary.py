"""The judge's side is one folder, autograder/judge/: nothing a worker runs imports it, and no
worker can read a file in it."""

from __future__ import annotations

import ast
from pathlib import Path

import autograder
from autograder.sandbox.client import StudentProcess
from autograder.sandbox.process import Zygote, hidden_paths, jail_spec, trusted_dir

PACKAGE = Path(autograder.__file__).resolve().parent
#: What runs inside a worker: its entry point, and what released notebooks import.
WORKER_SIDE = ("autograder.sandbox.worker", "autograder.selfcheck")


def module_file(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:])
    if not rel.parts:
        return PACKAGE / "__init__.py"
    for candidate in (PACKAGE / rel.with_suffix(".py"), PACKAGE / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports_of(name: str) -> set[str]:
    """Every autograder module `name` imports, at the top or inside a function."""
    path = module_file(name)
    assert path is not None, name
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    # `from autograder.x import y` names a module or a name in one: keep what is a module.
    return {m for m in found if m.startswith("autograder") and module_file(m) is not None}


def closure(roots: tuple[str, ...]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(2, len(parts))]  # parent packages run too
        todo += sorted(imports_of(name) - seen)
    return seen


def test_nothing_a_worker_runs_imports_the_judge_side():
    reached = closure(WORKER_SIDE)
    assert "autograder.sandbox.protocol" in reached  # the walk does follow imports
    assert not {m for m in reached if m.startswith("autograder.judge")}


def test_no_module_of_the_worker_side_names_the_judge_side():
    for folder in ("sandbox", "selfcheck"):
        for path in (PACKAGE / folder).glob("*.py"):
            name = "autograder." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
            name = name.removesuffix(".__init__")
            assert not {m for m in imports_of(name) if m.startswith("autograder.judge")}, name


def test_the_judge_side_is_hidden_as_one_folder():
    assert trusted_dir() == PACKAGE / "judge"
    assert str(PACKAGE / "judge") in hidden_paths([])


PROBE = """
import os
FILES = {files!r}
READ = []
for path in FILES:
    try:
        with open(path, "rb") as f:
            f.read(1)
        READ.append(path)
    except OSError:
        pass
LISTED = []
try:
    LISTED = os.listdir({folder!r})
except OSError:
    pass
try:
    import autograder.judge.diagnose
    IMPORTED = True
except ImportError:
    IMPORTED = False
"""


def test_a_worker_can_read_no_file_of_the_judge_side(tmp_path):
    files = sorted(str(p) for p in (PACKAGE / "judge").rglob("*") if p.is_file())
    assert any(f.endswith("np_ref.py") for f in files) and any(f.endswith("runner.py") for f in files)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with Zygote() as zygote:
        process = StudentProcess(
            zygote,
            jail_spec(scratch, hide=[], serial=1),
            [(0, PROBE.format(files=files, folder=str(PACKAGE / "judge")))],
            cell_timeout_s=20,
            total_timeout_s=30,
        )
        process.start()
        try:
            assert process.results()[0].ok
            assert process.get("READ", timeout_s=5).value == []
            assert process.get("LISTED", timeout_s=5).value == []
            assert process.get("IMPORTED", timeout_s=5).value is False
        finally:
            process.close()
