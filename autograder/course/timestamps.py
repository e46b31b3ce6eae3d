"""Submission times as nbgrader keeps them: `timestamp.txt` next to each submitted notebook.

nbgrader's exchange (`nbgrader submit`, then `collect`), `autograder collect` (from an LMS
zip's entry dates or a folder's file times) and `nbgrader zip_collect` all leave one there.
It is read exactly as nbgrader's `utils.parse_utc` reads it, into a naive UTC datetime: the
value nbgrader stores as `submitted_assignment.timestamp`, and compares with that file to
decide whether a submission was autograded since it was last submitted.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import dateutil.parser
import dateutil.tz

log = logging.getLogger(__name__)

FILE_NAME = "timestamp.txt"
FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format


def parse_utc(text: str) -> datetime:
    """A timestamp as naive UTC, as `nbgrader.utils.parse_utc` parses it.

    `2026-12-01 10:00:00.000000 UTC` (nbgrader's format: a zone name or a numeric offset
    last), or any ISO form; a time without a zone is taken as UTC. Raises ValueError.
    """
    parts = text.split(" ")
    if len(parts) == 3:
        zone: int | tzinfo | None
        try:
            zone = int(parts[2])
        except ValueError:
            zone = dateutil.tz.gettz(parts[2])
        when = dateutil.parser.parse(" ".join([*parts[:2], "TZ"]), tzinfos={"TZ": zone})
    else:
        when = dateutil.parser.parse(text)
    if when.tzinfo is not None:
        offset = when.utcoffset()
        when = (when - offset if offset is not None else when).replace(tzinfo=None)
    return when


def read_timestamp(folder: Path) -> datetime | None:
    """The submission time in `folder`/timestamp.txt; None when there is none or it is unreadable."""
    path = folder / FILE_NAME
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s cannot be read (%s); the submission has no time", path, exc)
        return None
    try:
        return parse_utc(text)
    except (ValueError, OverflowError):
        log.warning("%s holds %r, not a time; the submission has no time", path, text[:60])
        return None


def format_timestamp(when: datetime) -> str:
    """`when` as nbgrader writes timestamp.txt (a naive time is UTC)."""
    aware = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return aware.strftime(FORMAT)
