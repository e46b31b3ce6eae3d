"""The HTTP API of spec/interfaces.md, over real HTTP against a running `autograder serve`."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from running import ASSIGNMENT, Server

SPEC_FIELDS = {"id", "student", "assignment", "submitted_at", "status", "score", "max_score", "late", "items"}
ITEM_FIELDS = {"item", "score", "max_score", "status", "diagnosis", "message"}


def test_healthz_answers_200_once_the_service_accepts_submissions(server: Server) -> None:
    reply = server.request("GET", "/healthz")
    assert reply.status == 200
    assert reply.body["assignments"] == [ASSIGNMENT]


def test_a_submission_is_queued_with_202_then_graded_with_the_fields_of_the_spec(
    server: Server, notebooks: dict[str, bytes]
) -> None:
    reply = server.submit("alice", notebooks["solution"])
    assert reply.status == 202
    assert reply.body["status"] == "queued"
    assert set(reply.body) == {"id", "status"}
    result = server.wait_graded(reply.body["id"], server.tokens["alice"])
    assert set(result) >= SPEC_FIELDS
    assert (result["student"], result["assignment"], result["status"]) == ("alice", ASSIGNMENT, "graded")
    assert result["score"] == result["max_score"] == 18.0
    assert result["late"] is False
    assert all(set(i) == ITEM_FIELDS for i in result["items"])
    assert [i["item"] for i in result["items"]][:4] == ["softmax", "predict", "cross_entropy", "mse"]


def test_a_multipart_upload_is_accepted_and_a_misconception_is_named(server: Server, notebooks: dict[str, bytes]) -> None:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"notebook\"; filename=\"../../etc/passwd\"\r\n"
        "Content-Type: application/x-ipynb+json\r\n\r\n"
    ).encode() + notebooks["mutant"] + f"\r\n--{boundary}--\r\n".encode()
    reply = server.request(
        "POST",
        f"/api/v1/assignments/{ASSIGNMENT}/submissions",
        token=server.tokens["bob"],
        body=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert reply.status == 202, reply.body
    result = server.wait_graded(reply.body["id"], server.tokens["bob"])
    softmax = next(i for i in result["items"] if i["item"] == "softmax")
    assert softmax["status"] != "passed"
    assert softmax["diagnosis"].startswith("softmax.")
    # The client's file name is never used: the upload is stored under its id.
    assert all(p.name.endswith(".ipynb") and p.stem in {r["id"] for r in server.rows()} for p in server.uploads())


def test_the_list_is_the_students_own_newest_first_and_everyones_for_an_instructor(
    server: Server, notebooks: dict[str, bytes]
) -> None:
    first = server.submit("carol", notebooks["stub"]).body["id"]
    second = server.submit("carol", notebooks["solution"]).body["id"]
    server.wait_graded(second, server.tokens["carol"])
    mine = server.request("GET", f"/api/v1/assignments/{ASSIGNMENT}/submissions", token=server.tokens["carol"]).body
    assert [s["id"] for s in mine] == [second, first]
    assert {s["student"] for s in mine} == {"carol"}
    everyone = server.request("GET", f"/api/v1/assignments/{ASSIGNMENT}/submissions", token=server.tokens["teacher"]).body
    assert {"carol", "alice"} <= {s["student"] for s in everyone}
    assert server.request("GET", f"/api/v1/submissions/{first}", token=server.tokens["teacher"]).status == 200


def test_the_same_notebook_twice_is_graded_once(server: Server, notebooks: dict[str, bytes]) -> None:
    first = server.submit("dave", notebooks["mutant"]).body["id"]
    one = server.wait_graded(first, server.tokens["dave"])
    second = server.submit("dave", notebooks["mutant"]).body["id"]
    two = server.wait_graded(second, server.tokens["dave"])
    assert two["same_as"] == first
    assert two["score"] == one["score"] and two["items"] == one["items"]
    assert two["counts"] is True and server.request(
        "GET", f"/api/v1/submissions/{first}", token=server.tokens["dave"]
    ).body["counts"] is False


def test_the_counting_submission_is_in_nbgraders_gradebook_with_its_timestamp(
    server: Server, notebooks: dict[str, bytes]
) -> None:
    sid = server.submit("alice", notebooks["stub"]).body["id"]
    result = server.wait_graded(sid, server.tokens["alice"])
    from nbgrader.api import Gradebook

    with Gradebook(server.course.db_url, course_id=server.course.course_id) as gb:
        sub = gb.find_submission(ASSIGNMENT, "alice")
        assert sub.score == result["score"] == 0.0
        assert sub.timestamp is not None
        assert sub.timestamp.isoformat(timespec="seconds") == result["submitted_at"].removesuffix("+00:00")
    folder = server.course.submitted_dir / "alice" / ASSIGNMENT
    assert (folder / f"{ASSIGNMENT}.ipynb").read_bytes() == (
        server.course.state_dir / "serve" / "uploads" / ASSIGNMENT / "alice" / f"{sid}.ipynb"
    ).read_bytes()
    assert (folder / "timestamp.txt").read_text().endswith(" UTC")


def test_feedback_is_the_feedback_page_and_shows_no_hidden_test_source(server: Server, notebooks: dict[str, bytes]) -> None:
    sid = server.submit("bob", notebooks["stub"]).body["id"]
    server.wait_graded(sid, server.tokens["bob"])
    page = server.request("GET", f"/api/v1/submissions/{sid}/feedback", token=server.tokens["bob"])
    assert page.status == 200
    assert "your feedback" in page.body and "not written yet" in page.body
    for test_file in server.course.assignment(ASSIGNMENT).suite_files:
        for line in test_file.read_text().splitlines():
            if line.strip().startswith(("assert ", "def test_")):
                assert line.strip() not in page.body


def test_an_instructor_regrade_queues_the_submission_again(server: Server, notebooks: dict[str, bytes]) -> None:
    sid = server.submit("carol", notebooks["mutant"]).body["id"]
    before = server.wait_graded(sid, server.tokens["carol"])
    reply = server.request("POST", f"/api/v1/submissions/{sid}/regrade", token=server.tokens["teacher"])
    assert reply.status == 202 and reply.body["status"] == "queued"
    after = server.wait_graded(sid, server.tokens["carol"])
    assert after["graded_at"] >= before["graded_at"] and after["same_as"] is None
    assert after["score"] == before["score"]


def test_re_grade_everyone_queues_each_counting_submission_and_only_those(server: Server) -> None:
    counting = {r["id"] for r in server.rows() if r["counts"]}
    reply = server.request("POST", f"/api/v1/assignments/{ASSIGNMENT}/regrade", token=server.tokens["teacher"])
    assert reply.status == 202 and reply.body["requeued"] == len(counting) > 0
    for row in server.rows():
        if row["id"] in counting:
            server.wait_graded(row["id"], server.tokens[row["student"]])
    after = server.rows()
    assert {r["id"] for r in after if r["counts"]} == counting
    assert all(r["status"] in ("graded", "error") for r in after)


def test_the_dashboard_has_the_report_tables_and_downloads(server: Server, notebooks: dict[str, bytes]) -> None:
    sid = server.submit("dave", notebooks["solution"]).body["id"]
    server.wait_graded(sid, server.tokens["dave"])
    board = server.request("GET", f"/api/v1/assignments/{ASSIGNMENT}/dashboard", token=server.tokens["teacher"])
    assert board.status == 200
    assert {"students", "items", "misconceptions", "gradebook", "slowest", "failing", "queue"} <= set(board.body)
    assert {r["item"] for r in board.body["items"]} >= {"softmax", "predict"}
    assert any(s["student"] == "dave" and s["score"] == 18.0 for s in board.body["students"])
    csv = server.request("GET", f"/api/v1/assignments/{ASSIGNMENT}/gradebook.csv", token=server.tokens["teacher"])
    assert csv.status == 200 and csv.body.startswith("student,softmax,")
    assert "\ndave," in csv.body
    canvas = server.request("GET", f"/api/v1/assignments/{ASSIGNMENT}/canvas.csv", token=server.tokens["teacher"])
    assert canvas.status == 200 and canvas.body.startswith("Student,ID,SIS User ID,SIS Login ID,Section,")


def test_service_tables_hold_every_result(server: Server) -> None:
    engine = sa.create_engine(server.course.db_url)
    try:
        with engine.connect() as conn:
            graded = conn.execute(sa.text("select result_json from serve_submissions where status='graded'")).all()
    finally:
        engine.dispose()
    assert graded and all(json.loads(r[0])["items"] for r in graded)
