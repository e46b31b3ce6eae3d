"""The web side of `autograder serve`: the HTTP API of spec/interfaces.md, and the pages.

This process never grades: it checks who is asking, checks the course's rules, reads the
upload within its limit, stores it and a `queued` row, and answers 202. The grading process
(`serve.queue`) takes it from the database. Refusals are JSON `{"error": "..."}` with a
message that says what to fix.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from autograder.course.layout import AssignmentSpec, Course
from autograder.serve import db, hub, pages, tokens
from autograder.serve.intake import IntakeError, read_upload
from autograder.serve.queue import result_from_json
from autograder.serve.rules import Rules, check, is_late, load_rules, with_nbgrader_deadlines
from autograder.store import nbgrader_rows
from autograder.store.gradebook import GradeStore, journal_items

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Service:
    """What every request needs: the course, its database, the rules of each open assignment."""

    course: Course
    engine: sa.Engine
    specs: dict[str, AssignmentSpec]
    rules: dict[str, Rules]
    uploads: Path
    store: GradeStore
    hub: hub.HubClient | None = None  # signing in through JupyterHub (serve --hub)


def open_service(course: Course) -> Service:
    """The course's released assignments (in nbgrader's gradebook), their rules, the tables."""
    engine = db.connect(course.db_url)
    store = GradeStore(course)
    specs: dict[str, AssignmentSpec] = {}
    with engine.connect() as conn:
        for a in course.assignment_ids():
            if nbgrader_rows.grade_cell_points(conn, a) is not None:
                specs[a] = course.assignment(a)
            else:
                log.warning("%s is not released (not in the gradebook): it takes no submissions", a)
    rules = with_nbgrader_deadlines(engine, load_rules(course.root, course.assignment_ids()))
    uploads = course.state_dir / "serve" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    return Service(course, engine, specs, {a: rules[a] for a in specs}, uploads, store)


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def submission_json(row: dict[str, Any], *, items: bool = True) -> dict[str, Any]:
    """A submission as the API shows it (spec/interfaces.md), plus a few fields of our own."""
    out: dict[str, Any] = {
        "id": row["id"],
        "student": row["student"],
        "assignment": row["assignment"],
        "submitted_at": _iso(row["submitted_at"]),
        "status": row["status"],
        "score": row["score"],
        "max_score": row["max_score"],
        "late": bool(row["late"]),
        "counts": bool(row["counts"]),
        "message": row["message"],
        "graded_at": _iso(row["graded_at"]),
        "duration_s": row["duration_s"],
        "same_as": row["duplicate_of"],
    }
    if items:
        result = result_from_json(row["result_json"]) if row["result_json"] else None
        out["items"] = [
            {
                "item": i.item,
                "score": i.score,
                "max_score": i.max_score,
                "status": i.status,
                "diagnosis": i.diagnosis,
                "message": i.message,
            }
            for i in (result.items if result else ())
        ]
    return out


def _identity(svc: Service, request: Request) -> db.Identity | None:
    """Who asks: a course token (`Bearer`), or as a hub service a hub token or the hub session."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        return tokens.identify(svc.engine, token.strip())
    return hub.api_identity(svc.hub, request) if svc.hub is not None else None


_UNAUTHORIZED = "sign in: send your token as 'Authorization: Bearer TOKEN' (ask your instructor for one)."


def create_app(svc: Service) -> Starlette:
    """The ASGI application for one course."""

    def healthz(request: Request) -> JSONResponse:
        """200 while submissions are taken and graded; 503, with the reason, while grading is not
        alive (no heartbeat from the grading process, no Dask scheduler or workers, a queue that
        does not move). Submissions are still taken meanwhile: the queue is durable."""
        h = db.health(svc.engine, now=time.time())
        grading = {
            "alive": h.ok,
            "mode": h.mode,
            "heard_s_ago": None if h.heard_s_ago is None else round(h.heard_s_ago, 1),
            "oldest_queued_s": round(h.oldest_queued_s, 1),
        }
        body: dict[str, Any] = {
            "ok": h.ok,
            "assignments": sorted(svc.specs),
            "queued": h.queued,
            "grading": grading,
        }
        if not h.ok:
            body["error"] = h.problem
        return JSONResponse(body, status_code=200 if h.ok else 503)

    async def submit(request: Request) -> Response:
        who = await run_in_threadpool(_identity, svc, request)
        if who is None:
            return _error(401, _UNAUTHORIZED, **{"WWW-Authenticate": "Bearer"})
        assignment = request.path_params["assignment"]
        if assignment not in svc.specs:
            return _error(
                404,
                f"no assignment {assignment[:80]!r} takes submissions here "
                f"(open: {', '.join(sorted(svc.specs)) or 'none'}).",
            )
        rules = svc.rules[assignment]
        now = time.time()
        earlier = await run_in_threadpool(db.submitted_times, svc.engine, who.student, assignment)
        refusal = check(rules, now, earlier)
        if refusal is not None:
            headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s else {}
            return _error(refusal.status, refusal.message, **headers)
        try:
            upload = await read_upload(request, max_bytes=rules.max_upload_bytes)
        except IntakeError as exc:
            return _error(exc.status, exc.message)
        submission_id = db.new_id()
        return await run_in_threadpool(
            _store, submission_id, who.student, assignment, upload.data, upload.sha256, now, rules
        )

    def _store(
        submission_id: str, student: str, assignment: str, data: bytes, sha: str, now: float, rules: Rules
    ) -> Response:
        folder = svc.uploads / assignment / student
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{submission_id}.ipynb"
        tmp = folder / f".{submission_id}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)
        try:
            # The rules again, checked and the row inserted atomically: the check before the
            # upload was read refuses early, this one holds against uploads at the same time.
            refusal = db.insert_if_allowed(
                svc.engine,
                lambda earlier: check(rules, now, earlier),
                submission_id=submission_id,
                student=student,
                assignment=assignment,
                notebook_sha256=sha,
                path=str(path),
                late=is_late(rules, now),
                submitted_at=now,
            )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if refusal is not None:
            path.unlink(missing_ok=True)
            headers = {"Retry-After": str(refusal.retry_after_s)} if refusal.retry_after_s else {}
            return _error(refusal.status, refusal.message, **headers)
        return JSONResponse({"id": submission_id, "status": "queued"}, status_code=202)

    def get_submission(request: Request) -> Response:
        who = _identity(svc, request)
        if who is None:
            return _error(401, _UNAUTHORIZED, **{"WWW-Authenticate": "Bearer"})
        row = db.get_submission(svc.engine, request.path_params["id"][:64])
        if row is None or (row["student"] != who.student and not who.is_instructor):
            return _error(404, "no such submission of yours.")
        return JSONResponse(submission_json(row))

    def list_submissions(request: Request) -> Response:
        who = _identity(svc, request)
        if who is None:
            return _error(401, _UNAUTHORIZED, **{"WWW-Authenticate": "Bearer"})
        assignment = request.path_params["assignment"]
        if assignment not in svc.specs:
            return _error(404, f"no assignment {assignment[:80]!r} here.")
        student = request.query_params.get("student") if who.is_instructor else who.student
        rows = db.list_submissions(svc.engine, assignment=assignment, student=student)
        return JSONResponse([submission_json(r, items=False) for r in rows])

    def feedback(request: Request) -> Response:
        from autograder.views.feedback import feedback_page, secret_lines

        who = _identity(svc, request)
        if who is None:
            return _error(401, _UNAUTHORIZED, **{"WWW-Authenticate": "Bearer"})
        row = db.get_submission(svc.engine, request.path_params["id"][:64])
        if row is None or (row["student"] != who.student and not who.is_instructor):
            return _error(404, "no such submission of yours.")
        spec = svc.specs.get(row["assignment"])
        if spec is None or not row["result_json"]:
            return _error(409, f"this submission has no feedback yet (it is {row['status']}).")
        result = result_from_json(row["result_json"])
        rows = journal_items(result)
        page = feedback_page(spec, result.student_id, rows, secret_lines(svc.course, spec))
        if result.status != "graded" and result.message:
            from html import escape

            page = page.replace(
                "<body>",
                "<body><p class='message'><b>This notebook could not be graded:</b> "
                f"{escape(result.message)}</p>",
                1,
            )
        return HTMLResponse(page)

    def me(request: Request) -> Response:
        who = _identity(svc, request)
        if who is None:
            return _error(401, _UNAUTHORIZED, **{"WWW-Authenticate": "Bearer"})
        return JSONResponse(
            {
                "student": who.student,
                "role": who.role,
                "assignments": [
                    {
                        "id": a,
                        "title": svc.specs[a].title,
                        "deadline": _iso(svc.rules[a].deadline),
                        "counts": svc.rules[a].counts,
                        "max_attempts": svc.rules[a].max_attempts,
                        "cooldown_s": svc.rules[a].cooldown_s,
                        "max_upload_mb": svc.rules[a].max_upload_mb,
                    }
                    for a in sorted(svc.specs)
                ],
            }
        )

    def _instructor(request: Request) -> Response | None:
        who = _identity(svc, request)
        if who is None:
            return _error(401, _UNAUTHORIZED, **{"WWW-Authenticate": "Bearer"})
        if not who.is_instructor:
            return _error(403, "this is for instructors: sign in with an instructor token.")
        return None

    def _instructor_assignment(request: Request) -> Response | str:
        """The assignment an instructor route names, or the refusal to send instead."""
        refused = _instructor(request)
        if refused is not None:
            return refused
        assignment = str(request.path_params["assignment"])
        if assignment not in svc.specs:
            return _error(404, f"no assignment {assignment[:80]!r} here.")
        return assignment

    def dashboard(request: Request) -> Response:
        from autograder.serve.dashboard import dashboard_json

        assignment = _instructor_assignment(request)
        if isinstance(assignment, Response):
            return assignment
        return JSONResponse(dashboard_json(svc.engine, svc.store, svc.specs[assignment]))

    def download(request: Request) -> Response:
        from autograder.views import report, tables

        assignment = _instructor_assignment(request)
        if isinstance(assignment, Response):
            return assignment
        name = request.path_params["name"]
        if name == "gradebook.csv":
            text = tables.tables(svc.store, assignment).gradebook.to_csv(index=False)
        elif name == "canvas.csv":
            text = report.write_canvas_csv(
                svc.course, assignment, title=svc.specs[assignment].title
            ).read_text()
        else:
            return _error(404, "downloads: gradebook.csv or canvas.csv.")
        return Response(
            text,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{assignment}-{name}"'},
        )

    def regrade(request: Request) -> Response:
        refused = _instructor(request)
        if refused is not None:
            return refused
        row = db.get_submission(svc.engine, request.path_params["id"][:64])
        if row is None:
            return _error(404, "no such submission.")
        # Its earlier result stays (and counts, if it did) until the new one replaces it.
        t = db.submissions_table
        with svc.engine.begin() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.id == row["id"], t.c.status != "grading")
                .values(status="queued", duplicate_of=None, started_at=None)
            )
        return JSONResponse({"id": row["id"], "status": "queued"}, status_code=202)

    def regrade_all(request: Request) -> Response:
        """Every student's counting submission graded again (after the suite changed, say)."""
        refused = _instructor(request)
        if refused is not None:
            return refused
        assignment = request.path_params["assignment"]
        if assignment not in svc.specs:
            return _error(404, f"no assignment {assignment[:80]!r} here.")
        t = db.submissions_table
        with svc.engine.begin() as conn:
            done = conn.execute(
                sa.update(t)
                .where(t.c.assignment == assignment, t.c.counts.is_(True), t.c.status != "grading")
                .values(status="queued", duplicate_of=None, started_at=None)
            )
        return JSONResponse({"assignment": assignment, "requeued": int(done.rowcount)}, status_code=202)

    def _signed_in(request: Request) -> pages.SignedIn | Response | None:
        """As a hub service: the page's person, or the way to sign in. Else None (token form)."""
        if svc.hub is None:
            return None
        session = hub.request_session(svc.hub, request)
        if session is None:
            target = hub.service_root(request) + "login?next=" + quote(request.url.path)
            return RedirectResponse(target, status_code=302)
        return pages.SignedIn(session.identity.student, session.identity.role, session.xsrf)

    def student_page(request: Request) -> Response:
        signed_in = _signed_in(request)
        if isinstance(signed_in, Response):
            return signed_in
        return HTMLResponse(pages.student_page(svc.course.course_id, signed_in))

    def instructor_page(request: Request) -> Response:
        signed_in = _signed_in(request)
        if isinstance(signed_in, Response):
            return signed_in
        if signed_in is not None and signed_in.role != "instructor":
            assert svc.hub is not None
            detail = (
                f"{signed_in.name} is a student of {svc.course.course_id}; the dashboard is for hub users "
                f"in the instructor group ({', '.join(sorted(svc.hub.cfg.instructor_groups))})."
            )
            root = hub.service_root(request)
            links = [("Your page", root), ("Sign out", root + "logout")]
            return HTMLResponse(
                pages.message_page(svc.course.course_id, "instructors only", detail, links), status_code=403
            )
        return HTMLResponse(pages.instructor_page(svc.course.course_id, signed_in))

    routes = [
        Route("/healthz", healthz),
        Route("/", student_page),
        Route("/instructor", instructor_page),
        Route("/api/v1/me", me),
        Route("/api/v1/assignments/{assignment}/submissions", submit, methods=["POST"]),
        Route("/api/v1/assignments/{assignment}/submissions", list_submissions, methods=["GET"]),
        Route("/api/v1/assignments/{assignment}/dashboard", dashboard),
        Route("/api/v1/assignments/{assignment}/regrade", regrade_all, methods=["POST"]),
        Route("/api/v1/assignments/{assignment}/{name}", download),
        Route("/api/v1/submissions/{id}", get_submission),
        Route("/api/v1/submissions/{id}/feedback", feedback),
        Route("/api/v1/submissions/{id}/regrade", regrade, methods=["POST"]),
        *(hub.hub_routes(svc.hub) if svc.hub is not None else []),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"nothing at {request.url.path[:120]}; the API is under /api/v1/ (see the README)")

    return Starlette(routes=routes, exception_handlers={404: not_found})
