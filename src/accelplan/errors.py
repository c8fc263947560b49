"""Errors a user can cause. Each names the field or id at fault and, where a set exists, the allowed values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def one_line(text: str) -> str:
    """`text` with every non-printable character (newlines, tabs, other controls) written as its escape, so a value
    echoed from the user's input cannot break the one-line message."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class AccelplanError(Exception):
    """Bad input: the CLI prints the message on one line and exits with code 2."""

    def __init__(self, *args: object):
        super().__init__(*(one_line(a) if isinstance(a, str) else a for a in args))


class UnknownIdError(AccelplanError):
    def __init__(self, kind: str, given: str, known: Iterable[str]):
        known = sorted(set(known))
        close = difflib.get_close_matches(given.lower(), known, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; see `accelplan {kind}s`"
        super().__init__(f"unknown {kind} '{given}'{hint}")
        self.kind, self.given, self.suggestions = kind, given, close


class CatalogError(AccelplanError):
    def __init__(self, file: str, entry: str | None, field: str | None, message: str):
        where = file + (f", entry '{entry}'" if entry else "") + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {message}")
        self.file, self.entry, self.field = file, entry, field


class PlanError(AccelplanError):
    """A plan that cannot run: names the field, the value, and what would be allowed."""
