"""Typed settings: what config.toml means, as frozen dataclasses.

The types live in `jobs` (not `chatops`) because the domain reads them while `chatops/config.py`
only parses and validates the file into them (imports point down only, docs/architecture.md §1).

Each field may carry `meta(...)`: a parser that turns the raw TOML value into the typed value or
raises `ValueError("expected …")`, and a one-line doc. `chatops/config.py` walks these dataclasses
generically, so a later issue adds a section by adding a `@section` class here and a field to `Settings`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import grp
import ipaddress
import re
from dataclasses import field
from datetime import date, datetime, time
from typing import Any, Callable, TypeVar, dataclass_transform
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Parser = Callable[[Any], Any]
_Section = TypeVar("_Section", bound=type)


def meta(doc: str, parse: Parser | None = None) -> dict[str, Any]:
    """Field metadata read by the config loader."""
    return {"doc": doc, "parse": parse}


# ---- the record type of every section ------------------------------------------------------------


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def section(cls: _Section) -> _Section:
    """`@dataclass(frozen=True)` for a settings class, with its methods shared instead of generated.

    Why: CPython creates a dataclass by compiling its `__init__`, `__repr__`, `__eq__`, `__hash__`,
    `__setattr__` and `__delattr__` from source, about half a millisecond a class here, and every command
    that reads config.toml builds every section (issue 21: a runbook loop calling `chatops case list` paid
    ~10 ms a call for it). A section is built once per process, so shared methods (which walk
    `dataclasses.fields`) cost nothing that matters. The result is a dataclass (`fields`, `replace`,
    `asdict`) whose construction, equality, hashing, `repr` and `FrozenInstanceError` are those of
    `@dataclass(frozen=True)` (tests/test_settings_records.py compares them); only `__dataclass_params__` tells.
    """
    made = dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    if hasattr(made, "__post_init__") or any(not f.init for f in dataclasses.fields(made)):
        raise TypeError(f"@section {cls.__qualname__}: the shared __init__ runs no __post_init__ and sets every "
                        "field; use @dataclass(frozen=True) for this class")
    made.__init__ = _init            # type: ignore[misc]
    made.__repr__ = _repr            # type: ignore[assignment]
    made.__eq__ = _eq                # type: ignore[assignment]
    made.__hash__ = _hash            # type: ignore[assignment]
    made.__setattr__ = _frozen_set   # type: ignore[assignment]
    made.__delattr__ = _frozen_del   # type: ignore[assignment]
    return made


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    """The generated `__init__`'s behaviour: positional then keyword values, defaults, default factories."""
    name = f"{type(self).__qualname__}.__init__"
    fields = dataclasses.fields(self)
    if len(args) > len(fields):
        raise TypeError(f"{name}() takes at most {len(fields)} positional arguments but {len(args)} were given")
    values = dict(zip((f.name for f in fields), args))
    for key, value in kwargs.items():
        if key in values:
            raise TypeError(f"{name}() got multiple values for argument {key!r}")
        values[key] = value
    unknown = values.keys() - {f.name for f in fields}
    if unknown:
        raise TypeError(f"{name}() got an unexpected keyword argument {min(unknown)!r}")
    for f in fields:
        if f.name in values:
            value = values[f.name]
        elif f.default is not dataclasses.MISSING:
            value = f.default
        elif f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
        else:
            raise TypeError(f"{name}() missing 1 required positional argument: {f.name!r}")
        object.__setattr__(self, f.name, value)


def _repr(self: Any) -> str:
    shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self) if f.repr)
    return f"{type(self).__qualname__}({shown})"


def _compared(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, f.name) for f in dataclasses.fields(self) if f.compare)


def _eq(self: Any, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)
                      if (f.compare if f.hash is None else f.hash)))


def _frozen_set(self: Any, name: str, value: Any) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_del(self: Any, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


# ---- value parsers: each raises ValueError whose text is "expected …" -------------------------

#: Patterns are compiled on first use (re caches them): a command that reads no such key pays nothing.
_HHMM = r"^([01][0-9]|2[0-3]):([0-5][0-9])$"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hhmm(value: Any) -> time:
    if not isinstance(value, str) or not re.match(_HHMM, value):
        raise ValueError("expected HH:MM (24-hour, e.g. \"05:00\")")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@section
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
    if len(parts) != 2 or parts[0] not in WEEKDAYS or not re.match(_HHMM, parts[1]):
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


def parse_email_list(value: Any) -> tuple[str, ...]:
    expected = "expected a list of email addresses such as [\"info@ecomonetize.com\"]"
    if not isinstance(value, list) or not all(
            isinstance(v, str) and re.match(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$", v) for v in value):
        raise ValueError(expected)
    return tuple(v.lower() for v in value)


def parse_item_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("expected a list of password-manager item names such as [\"Stripe live secret key\"]")
    return tuple(v.strip() for v in value)


def parse_scrub_engine(value: Any) -> str:
    if value not in ("auto", "hyperscan", "python"):
        raise ValueError("expected \"auto\", \"hyperscan\" or \"python\"")
    return value


# ---- sections -----------------------------------------------------------------------------------


@section
class ScheduleSettings:
    """When the daily and weekly jobs run, in `timezone` (the seeds' times)."""

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


@section
class ChannelSettings:
    """The Slack channels alerts and reviews go to, by what they are for."""

    ops_critical: str = field(default="#ops-critical", metadata=meta("SEV0 alerts", parse_channel))
    ops_alerts: str = field(default="#ops-alerts", metadata=meta("SEV1 alerts", parse_channel))
    ops_review: str = field(default="#ops-review", metadata=meta("weekly review", parse_channel))
    security_incidents: str = field(default="#security-incidents", metadata=meta(
        "security escalations", parse_channel))


@section
class SlackSettings:
    """Where the Slack Web API is, the channels, and how the kill switch reminds and expires."""

    api_url: str = field(default="https://slack.com/api/", metadata=meta(
        "Web API base URL (GovSlack and the test stand-ins use another)", parse_url))
    channels: ChannelSettings = field(default_factory=ChannelSettings, metadata=meta("channel names"))
    killswitch_remind_minutes: int = field(default=60, metadata=meta(
        "while the kill switch is on, remind the alert channels this often (minutes)", parse_positive_int))
    killswitch_max_hours: int = field(default=24, metadata=meta(
        "longest a kill switch may be set for at once (hours); it expires on its own", parse_positive_int))


ROLE_NAMES = ("O1", "O2", "O3", "ceo", "coo", "chief.staff", "code.platform", "security.ops", "legal.exec")


def parse_roles(value: Any) -> tuple[str, ...]:
    expected = "expected a list of roles from " + ", ".join(ROLE_NAMES)
    if not isinstance(value, list) or not value or not all(isinstance(r, str) for r in value):
        raise ValueError(expected)
    unknown = [r for r in value if r not in ROLE_NAMES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}; {expected}")
    return tuple(dict.fromkeys(value))


@section
class PersonSettings:
    """One person of [people]: the roles they hold and their Slack id (docs/architecture.md §4)."""

    roles: tuple[str, ...] = field(metadata=meta(
        "roles (docs/architecture.md §4), e.g. [\"O3\", \"coo\"]", parse_roles))
    slack_id: str = field(default="", metadata=meta(
        "Slack user id; empty for someone who acts only through the CLI", parse_slack_user_id))


@section
class BaselineSettings:
    """The runbook's Baseline Update Procedure prerequisites (seed 001), and who may approve."""

    min_days: int = field(default=30, metadata=meta(
        "an update needs at least this many days of healthy runs", parse_positive_int))
    max_cv: float = field(default=0.3, metadata=meta(
        "an update needs a coefficient of variation below this", parse_positive_number))
    stable_weeks: int = field(default=2, metadata=meta(
        "an update needs no SEV0/SEV1 run of the scenario in this many weeks", parse_positive_int))
    large_change_pct: float = field(default=50.0, metadata=meta(
        "a change larger than this (percent) also needs --force-large-change", parse_positive_number))
    default_days: int = field(default=30, metadata=meta(
        "window of `baseline calculate` and `baseline update` without --days", parse_positive_int))
    allow_self_approval: bool = field(default=False, metadata=meta(
        "let an O3 approve a baseline change they proposed (single-operator installs only)"))


@section
class ReviewSettings:
    """The weekly credit review and the audit reports (seed 001 "Weekly Review Procedure", "Audit and
    Compliance"). The candidate criteria are the runbook's numbers; the pattern thresholds are ours."""

    top_scenarios: int = field(default=5, metadata=meta(
        "how many scenarios `top_scenarios_by_total` lists (the runbook: top 5)", parse_positive_int))
    notable_variance: float = field(default=2.0, metadata=meta(
        "a scenario's variance from baseline above this is notable (the runbook: > 2x)", parse_positive_number))
    candidate_max_variance: float = field(default=1.2, metadata=meta(
        "a baseline candidate's variance is below this x its current baseline", parse_positive_number))
    candidate_min_runs: int = field(default=10, metadata=meta(
        "a baseline candidate has at least this many runs in the week", parse_positive_int))
    candidate_max_cv: float = field(default=0.3, metadata=meta(
        "a baseline candidate's coefficient of variation is below this", parse_positive_number))
    stale_case_days: int = field(default=7, metadata=meta(
        "an open case with no activity for this many days is stale (a policy violation)", parse_positive_int))
    drift_min_spikes: int = field(default=3, metadata=meta(
        "this many spikes (SEV0-SEV2) of one scenario in a week read as baseline drift", parse_positive_int))
    systemic_min_scenarios: int = field(default=3, metadata=meta(
        "this many scenarios spiking on one day read as a systemic issue", parse_positive_int))
    spike_runs_limit: int = field(default=50, metadata=meta(
        "how many spike runs `top_spike_runs` lists, highest variance first (the rest are counted)",
        parse_positive_int))


_FLAG_NAME = r"^[a-z][a-z0-9_]{0,63}$"


def parse_flag_weights(value: Any) -> dict[str, float]:
    expected = "expected a table of risk flag = weight (lower-case flag names, weights >= 0)"
    if not isinstance(value, dict):
        raise ValueError(expected)
    for name, weight in value.items():
        if not re.match(_FLAG_NAME, name) or isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or weight < 0:
            raise ValueError(f"{name!r} = {weight!r}: {expected}")
    return {name: float(weight) for name, weight in value.items()}


def parse_flag_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and re.match(_FLAG_NAME, v) for v in value):
        raise ValueError("expected a list of lower-case risk flag names, e.g. [\"pii_exposure\"]")
    return tuple(value)


def parse_likelihood(value: Any) -> str:
    if value not in ("High", "Medium"):
        raise ValueError("expected \"High\" or \"Medium\"")
    return value


def parse_port(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError("expected a TCP port 1-65535, or 0 to turn the loopback intake off")
    return value


@section
class CreditsSettings:
    """Credit monitoring policy (seed 001). Thresholds are multiples of the scenario's baseline."""

    sev0_multiplier: float = field(default=10.0, metadata=meta(
        "SEV0: PII/regulatory exposure together with credits >= this x baseline", parse_positive_number))
    sev1_multiplier: float = field(default=5.0, metadata=meta(
        "SEV1: credits >= this x baseline", parse_positive_number))
    sev2_multiplier: float = field(default=2.0, metadata=meta(
        "SEV2: credits >= this x baseline", parse_positive_number))
    backfill_sev1_multiplier: float = field(default=8.0, metadata=meta(
        "SEV1 threshold for backfill runs (relaxed; the runbook's backfill mode)", parse_positive_number))
    backfill_legit_bonus: float = field(default=2.0, metadata=meta(
        "legit-load weight given to backfill runs (lowers their misconfig score)", parse_positive_number))
    exposure_flags: tuple[str, ...] = field(default=("pii_exposure", "regulatory_data"), metadata=meta(
        "Risk_Flags that mean PII/regulatory exposure (as do pii_data_source / regulatory_data_source)",
        parse_flag_list))
    misconfig_weights: dict[str, float] = field(default_factory=lambda: {
        "retry_loop": 3.0, "unbounded_iterator": 3.0, "sudden_prompt_growth": 2.0,
        "deployment_correlation": 1.5}, metadata=meta("weights of misconfig signals", parse_flag_weights))
    legit_weights: dict[str, float] = field(default_factory=lambda: {
        "batch_job": 2.0, "linear_scaling": 2.0}, metadata=meta(
        "weights of legit-load signals (subtracted)", parse_flag_weights))
    likelihood_high: float = field(default=3.0, metadata=meta(
        "misconfig score at or above which the likelihood is High", parse_positive_number))
    likelihood_medium: float = field(default=1.0, metadata=meta(
        "misconfig score at or above which the likelihood is Medium", parse_positive_number))
    retry_loop_after: int = field(default=3, metadata=meta(
        "retry_count above this counts as retry_loop even when the flag is absent", parse_positive_int))
    ack_sev0_minutes: int = field(default=15, metadata=meta(
        "SEV0 ACK due within (and re-notify every) this many minutes", parse_positive_int))
    ack_sev1_minutes: int = field(default=60, metadata=meta(
        "SEV1 ACK due within (and re-notify every) this many minutes", parse_positive_int))
    sev2_case_after: int = field(default=3, metadata=meta(
        "open a case when a scenario has this many SEV2 runs within sev2_window_days", parse_positive_int))
    sev2_window_days: int = field(default=7, metadata=meta(
        "window for the SEV2 persistence rule", parse_positive_int))
    sev2_rerun_gate: str = field(default="High", metadata=meta(
        "SEV2 reruns need O3 approval when misconfig likelihood is at least this", parse_likelihood))
    inbox_poll_seconds: float = field(default=2.0, metadata=meta(
        "how often the daemon looks in inbox/runs/", parse_positive_number))
    intake_port: int = field(default=8787, metadata=meta(
        "loopback HTTP intake port on 127.0.0.1 (needs CHATOPS_INTAKE_TOKEN); 0 = off", parse_port))
    group_commit_max: int = field(default=64, metadata=meta(
        "most runs recorded in one ledger commit", parse_positive_int))


_KEY_NAME = r"^[^\s+]+$"
_VKEY = r"^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]{43}[A-Za-z0-9+/=]$"


def parse_origin(value: Any) -> str:
    if not isinstance(value, str) or value and not re.match(_KEY_NAME, value):
        raise ValueError("expected a ledger origin such as \"ecomonetize.com/chatops/credit-ledger/7f3a9c\" "
                         "(no spaces or '+'), or \"\" to use the one in the data directory")
    return value


def parse_vkeys(value: Any) -> tuple[str, ...]:
    expected = ("expected a list of verifier keys \"<name>+<8 hex>+<base64>\" as printed by "
                "`chatops ledger init`")
    if not isinstance(value, list) or not all(isinstance(v, str) and re.match(_VKEY, v) for v in value):
        raise ValueError(expected)
    return tuple(value)


def parse_group(value: Any) -> str:
    """A group this machine knows (the data directory is given to it), or "" for owner only."""
    if not isinstance(value, str):
        raise ValueError("expected a group name such as \"chatops-ops\", or \"\" for owner only")
    if value:
        try:
            grp.getgrnam(value)
        except KeyError:
            raise ValueError(f"expected a group that exists on this machine (create it: groupadd {value}; add "
                             "the daemon's user and the O1 viewers to it), or \"\" for owner only") from None
    return value


def parse_domain(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9-]+)+$", value):
        raise ValueError("expected a lower-case domain name such as \"ecomonetize.com\"")
    return value


@section
class LedgerSettings:
    """The signed ledgers (docs/ledger.md): who signs them and which public keys a verifier trusts."""

    company_domain: str = field(default="ecomonetize.com", metadata=meta(
        "first part of every ledger origin and witness name", parse_domain))
    credit_origin: str = field(default="", metadata=meta(
        "pinned origin of runs/CREDIT_MONITORING/audit/ledger.jsonl; empty: read from the data directory "
        "(verify warns)", parse_origin))
    operations_origin: str = field(default="", metadata=meta(
        "pinned origin of operations/ledger.jsonl; empty: read from the data directory (verify warns)",
        parse_origin))
    trusted_vkeys: tuple[str, ...] = field(default=(), metadata=meta(
        "log verifier keys (keep old ones after a rotation: old checkpoints need them)", parse_vkeys))
    witnesses: tuple[str, ...] = field(default=(), metadata=meta(
        "O2 witness verifier keys (type 0x04), printed by `chatops ledger witness`", parse_vkeys))
    key_dir: str = field(default="", metadata=meta(
        "directory of the ledger signing key (0700); empty: <data_dir>/keys; relative: to data_dir"))
    passphrase_env: str = field(default="CHATOPS_LEDGER_KEY_PASSPHRASE", metadata=meta(
        "environment variable whose value, when set, encrypts the key (PKCS#12, 600,000 rounds)"))


@section
class NotionSettings:
    """The Notion mirror of RUNS_LEDGER and CASES (seed 001). Token and database ids come from the
    environment only (NOTION_TOKEN, NOTION_RUNS_LEDGER_DB_ID, NOTION_CASES_DB_ID)."""

    api_url: str = field(default="https://api.notion.com/", metadata=meta(
        "API base URL (Notion's; the test stand-in uses another)", parse_url))
    requests_per_second: float = field(default=3.0, metadata=meta(
        "most requests a second the mirror makes (Notion allows about 3 on average)", parse_positive_number))
    timeout_seconds: float = field(default=15.0, metadata=meta(
        "how long one request may take before it counts as an outage", parse_positive_number))
    sync_lag_alert_minutes: int = field(default=30, metadata=meta(
        "the sweep reports the mirror when its oldest unsent change is older than this (minutes)",
        parse_positive_int))


@section
class ScrubSettings:
    """What the scrub keeps and what it treats as sensitive (seed 000 §4)."""

    approved_emails: tuple[str, ...] = field(default=("info@ecomonetize.com",), metadata=meta(
        "email addresses the scrub keeps (all others are removed)", parse_email_list))
    internal_cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default=tuple(ipaddress.ip_network(n) for n in (
            "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fd00::/8", "::1/128")),
        metadata=meta("approved internal ranges: addresses inside are kept, all others removed", parse_cidr_list))
    sensitive_items: tuple[str, ...] = field(default=(), metadata=meta(
        "password-manager item names; text naming one is an indirect exposure (grade LOW)", parse_item_list))
    max_line_bytes: int = field(default=64 * 1024 * 1024, metadata=meta(
        "a longer line is replaced whole by a marker instead of being scrubbed", parse_positive_int))
    rules_file: str = field(default="", metadata=meta(
        "ruleset file replacing the packaged one, absolute or relative to data_dir (empty: the packaged scrub-rules.json)"))
    engine: str = field(default="auto", metadata=meta(
        "raw-byte prefilter: auto (Hyperscan when installed), hyperscan, or python", parse_scrub_engine))


def parse_provider(value: Any) -> str:
    if value not in ("local", "github"):
        raise ValueError("expected \"local\" (PRs kept in the store, merged into the export repository's main) "
                         "or \"github\" (needs [export.github] and GITHUB_TOKEN)")
    return value


def parse_glob_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError("expected a non-empty list of file globs such as [\"~/.claude/projects/**/*.jsonl\"]")
    return tuple(v.strip() for v in value)


def parse_minutes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a whole number of minutes, 0 or more")
    return value


_GITHUB_REPO = r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$"


def parse_github_repo(value: Any) -> str:
    if not isinstance(value, str) or value and (not re.match(_GITHUB_REPO, value) or value.endswith(".git")):
        raise ValueError("expected \"owner/name\" of the export repository on GitHub (no URL, no .git), "
                         "or \"\" while the github provider is not used")
    return value


def parse_api_url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
        raise ValueError("expected the REST API's URL: \"https://api.github.com\", or "
                         "\"https://<host>/api/v3\" for GitHub Enterprise Server")
    return value.rstrip("/")


def parse_push_url(value: Any) -> str:
    if not isinstance(value, str) or value and (re.search(r"\s", value) or not (
            re.match(r"^(https?|ssh|file)://\S+$", value) or re.match(r"^[\w.-]+@[\w.-]+:\S+$", value)
            or value.startswith("/"))):
        raise ValueError("expected a git remote: an https, ssh or file URL, user@host:path, or the absolute "
                         "path of a bare repository; or \"\" for https://<host>/<repo>.git")
    if re.match(r"^https?://[^/@\s]+@", value):
        raise ValueError("expected a URL without credentials in it: the token comes from GITHUB_TOKEN only")
    return value


# ---- compliance (seed 002): the post-incident review clock's holidays and the local council ---------

_COUNTRY = r"^[A-Z]{2,3}$"
_SUBDIVISION = r"^[A-Z0-9]{1,5}$"
_LOOPBACK_NAMES = ("localhost",)
_ENDPOINT = r"^(https?)://(\[[0-9A-Fa-f:.]+\]|[^\s/:\[\]@?#]+)(?::([0-9]{1,5}))?/?$"


def parse_country(value: Any) -> str:
    """An ISO 3166 country code; the `holidays` library (imported only when a clock is computed, it costs
    100 ms) says whether it knows it, naming this key."""
    if not isinstance(value, str) or not re.match(_COUNTRY, value):
        raise ValueError("expected an ISO 3166 country code in capitals such as \"US\"")
    return value


def parse_subdivision(value: Any) -> str:
    if not isinstance(value, str) or value and not re.match(_SUBDIVISION, value):
        raise ValueError("expected a subdivision code in capitals such as \"CA\" (California), or \"\" for the "
                         "country's holidays only")
    return value


def parse_date_list(value: Any) -> tuple[date, ...]:
    """TOML dates (`2026-12-24`) or ISO strings (`"2026-12-24"`), sorted, each once."""
    expected = "expected a list of dates such as [2026-12-24, \"2026-12-31\"]"
    if not isinstance(value, list):
        raise ValueError(expected)
    return tuple(sorted({_one_date(item, expected) for item in value}))


def _one_date(item: Any, expected: str) -> date:
    if isinstance(item, date) and not isinstance(item, datetime):
        return item
    if isinstance(item, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", item):
        with contextlib.suppress(ValueError):   # 2026-02-30: the shape of a date, not one
            return date.fromisoformat(item)
    raise ValueError(f"{item!r} is not a date; {expected}")


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`: the only places compliance content may be sent (seed 002 §1)."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address in ipaddress.ip_network("127.0.0.0/8") if address.version == 4 else \
        address == ipaddress.IPv6Address("::1")


def parse_loopback_endpoint(value: Any) -> str:
    """An Ollama endpoint on this machine, or "" for none. Anything else is refused here, at load, so a
    compliance record can never be sent to another machine by a configuration mistake."""
    if value == "":
        return value
    match = re.match(_ENDPOINT, value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("expected an endpoint such as \"http://127.0.0.1:11434\" (scheme, loopback host, port; "
                         "no path), or \"\" for no local drafting")
    scheme, host, port = match.groups()
    if not is_loopback_host(host):
        raise ValueError("not a loopback address; compliance content never leaves this machine (seed 002 §1): "
                         "expected 127.0.0.0/8, [::1] or localhost, e.g. \"http://127.0.0.1:11434\", or \"\" "
                         "for no local drafting")
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError("expected a port 1-65535, e.g. \"http://127.0.0.1:11434\"")
    return f"{scheme}://{host}:{port or 11434}"


def parse_model_name(value: Any) -> str:
    if not isinstance(value, str) or value and not re.match(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$", value):
        raise ValueError("expected an Ollama model name such as \"llama3.1:8b\"")
    return value


@section
class ExportGitHubSettings:
    """Where the `github` provider keeps the export's pull requests (seed 000 step 5). The token is never
    here: it comes from the environment variable GITHUB_TOKEN only."""

    repo: str = field(default="", metadata=meta(
        "\"owner/name\" of the export repository on GitHub", parse_github_repo))
    api_url: str = field(default="https://api.github.com", metadata=meta(
        "REST API URL; \"https://<host>/api/v3\" for GitHub Enterprise Server", parse_api_url))
    push_url: str = field(default="", metadata=meta(
        "git remote the export branch is pushed to; empty: https://<host>/<repo>.git", parse_push_url))


@section
class ExportSettings:
    """The 05:00 session export (seed 000): where transcripts are, where clean copies go, who hosts the PR."""

    provider: str = field(default="local", metadata=meta(
        "pull-request host: local (a record in the store; merge = git merge --no-ff into main) or github",
        parse_provider))
    sources: tuple[str, ...] = field(default=("~/.claude/projects/**/*.jsonl",), metadata=meta(
        "globs of session transcripts (~ expands; ** recurses, subagent files included)", parse_glob_list))
    settle_minutes: int = field(default=15, metadata=meta(
        "a file modified this recently is still live: deferred to the next run", parse_minutes))
    repo_dir: str = field(default="exports", metadata=meta(
        "the export git repository, relative to data_dir (created on first run)"))
    remote: str = field(default="", metadata=meta(
        "optional git remote URL the local provider pushes the day's branch and main to"))
    review_channel: str = field(default="#ops-review", metadata=meta(
        "where each run's result goes (grade, counts, PR, who must act)", parse_channel))
    github: ExportGitHubSettings = field(default_factory=ExportGitHubSettings, metadata=meta(
        "the github pull-request provider: repository, API URL, push URL"))


@section
class CouncilSettings:
    """The local council (seed 002 §1: "council review uses Ollama local only")."""

    endpoint: str = field(default="", metadata=meta(
        "Ollama endpoint on this machine (loopback only), e.g. \"http://127.0.0.1:11434\"; \"\" = no drafting",
        parse_loopback_endpoint))
    model: str = field(default="", metadata=meta(
        "the local model that drafts (needed when endpoint is set), e.g. \"llama3.1:8b\"", parse_model_name))
    timeout_seconds: float = field(default=120.0, metadata=meta(
        "longest wait for one draft (seconds)", parse_positive_number))


@section
class CustomerSettings:
    """A customer's contractual breach-notification SLA (seed 002 §5: "check customer contract")."""

    notify_hours: int = field(metadata=meta(
        "hours after awareness within which the contract says this customer must be told of a breach",
        parse_positive_int))


@section
class ComplianceSettings:
    """Compliance incidents (seed 002): the clocks of §4 and §5 (hours count from filing unless said
    otherwise), contractual SLAs, business days for the post-incident review (§6), the local council (§1)."""

    sev1_contain_minutes: int = field(default=30, metadata=meta(
        "a SEV1's containment must be confirmed within this many minutes of filing", parse_positive_int))
    sev1_legal_hours: int = field(default=1, metadata=meta(
        "legal.exec must confirm being engaged on a SEV1 within this many hours", parse_positive_int))
    decision_hours: int = field(default=24, metadata=meta(
        "the notification decision tree must be walked within this many hours of filing a SEV1", parse_positive_int))
    counsel_hours: int = field(default=24, metadata=meta(
        "outside counsel contacted within this many hours of customer data confirmed exposed", parse_positive_int))
    sev2_response_hours: int = field(default=4, metadata=meta(
        "a SEV2's response (the risk assessment) is due this many hours after filing", parse_positive_int))
    sev2_remediation_hours: int = field(default=24, metadata=meta(
        "a SEV2's remediation plan is due this many hours after filing", parse_positive_int))
    gdpr_dpa_hours: int = field(default=72, metadata=meta(
        "GDPR Art. 33: the DPA is notified within this many hours of awareness", parse_positive_int))
    gdpr_individuals_hours: int = field(default=72, metadata=meta(
        "internal target for telling affected individuals of a high-risk breach (Art. 34 \"without undue "
        "delay\"), hours after awareness", parse_positive_int))
    ccpa_target_hours: int = field(default=120, metadata=meta(
        "internal target for CCPA's \"expeditiously\", hours after awareness", parse_positive_int))
    remind_before_minutes: int = field(default=60, metadata=meta(
        "each due step is reminded this many minutes before it is due", parse_positive_int))
    key_dir: str = field(default="", metadata=meta(
        "directory of the incident encryption key (0700); empty: <data_dir>/keys; relative: to data_dir"))
    customers: dict[str, CustomerSettings] = field(default_factory=dict, metadata=meta(
        "contractual notification SLAs by customer name ([compliance.customers.<name>] notify_hours = 48)"))
    holidays_country: str = field(default="US", metadata=meta(
        "public holidays skipped by the 5-business-day post-mortem clock: this country's", parse_country))
    holidays_subdivision: str = field(default="", metadata=meta(
        "… and this subdivision's (e.g. \"CA\"); \"\" for the country's only", parse_subdivision))
    holidays: tuple[date, ...] = field(default=(), metadata=meta(
        "more days off skipped by the clock (company holidays), e.g. [2026-12-24]", parse_date_list))
    council: CouncilSettings = field(default_factory=CouncilSettings, metadata=meta(
        "local drafting through Ollama (loopback only)"))


@section
class OpsSettings:
    """Running it for real (issue 26): what `chatops doctor` holds the machine to, and the daemon's log."""

    min_free_mb: int = field(default=1024, metadata=meta(
        "chatops doctor fails below this much free space on the data directory's disk (MB)", parse_positive_int))
    min_free_pct: int = field(default=5, metadata=meta(
        "chatops doctor warns below this share of the disk free (percent)", parse_positive_int))
    max_clock_skew_seconds: int = field(default=30, metadata=meta(
        "chatops doctor fails when the clock is further than this from Slack's (seconds)", parse_positive_int))


def parse_log_format(value: Any) -> str:
    if value not in ("text", "json"):
        raise ValueError("expected \"text\" or \"json\"")
    return value


def parse_non_negative_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a whole number, 0 or more")
    return value


@section
class LoggingSettings:
    """The process's log (chatops/logs.py): its format, and a size-rotated file beside stderr."""

    format: str = field(default="text", metadata=meta(
        "\"text\" or \"json\" (one JSON object per line; `--log-format` overrides it)", parse_log_format))
    file: str = field(default="", metadata=meta(
        "also write the log to this file, rotated by size (relative to data_dir); empty: stderr only"))
    max_mb: int = field(default=10, metadata=meta("rotate the file when it reaches this size (MB)",
                                                  parse_positive_int))
    backups: int = field(default=5, metadata=meta("rotated files kept beside it (file.1 … file.N)",
                                                  parse_non_negative_int))


@section
class SweepSettings:
    """The 08:30 enforcement sweep (issue 27): the thresholds the seeds leave to us."""

    stale_case_days: int = field(default=3, metadata=meta(
        "an open case with no activity for this many days is a finding (runbook: \"recent activity\")",
        parse_positive_int))


@section
class Settings:
    """The whole configuration. `people` maps a person's name to their Slack id and roles."""

    timezone: ZoneInfo = field(default=ZoneInfo("America/Los_Angeles"), metadata=meta(
        "wall-clock zone of every schedule (the seeds' \"PST\")", parse_zone))
    data_dir: str = field(default="var/", metadata=meta("root of all state (relative to config.toml)"))
    operators_group: str = field(default="", metadata=meta(
        "group that may read the data directory (O1 viewers read run artifacts through it); empty: its "
        "owner only", parse_group))
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings, metadata=meta("job times"))
    slack: SlackSettings = field(default_factory=SlackSettings, metadata=meta("Slack"))
    people: dict[str, PersonSettings] = field(default_factory=dict, metadata=meta("people by name"))
    ledger: LedgerSettings = field(default_factory=LedgerSettings, metadata=meta(
        "signed ledgers: origins, trusted keys, witnesses, key directory (docs/ledger.md)"))
    credits: CreditsSettings = field(default_factory=CreditsSettings, metadata=meta(
        "credit monitoring policy (seed 001)"))
    baselines: BaselineSettings = field(default_factory=BaselineSettings, metadata=meta(
        "baseline update prerequisites (seed 001)"))
    notion: NotionSettings = field(default_factory=NotionSettings, metadata=meta(
        "the Notion mirror of RUNS_LEDGER and CASES (seed 001)"))
    review: ReviewSettings = field(default_factory=ReviewSettings, metadata=meta(
        "weekly credit review and audit reports (seed 001)"))
    scrub: ScrubSettings = field(default_factory=ScrubSettings, metadata=meta(
        "session scrub: approved emails, internal ranges, sensitive items (seed 000 §4)"))
    export: ExportSettings = field(default_factory=ExportSettings, metadata=meta(
        "daily session export: sources, settle time, export repository, PR provider (seed 000)"))
    compliance: ComplianceSettings = field(default_factory=ComplianceSettings, metadata=meta(
        "compliance incidents: clocks, SLAs, holidays, local council (seed 002)"))
    ops: OpsSettings = field(default_factory=OpsSettings, metadata=meta(
        "running it for real: chatops doctor's thresholds (issue 26)"))
    logging: LoggingSettings = field(default_factory=LoggingSettings, metadata=meta(
        "the log: text or JSON lines, and a rotated file (issue 26)"))
    sweep: SweepSettings = field(default_factory=SweepSettings, metadata=meta(
        "the morning enforcement sweep (issue 27)"))
