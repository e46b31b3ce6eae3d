"""Visible checks as data: build `release/<a>/selfcheck.json` on the trusted side at release time.

A student's kernel has no reference solution and no hidden test, so `selfcheck.check(name)`
works from data: for each contract function a few small public inputs (`CASES`, chosen so that
every known misconception shows on at least one), the output the reference gives on them, and
for each misconception the output its mutant (`assignments/<a>/mutants/*.py`) gives where that
differs. With the titles and hints of `misconceptions.toml`, that is all the file holds: plain
JSON, never code, never the hidden suite's text.
"""

from __future__ import annotations

import inspect
import json
import logging
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.course import synth
from autograder.course.layout import AssignmentSpec, Course
from autograder.errors import CourseError
from autograder.judge.reference import np_ref
from autograder.selfcheck import cases as selfcheck
from autograder.selfcheck.cases import Named, Outcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Case:
    """One public input of a contract function; `hint` is said when no misconception fits."""

    args: tuple[Any, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    hint: str = ""
    show: str = ""  # how to print the input; derived from the arguments when empty
    judged_on: str = ""  # a selfcheck property ("xor", "loss_falls") instead of a fixed value


def _a(rows: Any, dtype: Any = float) -> np.ndarray[Any, Any]:
    return np.array(rows, dtype=dtype)


_BATCH = _a([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]])
_LOGITS = _a([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
_MLP = {
    "W1": _a([[1.0, -1.0], [0.5, 2.0], [-1.0, 0.5]]),
    "b1": _a([0.0, -0.5, 0.25]),
    "W2": _a([[1.0, -2.0, 0.5]]),
    "b2": _a([0.1]),
}
_MLP_X = _a([[1.0, 2.0], [-1.0, 0.5], [0.5, -1.5], [2.0, 0.0]])
_MLP_Y = _a([[1.0], [0.0], [-1.0], [2.0]])
_TRAIN_X = np.linspace(-1.0, 1.0, 16).reshape(8, 2)
_TRAIN_Y = _TRAIN_X @ _a([[1.0], [-0.5]]) + 0.25

#: Public inputs per contract function (spec/student-api.md), small enough to read in a line.
CASES: dict[str, tuple[Case, ...]] = {
    # ps1-neurons
    "relu": (
        Case((_a([-2.0, -0.5, 0.0, 1.5]),), hint="Keep positive entries and replace negative ones by 0."),
        Case((_a([[3.0, -1.0], [-4.0, 0.25]]),), hint="Any shape in, the same shape out."),
    ),
    "sigmoid": (
        Case((_a([0.0, 2.0, -2.0]),), hint="sigmoid(0) is 0.5 and sigmoid(2) is about 0.88: 1 / (1 + e^-z)."),
        Case(
            (_a([-1000.0, 1000.0]),),
            hint="For large |z| use a form in which np.exp never sees a large positive number.",
        ),
    ),
    "tanh": (
        Case((_a([-1.0, 0.0, 0.5]),), hint="np.tanh, or (e^z - e^-z) / (e^z + e^-z)."),
        Case((_a([[2.0, -3.0]]),), hint="Any shape in, the same shape out."),
    ),
    "neuron": (
        Case((_a([1.0, 2.0]), _a([0.5, -0.5]), 1.0, Named("relu")), hint="Apply the activation to w·x + b."),
        Case(
            (_a([1.0, 1.0, 1.0]), _a([0.2, 0.3, -0.5]), 0.5, Named("sigmoid")),
            hint="Add the bias before the activation, and return one float.",
        ),
        Case(
            (_a([2.0]), _a([1.0, 0.5, -1.0]), 0.0, Named("relu")),
            hint="Compare len(x) with len(w) and raise ValueError when they differ.",
        ),
    ),
    # ps2-layers
    "dense": (
        Case(
            (_a([[1.0, -1.0, 0.5], [2.0, 0.0, -1.0]]), _a([1.0, 2.0, 2.0]), _a([0.5, -4.0]), Named("relu")),
            hint="W has shape (m, n): W @ x has m entries; add b, then apply the activation.",
        ),
        Case(
            (_a([[1.0, 2.0], [0.0, 1.0]]), _a([1.0, -1.0]), _a([0.0, 0.0]), Named("identity")),
            hint="Row i of W holds the weights of neuron i: compute W @ x, not W.T @ x.",
        ),
        Case(
            (_a([[1.0, -1.0, 0.5], [2.0, 0.0, -1.0]]), _a([1.0, 2.0, 2.0]), _a([0.5]), Named("relu")),
            hint="b must have one entry per row of W; raise ValueError otherwise.",
        ),
    ),
    "dense_batch": (
        Case(
            (_a([[1.0, 2.0], [0.0, -1.0]]), _a([[1.0, 0.0], [1.0, 1.0]]), _a([1.0, -2.0]), Named("identity")),
            hint="X @ W.T has one row per example; b adds to every row.",
        ),
        Case(
            (
                _a([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]]),
                _a([[1.0, 0.0], [1.0, 1.0]]),
                _a([1.0, -2.0]),
                Named("relu"),
            ),
            hint="The result has shape (N, m): one row per example, one column per neuron.",
        ),
    ),
    "forward": (
        Case(
            (
                _a([[1.0, -1.0], [2.0, 0.5]]),
                [
                    (_a([[1.0, 1.0], [1.0, -1.0], [0.0, 1.0]]), _a([0.0, 0.0, -1.0]), Named("relu")),
                    (_a([[1.0, -1.0, 2.0]]), _a([0.5]), Named("identity")),
                ],
            ),
            show="X = [[1, -1], [2, 0.5]] and layers = [(W1 (3, 2), b1, relu), (W2 (1, 3), b2, identity)]",
            hint="Apply the layers in the order listed, each with its own activation.",
        ),
        Case(
            (
                _a([[1.0, 1.0]]),
                [
                    (_a([[1.0, 2.0], [0.0, 1.0]]), _a([0.0, 0.0]), Named("relu")),
                    (_a([[0.0, 1.0], [1.0, 0.0]]), _a([1.0, 0.0]), Named("identity")),
                ],
            ),
            show="X = [[1, 1]] and layers = [([[1, 2], [0, 1]], [0, 0], relu), "
            "([[0, 1], [1, 0]], [1, 0], identity)]",
            hint="The first layer in the list is the first one applied to X.",
        ),
    ),
    "collapse": (
        Case(
            ([_a([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), _a([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]])],),
            hint="W1 is applied first, so it stands rightmost: W2 @ W1.",
        ),
        Case(
            ([_a([[1.0, 1.0], [0.0, 1.0]]), _a([[1.0, 0.0], [1.0, 1.0]])],),
            hint="Matrix products do not commute: the product is W_L ⋯ W_2 W_1.",
        ),
    ),
    "xor_network": (
        Case(
            (),
            show="xor_network()",
            judged_on="xor",
            hint="One hidden ReLU can count how many inputs are on; the output then subtracts twice "
            "the 'both on' unit.",
        ),
    ),
    # ps3-parameters
    "layer_params": (
        Case((784, 128), hint="Each of the n_out neurons has n_in weights and one bias."),
        Case((3, 2), hint="A layer from 3 inputs to 2 neurons: 2 · (3 + 1)."),
    ),
    "count_params": (
        Case(([784, 128, 64, 10],), hint="Sum the parameters of each consecutive pair of sizes."),
        Case(([3, 2],), hint="The input layer has no weights or biases of its own."),
    ),
    "weight_shapes": (
        Case(([784, 128, 10],), hint="One (n_out, n_in) tuple per layer, so W @ x works."),
        Case(([4, 3, 2, 1],), hint="len(sizes) - 1 layers."),
    ),
    "param_bytes": (
        Case((1000, "float32"), hint="float32 takes 4 bytes per number."),
        Case((10, "int8"), hint="int8 takes 1 byte per number; return an int."),
        Case((109386, "bfloat16"), hint="bfloat16 takes 2 bytes per number."),
        Case((10, "float128"), hint="Raise ValueError for a dtype not in the list."),
    ),
    # ps4-softmax
    "softmax": (
        Case((_a([1.0, 2.0, 3.0]),), hint="Exponentiate every score, then divide by their sum."),
        Case((_a([[1000.0, 1001.0]]),), hint="Subtract the largest score along `axis` before np.exp."),
        Case((_BATCH,), hint="Normalise each row on its own: max and sum along `axis` with keepdims=True."),
        Case((_BATCH,), {"axis": 0}, hint="Use the `axis` argument for both the max and the sum."),
    ),
    "predict": (
        Case((_a([1.2, 3.5, 0.7]), ["cat", "dog", "bird"]), hint="Find the largest score's position."),
        Case(
            (_a([[0.1, -2.0, 0.3], [5.0, 4.0, 4.5]]), ["cat", "dog", "bird"]),
            hint="For a batch take argmax along the last axis, then index np.asarray(classes).",
        ),
        Case((_a([[2.0, 7.0, 1.0]]), [10, 20, 30]), hint="Return the label classes[i], not the position i."),
    ),
    "cross_entropy": (
        Case((_a([[2.0, 1.0, 0.1]]), _a([0], dtype=int)), hint="-log softmax(z)[label], not -log z[label]."),
        Case((_LOGITS, _a([0, 1], dtype=int)), hint="Average the per-example losses over the N rows."),
        Case(
            # 1 not 0 beside the 1000: -log of that raw logit is finite, and tells
            # xent.no_softmax apart from a max shift whose log underflows (xent.unstable).
            (_a([[1000.0, 1.0], [1.0, 1000.0]]), _a([1, 1], dtype=int)),
            hint="Use log-sum-exp with the row maximum; never take the log of an underflowed 0.",
        ),
    ),
    "mse": (
        Case((_a([1.0, 2.0, 3.0]), _a([1.5, 2.0, 2.0])), hint="Square each difference, then average."),
        Case(
            (_a([[1.0, 2.0], [3.0, 4.0]]), _a([[1.0, 0.0], [3.0, 7.0]])),
            hint="Average over all entries, whatever the shape.",
        ),
    ),
    # ps5-training
    "gd_linear": (
        Case(
            (_a([0.0, 1.0, 2.0, 3.0]), _a([1.0, 3.0, 5.0, 7.0]), 0.05, 4),
            hint="losses[t] is the MSE before update t; the gradient of the mean of r² is 2·mean(r·x).",
        ),
    ),
    "mlp_grads": (
        Case(
            (_MLP, _MLP_X, _MLP_Y),
            show="the (3, 2)-hidden, 1-output network on 4 examples",
            hint="Back-propagate through the ReLU with its mask (pre-activation > 0); average over N·o.",
        ),
    ),
    "train_mlp": (
        Case(
            (_TRAIN_X, _TRAIN_Y, 8, 0.05, 200, 0),
            judged_on="loss_falls",
            show="X (8, 2), Y (8, 1), hidden=8, lr=0.05, steps=200, seed=0",
            hint="Each step: mlp_grads, then params minus lr times the gradients.",
        ),
    ),
}


def _text(value: Any) -> str:
    """An input as a student would type it: [[1000, 1001]], relu, 'float32'."""
    if isinstance(value, Named):
        return value.name
    if isinstance(value, np.ndarray):
        body = np.array2string(
            value,
            separator=", ",
            formatter={"float_kind": lambda v: f"{v:g}"},
            threshold=20,
            max_line_width=10**6,
        )
        body = " ".join(body.split())
        return body if value.dtype in (np.float64, np.int64) else f"{body} ({value.dtype})"
    if isinstance(value, list | tuple):
        inner = ", ".join(_text(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def _atol(case: Case, expected: Any) -> float:
    """The contract's atol (student-api.md), grown with the largest magnitude in the case."""
    scale = 1.0
    for value in (*case.args, *case.kwargs.values(), expected):
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            continue
        finite = np.abs(array[np.isfinite(array)])
        if finite.size:
            scale = max(scale, float(finite.max()))
    return 1e-6 * scale


def _encode_outcome(outcome: Outcome) -> dict[str, Any]:
    if outcome.raised:
        return {"raises": outcome.raised}
    entry: dict[str, Any] = {"value": selfcheck.encode_value(outcome.value)}
    if outcome.warnings:
        entry["warns"] = True
    if outcome.mutated:
        entry["mutates"] = list(outcome.mutated)
    return entry


def _mutant_functions(spec: AssignmentSpec, name: str) -> list[tuple[str, str, Callable[..., Any]]]:
    """(file name, misconception id, function) for each mutant of `name`.

    A mutant may call the notebook's other functions (train_mlp calls mlp_grads): in a notebook
    those are the student's own, here the references stand in for them.
    """
    others = {i.name: getattr(np_ref, i.name) for i in spec.items if hasattr(np_ref, i.name)}
    found = []
    for module in synth.modules(spec, "mutants"):
        if name in module.expect:
            namespace = runpy.run_path(str(module.path), others, f"mutant_{module.name}")
            found.append((module.path.name, module.expect[name], namespace[name]))
    return found


def _build_case(
    name: str, case: Case, params: list[str], mutants: list[tuple[str, str, Callable[..., Any]]]
) -> dict[str, Any]:
    encoded: dict[str, Any] = {
        "args": [selfcheck.encode_value(a) for a in case.args],
        "kwargs": {k: selfcheck.encode_value(v) for k, v in case.kwargs.items()},
    }
    shown = [f"{p} = {_text(v)}" for p, v in zip(params, case.args, strict=False)]
    shown += [f"{k} = {_text(v)}" for k, v in case.kwargs.items()]
    encoded["show"] = case.show or " and ".join(filter(None, [", ".join(shown[:-1]), *shown[-1:]]))
    if not case.show and len(shown) == 1:
        encoded["show_ok"] = _text(case.args[0])
    reference = getattr(np_ref, name)
    truth = selfcheck.call_function(reference, *selfcheck.decode_call(encoded))
    if truth.warnings or truth.mutated:
        raise CourseError(f"visible case {encoded['show']} of {name}: the reference warns or mutates.")
    if case.judged_on:
        encoded["expect"] = {"property": case.judged_on}
    elif truth.raised:
        encoded["expect"] = {"raises": truth.raised}
    else:
        encoded["expect"] = {"value": selfcheck.encode_value(truth.value)}
        atol = _atol(case, truth.value)
        if atol != 1e-6:
            encoded["atol"] = atol
    tol = float(encoded.get("rtol", 1e-5)), float(encoded.get("atol", 1e-6))
    if selfcheck.describe_problem(truth, encoded["expect"], params, tol):
        raise CourseError(f"visible case {encoded['show']} of {name}: the reference does not pass it.")
    wrong: list[dict[str, Any]] = []
    for file_name, diagnosis, function in mutants:
        outcome = selfcheck.call_function(function, *selfcheck.decode_call(encoded))
        if not selfcheck.describe_problem(outcome, encoded["expect"], params, tol):
            continue  # the mutant is right on this input: nothing to tell apart here
        entry: dict[str, Any] = {"diagnosis": diagnosis}
        if case.judged_on and not outcome.raised:
            entry["property"] = selfcheck.judge_property(case.judged_on, outcome.value)[0]
        else:
            try:
                entry.update(_encode_outcome(outcome))
            except TypeError as exc:
                log.warning("%s: its output for %s cannot be stored (%s)", file_name, encoded["show"], exc)
                continue
        if entry not in wrong:
            wrong.append(entry)
    # An outcome that mutants of different misconceptions share (an inf, say) names none of them.
    def outcome_of(entry: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in entry.items() if k != "diagnosis"}, sort_keys=True)

    named: dict[str, set[str]] = {}
    for entry in wrong:
        named.setdefault(outcome_of(entry), set()).add(str(entry["diagnosis"]))
    wrong = [entry for entry in wrong if len(named[outcome_of(entry)]) == 1]
    if wrong:
        encoded["wrong"] = wrong
    if case.hint:
        encoded["hint"] = case.hint
    return encoded


def build_checks(course: Course, spec: AssignmentSpec) -> dict[str, Any]:
    """The self-check data of one assignment: cases, expected outputs, misconceptions' outputs."""
    functions: dict[str, Any] = {}
    for item in spec.items:
        cases = CASES.get(item.name)
        if not cases or not hasattr(np_ref, item.name):
            log.warning("%s: no visible cases for %s; check() will say so", spec.assignment_id, item.name)
            continue
        params = list(inspect.signature(getattr(np_ref, item.name)).parameters)
        mutants = _mutant_functions(spec, item.name)
        built = [_build_case(item.name, case, params, mutants) for case in cases]
        shown = {w["diagnosis"] for c in built for w in c.get("wrong", [])}
        for file_name, diagnosis, _ in mutants:
            if diagnosis not in shown:
                log.warning("%s: no visible case of %s shows %s", file_name, item.name, diagnosis)
        functions[item.name] = {"params": params, "cases": built}
    everything = [c for f in functions.values() for c in f["cases"]]
    used = sorted({w["diagnosis"] for c in everything for w in c.get("wrong", [])})
    return {
        "format": selfcheck.CHECKS_FORMAT,
        "about": "Visible self-checks for check(name) in the notebook: inputs, expected outputs, "
        "and what known mistakes return. Generated by `autograder release`; do not edit.",
        "assignment_id": spec.assignment_id,
        "functions": functions,
        "misconceptions": {
            d: {"title": spec.misconceptions.title(d), "hint": spec.misconceptions.hint(d)} for d in used
        },
    }


def write_checks(course: Course, assignment_id: str) -> Path:
    """Write release/<a>/selfcheck.json next to the release notebook; return its path."""
    spec = course.assignment(assignment_id)
    data = build_checks(course, spec)
    path = course.release_notebook(assignment_id).parent / selfcheck.CHECKS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8")
    return path
