"""What a worker's scratch folder starts with: the submission's own files, and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

#: The most of a submission's folder (data files a student added) copied for its worker.
MAX_FOLDER_BYTES = 50 << 20


def copy_submission_files(folder: Path, scratch: Path, *, max_bytes: int = MAX_FOLDER_BYTES) -> None:
    """The plain files beside a notebook (data it reads, `selfcheck.json`) into `scratch`, in
    name order until `max_bytes`; links and folders are left behind, so a submission cannot
    point its worker at anything outside it."""
    total = 0
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.is_symlink() or not path.is_file():
            continue
        total += path.stat().st_size
        if total > max_bytes:
            break
        shutil.copyfile(path, scratch / path.name)
