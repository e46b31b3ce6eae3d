"""The files an instructor reads, written from `views.tables`: CSV tables, one self-contained
`report.html` a graded assignment, `reports/gradebook.csv` across assignments
(`write_course_report`) and the CSV Canvas imports as a gradebook column (`write_canvas_csv`).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autograder.course.layout import Course
from autograder.models import SCORE_COLUMNS
from autograder.store.gradebook import GradeStore
from autograder.store.scores import write_scores_csv
from autograder.views.tables import Tables, slowest_students, tables


def _figure_png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _plots(t: Tables) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    out = []
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.hist(t.gradebook["percent"], bins=list(np.linspace(0, 100, 21)), color="#4c72b0", edgecolor="white")
    ax.set(xlabel="score (%)", ylabel="students", title="Score distribution")
    out.append(("Score distribution", _figure_png(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 0.35 * len(t.items) + 1))
    ax.barh(t.items["item"], t.items["pass_rate"] * 100, color="#55a868")
    ax.invert_yaxis()
    ax.set(xlabel="pass rate (%)", xlim=(0, 100), title="Pass rate per item")
    out.append(("Pass rate per item", _figure_png(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(t.items["difficulty"], t.items["discrimination"], color="#c44e52")
    for _, row in t.items.iterrows():
        ax.annotate(row["item"], (row["difficulty"], row["discrimination"]), fontsize=7)
    ax.set(
        xlabel="difficulty (1 - mean share)",
        ylabel="discrimination (item-rest r)",
        title="Item difficulty against discrimination",
    )
    out.append(("Difficulty and discrimination", _figure_png(fig)))
    plt.close(fig)

    named = _named_misconceptions(t.misconceptions)
    if not named.empty:
        top = named.head(15)
        fig, ax = plt.subplots(figsize=(6, 0.35 * len(top) + 1))
        ax.barh(top["diagnosis"], top["count"], color="#8172b2")
        ax.invert_yaxis()
        ax.set(xlabel="items diagnosed", title="Misconceptions")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.2 of a student
        out.append(("Misconceptions (named ones only; see the table for the rest)", _figure_png(fig)))
        plt.close(fig)
    return out


def _named_misconceptions(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the misconceptions table that name a misconception: not `other`, `error`,
    `timeout` or `missing`, which say only that no known mistake explains a failure."""
    if table.empty:
        return table
    return table[~table["diagnosis"].isin(_GENERIC)]


#: Diagnoses that name no misconception (spec/interfaces.md).
_GENERIC = ("other", "error", "timeout", "missing")

#: What the report's terms mean, shown where they appear (header tooltips and the notes).
TERMS = {
    "pass_rate": "share of students who scored full points on the item",
    "error_rate": "share of students whose code raised or ran out of time on the item",
    "difficulty": "1 minus the mean share of the item's points: 0 everyone scored full, 1 nobody scored",
    "discrimination": (
        "item-rest r: the correlation between a student's score on this item and their score "
        "on all the other items. Near 0 or negative: the item does not separate students who "
        "did well overall from those who did not (check its wording or tests); above 0.3 is good"
    ),
    "top_diagnoses": "the diagnoses most often given on the item, with how many students got each",
    "mean_time_s": "mean seconds the student code took on the item",
    "count": "how many (student, item) pairs got this diagnosis",
}


_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var rows = Array.from(body.rows), asc = th.dataset.asc !== '1';
    rows.sort(function (a, b) {
      var x = a.cells[col].innerText, y = b.cells[col].innerText;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    th.dataset.asc = asc ? '1' : '0';
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def _table_html(frame: pd.DataFrame, table_id: str) -> str:
    """A sortable table in a box that scrolls sideways when it is wider than the page."""
    text = str(
        frame.to_html(
            index=False,
            classes="sortable",
            table_id=table_id,
            na_rep="",
            border=0,
            float_format=lambda x: f"{x:.3g}",
        )
    )
    for column, meaning in TERMS.items():
        text = text.replace(f"<th>{column}</th>", f'<th title="{html.escape(meaning)}">{column}</th>')
    return f'<div class="scroll">{text}</div>'


def _terms_html(columns: list[str]) -> str:
    """A short glossary of the terms among `columns`."""
    rows = "".join(
        f"<dt>{html.escape(c)}</dt><dd>{html.escape(TERMS[c])}.</dd>" for c in columns if c in TERMS
    )
    return f'<dl class="terms">{rows}</dl>' if rows else ""


def _generic_note(table: pd.DataFrame) -> str:
    """What the misconceptions chart leaves out, with counts."""
    if table.empty:
        return ""
    left = table[table["diagnosis"].isin(_GENERIC)]
    if left.empty:
        return ""
    parts = ", ".join(f"{d} {int(n)}" for d, n in zip(left["diagnosis"], left["count"], strict=True))
    return (
        f"<p class='note'>The chart shows named misconceptions only. Not shown there: {parts} "
        "(<code>other</code>: a wrong answer, or a wrong quiz answer, that no known misconception "
        "explains; <code>error</code> and <code>timeout</code>: the code raised or ran too long; "
        "<code>missing</code>: not written or not answered).</p>"
    )


def write_report(course: Course, assignment_id: str, *, store: GradeStore | None = None) -> Path:
    """Write gradebook.csv, items.csv, misconceptions.csv and report.html; return the HTML's path.

    Pass an open `store` to share it (the course report writes every assignment's). scores.csv
    is written again too, so that manual grades given since `grade` show there as well.
    """
    if store is not None:
        t = tables(store, assignment_id)
        write_scores_csv(course, store, assignment_id)
    else:
        own = GradeStore(course)
        try:
            t = tables(own, assignment_id)
            write_scores_csv(course, own, assignment_id)
        finally:
            own.close()
    out = course.reports_dir / assignment_id
    out.mkdir(parents=True, exist_ok=True)
    t.gradebook.to_csv(out / "gradebook.csv", index=False)
    t.items.to_csv(out / "items.csv", index=False)
    t.misconceptions.to_csv(out / "misconceptions.csv", index=False)
    if t.gradebook.empty:
        body = "<p>No graded submissions yet: run <code>autograder grade</code> first.</p>"
    else:
        figures = "".join(
            f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{png}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>"
            for title, png in _plots(t)
        )
        slow = t.items.sort_values("mean_time_s", ascending=False).head(5)[
            ["item", "mean_time_s", "error_rate"]
        ]
        slowest = slowest_students(t.runs)
        body = (
            f"<p>{len(t.gradebook)} students, mean {t.gradebook['percent'].mean():.1f} %, "
            f"median {t.gradebook['percent'].median():.1f} %.</p>"
            f"<h2>Slowest students</h2>{_table_html(slowest, 'slowest')}"
            f"{_attention_html(t)}"
            f'<div class="figs">{figures}</div>'
            f"<h2>Items</h2>{_table_html(t.items, 'items')}{_terms_html(list(t.items.columns))}"
            f"<h2>Misconceptions</h2>{_generic_note(t.misconceptions)}"
            f"{_table_html(t.misconceptions, 'misconceptions')}"
            f"<h2>Slowest and most-erroring items</h2>{_table_html(slow, 'slow')}"
            f"<h2>Students</h2>{_table_html(t.gradebook, 'students')}"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(assignment_id)} report</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
        # A wide table scrolls inside its box; shadows at its edges show there is more to see.
        ".scroll{max-width:100%;overflow-x:auto;margin-bottom:1.5em;background:"
        "linear-gradient(to right,#fff 30%,#fff0) left/40px 100% no-repeat local,"
        "linear-gradient(to left,#fff 30%,#fff0) right/40px 100% no-repeat local,"
        "radial-gradient(farthest-side at 0 50%,#0003,#0000) left/12px 100% no-repeat scroll,"
        "radial-gradient(farthest-side at 100% 50%,#0003,#0000) right/12px 100% no-repeat scroll}"
        ".scroll td:first-child,.scroll th:first-child{position:sticky;left:0;background:#fff}"
        ".scroll th:first-child{background:#f4f4f4}"
        "table{border-collapse:collapse;font-size:13px}img{max-width:100%;height:auto}"
        ".terms{font-size:13px;color:#333}.terms dt{font-weight:600}.terms dd{margin:0 0 .4em 1.5em}"
        ".note{font-size:13px;color:#555}"
        "th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}"
        "th{cursor:pointer;background:#f4f4f4}.figs{display:flex;flex-wrap:wrap;gap:1em}"
        "figure{margin:0}figcaption{font-size:12px;color:#555}"
        f"</style></head><body><h1>{html.escape(assignment_id)}: grading report</h1>{body}"
        f"<script>{_SORT_JS}</script></body></html>"
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _attention_html(t: Tables) -> str:
    """Late submissions and items waiting for a grader, each as a short table (nothing if none)."""
    parts = []
    late = t.gradebook[t.gradebook["late"].astype(bool)]
    if not late.empty:
        cols = ["student", "submitted_at", "days_late", "raw_total", "late_penalty", "total"]
        parts.append(f"<h2>Late submissions ({len(late)})</h2>{_table_html(late[cols], 'late')}")
    review = t.scores[t.scores["needs_manual_grade"].astype(bool)]
    if not review.empty:
        cols = ["student", "item", "auto_score", "manual_score", "score", "max_score", "status"]
        parts.append(
            f"<h2>Needs manual review ({len(review)})</h2>"
            "<p>nbgrader marks these for a grader (formgrader): scores may change.</p>"
            f"{_table_html(review[cols], 'review')}"
        )
    return "".join(parts)


def write_canvas_csv(course: Course, assignment_id: str, *, title: str | None = None) -> Path:
    """reports/<a>/canvas.csv: Canvas's gradebook import, matched on SIS Login ID = student id.

    The score is nbgrader's total less the late penalty; two more columns say how late and
    what that cost (Canvas offers to import them as columns of their own, or to skip them).
    """
    store = GradeStore(course)
    try:
        gradebook = tables(store, assignment_id).gradebook
    finally:
        store.close()
    column = title or assignment_id
    frame = pd.DataFrame(
        {
            "Student": gradebook["student"] if not gradebook.empty else [],
            "ID": "",
            "SIS User ID": "",
            "SIS Login ID": gradebook["student"] if not gradebook.empty else [],
            "Section": "",
            column: gradebook["total"] if not gradebook.empty else [],
            f"{column} days late": gradebook["days_late"] if not gradebook.empty else [],
            f"{column} late penalty": gradebook["late_penalty"] if not gradebook.empty else [],
        }
    )
    out = course.reports_dir / assignment_id / "canvas.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    return out


def write_course_report(course: Course) -> tuple[Path, list[Path]]:
    """Every graded assignment's report, and reports/gradebook.csv: a row a student, a column
    an assignment (its total), then the course total and percent."""
    store = GradeStore(course)
    try:
        every = pd.DataFrame(store.item_rows(), columns=[*SCORE_COLUMNS, "position"])
        graded = sorted(set(every["assignment"]))
        pages = [write_report(course, a, store=store) for a in graded]  # penalties brought up to date
        penalties = {
            (a, student): sub.late_penalty
            for a in graded
            for student, sub in store.submissions(course.assignment(a)).items()
        }
    finally:
        store.close()
    out = course.reports_dir / "gradebook.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    if every.empty:
        pd.DataFrame(columns=["student", "total", "max_total", "percent"]).to_csv(out, index=False)
        return out, pages
    long = every.groupby(["assignment", "student"], as_index=False).agg(
        total=("score", "sum"), max_total=("max_score", "sum")
    )
    keys = zip(long["assignment"], long["student"], strict=True)
    long["total"] -= [penalties.get(key, 0.0) for key in keys]
    wide = long.pivot(index="student", columns="assignment", values="total").fillna(0.0)
    maxima = long.groupby("assignment")["max_total"].max()
    wide["total"] = wide[graded].sum(axis=1)
    wide["max_total"] = float(maxima.sum())
    wide["percent"] = (100 * wide["total"] / wide["max_total"]).round(1)
    wide.columns.name = None
    wide.reset_index().to_csv(out, index=False)
    return out, pages
