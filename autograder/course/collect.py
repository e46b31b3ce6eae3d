"""Import a folder or an LMS zip download of notebooks into submitted/ (like nbgrader's zip_collect).

Where the student id comes from, per notebook (the first rule that applies):
- Moodle: `Full Name_12345_assignsubmission_file_<anything>.ipynb`, or that prefix on the
  notebook's folder: the mapping's entry for `12345` or the name, else the name;
- Canvas: `lastnamefirstname_12345_67890_<anything>.ipynb` (with `_late_` after the name when
  Canvas marks it late): the mapping's entry for `12345` or the name, else the name;
- a notebook named like the assignment (`ps4-softmax.ipynb`, `ps4-softmax-1.ipynb`): its folder
  (`<student>/ps4-softmax.ipynb`, `<student>/ps4-softmax/ps4-softmax.ipynb`);
- any other notebook: its file name (`<student>.ipynb`).
Ids are folded to `[a-z0-9_.-]`. When a mapping is given, a notebook whose student is not in it
is skipped, so that a typo never makes a new student. One student with several notebooks keeps
the newest (zip entry date, or file mtime) and the others are reported; a notebook newer than
the deadline (or marked late by Canvas) is imported and reported late. Zip entries with an
absolute path or `..`, links and anything not `.ipynb` are skipped with a reason, and a zip
whose notebooks unpack to more than `max_total_bytes` is refused as a whole.
"""

from __future__ import annotations

import csv
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from autograder.course.layout import Course
from autograder.errors import UsageError

MAX_TOTAL_BYTES = 1 << 30
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format

_MOODLE = re.compile(r"^(?P<name>.+?)_(?P<lms_id>\d+)_assignsubmission_[a-z]+(?:_(?P<rest>.*))?$", re.I)
_CANVAS = re.compile(r"^(?P<name>[^_]+)_(?:(?P<late>late)_)?(?P<lms_id>\d+)_\d+_(?P<rest>.+)$", re.I)
_SYSTEM = ("__MACOSX", ".ipynb_checkpoints", ".DS_Store")


@dataclass(frozen=True)
class CollectSummary:
    """What a collect did (or, with dry_run, would do); paths are the notebooks' names in the source."""

    assignment_id: str
    imported: tuple[tuple[str, Path], ...]  # (student_id, notebook written in submitted/)
    duplicates: tuple[tuple[str, str, str], ...]  # (student_id, kept, dropped)
    late: tuple[tuple[str, datetime], ...]  # (student_id, the imported notebook's time)
    skipped: tuple[tuple[str, str], ...]  # (name, why)


@dataclass(frozen=True)
class _Entry:
    """One file in the source: its name there, time, size, where to read it, why it is skipped."""

    name: str
    timestamp: datetime
    size: int
    ref: zipfile.ZipInfo | Path
    problem: str | None = None


@dataclass(frozen=True)
class _Found:
    """One notebook to import, before duplicates are settled."""

    entry: _Entry
    student_id: str
    marked_late: bool
    order: int


def sanitise_id(raw: str) -> str:
    """A student id folded to lower-case `[a-z0-9_.-]` ('José García' -> 'jose_garcia')."""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\s+", "_", text.strip())
    text = re.sub(r"[^a-z0-9_.-]+", "", text)
    text = re.sub(r"_+", "_", text).strip("._-")
    return text


def load_mapping(path: Path) -> dict[str, str]:
    """LMS keys -> student ids from a CSV with a header and a `student_id` column.

    Every other column (an LMS user id, a name, an e-mail) is a key for that row's student.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror}).") from None
    if not rows or "student_id" not in rows[0]:
        raise UsageError(
            f"{path}: needs a header row with a 'student_id' column (and columns such as "
            "'lms_id' or 'name' that the LMS puts in file names)."
        )
    mapping: dict[str, str] = {}
    for row in rows:
        student = (row.get("student_id") or "").strip()
        if not student:
            continue
        for column, value in row.items():
            if column != "student_id" and value and value.strip():
                mapping[value.strip()] = student
                mapping[value.strip().lower()] = student
        mapping[student] = student
    return mapping


def _stem_is_assignment(stem: str, assignment_id: str) -> bool:
    """`ps4-softmax`, `ps4-softmax-1`, `ps4-softmax (2)`: the assignment's own notebook name."""
    return re.fullmatch(re.escape(assignment_id) + r"(?:[-_ ]?\(?\d+\)?)?", stem, re.I) is not None


def student_key(name: str, assignment_id: str) -> tuple[list[str], bool] | None:
    """Candidate keys (LMS id first, then the name) for the notebook `name`, and Canvas's late mark."""
    parts = PurePosixPath(name).parts
    stem = PurePosixPath(parts[-1]).stem
    for part in (stem, *reversed(parts[:-1])):
        moodle = _MOODLE.match(part)
        if moodle:
            return [moodle["lms_id"], moodle["name"]], False
    canvas = _CANVAS.match(stem)
    if canvas:
        return [canvas["lms_id"], canvas["name"]], bool(canvas["late"])
    if _stem_is_assignment(stem, assignment_id):
        folders = [p for p in parts[:-1] if p != assignment_id]
        return ([folders[-1]], False) if folders else None
    return [stem], False


def _resolve(keys: list[str], mapping: dict[str, str] | None) -> str | None:
    if mapping is None:
        return sanitise_id(keys[-1])
    for key in keys:
        for variant in (key, key.strip().lower(), sanitise_id(key)):
            if variant in mapping:
                return sanitise_id(mapping[variant])
    return None


def _entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip entry is not imported (None: it is a notebook to import)."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in path.parts:
        return "unsafe path in the zip (absolute, or with '..'): refused"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link: refused"
    return _name_problem(name)


def _name_problem(name: str) -> str | None:
    parts = PurePosixPath(name).parts
    if any(p in _SYSTEM or p.startswith("._") for p in parts):
        return "system file (macOS or Jupyter metadata)"
    if not name.lower().endswith(".ipynb"):
        return "not a notebook (.ipynb)"
    return None


def _zip_time(info: zipfile.ZipInfo) -> datetime:
    # DOS times carry no zone: LMS servers write local time, so read them as local time.
    try:
        return datetime(*info.date_time).astimezone()
    except ValueError:  # a zeroed DOS date (month 0): older than anything real
        return datetime(1980, 1, 1).astimezone()


def _walk_folder(source: Path) -> Iterator[_Entry]:
    for path in sorted(source.rglob("*")):
        name = path.relative_to(source).as_posix()
        if path.is_symlink():
            yield _Entry(name, datetime.now(UTC), 0, path, "a symbolic link: refused")
        elif path.is_file():
            st = path.stat()
            when = datetime.fromtimestamp(st.st_mtime, UTC)
            yield _Entry(name, when, st.st_size, path, _name_problem(name))


def _walk_zip(archive: zipfile.ZipFile) -> Iterator[_Entry]:
    for info in archive.infolist():
        if not info.is_dir():
            yield _Entry(info.filename, _zip_time(info), info.file_size, info, _entry_problem(info))


def _read(source: Path, archive: zipfile.ZipFile | None, entry: _Entry) -> bytes:
    if isinstance(entry.ref, Path):
        return entry.ref.read_bytes()
    assert archive is not None
    try:
        # ZipExtFile yields no more than the entry's declared size, and checks its CRC.
        with archive.open(entry.ref) as f:
            data = f.read(entry.size + 1)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UsageError(
            f"{source}: {entry.name} cannot be unpacked ({exc}); download the zip again."
        ) from None
    if len(data) > entry.size:
        raise UsageError(f"{source}: {entry.name} unpacks to more than its zip entry says; refused.")
    return data


def _write(dest: Path, data: bytes, timestamp: datetime) -> None:
    """The notebook and nbgrader's timestamp.txt, each replaced in one step."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    stamp = timestamp.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    for path, content in ((dest, data), (dest.parent / "timestamp.txt", stamp.encode())):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".collect-")
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)


def collect(
    course: Course,
    source: Path,
    assignment_id: str,
    *,
    mapping: dict[str, str] | None = None,
    deadline: datetime | None = None,
    dry_run: bool = False,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> CollectSummary:
    """Import the notebooks in the folder or zip `source` as submissions of `assignment_id`.

    A naive `deadline` is local time. Existing submissions of the same students are replaced.
    """
    course.assignment(assignment_id)  # an unknown assignment is a usage error, before any work
    archive: zipfile.ZipFile | None = None
    if source.is_dir():
        entries = list(_walk_folder(source))
    elif source.is_file():
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise UsageError(
                f"{source} is neither a folder nor a readable zip file ({exc}); "
                "download the submissions again or unpack them into a folder."
            ) from None
        entries = list(_walk_zip(archive))
    else:
        raise UsageError(f"{source}: no such folder or zip file.")
    try:
        return _collect(
            course, source, archive, entries, assignment_id, mapping, deadline, dry_run, max_total_bytes
        )
    finally:
        if archive is not None:
            archive.close()


def _collect(
    course: Course,
    source: Path,
    archive: zipfile.ZipFile | None,
    entries: list[_Entry],
    assignment_id: str,
    mapping: dict[str, str] | None,
    deadline: datetime | None,
    dry_run: bool,
    max_total_bytes: int,
) -> CollectSummary:
    skipped: list[tuple[str, str]] = []
    found: list[_Found] = []
    for order, entry in enumerate(entries):
        name = entry.name
        if entry.problem is not None:
            skipped.append((name, entry.problem))
            continue
        key = student_key(name, assignment_id)
        if key is None:
            skipped.append((name, "no student id in the name (named like the assignment, in no folder)"))
            continue
        keys, marked_late = key
        student = _resolve(keys, mapping)
        if student is None:
            skipped.append((name, f"{keys[0]!r} is not in the student mapping"))
            continue
        if not student or student in (".", ".."):
            skipped.append((name, "no usable student id in the name"))
            continue
        found.append(_Found(entry, student, marked_late, order))

    total = sum(f.entry.size for f in found)
    if archive is not None and total > max_total_bytes:
        raise UsageError(
            f"{source} unpacks to {total / 2**20:.1f} MB of notebooks, over the "
            f"{max_total_bytes / 2**20:.1f} MB limit; this is not a plain LMS download "
            "(a zip bomb?). Check the file, or unpack it yourself and collect the folder."
        )

    by_student: dict[str, list[_Found]] = {}
    for f in found:
        by_student.setdefault(f.student_id, []).append(f)
    imported: list[tuple[str, Path]] = []
    duplicates: list[tuple[str, str, str]] = []
    late: list[tuple[str, datetime]] = []
    limit = deadline.astimezone() if deadline is not None else None
    read_bytes = 0
    for student in sorted(by_student):
        candidates = sorted(by_student[student], key=lambda f: (f.entry.timestamp, f.order))
        keep = candidates[-1]
        entry = keep.entry
        duplicates += [(student, entry.name, other.entry.name) for other in candidates[:-1]]
        if keep.marked_late or (limit is not None and entry.timestamp > limit):
            late.append((student, entry.timestamp))
        dest = course.submitted_dir / student / assignment_id / f"{assignment_id}.ipynb"
        if not dry_run:
            data = _read(source, archive, entry)
            read_bytes += len(data)
            if read_bytes > max_total_bytes:
                raise UsageError(f"{source}: unpacks to more than its zip entries say; refused.")
            _write(dest, data, entry.timestamp)
        imported.append((student, dest))
    return CollectSummary(
        assignment_id=assignment_id,
        imported=tuple(imported),
        duplicates=tuple(duplicates),
        late=tuple(late),
        skipped=tuple(skipped),
    )
