"""The `autograder` command: parse, call the library, print. No logic of its own.

Exit status: 0 when the command did its job (even if students failed items), 2 for bad
arguments or a broken course, with a one-line message that says what to fix.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any

import click

from autograder.errors import AutograderError

# jsonschema (through nbformat) imports rfc3987_syntax, which builds a parser at import time
# (1-2 s per command) only to check IRIs, which notebooks never hold; jsonschema does without
# it when the import fails.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


class _Group(click.Group):
    """Turns AutograderError into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AutograderError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)


def _course(ctx: click.Context) -> Any:
    from autograder.course.layout import load_course

    return load_course(Path(ctx.obj["root"]))


@click.group(cls=_Group)
@click.option(
    "--course",
    "root",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The course root (where nbgrader_config.py is).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens, for debugging.")
@click.version_option(package_name="autograder")
@click.pass_context
def main(ctx: click.Context, root: str, verbose: bool) -> None:
    """Grade NumPy notebooks with a trusted judge and jailed workers."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")
    ctx.obj = {"root": root}


@main.command("release")
@click.argument("assignment")
@click.pass_context
def release_cmd(ctx: click.Context, assignment: str) -> None:
    """Build release/ASSIGNMENT from source/ with nbgrader generate_assignment."""
    from autograder.course.release import release

    path = release(_course(ctx), assignment)
    click.echo(f"released {assignment} -> {path}")


#: A student graded for longer than this is named in the progress line, with how long so far.
SLOW_STUDENT_S = 5.0


class _ProgressLine:
    """A progress bar with counts and an ETA on a terminal; plain lines otherwise.

    The ETA is the time left at the rate so far; while a slow student holds a judge, the line
    names them and how long they have taken, so a stalled count is not a stalled grader.
    """

    def __init__(self, quiet: bool, *, prefix: str = "") -> None:
        self.quiet = quiet
        self.prefix = prefix
        self.tty = sys.stderr.isatty()
        self.last_plain = 0.0
        self.width = 0

    def __call__(self, p: Any) -> None:
        if self.quiet:
            return
        rate = p.done / p.elapsed_s if p.elapsed_s > 0 else 0.0
        eta = (p.total - p.done) / rate if rate > 0 else None
        eta_text = f"ETA {eta:.0f}s" if eta is not None else "ETA ?"
        slow = [(s, t) for s, t in p.waiting if t >= SLOW_STUDENT_S]
        waiting = f"  waiting on {slow[0][0]} ({slow[0][1]:.0f} s)" if slow else ""
        if len(slow) > 1:
            waiting += f" and {len(slow) - 1} more"
        if self.tty:
            width = 30
            filled = int(width * p.done / max(1, p.total))
            bar = "#" * filled + "-" * (width - filled)
            line = f"{self.prefix}[{bar}] {p.done}/{p.total}  {rate:.1f}/s  {eta_text}{waiting}"
            click.echo("\r" + line.ljust(self.width), err=True, nl=False)
            self.width = len(line)
            if p.done == p.total and p.student_id:
                click.echo("", err=True)
        elif (p.student_id and p.done == p.total) or time.monotonic() - self.last_plain > 2:
            self.last_plain = time.monotonic()
            last = f" ({p.student_id})" if p.student_id else ""
            click.echo(f"{self.prefix}graded {p.done}/{p.total}{last}, {eta_text}{waiting}", err=True)


@main.command("grade")
@click.argument("assignment")
@click.option("--student", "students", multiple=True, help="Grade only this student (repeatable).")
@click.option("--workers", type=int, default=None, help="Judges in parallel [default: the number of cores].")
@click.option("--force", is_flag=True, help="Regrade even unchanged notebooks.")
@click.option("--scheduler", default=None, help="A Dask scheduler address (tcp://HOST:PORT).")
@click.option(
    "--reference-backend",
    "backend",
    default="numpy",
    show_default=True,
    type=click.Choice(["numpy", "torch", "cupy", "auto"]),
    help="Where the references run.",
)
@click.option(
    "--isolation",
    type=click.Choice(["best", "strict"]),
    default="best",
    show_default=True,
    help="strict: refuse to grade unless every layer of the jail is in force (see `autograder doctor`).",
)
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def grade_cmd(
    ctx: click.Context,
    assignment: str,
    students: tuple[str, ...],
    workers: int | None,
    force: bool,
    scheduler: str | None,
    backend: str,
    isolation: str,
    quiet: bool,
) -> None:
    """Grade every submission of ASSIGNMENT and record the scores."""
    from autograder import batch

    try:
        summary = batch.grade(
            _course(ctx),
            assignment,
            students=list(students) or None,
            workers=workers,
            force=force,
            scheduler=scheduler,
            backend=backend,
            on_progress=_ProgressLine(quiet),
            isolation=isolation,
        )
    except KeyboardInterrupt:
        _interrupted(f"autograder grade {assignment}")
    if not quiet:
        skipped = f", {summary.skipped} unchanged (use --force to regrade)" if summary.skipped else ""
        click.echo(
            f"graded {summary.graded} submissions of {assignment} in {summary.seconds:.1f} s{skipped}; "
            f"{summary.errors} could not be read -> {summary.scores_csv}"
        )


def _interrupted(again: str) -> None:
    """Ctrl-C: one line, exit status 130 (as a shell reports SIGINT), no traceback."""
    click.echo("", err=True)
    click.echo(
        f"interrupted: what was graded is recorded; run `{again}` again to grade the rest.", err=True
    )
    sys.exit(130)


@main.command("report")
@click.argument("assignment", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "canvas"]),
    default="html",
    show_default=True,
    help="html: CSV tables and report.html; canvas: the CSV Canvas imports as a gradebook column.",
)
@click.pass_context
def report_cmd(ctx: click.Context, assignment: str | None, fmt: str) -> None:
    """Reports for ASSIGNMENT (or every graded assignment and a course gradebook)."""
    from autograder.views import report

    course = _course(ctx)
    if assignment is None:
        if fmt == "canvas":
            raise click.UsageError("--format canvas needs an ASSIGNMENT (one Canvas column each).")
        gradebook, pages = report.write_course_report(course)
        for page in pages:
            click.echo(f"report: {page}")
        click.echo(f"course gradebook: {gradebook}")
        return
    spec = course.assignment(assignment)
    if fmt == "canvas":
        click.echo(f"canvas: {report.write_canvas_csv(course, assignment, title=spec.title)}")
    else:
        click.echo(f"report: {report.write_report(course, assignment)}")


@main.command("demo")
@click.option(
    "--into",
    default="demo-course",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where to build the demo course (replaced if it exists).",
)
@click.option("--assignment", "assignments", multiple=True, help="Only this assignment (repeatable).")
@click.option("--size", default=30, show_default=True, help="Students per assignment (at least 30).")
@click.option("--workers", type=int, default=None, help="Judges in parallel [default: the number of cores].")
@click.pass_context
def demo_cmd(
    ctx: click.Context, into: str, assignments: tuple[str, ...], size: int, workers: int | None
) -> None:
    """Release, grade and report a bundled synthetic class on a copy of the course."""
    from autograder import demo

    course = _course(ctx)
    target = Path(into) if Path(into).is_absolute() else course.root / into
    try:
        paths = demo.run(
            course,
            into=target,
            assignments=list(assignments) or None,
            size=max(30, size),
            workers=workers,
            say=click.echo,
            progress=lambda assignment_id: _ProgressLine(False, prefix=f"{assignment_id}: "),
        )
    except KeyboardInterrupt:
        _interrupted("autograder demo")
    for path in paths:
        click.echo(f"report: {path}")


@main.command("validate")
@click.argument("assignments", nargs=-1)
@click.option("--workers", type=int, default=None, help="Judges in parallel [default: the number of cores].")
@click.pass_context
def validate_cmd(ctx: click.Context, assignments: tuple[str, ...], workers: int | None) -> None:
    """Prove a suite: solution full, stubs zero, each mutant diagnosed, each variant full."""
    from autograder.validate import validate

    course = _course(ctx)
    failed = 0
    for assignment in assignments or tuple(course.assignment_ids()):
        rows = validate(course, assignment, workers=workers)
        width = max(len(r.case) for r in rows)
        click.echo(f"== {assignment}")
        for r in rows:
            mark = "ok " if r.ok else "BAD"
            click.echo(f"{mark} {r.case:<{width}}  expected {r.expected}; got {r.got}")
        bad = sum(not r.ok for r in rows)
        failed += bad
        click.echo(f"{assignment}: {len(rows) - bad} of {len(rows)} rows as expected")
    if failed:
        sys.exit(1)


@main.command("doctor")
def doctor_cmd() -> None:
    """Print versions, usable reference backends, worker limits and whether the jail works here."""
    from autograder.doctor import diagnose

    findings = diagnose()
    width = max(len(f.topic) for f in findings)
    for f in findings:
        click.echo(f"{'  ' if f.ok else '! '}{f.topic:<{width}}  {f.value}")


@main.command("feedback")
@click.argument("assignment")
@click.option("--student", "students", multiple=True, help="Only this student (repeatable).")
@click.pass_context
def feedback_cmd(ctx: click.Context, assignment: str, students: tuple[str, ...]) -> None:
    """Write feedback/<student>/ASSIGNMENT/feedback.html for every graded student."""
    from autograder.views import feedback

    course = _course(ctx)
    course.assignment(assignment)
    pages = feedback.write_feedback(course, assignment, students=list(students) or None)
    click.echo(f"wrote {len(pages)} feedback pages under {course.feedback_dir}")


@main.command("collect")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.argument("assignment")
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV with a student_id column; other columns are names found in file names.",
)
@click.option(
    "--deadline",
    help="ISO date and time (local unless it has a zone); later files are reported late, "
    "and it becomes the gradebook's due date.",
)
@click.option("--dry-run", is_flag=True, help="Report what would be imported; write nothing.")
@click.pass_context
def collect_cmd(
    ctx: click.Context,
    source: Path,
    assignment: str,
    mapping: Path | None,
    deadline: str | None,
    dry_run: bool,
) -> None:
    """Import a folder or an LMS zip of notebooks into submitted/<student>/ASSIGNMENT/."""
    from datetime import datetime

    from autograder.course import collect
    from autograder.errors import UsageError

    course = _course(ctx)
    course.assignment(assignment)
    try:
        when = datetime.fromisoformat(deadline) if deadline else None
    except ValueError:
        raise UsageError(f"--deadline {deadline!r} is not an ISO date (like 2026-11-30T23:59).") from None
    summary = collect.collect(
        course,
        source,
        assignment,
        mapping=collect.load_mapping(mapping) if mapping else None,
        deadline=when,
        dry_run=dry_run,
    )
    if when is not None and not dry_run:
        from autograder.store.gradebook import GradeStore

        store = GradeStore(course)
        try:
            store.set_due_date(assignment, when.astimezone())
        finally:
            store.close()
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {len(summary.imported)} notebooks of {assignment}")
    for student, kept, dropped in summary.duplicates:
        click.echo(f"duplicate: {student}: kept {kept}, ignored {dropped}")
    for student, when_late in summary.late:
        click.echo(f"late: {student} ({when_late.isoformat(timespec='minutes')})")
    for name, reason in summary.skipped:
        click.echo(f"skipped: {name}: {reason}")


@main.command("check")
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_cmd(notebook: Path) -> None:
    """A student's self-check from the shell: visible tests and quiz checks, no hidden tests.

    Exits 1 when a check did not pass, so scripts and CI can tell.
    """
    from autograder.selfcheck.cli import check_notebook

    report = check_notebook(notebook)
    for line in report.lines():
        click.echo(line)
    if report.has_failures:
        sys.exit(1)


@main.command("tokens")
@click.option("--student", "students", multiple=True, help="Mint a token for this student (repeatable).")
@click.option("--instructor", is_flag=True, help="Instructor tokens (for the named ids, or 'instructor').")
@click.option("--revoke", "revoke", multiple=True, help="Revoke every token of this id (repeatable).")
@click.pass_context
def tokens_cmd(
    ctx: click.Context, students: tuple[str, ...], instructor: bool, revoke: tuple[str, ...]
) -> None:
    """Print `student,token` lines for `autograder serve` (every student in the gradebook by default)."""
    from autograder.serve import db, tokens

    course = _course(ctx)
    engine = db.connect(course.db_url)
    try:
        for student in revoke:
            click.echo(f"revoked {tokens.revoke(engine, student)} tokens of {student}", err=True)
        if revoke and not students and not instructor:
            return
        names = list(students) or (["instructor"] if instructor else tokens.gradebook_students(engine))
        if not names:
            raise click.UsageError("the gradebook has no students yet: name them with --student ID.")
        for student in names:
            click.echo(f"{student},{tokens.mint(engine, student, instructor=instructor)}")
    finally:
        engine.dispose()


@main.command("serve")
@click.option("--host", default=None, help="Address [default: 127.0.0.1, or the hub's service URL's].")
@click.option("--port", default=None, type=int, help="Port [default: 8000, or the hub's service URL's].")
@click.option("--workers", type=int, default=None, help="Judges in parallel [default: the number of cores].")
@click.option("--prefix", default=None, help="URL prefix [default: $JUPYTERHUB_SERVICE_PREFIX, or /].")
@click.option(
    "--scheduler", default=None, help="Grade on the Dask cluster at this scheduler address (tcp://HOST:PORT)."
)
@click.option(
    "--hub/--no-hub",
    default=None,
    help="Sign in through JupyterHub's OAuth as a hub service [default: when JupyterHub's service "
    "environment is set]. Course tokens keep working for the API.",
)
@click.option(
    "--hub-url",
    default=None,
    help="The hub as browsers reach it [default: $JUPYTERHUB_PUBLIC_HUB_URL, or /hub/].",
)
@click.option(
    "--oauth-callback-url",
    default=None,
    help="The service's oauth_redirect_uri as the hub has it [default: $JUPYTERHUB_OAUTH_CALLBACK_URL].",
)
@click.option(
    "--instructor-group",
    "instructor_groups",
    multiple=True,
    help="Hub group whose members are instructors (repeatable) [default: instructors and formgrade-COURSE].",
)
@click.pass_context
def serve_cmd(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    prefix: str | None,
    scheduler: str | None,
    hub: bool | None,
    hub_url: str | None,
    oauth_callback_url: str | None,
    instructor_groups: tuple[str, ...],
) -> None:
    """Serve the course: students submit notebooks over HTTP; a live instructor dashboard."""
    import os

    from autograder.serve.hub import in_hub_environment
    from autograder.serve.server import listen_address, serve

    course = _course(ctx)
    signing_in = in_hub_environment(os.environ) if hub is None else hub
    where_host, where_port = listen_address(host, port, signing_in)
    how = "sign-in through JupyterHub" if signing_in else "sign-in with course tokens"
    click.echo(
        f"serving {course.course_id} on http://{where_host}:{where_port}/ ({how}; instructors: /instructor); "
        "Ctrl-C stops",
        err=True,
    )
    serve(
        course,
        host=host,
        port=port,
        workers=workers,
        prefix=prefix,
        scheduler=scheduler,
        hub=hub,
        hub_url=hub_url,
        callback_url=oauth_callback_url,
        instructor_groups=instructor_groups,
    )
