"""Business days: the post-incident review is due "within 5 business days of closing" (seed 002 §6).

A business day is a weekday that is neither a public holiday of the configured country (and subdivision)
nor one of the company's own days off (`[compliance] holidays`). Public holidays come from the `holidays`
library, which is maintained against each country's official calendars, rather than a list kept here that
would silently go stale; it is imported only when a clock is computed (it costs 100 ms, and every command
line loads the settings).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Container

from jobs.errors import Invalid
from jobs.settings import ComplianceSettings

SATURDAY = 5


@dataclass(frozen=True)
class Holidays:
    """Days off: a public calendar (any `date in …` container) and the company's extra dates."""

    public: Container[date]
    extra: frozenset[date] = frozenset()

    def __contains__(self, day: object) -> bool:
        return day in self.extra or day in self.public


def holidays_for(settings: ComplianceSettings) -> Holidays:
    """The configured days off; an unknown country or subdivision is a configuration error naming the key."""
    import holidays as library   # 100 ms: only when a clock is computed

    country, subdivision = settings.holidays_country, settings.holidays_subdivision
    supported = library.list_supported_countries()
    if country not in supported:
        raise Invalid(f"compliance.holidays_country = \"{country}\": the holidays library has no calendar for it; "
                      f"set a code it knows in config.toml, e.g. US, GB, DE, FR, CA ({len(supported)} are listed by "
                      "`python -c 'import holidays; print(sorted(holidays.list_supported_countries()))'`)")
    if subdivision and subdivision not in supported[country]:
        raise Invalid(f"compliance.holidays_subdivision = \"{subdivision}\": not a subdivision of {country}; set "
                      f"one of {', '.join(sorted(supported[country]))}, or \"\" for {country}'s holidays only, "
                      "in config.toml")
    public = library.country_holidays(country, subdiv=subdivision or None)
    return Holidays(public, frozenset(settings.holidays))


def is_business_day(day: date, holidays: Container[date]) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


def add_business_days(start: date, n: int, holidays: Container[date]) -> date:
    """The `n`th business day after `start` (`start` itself never counts, whatever day it is).

    Closed on a Friday, 5 business days is the next Friday; closed on a Saturday, the Friday after; each
    holiday on the way pushes the day one business day later.
    """
    if n < 0:
        raise Invalid(f"business days to add = {n}: expected 0 or more")
    day = start
    while n:
        day += timedelta(days=1)
        if is_business_day(day, holidays):
            n -= 1
    return day
