"""Calendar arithmetic the rules and the clinic's records need: whole months, years and business
days (shared by the protocol engine and the server, which never imports the device app)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """`day` moved by whole years (29 February becomes 28 February)."""
    return add_months(day, 12 * years)


def add_business_days(day: date, days: int) -> date:
    """`day` moved forward by `days` weekdays (public holidays are not known here)."""
    current = day
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current
