"""The grading queue: one process that takes queued submissions from the database, grades them on
the same warm judges as `autograder grade` (`pool.LocalPool`), and records each result.

- Durable: the queue is `serve_submissions`; this process keeps nothing that is not there. At
  start, whatever a killed grader left `grading` is queued again.
- Fair: each student's oldest queued submission goes before anyone's second, so one student
  submitting twenty times holds up no one else; one submission of a student and assignment is
  graded at a time, in the order they were sent.
- Graded once: a notebook the same student already sent (same bytes, same suite) takes the
  earlier result without grading.
- Recorded: every result in the service's table; the submission that counts (the last, or the
  best) also in nbgrader's gradebook and the journal (`GradeStore.record_many`, as `grade`
  records), with its timestamp, and its notebook in `submitted/<student>/<a>/` as nbgrader keeps it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from autograder.course.layout import AssignmentSpec, Course, load_course
from autograder.errors import AutograderError
from autograder.models import CellResult, GradeResult, ItemResult
from autograder.pool import DaskPool, JudgeJob, LocalPool, TaskLost, dask_client
from autograder.sandbox.jail import Limits
from autograder.sandbox.lifetime import die_with_parent
from autograder.serve import db
from autograder.serve.rules import Rules, load_rules
from autograder.store.gradebook import GradeStore
from autograder.store.lock import grade_lock

log = logging.getLogger(__name__)

t = db.submissions_table
_nbgrader_submission = sa.table(
    "submitted_assignment",
    sa.column("id", sa.String),
    sa.column("assignment_id", sa.String),
    sa.column("student_id", sa.String),
    sa.column("timestamp", sa.DateTime),
)
_nbgrader_assignment = sa.table("assignment", sa.column("id", sa.String), sa.column("name", sa.String))


def result_to_json(result: GradeResult) -> str:
    return json.dumps(asdict(result))


def result_from_json(text: str) -> GradeResult:
    data: dict[str, Any] = json.loads(text)
    data["items"] = tuple(ItemResult(**i) for i in data["items"])
    data["cells"] = tuple(CellResult(**c) for c in data["cells"])
    return GradeResult(**data)


def fair_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queued rows (oldest first) in the order to grade them: round-robin over students."""
    rank: dict[str, int] = {}
    keyed = []
    for row in rows:
        n = rank.get(row["student"], 0)
        rank[row["student"]] = n + 1
        keyed.append((n, row["submitted_at"], row))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [row for _, _, row in keyed]


@dataclass
class _Pool:
    pool: LocalPool | DaskPool
    judges: int
    inflight: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)  # key -> (id, since)
    used_at: float = 0.0


class Grader:
    """The queue's consumer: call `step()` in a loop (`run` does)."""

    def __init__(
        self,
        course: Course,
        *,
        workers: int = 1,
        max_pools: int = 2,
        limits: Limits | None = None,
        scheduler: str | None = None,
    ) -> None:
        self.course = course
        self.engine = db.connect(course.db_url)
        self.workers = max(1, workers)
        self.max_pools = max(1, max_pools)
        self.scheduler = scheduler
        self.client: Any = None  # the Dask client, with a scheduler; connected when first needed
        self.cluster_problem = ""  # why the Dask cluster cannot grade now ("" when it can)
        self.next_connect = 0.0
        self.last_beat = 0.0
        self.limits = limits or Limits()
        self.specs: dict[str, AssignmentSpec] = {a: course.assignment(a) for a in course.assignment_ids()}
        self.rules: dict[str, Rules] = load_rules(course.root, list(self.specs))
        self.store = GradeStore(course)
        self.pools: dict[str, _Pool] = {}
        self.last_claim = 0.0

    # --- start and stop ---------------------------------------------------------------------

    def recover(self) -> int:
        """Queue again what a grader that stopped left half-graded."""
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(t).where(t.c.status == "grading").values(status="queued", started_at=None)
            )
        if done.rowcount:
            log.warning("queued again %d submissions a stopped grader had not finished", done.rowcount)
        return int(done.rowcount)

    def close(self) -> None:
        for p in self.pools.values():
            p.pool.close()
        self.pools = {}
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            db.beat(
                self.engine,
                pid=os.getpid(),
                mode=self._mode(),
                problem="the grading process stopped",
                now=0.0,
            )
        self.store.close()
        self.engine.dispose()

    # --- the loop ------------------------------------------------------------------------------

    def inflight(self) -> int:
        return sum(len(p.inflight) for p in self.pools.values())

    def _mode(self) -> str:
        return f"dask {self.scheduler}" if self.scheduler else "local"

    def heartbeat(self, *, every_s: float = 1.0) -> None:
        """Tell the web side (its /healthz) that grading is alive, and whether it can grade."""
        now = time.monotonic()
        if now - self.last_beat < every_s:
            return
        self.last_beat = now
        if self.scheduler:
            self._check_cluster()
        db.beat(
            self.engine, pid=os.getpid(), mode=self._mode(), problem=self.cluster_problem, now=time.time()
        )

    def _check_cluster(self) -> None:
        """Connect to the scheduler if not connected; notice when the connection is gone."""
        if self.client is not None and self.client.status == "connecting":
            self.cluster_problem = f"lost the Dask scheduler at {self.scheduler}; reconnecting."
            return
        if self.client is not None and self.client.status != "running":
            log.error("lost the Dask scheduler at %s (client %s)", self.scheduler, self.client.status)
            for assignment in [a for a, p in self.pools.items() if isinstance(p.pool, DaskPool)]:
                self._drop_dask_pool(assignment)
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None
            self.cluster_problem = f"lost the Dask scheduler at {self.scheduler}."
        if self.client is None:
            if time.monotonic() < self.next_connect:
                return
            assert self.scheduler is not None
            # Said before trying: a connection that takes its time must not read as a hung grader.
            self.cluster_problem = (
                self.cluster_problem or f"connecting to the Dask scheduler at {self.scheduler}."
            )
            db.beat(
                self.engine, pid=os.getpid(), mode=self._mode(), problem=self.cluster_problem, now=time.time()
            )
            try:
                self.client = dask_client(self.scheduler, timeout_s=3.0)
            except AutograderError as exc:
                self.cluster_problem = str(exc)
                self.next_connect = time.monotonic() + 5.0
                log.error("%s", exc)
                return
        workers = self.client.scheduler_info().get("workers", {})
        self.cluster_problem = "" if workers else f"the Dask scheduler at {self.scheduler} has no workers."

    def _drop_dask_pool(self, assignment: str) -> None:
        """The cluster went away: what was out is queued again, not failed (no fault of its own)."""
        p = self.pools.pop(assignment)
        assert isinstance(p.pool, DaskPool)
        p.pool.lost()
        self._requeue([sub_id for sub_id, _ in p.inflight.values()])

    def _requeue(self, ids: list[str]) -> None:
        if ids:
            with self.engine.begin() as conn:
                conn.execute(sa.update(t).where(t.c.id.in_(ids)).values(status="queued", started_at=None))
            log.warning("queued again %d submissions the Dask cluster dropped", len(ids))

    def capacity(self) -> int:
        """How many submissions may be out at once: the judges, or the cluster's threads."""
        if self.client is None:
            return self.workers
        threads = sum(w.get("nthreads", 1) for w in self.client.scheduler_info().get("workers", {}).values())
        return max(self.workers, int(threads))

    def step(self, *, wait_s: float = 0.05) -> bool:
        """Dispatch what fits, collect what is done; whether anything happened."""
        busy = False
        self.heartbeat()
        if self.scheduler and (self.client is None or self.cluster_problem):
            # No cluster to grade on: the queue waits (durable), /healthz says why.
            for assignment in list(self.pools):
                busy |= self._collect(assignment)
            if not busy:
                time.sleep(wait_s)
            return busy
        now = time.monotonic()
        if self.inflight() < self.capacity() and now - self.last_claim > 0.05:
            self.last_claim = now
            busy |= self._dispatch()
        for assignment in list(self.pools):
            busy |= self._collect(assignment)
        if not busy:
            time.sleep(wait_s)
        return busy

    def _dispatch(self) -> bool:
        with self.engine.connect() as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(
                        t.c.id,
                        t.c.student,
                        t.c.assignment,
                        t.c.submitted_at,
                        t.c.notebook_sha256,
                        t.c.path,
                        # Whether it has a result (a re-grade), not the result: this runs every
                        # few ms over the whole queue, and a result is kilobytes.
                        (t.c.result_json != "").label("has_result"),
                    )
                    .where(t.c.status == "queued")
                    .order_by(t.c.submitted_at)
                    .limit(2000)
                )
            ]
        if not rows:
            return False
        taken: set[tuple[str, str]] = {k for p in self.pools.values() for k in p.inflight}
        acted = False
        limit = self.capacity()
        for row in fair_order(rows):
            if self.inflight() >= limit:
                break
            key = (row["student"], row["assignment"])
            if key in taken:
                continue
            taken.add(key)
            acted = True
            spec = self.specs.get(row["assignment"])
            if spec is None:
                self._finish_error(row["id"], f"the course has no assignment {row['assignment']!r} any more.")
                continue
            if self._reuse(row, spec):
                continue
            pool = self._pool(row["assignment"])
            if pool is None:
                taken.discard(key)
                continue
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(t).where(t.c.id == row["id"]).values(status="grading", started_at=time.time())
                )
            pool.inflight[key] = (row["id"], time.monotonic())
            pool.used_at = time.monotonic()
            pool.pool.submit((row["student"], row["path"]))
        return acted

    def _reuse(self, row: dict[str, Any], spec: AssignmentSpec) -> bool:
        """An identical notebook already graded with this suite: its result, not a new grading.

        A submission with a result of its own is being re-graded: it is graded, not copied.
        """
        if row["has_result"]:
            return False
        with self.engine.connect() as conn:
            twin = conn.execute(
                sa.select(t.c.id, t.c.result_json)
                .where(
                    t.c.student == row["student"],
                    t.c.assignment == row["assignment"],
                    t.c.notebook_sha256 == row["notebook_sha256"],
                    t.c.suite_sha256 == spec.suite_sha256,
                    t.c.status.in_(("graded", "error")),
                    t.c.result_json != "",
                    t.c.id != row["id"],
                )
                .limit(1)
            ).first()
        if twin is None:
            return False
        self._finish(row["id"], result_from_json(twin.result_json), duplicate_of=twin.id)
        return True

    def _pool(self, assignment: str) -> _Pool | None:
        if assignment in self.pools:
            return self.pools[assignment]
        if len(self.pools) >= self.max_pools:
            idle = [a for a, p in self.pools.items() if not p.inflight]
            if not idle:
                return None
            oldest = min(idle, key=lambda a: self.pools[a].used_at)
            self.pools.pop(oldest).pool.close()
        judges = self.workers
        job = JudgeJob(str(self.course.root), assignment, "numpy", self.limits)
        if self.client is not None:
            log.info("grading %s on the Dask cluster at %s", assignment, self.scheduler)
            self.pools[assignment] = _Pool(DaskPool(job, self.client), judges, used_at=time.monotonic())
        else:
            log.info("starting %d judges for %s", judges, assignment)
            self.pools[assignment] = _Pool(
                LocalPool(job, judges, forked=True), judges, used_at=time.monotonic()
            )
        return self.pools[assignment]

    def _collect(self, assignment: str) -> bool:
        p = self.pools[assignment]
        if not p.inflight:
            return False
        try:
            result = p.pool.poll(0.0)
        except AutograderError as exc:
            self._drop_pool(
                assignment,
                f"the grader stopped while grading this notebook ({exc}); "
                "ask your instructor to re-grade it.",
            )
            return True
        if result is None:
            limit = self.specs[assignment].notebook_timeout_s * 3 + 60
            stuck = [k for k, (_, since) in p.inflight.items() if time.monotonic() - since > limit]
            if stuck:
                self._drop_pool(
                    assignment,
                    f"grading this notebook took over {limit:.0f} s and was stopped; "
                    "ask your instructor to re-grade it.",
                )
                return True
            return False
        key = (
            (result.pair[0], assignment)
            if isinstance(result, TaskLost)
            else (result.student_id, result.assignment_id)
        )
        entry = p.inflight.pop(key, None)
        if entry is None:
            log.error("a result for %s that this grader did not ask for", key)
            return True
        p.used_at = time.monotonic()
        if isinstance(result, TaskLost):
            log.error("submission %s: %s", entry[0], result.reason)
            if result.retry:
                self._requeue([entry[0]])
            else:
                self._finish_error(entry[0], f"{result.reason}; ask your instructor to re-grade it.")
            return True
        self._finish(entry[0], result)
        return True

    def _drop_pool(self, assignment: str, message: str) -> None:
        p = self.pools.pop(assignment)
        p.pool.close()
        for sub_id, _ in p.inflight.values():
            self._finish_error(sub_id, message)

    # --- recording -----------------------------------------------------------------------------

    def _finish_error(self, submission_id: str, message: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.id == submission_id)
                .values(status="error", message=message, graded_at=time.time(), score=0.0, result_json="")
            )

    def _finish(self, submission_id: str, result: GradeResult, *, duplicate_of: str | None = None) -> None:
        row = db.get_submission(self.engine, submission_id)
        if row is None:
            return
        started = row["started_at"] or time.time()
        status = "graded" if result.status == "graded" else "error"
        # The result first, the status last: whoever reads "graded" finds nbgrader's gradebook,
        # timestamp and submitted/ copy written already. A restart in between grades it again.
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t)
                .where(t.c.id == submission_id)
                .values(
                    score=result.score,
                    max_score=result.max_score,
                    message=result.message,
                    result_json=result_to_json(result),
                    suite_sha256=result.suite_sha256,
                    graded_at=time.time(),
                    duration_s=result.duration_s if duplicate_of is None else 0.0,
                    started_at=started,
                    duplicate_of=duplicate_of,
                )
            )
        self._count(row["student"], row["assignment"])
        with self.engine.begin() as conn:
            conn.execute(sa.update(t).where(t.c.id == submission_id).values(status=status))

    def _count(self, student: str, assignment: str) -> None:
        """Choose the submission that counts; record it in nbgrader's gradebook if it changed."""
        rules = self.rules[assignment]
        with self.engine.connect() as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(
                        t.c.id, t.c.submitted_at, t.c.score, t.c.counts, t.c.path
                    ).where(  # a re-graded submission keeps its result, and its place, meanwhile
                        t.c.student == student,
                        t.c.assignment == assignment,
                        t.c.result_json != "",
                    )
                )
            ]
        if not rows:
            return
        if rules.counts == "best":
            chosen = max(rows, key=lambda r: (r["score"] or 0.0, r["submitted_at"]))
        else:
            chosen = max(rows, key=lambda r: r["submitted_at"])
        with self.engine.connect() as conn:  # the chosen one's result alone, not every one's
            text = conn.execute(sa.select(t.c.result_json).where(t.c.id == chosen["id"])).scalar_one()
        result = result_from_json(text)
        spec = self.specs[assignment]
        self.store.record_many([result], spec)
        self._mark_submitted(student, assignment, chosen)
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(t).where(t.c.student == student, t.c.assignment == assignment).values(counts=False)
            )
            conn.execute(sa.update(t).where(t.c.id == chosen["id"]).values(counts=True))

    def _mark_submitted(self, student: str, assignment: str, chosen: dict[str, Any]) -> None:
        """nbgrader's view: the timestamp in its gradebook, the notebook in submitted/."""
        when = datetime.fromtimestamp(chosen["submitted_at"], UTC).replace(tzinfo=None)
        a = _nbgrader_assignment
        s = _nbgrader_submission
        with self.engine.begin() as conn:
            key = conn.execute(sa.select(a.c.id).where(a.c.name == assignment)).scalar()
            conn.execute(
                sa.update(s).where(s.c.assignment_id == key, s.c.student_id == student).values(timestamp=when)
            )
        folder = self.course.submitted_dir / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        source = Path(chosen["path"])
        if source.is_file():
            tmp = folder / f".{assignment}.ipynb.tmp"
            shutil.copyfile(source, tmp)
            os.replace(tmp, folder / f"{assignment}.ipynb")
        (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def run(root: Path, *, workers: int, max_pools: int = 2, scheduler: str | None = None) -> None:
    """The grader process: grade until SIGTERM or SIGINT, holding the course's grade lock."""
    course = load_course(root)
    stopping = False
    me = os.getpid()

    def stop(sig: int, _frame: Any) -> None:
        nonlocal stopping
        if os.getpid() != me:  # a judge forked from this process: the signal's default, at once
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
            return
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    with grade_lock(course, command="autograder serve"):
        grader = Grader(course, workers=workers, max_pools=max_pools, scheduler=scheduler)
        try:
            grader.recover()
            while not stopping:
                grader.step()
        finally:
            grader.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="autograder serve's grading process (started by `autograder serve`)"
    )
    parser.add_argument("root")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-pools", type=int, default=2)
    parser.add_argument("--parent", type=int, default=None)
    parser.add_argument("--scheduler", default=None, help="grade on the Dask cluster at this address")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="grader: %(name)s: %(message)s")
    if args.parent is not None:
        die_with_parent(args.parent)
    try:
        run(Path(args.root), workers=args.workers, max_pools=args.max_pools, scheduler=args.scheduler)
    except AutograderError as exc:
        log.error("%s", exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
