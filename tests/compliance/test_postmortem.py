"""The post-incident review clock (seed 002 §6): 5 business days from closing, weekends and holidays skipped,
a skeleton with §6's sections and nothing of the incident, in a directory only the owner reads."""
from __future__ import annotations

import json
import stat
from datetime import date, datetime, timezone

import pytest
from freezegun import freeze_time

from jobs.compliance.business_days import add_business_days, holidays_for
from jobs.compliance.postmortem import PLACEHOLDER, REPORTS, postmortems_due, start_postmortem
from jobs.errors import Conflict, Invalid
from jobs.settings import ComplianceSettings

#: 22:30 on Friday 18 December 2026 in Los Angeles; already Saturday in UTC.
FRIDAY_EVENING_PACIFIC = datetime(2026, 12, 19, 6, 30, tzinfo=timezone.utc)
COMPANY_HOLIDAY = "[compliance]\nholidays = [2026-12-28]\n"


def _entries(ctx, kind: str) -> list[dict]:
    path = ctx.data_dir / "operations" / "ledger.jsonl"
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["kind"] == kind]


def test_five_business_days_skip_the_weekend_and_a_configured_holiday():
    no_days_off = holidays_for(ComplianceSettings())
    # Thursday 3 December: Fri 4, Mon 7, Tue 8, Wed 9, Thu 10.
    assert add_business_days(date(2026, 12, 3), 5, no_days_off) == date(2026, 12, 10)
    with_tuesday_off = holidays_for(ComplianceSettings(holidays=(date(2026, 12, 8),)))
    assert add_business_days(date(2026, 12, 3), 5, with_tuesday_off) == date(2026, 12, 11)
    # Closed on a Saturday: Monday is the first business day.
    assert add_business_days(date(2026, 12, 5), 1, no_days_off) == date(2026, 12, 7)
    assert add_business_days(date(2026, 12, 5), 0, no_days_off) == date(2026, 12, 5)
    with pytest.raises(Invalid, match="business days to add = -1"):
        add_business_days(date(2026, 12, 5), -1, no_days_off)


def test_a_subdivision_adds_its_own_public_holidays():
    # Cesar Chavez Day (Wednesday 31 March 2027) is a California holiday, not a federal one.
    assert add_business_days(date(2027, 3, 30), 5, holidays_for(ComplianceSettings())) == date(2027, 4, 6)
    california = holidays_for(ComplianceSettings(holidays_subdivision="CA"))
    assert add_business_days(date(2027, 3, 30), 5, california) == date(2027, 4, 7)


@pytest.mark.parametrize(("settings", "message"), [
    (ComplianceSettings(holidays_country="XX"), 'compliance.holidays_country = "XX": the holidays library has no'),
    (ComplianceSettings(holidays_subdivision="ZZ"), 'compliance.holidays_subdivision = "ZZ": not a subdivision of US'),
])
def test_an_unknown_holiday_calendar_is_refused_naming_the_key(settings, message):
    with pytest.raises(Invalid, match=message.replace("(", r"\(")):
        holidays_for(settings)


def test_closing_on_a_friday_before_christmas_is_due_after_the_weekend_and_both_holidays(make_ctx):
    ctx = make_ctx(COMPANY_HOLIDAY)
    with freeze_time(FRIDAY_EVENING_PACIFIC):
        review = start_postmortem(ctx, "INC-7", "inc-7", FRIDAY_EVENING_PACIFIC)

    # Closed Friday 18 December (Pacific). Mon 21, Tue 22, Wed 23, Thu 24; Fri 25 (Christmas Day) and the
    # weekend skipped; Mon 28 (configured) skipped; Tue 29 is the fifth business day.
    assert review.due == date(2026, 12, 29)
    assert review.closed_on == date(2026, 12, 18)
    assert review.path == REPORTS / "postmortem-inc-7-2026-12-18.md"
    [entry] = _entries(ctx, "postmortem.started")
    assert entry["data"] == {"incident_id": "INC-7", "path": str(review.path), "closed_on": "2026-12-18",
                             "due": "2026-12-29", "business_days": 5}


def test_the_skeleton_holds_the_sections_and_the_id_only_in_a_private_directory(ctx):
    review = start_postmortem(ctx, "INC-12", "inc-12", FRIDAY_EVENING_PACIFIC)
    path = ctx.data_dir / review.path
    text = path.read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Root cause category", "## Prevention actions", "## SOP updates", "## CEO brief"]
    assert "| Action | Owner | Deadline |" in text
    assert "credential management, access control, vendor gap, process gap" in text
    assert "what happened, what changed, what risk remains" in text
    assert "# Post-incident review: INC-12" in text and "2026-12-18" in text and "2026-12-28" in text
    assert "$" not in text
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_review_is_listed_from_its_due_day_until_every_section_is_written(ctx):
    review = start_postmortem(ctx, "INC-3", "inc-3", FRIDAY_EVENING_PACIFIC)
    assert review.due == date(2026, 12, 28)
    assert postmortems_due(ctx, date(2026, 12, 27)) == []
    assert postmortems_due(ctx, date(2026, 12, 27), within_days=1) == [review]
    assert postmortems_due(ctx, date(2026, 12, 28)) == [review]
    assert postmortems_due(ctx, date(2027, 1, 15)) == [review]

    path = ctx.data_dir / review.path
    text = path.read_text()
    path.write_text(text.replace(PLACEHOLDER, "written", 1))
    assert postmortems_due(ctx, date(2027, 1, 15)) == [review]      # three sections still to write
    path.write_text(text.replace(PLACEHOLDER, "written"))
    assert postmortems_due(ctx, date(2027, 1, 15)) == []
    path.unlink()
    assert postmortems_due(ctx, date(2027, 1, 15)) == [review]      # a deleted review is not a written one


def test_starting_the_same_closing_again_returns_it_and_keeps_what_was_written(ctx):
    first = start_postmortem(ctx, "INC-4", "inc-4", FRIDAY_EVENING_PACIFIC)
    path = ctx.data_dir / first.path
    path.write_text("written by a person")
    assert start_postmortem(ctx, "INC-4", "inc-4", FRIDAY_EVENING_PACIFIC) == first
    assert path.read_text() == "written by a person"
    assert len(_entries(ctx, "postmortem.started")) == 1


def test_another_closing_of_the_same_incident_or_another_incident_at_the_same_path_conflicts(ctx):
    start_postmortem(ctx, "INC-5", "inc-5", FRIDAY_EVENING_PACIFIC)
    with pytest.raises(Conflict, match="INC-5's post-incident review was already started"):
        start_postmortem(ctx, "INC-5", "inc-5", datetime(2027, 1, 4, 18, tzinfo=timezone.utc))
    with pytest.raises(Conflict, match="is already INC-5's post-incident review; give INC-6 another slug"):
        start_postmortem(ctx, "INC-6", "inc-5", FRIDAY_EVENING_PACIFIC)
    assert len(_entries(ctx, "postmortem.started")) == 1


@pytest.mark.parametrize(("incident_id", "slug", "closed_at", "message"), [
    ("INC-8", "Stripe key/leak", FRIDAY_EVENING_PACIFIC, "post-mortem slug 'Stripe key/leak'"),
    ("INC-8", "x" * 61, FRIDAY_EVENING_PACIFIC, "at most 60 characters"),
    ("case-8", "inc-8", FRIDAY_EVENING_PACIFIC, "incident id 'case-8': expected INC-<number>"),
    ("INC-8", "inc-8", datetime(2026, 12, 18, 22, 30), "has no time zone"),
])
def test_a_bad_id_slug_or_naive_time_is_refused_and_nothing_is_written(ctx, incident_id, slug, closed_at, message):
    with pytest.raises(Invalid, match=message.replace("(", r"\(")):
        start_postmortem(ctx, incident_id, slug, closed_at)
    assert not (ctx.data_dir / REPORTS).exists()
    assert postmortems_due(ctx, date(2030, 1, 1)) == []


@pytest.mark.parametrize(("table", "message"), [
    ({"holidays": ["2026-02-30"]}, "compliance.holidays = [\"2026-02-30\"]: '2026-02-30' is not a date"),
    ({"holidays": "2026-12-24"}, "compliance.holidays = \"2026-12-24\": expected a list of dates"),
    ({"holidays_country": "us"}, "compliance.holidays_country = \"us\": expected an ISO 3166 country code"),
    ({"holidays_subdivision": "california"}, "compliance.holidays_subdivision = \"california\": expected"),
    ({"holiday": []}, "compliance.holiday: unknown key; did you mean 'holidays'?"),
])
def test_holiday_settings_are_parsed_strictly_naming_the_key(table, message):
    from chatops.config import ConfigError, parse_settings

    with pytest.raises(ConfigError) as raised:
        parse_settings({"compliance": table})
    assert str(raised.value).startswith(message)


def test_holidays_may_be_toml_dates_or_iso_strings():
    from chatops.config import parse_settings

    settings = parse_settings({"compliance": {"holidays": [date(2026, 12, 31), "2026-12-24", "2026-12-31"]}})
    assert settings.compliance.holidays == (date(2026, 12, 24), date(2026, 12, 31))


def test_the_doctor_names_a_post_mortem_directory_opened_to_its_group(ctx):
    import os

    from store.access import Policy, check_data_dir

    review = start_postmortem(ctx, "INC-2", "inc-2", FRIDAY_EVENING_PACIFIC)
    assert check_data_dir(ctx.data_dir, Policy()) == []
    os.chmod((ctx.data_dir / review.path).parent, 0o750)
    [line] = check_data_dir(ctx.data_dir, Policy())
    assert line.startswith(f"{ctx.data_dir / REPORTS} is mode 0750, open to its group (this is for its owner alone)")


def test_config_check_names_a_holiday_calendar_the_library_lacks(config_file):
    from tests.conftest import run_cli

    config_file.write_text(config_file.read_text() + '\n[compliance]\nholidays_country = "XX"\n')
    done = run_cli("config", "check", config=config_file)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert 'compliance.holidays_country = "XX": the holidays library has no calendar for it' in done.stderr
