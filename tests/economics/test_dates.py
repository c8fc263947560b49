"""ISO dates of figures, and the six-month staleness rule, worked by hand."""

from datetime import date

import pytest

from accelplan.economics.dates import check_iso_date, is_stale, months_before, newest, oldest, period_end


def test_a_year_or_month_is_read_as_its_last_day():
    assert period_end("2026") == date(2026, 12, 31)
    assert period_end("2026-02") == date(2026, 2, 28)
    assert period_end("2024-02") == date(2024, 2, 29)  # leap year
    assert period_end("2026-03-17") == date(2026, 3, 17)


def test_six_months_before_is_the_same_day_or_the_months_last():
    assert months_before(date(2026, 12, 1), 6) == date(2026, 6, 1)
    assert months_before(date(2026, 3, 1), 6) == date(2025, 9, 1)  # across a year
    assert months_before(date(2026, 8, 31), 6) == date(2026, 2, 28)  # February has no 31st


@pytest.mark.parametrize(("as_of", "stale"), [
    ("2026-06-01", False),  # exactly six months before 2026-12-01: not older
    ("2026-05-31", True),
    ("2026-05", True),  # May ends 05-31
    ("2026-06", False),
    ("2025", True),
    ("2026", False),  # could be any day of 2026: read in its favour
])
def test_older_than_six_months_on_2026_12_01(as_of, stale):
    assert is_stale(as_of, date(2026, 12, 1)) is stale


def test_the_certain_span_of_dates_of_mixed_precision():
    # "2026" may be January: it is the possibly oldest, and 2026-10-19 the certainly newest
    assert oldest(["2026-03", "2026", "2026-10-19"]) == "2026"
    assert newest(["2026-03", "2026", "2026-10-19"]) == "2026-10-19"


@pytest.mark.parametrize("bad", ["2026-13", "2026-02-30", "late 2025", "2026/03", "26-03-01", ""])
def test_a_date_that_is_not_iso_is_refused(bad):
    with pytest.raises(ValueError, match="YYYY|month|day"):
        check_iso_date(bad)
