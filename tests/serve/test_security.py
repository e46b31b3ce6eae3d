"""Refusals: who may ask, what may be sent. Each is refused with a message, and nothing is written."""

from __future__ import annotations

import gzip
import io
import shutil
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from running import ASSIGNMENT, Server, serving

from autograder.serve import db, tokens

SUBMIT = f"/api/v1/assignments/{ASSIGNMENT}/submissions"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, released_template: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("guarded") / "course"
    shutil.copytree(released_template, root)
    with serving(root, rules="[defaults]\ncooldown_s = 0\nmax_upload_mb = 1\n") as s:
        yield s


def _read_reply(sock: socket.socket) -> str:
    """The whole answer (headers and JSON body), however the server splits it."""
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def _nothing_written(server: Server, before: tuple[int, int]) -> None:
    assert (len(server.rows()), len(server.uploads())) == before


def _state(server: Server) -> tuple[int, int]:
    return len(server.rows()), len(server.uploads())


def test_no_token_and_a_wrong_token_are_refused_with_401(guarded: Server, notebooks: dict[str, bytes]) -> None:
    before = _state(guarded)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Basic {guarded.tokens['alice']}"}):
        reply = guarded.request(
            "POST", SUBMIT, body=notebooks["solution"], headers={"Content-Type": "application/x-ipynb+json", **headers}
        )
        assert reply.status == 401
        assert reply.body["error"].startswith("sign in: send your token as 'Authorization: Bearer TOKEN'")
        assert reply.headers["www-authenticate"] == "Bearer"
    assert guarded.request("GET", SUBMIT).status == 401
    _nothing_written(guarded, before)


def test_a_revoked_token_is_refused(guarded: Server, notebooks: dict[str, bytes]) -> None:
    engine = db.connect(guarded.course.db_url)
    try:
        token = tokens.mint(engine, "erin")
        assert guarded.request("GET", SUBMIT, token=token).status == 200
        assert tokens.revoke(engine, "erin") == 1
    finally:
        engine.dispose()
    assert guarded.request("GET", SUBMIT, token=token).status == 401


def test_another_students_submission_is_404_and_its_feedback_too(guarded: Server, notebooks: dict[str, bytes]) -> None:
    sid = guarded.submit("alice", notebooks["stub"]).body["id"]
    guarded.wait_graded(sid, guarded.tokens["alice"])
    for path in (f"/api/v1/submissions/{sid}", f"/api/v1/submissions/{sid}/feedback"):
        reply = guarded.request("GET", path, token=guarded.tokens["bob"])
        assert reply.status == 404
        assert reply.body == {"error": "no such submission of yours."}
    assert guarded.request("GET", "/api/v1/submissions/../../etc/passwd", token=guarded.tokens["bob"]).status == 404
    listed = guarded.request("GET", f"{SUBMIT}?student=alice", token=guarded.tokens["bob"]).body
    assert all(s["student"] == "bob" for s in listed)


def test_instructor_routes_refuse_a_student_with_403(guarded: Server) -> None:
    sid = guarded.rows()[0]["id"] if guarded.rows() else "x"
    for method, path in (
        ("GET", f"/api/v1/assignments/{ASSIGNMENT}/dashboard"),
        ("GET", f"/api/v1/assignments/{ASSIGNMENT}/gradebook.csv"),
        ("GET", f"/api/v1/assignments/{ASSIGNMENT}/canvas.csv"),
        ("POST", f"/api/v1/submissions/{sid}/regrade"),
        ("POST", f"/api/v1/assignments/{ASSIGNMENT}/regrade"),
    ):
        reply = guarded.request(method, path, token=guarded.tokens["alice"])
        assert reply.status == 403, path
        assert reply.body["error"] == "this is for instructors: sign in with an instructor token."


@pytest.mark.parametrize(
    "assignment",
    ["ps9-nothing", "..", "%2e%2e", "ps4-softmax%2f..%2f..", "..%2f..%2fetc", "ps4-softmax%00", "PS4-SOFTMAX"],
)
def test_path_tricks_in_the_assignment_are_404_and_write_nothing(
    guarded: Server, notebooks: dict[str, bytes], assignment: str
) -> None:
    before = _state(guarded)
    reply = guarded.request(
        "POST",
        f"/api/v1/assignments/{assignment}/submissions",
        token=guarded.tokens["carol"],
        body=notebooks["solution"],
        headers={"Content-Type": "application/x-ipynb+json"},
    )
    assert reply.status == 404
    assert "error" in reply.body
    _nothing_written(guarded, before)
    assert not (guarded.course.root.parent / "etc").exists()


def test_a_200_mb_upload_is_refused_from_its_length_without_being_read(guarded: Server) -> None:
    before = _state(guarded)
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {guarded.tokens['carol']}\r\n"
                f"Content-Type: application/x-ipynb+json\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n"
            ).encode()
            + b"{" * 65536
        )
        start = time.monotonic()
        reply = _read_reply(sock)
        took = time.monotonic() - start
    assert reply.startswith("HTTP/1.1 413")
    assert "over the 1 MB limit; clear the notebook's outputs and submit again." in reply
    assert took < 5  # answered after 64 kB of the 200 MB, not after reading them
    _nothing_written(guarded, before)


def test_a_chunked_upload_is_cut_off_at_the_limit(guarded: Server) -> None:
    before = _state(guarded)
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=10) as sock:
        sock.sendall(
            (
                f"POST {SUBMIT} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {guarded.tokens['carol']}\r\n"
                "Content-Type: application/x-ipynb+json\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < 8 * 1024 * 1024:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except OSError:
            pass  # the server answered and closed: the rest was never read
        reply = _read_reply(sock)
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert "over the 1 MB limit" in reply
    _nothing_written(guarded, before)


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("ps4-softmax.ipynb", b"\0" * (200 * 1024 * 1024))
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"cells": [', {}, "the uploaded notebook is not a valid notebook (JSON error, line 1)."),
        (b"[" * 600000 + b"]" * 600000, {}, "413"),
        (b"[" * 100000, {}, "the uploaded notebook is not a valid notebook (JSON error"),
        (b'{"hello": "world"}', {}, "the uploaded notebook is JSON but not a Jupyter notebook (no cells)."),
        (b"\xff\xfe\x00binary", {}, "the uploaded notebook is not a valid notebook"),
        (b"", {}, "the uploaded notebook is empty."),
        ("zip", {}, "the uploaded notebook is not a valid notebook"),
        ("gzip", {"Content-Encoding": "gzip"}, "compressed uploads (Content-Encoding: gzip) are not accepted"),
        (b'{"cells": []}', {"Content-Type": "text/plain"}, "send the notebook as application/x-ipynb+json"),
    ],
    ids=["truncated", "too-deep-and-large", "deep", "not-a-notebook", "binary", "empty", "zip-bomb", "gzip-bomb", "wrong-type"],
)
def test_malformed_and_compressed_uploads_are_refused_and_write_nothing(
    guarded: Server, body: bytes | str, headers: dict[str, str], message: str
) -> None:
    if body == "zip":
        body = _zip_bomb()
    elif body == "gzip":
        body = gzip.compress(b"\0" * (100 * 1024 * 1024))
    assert isinstance(body, bytes)
    before = _state(guarded)
    reply = guarded.request(
        "POST",
        SUBMIT,
        token=guarded.tokens["dave"],
        body=body,
        headers={"Content-Type": "application/x-ipynb+json", **headers},
    )
    if message == "413":
        assert reply.status == 413
    else:
        assert reply.status == 422, reply.body
        assert message in reply.body["error"]
    _nothing_written(guarded, before)


def test_a_multipart_form_without_a_notebook_field_is_422(guarded: Server, notebooks: dict[str, bytes]) -> None:
    before = _state(guarded)
    body = (
        b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.ipynb\"\r\n\r\n"
        + notebooks["solution"]
        + b"\r\n--b--\r\n"
    )
    reply = guarded.request(
        "POST", SUBMIT, token=guarded.tokens["dave"], body=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert reply.status == 422
    assert reply.body["error"] == "the form has no 'notebook' file field; attach the .ipynb file as 'notebook'."
    _nothing_written(guarded, before)
