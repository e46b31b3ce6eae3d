"""scores.csv is written without pandas, byte for byte what pandas would write."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.models import SCORE_COLUMNS
from autograder.store.scores import write_scores_csv
from autograder.views.tables import scores_frame

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
rows = st.lists(
    st.fixed_dictionaries(
        {
            "student": text,
            "assignment": st.just("ps4-softmax"),
            "item": text,
            "score": st.floats(0, 10, allow_nan=False),
            "max_score": st.floats(0, 10, allow_nan=False),
            "status": st.sampled_from(["passed", "partial", "failed", "error", "missing", "timeout"]),
            "diagnosis": text,
            "message": text,
            "position": st.integers(0, 20),
            "duration_s": st.floats(0, 5),
            "failing_input": text,
        }
    ),
    max_size=8,
)


class Store:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def item_rows(self, assignment_id: str) -> list[dict[str, Any]]:
        return self.rows


@settings(max_examples=60, deadline=None)
@given(rows)
def test_scores_csv_is_what_pandas_writes(tmp_path_factory, items):
    root = tmp_path_factory.mktemp("course")
    course = SimpleNamespace(reports_dir=Path(root))
    store = Store(items)
    written = write_scores_csv(course, store, "ps4-softmax").read_bytes()  # type: ignore[arg-type]
    frame = scores_frame(store, "ps4-softmax")[list(SCORE_COLUMNS)].copy()  # type: ignore[arg-type]
    frame["message"] = frame["message"].str.replace(r"[\r\n]+", " ", regex=True)
    assert written == frame.to_csv(index=False).encode("utf-8")
    assert written.split(b"\n", 1)[0] == ",".join(SCORE_COLUMNS).encode()
