"""The honest degrade: what `doctor`, the batch's first line and `--isolation strict` say."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from autograder import batch, doctor
from autograder.cli import main
from autograder.errors import UsageError
from autograder.sandbox import layers

POD = layers.Layers(
    root=False, user_namespaces=False, landlock_abi=0, seccomp=True, subreaper=True, cgroup=""
)
FULL = layers.Layers(
    root=True,
    user_namespaces=False,
    landlock_abi=7,
    seccomp=True,
    subreaper=True,
    cgroup="",
    pid_namespace=True,
)


def test_the_doctor_lists_every_layer_and_each_guarantee_that_does_not_hold(monkeypatch):
    monkeypatch.setattr(layers, "probe", lambda: POD)
    found = {f.topic: f for f in doctor.isolation()}
    assert found["layer landlock"].value == "MISSING" and not found["layer landlock"].ok
    assert found["layer seccomp"].value == "in force" and found["layer seccomp"].ok
    assert found["layer uid-drop"].value == "no (not root)"
    lost = [f.value for f in doctor.isolation() if f.topic == "NOT guaranteed"]
    assert "course files and hidden tests unreadable and unwritable" in lost
    assert "cannot signal the judge, the zygote or other processes" in lost
    assert "no network (TCP, UDP, raw sockets)" not in lost  # seccomp alone holds it


def test_the_doctor_says_so_when_every_guarantee_holds(monkeypatch):
    monkeypatch.setattr(layers, "probe", lambda: FULL)
    found = {f.topic: f for f in doctor.isolation()}
    assert found["guarantees"].value == "every guarantee of the security model holds here"
    assert all(f.ok for f in found.values())


def test_every_batch_logs_its_layers_first(monkeypatch, caplog):
    monkeypatch.setattr(layers, "probe", lambda: POD)
    with caplog.at_level(logging.WARNING, logger="autograder.batch"):
        line = batch.check_isolation("best")
    assert line.startswith("isolation: seccomp, subreaper; NOT guaranteed without landlock, ")
    assert [r.getMessage() for r in caplog.records] == [line]


def test_strict_isolation_refuses_to_grade_without_every_layer(monkeypatch):
    monkeypatch.setattr(layers, "probe", lambda: POD)
    with pytest.raises(UsageError, match=r"^--isolation strict: this machine lacks landlock, landlock-net, "):
        batch.check_isolation("strict")
    monkeypatch.setattr(layers, "probe", lambda: FULL)
    assert batch.check_isolation("strict").startswith("isolation: uid-drop, namespaces")


def test_grade_isolation_strict_exits_2_with_one_line_and_grades_nothing(monkeypatch, course, submit):
    submit("ada")
    monkeypatch.setattr(layers, "probe", lambda: POD)
    result = CliRunner().invoke(
        main, ["--course", str(course.root), "grade", "ps4-softmax", "--isolation", "strict"]
    )
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --isolation strict: this machine lacks landlock")
    assert not (course.reports_dir / "ps4-softmax" / "scores.csv").exists()
