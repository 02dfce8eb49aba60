"""What is searched for: one `Query` type for text, a file, a recording in memory, and weighted
sums and differences of them (rclip-style), plus the filters a search applies inside the KNN.

Grammar of a query expression (docs/USAGE.md, "Queries"):

    expression := [+|-] term { (+|-) term }
    term       := [WEIGHT:] ( "quoted text" | file:PATH | file:"PATH" | bare text )

* `+` and `-` join terms only when they stand apart: spaces (or a quoted term) on both sides.
  Inside words they are text: `t-shirt`, `rock-n-roll`, `C++`, `-5 degrees`.
* WEIGHT is a number directly followed by `:` and the term (`2:"dog"`, `0.5:sunset.jpg`); `10:30`
  is text. A `-` makes a term's weight negative.
* Bare text that names an existing photo, recording or note (relative to the working folder, `~`
  allowed) is that file; `file:PATH` always is, quoted text never is.
* The query's vector is the normalised weighted sum of its terms' unit vectors.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field

import numpy as np

from core.kinds import KIND_NAMES, kind_of
from core.model import Waveform
from core.store import is_inside, printable

_WEIGHT = re.compile(r"(\d+(?:\.\d*)?|\.\d+):(?=[^\s\d:])")


class QueryError(ValueError):
    """The query cannot be turned into a vector (bad expression, unreadable file, unsupported
    kind…). For a bad expression, the message shows it with a caret under the offending part."""

    def __init__(self, message: str, expression: str | None = None, position: int | None = None):
        self.reason, self.expression, self.position = message, expression, position
        if expression is not None and position is not None:
            message = f"{message} (column {position + 1}):\n  {expression}\n  {' ' * position}^"
        super().__init__(message)


@dataclass(frozen=True)
class Term:
    """One part of a query: text, a file, or a recording in memory, with its weight."""

    weight: float = 1.0
    text: str | None = None
    path: str | None = None
    waveform: Waveform | None = field(default=None, compare=False)
    at: int = 0  # where the term starts in the expression it was parsed from

    def scaled(self, factor: float) -> "Term":
        return Term(self.weight * factor, self.text, self.path, self.waveform, self.at)


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]
    expression: str | None = None  # the text it was parsed from, to point at its parts

    @classmethod
    def text(cls, text: str) -> "Query":
        return cls((Term(text=text),))

    @classmethod
    def file(cls, path: str | os.PathLike) -> "Query":
        return cls((Term(path=os.path.abspath(os.path.expanduser(os.fspath(path)))),))

    @classmethod
    def waveform(cls, samples: np.ndarray, rate: int) -> "Query":
        return cls((Term(waveform=Waveform(np.asarray(samples, dtype=np.float32), int(rate))),))

    @classmethod
    def parse(cls, expression: str, cwd: str | None = None) -> "Query":
        return parse_query(expression, cwd)

    def __add__(self, other: "Query") -> "Query":
        return Query(self.terms + other.terms)

    def __sub__(self, other: "Query") -> "Query":
        return Query(self.terms + tuple(term.scaled(-1) for term in other.terms))

    def __mul__(self, factor: float) -> "Query":
        return Query(tuple(term.scaled(factor) for term in self.terms), self.expression)

    __rmul__ = __mul__

    @property
    def files(self) -> tuple[str, ...]:
        """The files searched by (positive terms): left out of the results."""
        return tuple(term.path for term in self.terms if term.path and term.weight > 0)

    @property
    def keyword_text(self) -> str | None:
        """The words the keyword index is asked for: the positive text terms' (None: no words)."""
        words = " ".join(term.text for term in self.terms if term.text and term.weight > 0)
        return words or None

    def error(self, message: str, term: Term) -> QueryError:
        """A QueryError about one term, pointing at it when the query was parsed from text."""
        if self.expression is None or len(self.terms) == 1:
            return QueryError(message)
        return QueryError(message, self.expression, term.at)


# -- parsing ----------------------------------------------------------------------------------
def _stands_apart(expression: str, i: int) -> bool:
    """A + or - at `i` is an operator when whitespace, an end, or a quote is on each side."""
    left = expression[i - 1] if i > 0 else " "
    right = expression[i + 1] if i + 1 < len(expression) else " "
    return (left.isspace() or left == '"') and (right.isspace() or right == '"')


def _split(expression: str) -> list[tuple[int, int | None, int, int]]:
    """(sign, operator position, start, end) of each term's text; quotes protect + and -."""
    parts, sign, operator, start, quote = [], 1, None, 0, None
    for i, char in enumerate(expression):
        if quote is not None:
            quote = None if char == '"' else quote
        elif char == '"':
            quote = i
        elif char in "+-" and _stands_apart(expression, i):
            parts.append((sign, operator, start, i))
            sign, operator, start = (1 if char == "+" else -1), i, i + 1
    if quote is not None:
        raise QueryError("this quote is never closed", expression, quote)
    parts.append((sign, operator, start, len(expression)))
    if parts[0][1] is None and not expression[parts[0][2]:parts[0][3]].strip() and len(parts) > 1:
        parts.pop(0)  # the expression starts with an operator: "- people + beach"
    return parts


def _parse_term(expression: str, sign: int, operator: int | None, start: int, end: int, cwd: str) -> Term:
    raw = expression[start:end]
    at = start + len(raw) - len(raw.lstrip())
    body = raw.strip()
    if not body:
        if operator is None:
            raise QueryError("nothing to search for")
        raise QueryError(f"a term is missing after '{expression[operator]}'", expression, operator)
    weight = 1.0
    match = _WEIGHT.match(body)
    if match:
        weight = float(match.group(1))
        if weight == 0:
            raise QueryError("a weight of 0 leaves the term out: remove it, or give a positive weight",
                             expression, at)
        body, at = body[match.end():], at + match.end()
    if body.startswith("file:"):
        return _file_term(expression, _unquote(expression, body[5:], at + 5), sign * weight, at, cwd, True)
    if body.startswith('"'):
        return Term(sign * weight, text=_unquote(expression, body, at), at=at)
    candidate = os.path.join(cwd, os.path.expanduser(body))
    if kind_of(body) and (os.path.isfile(candidate) or not any(c.isspace() for c in body)):
        return _file_term(expression, body, sign * weight, at, cwd, False)
    return Term(sign * weight, text=body, at=at)


def _unquote(expression: str, body: str, at: int) -> str:
    if not body.startswith('"'):
        return body
    closing = body.find('"', 1)
    if closing != len(body) - 1:
        raise QueryError("text after the closing quote: put + or - (with spaces) between terms",
                         expression, at + closing + 1)
    if not body[1:-1].strip():
        raise QueryError("empty quotes: nothing to search for", expression, at)
    return body[1:-1]


def _file_term(expression: str, name: str, weight: float, at: int, cwd: str, explicit: bool) -> Term:
    path = os.path.abspath(os.path.join(cwd, os.path.expanduser(name)))
    if not os.path.isfile(path):
        hint = "" if explicit else f' (to search for the words, quote them: "{name}")'
        raise QueryError(f"{name}: no such file{hint}", expression, at)
    if kind_of(path) is None:
        raise QueryError(f"{name}: not a photo, recording or note this app can read", expression, at)
    return Term(weight, path=path, at=at)


def parse_query(expression: str, cwd: str | None = None) -> Query:
    """A Query from an expression (the grammar above); raises QueryError pointing at the fault."""
    cwd = cwd or os.getcwd()
    terms = tuple(_parse_term(expression, sign, operator, start, end, cwd)
                  for sign, operator, start, end in _split(expression))
    if not any(term.weight > 0 for term in terms):
        raise QueryError("only terms to subtract: add something to look for", expression, terms[0].at)
    return Query(terms, expression)


# -- filters ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """What a search keeps, applied inside the KNN: kinds; a date range on the item's date (an EXIF
    date, else the file's time), `after` inclusive and `before` exclusive, in seconds; a library
    folder (`root`) and, for a sub-folder of it, `under`."""

    kinds: tuple[str, ...] = KIND_NAMES
    after: float | None = None
    before: float | None = None
    root: str | None = None
    under: str | None = None

    @classmethod
    def of(cls, kinds=KIND_NAMES, after=None, before=None, folder=None, library_folders=()) -> "Filters":
        """Filters from what people give: dates as YYYY-MM-DD or dates (both days included), a
        library folder or any folder below one."""
        root = under = None
        if folder is not None:
            under = os.path.abspath(os.path.expanduser(os.fspath(folder)))
            root = next((f for f in library_folders if f == under or is_inside(under, f)), None)
            if root is None:
                known = ", ".join(map(printable, library_folders)) or "none"
                raise QueryError(f"{printable(under)} is not in the library (library folders: {known})")
        return cls(tuple(kinds), None if after is None else day_start(after),
                   None if before is None else day_start(before, next_day=True), root,
                   None if under == root else under)

    def admits_path(self, path: str) -> bool:
        return self.under is None or path == self.under or path.startswith(self.under.rstrip(os.sep) + os.sep)

    def admits_date(self, taken_at: float | None) -> bool:
        stamp = int(taken_at or 0)
        return (self.after is None or stamp >= self.after) and (self.before is None or stamp < self.before)


def day_start(value: str | dt.date | dt.datetime, *, next_day: bool = False) -> float:
    """Local midnight at the start of a day given as YYYY-MM-DD (or a date), or of the day after
    (`next_day`, so that `--before 2021-06-30` includes that day). Photos' EXIF dates are local."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise QueryError(f"{value!r} is not a date: write it as YYYY-MM-DD, e.g. 2021-06-30") from None
    day = value.date() if isinstance(value, dt.datetime) else value
    if next_day:
        day += dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day).timestamp()
