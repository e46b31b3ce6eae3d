"""Reading an upload: size first, then the body within the limit, then the notebook's structure.

Nothing is written until all of it passes: a refusal leaves no file and no row. A body over
the limit is refused from its `Content-Length` before any of it is read, or (sent chunked) as
soon as the limit is passed. Compressed bodies are refused, not inflated: a zip bomb costs
nothing. A multipart form is parsed from the bytes already read, so the limit holds for it too.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from autograder.course.notebook import NotebookError, read_cells

NOTEBOOK_TYPES = ("application/x-ipynb+json", "application/json")


@dataclass(frozen=True)
class Upload:
    """A notebook that passed intake: its bytes and their SHA-256."""

    data: bytes
    sha256: str


class IntakeError(Exception):
    """An upload refused: the HTTP status and a message that says what to fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} kB"


async def _limited(stream: AsyncIterator[bytes], limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise IntakeError(
                413,
                f"the upload is over the {_mb(limit)} limit; clear the notebook's outputs and submit again.",
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def read_upload(request: Request, *, max_bytes: int) -> Upload:
    """The notebook in `request`'s body (raw JSON, or a multipart form's `notebook` field)."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise IntakeError(
            422,
            f"compressed uploads (Content-Encoding: {encoding[:20]}) are not accepted; "
            "send the .ipynb file as it is.",
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise IntakeError(422, "the Content-Length header is not a number.") from None
        # A multipart envelope adds a little around the file.
        if length > max_bytes + 16384:
            raise IntakeError(
                413,
                f"the upload is {_mb(length)}, over the {_mb(max_bytes)} limit; "
                "clear the notebook's outputs and submit again.",
            )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await _limited(request.stream(), max_bytes + 16384)
    if kind == "multipart/form-data":
        data = await _form_file(request, body, max_bytes)
    elif kind in NOTEBOOK_TYPES:
        data = body
    else:
        raise IntakeError(
            422,
            "send the notebook as application/x-ipynb+json, or as a multipart form with a "
            f"'notebook' file field (not {kind[:60] or 'no Content-Type'}).",
        )
    if len(data) > max_bytes:
        raise IntakeError(
            413,
            f"the notebook is {_mb(len(data))}, over the {_mb(max_bytes)} limit; "
            "clear its outputs and submit again.",
        )
    try:
        read_cells(data, name="the uploaded notebook")
    except NotebookError as exc:
        raise IntakeError(422, str(exc)) from None
    return Upload(data, hashlib.sha256(data).hexdigest())


async def _form_file(request: Request, body: bytes, max_bytes: int) -> bytes:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    form_request = Request(request.scope, replay)
    try:
        form = await form_request.form(max_files=1, max_fields=8, max_part_size=max_bytes + 1)
    except Exception as exc:  # python-multipart raises several kinds for a broken form
        raise IntakeError(
            422,
            f"the form could not be read ({type(exc).__name__}); send the notebook as its 'notebook' field.",
        ) from None
    try:
        field = form.get("notebook")
        if not isinstance(field, UploadFile):
            raise IntakeError(
                422, "the form has no 'notebook' file field; attach the .ipynb file as 'notebook'."
            )
        return await field.read(max_bytes + 1)
    finally:
        await form.close()
