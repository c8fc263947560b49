"""Errors a user can cause. Each names the field or id at fault and, where a set exists, the allowed values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AccelplanError(Exception):
    """Bad input: the CLI prints the message on one line and exits with code 2."""


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
