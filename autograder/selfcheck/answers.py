"""Whether a quiz answer is right: the one rule that the judge and the self-check both apply.

An answer of each kind is reduced to a canonical *token*; a question's key is the set of tokens
that count as right. The judge compares the student's token with the set made from the clear
key in `quiz.toml`; a notebook's quiz cell carries the same set as salted hashes (`opaque_key`),
so the student's own kernel can say "right" without holding the answer. Both sides call
`answer_token`, so whatever one accepts the other accepts.

Kinds and what counts as the same answer:

- `choice`: one option letter; case, blanks and a bracket or full stop around it are ignored
  (`"b"`, `" B "`, `"(b)"`, `"b)"`).
- `multi`: a set of option letters, in any order, written as a list, tuple or set of letters or
  as one string (`["a", "b", "d"]`, `"abd"`, `"a, b, d"`, `"a b d"`).
- `numeric`: a number (or a string of one) within the question's tolerance. The tolerance is
  applied on a grid of cells a tenth of the tolerance wide, the same on both sides: a cell
  counts when its centre lies within the tolerance, so an answer within 0.95 of the tolerance
  is always right and one beyond 1.05 of it is never right. With no tolerance a number must
  equal the key (`3` and `3.0` are the same).
- `shape`: a tuple or list of whole numbers (`(64, 16)`, `[64, 16]`), or a string of them
  (`"64, 16"`, `"(64, 16)"`, `"64x16"`).

Public, like everything a student imports; nothing here holds a key.
"""

from __future__ import annotations

import ast
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KINDS",
    "Answer",
    "accepted_tokens",
    "answer_token",
    "infer_kind",
    "is_right",
    "opaque_key",
    "parse_key",
    "quote_options",
    "read_answer",
    "token_digest",
]

KINDS = ("choice", "multi", "numeric", "shape")
#: Grid cells per tolerance for `numeric` (see the module docstring).
CELLS_PER_TOLERANCE = 10
_SALT = "matrix-machines"
_LETTER = re.compile(r"^[a-z]$")
_SHAPE_TEXT = re.compile(r"^\(?\s*(\d+(?:\s*[,x×]\s*\d+)*)?\s*,?\s*\)?$")


def _letter(text: str) -> str:
    """`text` as an option, whatever blanks, case, quotes or bracket surround it."""
    return " ".join(text.strip().strip("()[]{}'\".").strip().lower().split())


def _letters(answer: Any) -> list[str] | None:
    if isinstance(answer, str):
        text = answer.strip().strip("[](){}")
        parts = [p for p in re.split(r"[\s,;/&+]+", text) if p]
        if len(parts) == 1 and parts[0].isalpha():
            parts = list(parts[0])  # "abd"
        return [_letter(p) for p in parts]
    if isinstance(answer, list | tuple | set | frozenset) and all(isinstance(a, str) for a in answer):
        return [_letter(a) for a in answer]
    return None


def _number(answer: Any) -> float | None:
    if isinstance(answer, bool):
        return None
    if isinstance(answer, str):
        try:
            value = float(answer.strip())
        except ValueError:
            return None
    else:
        try:
            value = float(answer)
        except (TypeError, ValueError, OverflowError):
            return None
    return value if math.isfinite(value) else None


def _whole(value: Any) -> int | None:
    if isinstance(value, bool | str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or number != int(number) or number < 0:
        return None
    return int(number)


def answer_token(kind: str, answer: Any, *, tolerance: float = 0.0) -> str | None:
    """The canonical form of `answer` to a question of `kind`; None when it is no such answer."""
    if answer is None or answer is Ellipsis:
        return None
    if kind == "choice":
        if not isinstance(answer, str):
            return None
        text = _letter(answer)
        return text or None
    if kind == "multi":
        letters = _letters(answer)
        if not letters or not all(_LETTER.match(x) for x in letters):
            return None
        return ",".join(sorted(set(letters)))
    if kind == "numeric":
        value = _number(answer)
        if value is None:
            return None
        if tolerance <= 0:
            return repr(value)
        return str(math.floor(value / (tolerance / CELLS_PER_TOLERANCE)))
    if kind == "shape":
        if isinstance(answer, str):
            match = _SHAPE_TEXT.match(answer.strip())
            if match is None:
                return None
            parts: Sequence[Any] = [int(p) for p in re.findall(r"\d+", answer)]
        elif isinstance(answer, list | tuple):
            parts = answer
        else:
            return None
        dims = [_whole(p) for p in parts]
        if any(d is None for d in dims):
            return None
        return "(" + ",".join(str(d) for d in dims) + ")"
    raise ValueError(f"unknown quiz kind {kind!r}; one of {', '.join(KINDS)}")


def accepted_tokens(kind: str, key: Any, *, tolerance: float = 0.0) -> frozenset[str]:
    """The tokens of every answer that counts as right when the key is `key`."""
    if kind == "numeric" and tolerance > 0:
        value = _number(key)
        if value is None:
            raise ValueError(f"a numeric key must be a finite number, not {key!r}")
        step = tolerance / CELLS_PER_TOLERANCE
        low, high = math.floor((value - tolerance) / step) - 1, math.floor((value + tolerance) / step) + 1
        return frozenset(str(k) for k in range(low, high + 1) if abs((k + 0.5) * step - value) <= tolerance)
    token = answer_token(kind, key, tolerance=tolerance)
    if token is None:
        raise ValueError(f"{key!r} is not a {kind} answer")
    return frozenset({token})


def is_right(kind: str, answer: Any, key: Any, *, tolerance: float = 0.0) -> bool:
    """Whether `answer` is right for a question of `kind` whose key is `key` (the judge's call)."""
    token = answer_token(kind, answer, tolerance=tolerance)
    return token is not None and token in accepted_tokens(kind, key, tolerance=tolerance)


def quote_options(answer: Any, choices: Sequence[str]) -> str:
    """The text of the options a letter answer names, quoted: ' (c: “It keeps ...”)'; "" when
    the answer names no option."""
    letters = answer_token("multi", answer) if choices else None
    quoted = []
    for letter in (letters or "").split(","):
        index = ord(letter) - ord("a") if len(letter) == 1 else -1
        if not 0 <= index < len(choices):
            return ""
        text = choices[index]
        quoted.append(f"{letter}: \u201c{text if len(text) <= 70 else text[:69] + '…'}\u201d")
    return f" ({'; '.join(quoted)})" if quoted else ""


# --- the opaque key a notebook carries ------------------------------------------------------


def token_digest(question_id: str, kind: str, tolerance: float, token: str) -> str:
    """A salted hash of one accepted token (20 hex digits)."""
    text = f"{_SALT}|{question_id}|{kind}|{tolerance!r}|{token}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def opaque_key(question_id: str, kind: str, key: Any, *, tolerance: float = 0.0) -> str:
    """`kind[~tolerance]:hash,hash,...`: the accepted tokens of `key`, hashed."""
    tolerance = float(tolerance)
    hashes = sorted(
        token_digest(question_id, kind, tolerance, t) for t in accepted_tokens(kind, key, tolerance=tolerance)
    )
    head = f"{kind}~{tolerance!r}" if kind == "numeric" and tolerance > 0 else kind
    return f"{head}:{','.join(hashes)}"


def parse_key(key: str) -> tuple[str, float, frozenset[str]]:
    """(kind, tolerance, hashes) of an `opaque_key`; ValueError for any other text."""
    head, sep, hashes = key.partition(":")
    kind, _, tol = head.partition("~")
    if not sep or kind not in KINDS or not hashes:
        raise ValueError("not a quiz key of this course")
    try:
        tolerance = float(tol) if tol else 0.0
    except ValueError:
        raise ValueError("not a quiz key of this course") from None
    return kind, tolerance, frozenset(hashes.split(","))


def infer_kind(answer: Any, tolerance: float | None) -> str:
    """The kind a key's answer is, for authors who make keys without naming it."""
    if tolerance is not None or (isinstance(answer, int | float) and not isinstance(answer, bool)):
        return "numeric"
    if isinstance(answer, str):
        return "choice"
    if isinstance(answer, set | frozenset) or (
        isinstance(answer, list | tuple) and answer and all(isinstance(a, str) for a in answer)
    ):
        return "multi"
    return "shape"


# --- reading an answer from the notebook's text ---------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a notebook's text assigns to an answer variable.

    `found` is false when no cell assigns it; `problem` says why a found answer cannot be read
    (it is not written as a plain value), and `value` is then None.
    """

    found: bool
    value: Any = None
    problem: str = ""


def _parse(source: str) -> ast.Module | None:
    """A cell's code, with IPython's magics and shell lines left out; None if it is not Python."""
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return None


def _assigned(tree: ast.Module, variable: str) -> Iterable[ast.expr]:
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        if any(isinstance(t, ast.Name) and t.id == variable for t in targets):
            assert isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
            yield node.value


def read_answer(sources: Iterable[str], variable: str) -> Answer:
    """The value the last top-level `variable = <literal>` of `sources` (cells, in order) gives.

    Read from the text, never by running it: the answer counts whatever the code cells did.
    A cell that is not valid Python is read line by line, so an answer line still counts.
    """
    last: ast.expr | None = None
    for source in sources:
        if variable not in source:
            continue
        tree = _parse(source)
        if tree is None:
            lines = (_parse(line) for line in source.splitlines() if line.startswith(variable))
            nodes = [v for t in lines if t is not None for v in _assigned(t, variable)]
        else:
            nodes = list(_assigned(tree, variable))
        if nodes:
            last = nodes[-1]
    if last is None:
        return Answer(False)
    try:
        return Answer(True, ast.literal_eval(last))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        shown = " ".join(ast.unparse(last).split())
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        return Answer(
            True,
            problem=(
                f"{variable} = {shown} is not a plain value; write the answer itself "
                "(a number, a letter in quotes, a list or tuple of them)"
            ),
        )
