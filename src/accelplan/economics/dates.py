"""Dates of figures and rules, and when a figure counts as stale.

A date is ISO 8601, as precise as its source says: "2026", "2026-03" or "2026-03-17". A figure dated by a year
or a month is read as of the end of that period, the reading most favourable to the figure, so a staleness
warning never rests on a guess that the figure is older than its source says.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

STALE_AFTER_MONTHS = 6  # issue 16: outputs warn when a price or rule is older than six months

_ISO = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def _parts(text: str) -> tuple[int, int | None, int | None]:
    m = _ISO.fullmatch(text.strip()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"'{text}' is not an ISO date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year = int(m[1])
    month = int(m[2]) if m[2] else None
    day = int(m[3]) if m[3] else None
    if month is not None and not 1 <= month <= 12:
        raise ValueError(f"'{text}': month {month} is not 1-12")
    if day is not None and month is not None and not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"'{text}': day {day} is not in {year}-{month:02d}")
    return year, month, day


def check_iso_date(text: str) -> str:
    """`text` if it is an ISO date of year, month or day precision; raises ValueError naming the allowed forms."""
    _parts(text)
    return text.strip()


def period_end(text: str) -> date:
    """Last day of the period an ISO date names: '2026' -> 2026-12-31, '2026-02' -> 2026-02-28."""
    year, month, day = _parts(text)
    if month is None:
        return date(year, 12, 31)
    if day is None:
        return date(year, month, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def period_start(text: str) -> date:
    """First day of the period an ISO date names: '2026' -> 2026-01-01."""
    year, month, day = _parts(text)
    return date(year, month or 1, day or 1)


def months_before(now: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day where it is shorter)."""
    total = now.year * 12 + now.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(now.day, calendar.monthrange(year, month)[1]))


def is_stale(text: str, now: date, months: int = STALE_AFTER_MONTHS) -> bool:
    """True when the period `text` names ended more than `months` months before `now`."""
    return period_end(text) < months_before(now, months)


def newest(dates: list[str]) -> str:
    """The date certainly latest: ordered by where each period starts ('2026-10-19' after '2026')."""
    return max(dates, key=lambda d: (period_start(d), period_end(d)))


def oldest(dates: list[str]) -> str:
    """The date that may be earliest: ordered by where each period starts ('2026' before '2026-03')."""
    return min(dates, key=lambda d: (period_start(d), period_end(d)))
