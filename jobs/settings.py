"""Typed settings: what config.toml means, as frozen dataclasses.

The types live in `jobs` (not `chatops`) because the domain reads them while `chatops/config.py`
only parses and validates the file into them (imports point down only, ARCHITECTURE §1).

Each field may carry `meta(...)`: a parser that turns the raw TOML value into the typed value or
raises `ValueError("expected …")`, and a one-line doc. `chatops/config.py` walks these dataclasses
generically, so a later issue adds a section by adding a dataclass here and a field to `Settings`.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import time
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Parser = Callable[[Any], Any]


def meta(doc: str, parse: Parser | None = None) -> dict[str, Any]:
    """Field metadata read by the config loader."""
    return {"doc": doc, "parse": parse}


# ---- value parsers: each raises ValueError whose text is "expected …" -------------------------

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hhmm(value: Any) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError("expected HH:MM (24-hour, e.g. \"05:00\")")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class WeeklyTime:
    """A weekday and a wall-clock time, written `"mon 10:00"`."""

    weekday: str
    at: time

    def __str__(self) -> str:
        return f"{self.weekday} {self.at:%H:%M}"


def parse_weekly(value: Any) -> WeeklyTime:
    expected = "expected \"<mon|tue|wed|thu|fri|sat|sun> HH:MM\" (e.g. \"mon 10:00\")"
    if not isinstance(value, str):
        raise ValueError(expected)
    parts = value.strip().lower().split()
    if len(parts) != 2 or parts[0] not in WEEKDAYS or not _HHMM.match(parts[1]):
        raise ValueError(expected)
    return WeeklyTime(parts[0], parse_hhmm(parts[1]))


def parse_zone(value: Any) -> ZoneInfo:
    if not isinstance(value, str) or not value:
        raise ValueError("expected an IANA time zone name such as \"America/Los_Angeles\"")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone name such as \"America/Los_Angeles\"") from None


def parse_channel(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^#[a-z0-9][a-z0-9_-]{0,79}$", value):
        raise ValueError("expected a Slack channel name like \"#ops-critical\" (lower case, starts with #)")
    return value


def parse_slack_user_id(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[UW][A-Z0-9]{2,}$", value):
        raise ValueError("expected a Slack user id like \"U012ABCDEF\" (starts with U or W)")
    return value


def parse_url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError("expected an http(s) URL such as \"https://slack.com/api/\"")
    return value if value.endswith("/") else value + "/"


def parse_positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError("expected a whole number greater than 0")
    return value


def parse_positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError("expected a number greater than 0")
    return float(value)


def parse_cidr_list(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    expected = "expected a list of CIDR ranges such as [\"10.0.0.0/8\", \"fd00::/8\"]"
    if not isinstance(value, list):
        raise ValueError(expected)
    try:
        return tuple(ipaddress.ip_network(item, strict=False) for item in value)
    except (TypeError, ValueError):
        raise ValueError(expected) from None


# ---- sections -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleSettings:
    export: time = field(default=time(5, 0), metadata=meta(
        "daily session export (seed 000 §2)", parse_hhmm))
    pr_deadline: time = field(default=time(6, 0), metadata=meta(
        "an export PR must exist by then, or the sweep files a SEV3 (seed 000 §5)", parse_hhmm))
    sweep: time = field(default=time(8, 30), metadata=meta(
        "morning enforcement sweep (seed 000 §5)", parse_hhmm))
    summary: time = field(default=time(9, 0), metadata=meta(
        "CEO daily summary DM (seed 002 §7)", parse_hhmm))
    weekly_review: WeeklyTime = field(default=WeeklyTime("mon", time(10, 0)), metadata=meta(
        "weekly credit review (seed 001: every Monday at 10:00)", parse_weekly))


@dataclass(frozen=True)
class ChannelSettings:
    ops_critical: str = field(default="#ops-critical", metadata=meta("SEV0 alerts", parse_channel))
    ops_alerts: str = field(default="#ops-alerts", metadata=meta("SEV1 alerts", parse_channel))
    ops_review: str = field(default="#ops-review", metadata=meta("weekly review", parse_channel))
    security_incidents: str = field(default="#security-incidents", metadata=meta(
        "security escalations", parse_channel))


@dataclass(frozen=True)
class SlackSettings:
    api_url: str = field(default="https://slack.com/api/", metadata=meta(
        "Web API base URL (GovSlack and the test stand-ins use another)", parse_url))
    channels: ChannelSettings = field(default_factory=ChannelSettings, metadata=meta("channel names"))


ROLE_NAMES = ("O1", "O2", "O3", "ceo", "coo", "chief.staff", "code.platform", "security.ops", "legal.exec")


def parse_roles(value: Any) -> tuple[str, ...]:
    expected = "expected a list of roles from " + ", ".join(ROLE_NAMES)
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise ValueError(expected)
    unknown = [r for r in value if r not in ROLE_NAMES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}; {expected}")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class PersonSettings:
    roles: tuple[str, ...] = field(metadata=meta(
        "roles (ARCHITECTURE §4), e.g. [\"O3\", \"coo\"]", parse_roles))
    slack_id: str = field(default="", metadata=meta(
        "Slack user id; empty for someone who acts only through the CLI", parse_slack_user_id))


@dataclass(frozen=True)
class Settings:
    """The whole configuration. `people` maps a person's name to their Slack id and roles."""

    timezone: ZoneInfo = field(default=ZoneInfo("America/Los_Angeles"), metadata=meta(
        "wall-clock zone of every schedule (the seeds' \"PST\")", parse_zone))
    data_dir: str = field(default="var/", metadata=meta("root of all state (relative to config.toml)"))
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings, metadata=meta("job times"))
    slack: SlackSettings = field(default_factory=SlackSettings, metadata=meta("Slack"))
    people: dict[str, PersonSettings] = field(default_factory=dict, metadata=meta("people by name"))
