"""What `grade` pays per notebook for formgrader: the autograded notebook and timestamp.txt.

Writes one real ps4 submission's autograded notebook N times (the template made once, as a
batch does) and reads its timestamp.txt, on a released copy of the course, and prints the
milliseconds per notebook and their share of the ~30 ms per notebook that grading costs.

    ./dev python bench/autograded_cost.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from autograder import batch
from autograder.course import release, synth
from autograder.course.layout import copy_course, load_course
from autograder.course.timestamps import read_timestamp
from autograder.views import autograded

A = "ps4-softmax"
GRADE_MS = 30.0  # the grader's own cost per notebook today (README, Performance)


def main(n: int) -> None:
    repo = load_course(Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(repo, Path(tmp) / "course")
        release.release(course, A)
        spec = course.assignment(A)
        answers = {**synth.solution_sources(course, spec), **synth.quiz_answers(spec, correct=set())}
        synth.write_submission(course, A, "ada", synth.build_notebook(course.release_notebook(A), answers))
        (result,) = batch.grade(course, A, workers=1).results
        rows = [asdict(i) for i in result.items]
        start = time.perf_counter()
        template = autograded.load_template(course, spec)
        once_ms = 1000 * (time.perf_counter() - start)
        folder = course.submitted_dir / "ada" / A
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            read_timestamp(folder)
            autograded.autograded_notebook(course, template, "ada", rows)
        each_ms = 1000 * (time.perf_counter() - start) / n
        cpu_ms = 1000 * (time.process_time() - cpu) / n
    print(f"template, once a batch: {once_ms:.1f} ms")
    share = f"{each_ms / GRADE_MS:.1%} of {GRADE_MS:g} ms"
    print(f"per notebook: {each_ms:.2f} ms ({share}), of it CPU {cpu_ms:.2f} ms")
    # Each round replaces the last round's file; on ext4 a rename over a file flushes its data
    # first, which a batch, writing each notebook once, does not pay (a regrade does).


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
