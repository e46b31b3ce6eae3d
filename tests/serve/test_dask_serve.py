"""`autograder serve --scheduler`: submissions graded on a real Dask cluster (a LocalCluster of
worker processes), over real HTTP; a worker killed mid-task, a restarted service, a lost scheduler."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from running import Server, serving, start_server, stop_server

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


@pytest.fixture
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as c:
        yield c


@pytest.fixture
def root(tmp_path: Path, released_template: Path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(released_template, target)
    return target


def wait_status(server: Server, sid: str, token: str, wanted: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.request("GET", f"/api/v1/submissions/{sid}", token=token).body["status"] == wanted:
            return
        time.sleep(0.1)
    raise AssertionError(f"{sid} never reached {wanted!r}:\n{server.log.read_text()[-3000:]}")


def test_submissions_are_graded_on_the_cluster_and_survive_a_killed_worker(
    cluster: Any, root: Path, notebooks: dict[str, bytes]
) -> None:
    address = cluster.scheduler_address
    with serving(root, rules="[defaults]\ncooldown_s = 0\n", extra=("--scheduler", address)) as server:
        health = server.request("GET", "/healthz")
        assert health.status == 200 and health.body["grading"]["mode"] == f"dask {address}"
        good = server.submit("alice", notebooks["solution"]).body["id"]
        assert server.wait_graded(good, server.tokens["alice"], timeout_s=120)["score"] == 18.0

        bad = server.submit("bob", notebooks["mutant"]).body["id"]
        wait_status(server, bad, server.tokens["bob"], "grading")
        with distributed.Client(address) as client:
            for pid in client.run(os.getpid).values():
                os.kill(pid, signal.SIGKILL)  # the nanny starts it again; Dask runs the task again
        result = server.wait_graded(bad, server.tokens["bob"], timeout_s=180)
        assert result["status"] == "graded" and 0 < result["score"] < 18.0
        assert server.request("GET", "/healthz").status == 200


def test_a_restarted_service_resumes_and_healthz_says_when_the_scheduler_is_gone(
    cluster: Any, root: Path, notebooks: dict[str, bytes]
) -> None:
    address = cluster.scheduler_address
    with serving(root, rules="[defaults]\ncooldown_s = 0\n", extra=("--scheduler", address)) as server:
        queued = [server.submit(s, notebooks["solution"]).body["id"] for s in ("alice", "bob", "carol")]
    # Stopped with the three queued or out on the cluster: a new service grades all of them.
    proc, port = start_server(root, server.log, extra=("--scheduler", address))
    try:
        again = Server(f"http://127.0.0.1:{port}", port, server.course, server.tokens, server.log)
        for sid, student in zip(queued, ("alice", "bob", "carol"), strict=True):
            assert again.wait_graded(sid, again.tokens[student], timeout_s=180)["score"] == 18.0
        cluster.close()

        def scheduler_lost(body: dict[str, Any]) -> bool:
            return body["error"] in (
                f"lost the Dask scheduler at {address}; reconnecting.",
                f"lost the Dask scheduler at {address}.",
            ) or body["error"].startswith(f"cannot reach the Dask scheduler at {address} (")

        # The workers go before the scheduler: "has no workers" may be said first, and is true.
        no_workers = f"the Dask scheduler at {address} has no workers."
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reply = again.request("GET", "/healthz")
            if reply.status == 503:
                assert scheduler_lost(reply.body) or reply.body["error"] == no_workers, reply.body
                if scheduler_lost(reply.body):
                    break
            time.sleep(0.5)
        assert reply.status == 503 and scheduler_lost(reply.body), reply.body
        late = again.submit("dave", notebooks["solution"])
        assert late.status == 202  # taken and kept while the cluster is away
        assert again.request(
            "GET", f"/api/v1/submissions/{late.body['id']}", token=again.tokens["dave"]
        ).body["status"] in ("queued", "grading")
    finally:
        stop_server(proc)
