"""Load config.toml into `jobs.settings.Settings`, refusing anything it does not understand.

Every error is one line naming the key, the bad value and what is expected, e.g.
`schedule.sweep = "8:3O": expected HH:MM (24-hour, e.g. "05:00")`. Unknown keys are errors, with the
closest known key suggested, because a misspelt key silently falling back to a default is how a
05:00 export ends up running at the wrong hour.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.actors import DAEMON_NAME
from jobs.settings import Settings
from jobs.errors import Invalid

DEFAULT_CONFIG = "config.toml"
CONFIG_ENV = "CHATOPS_CONFIG"


class ConfigError(Invalid):
    """A configuration problem, worded for the operator who has to fix it."""


@dataclass(frozen=True)
class LoadedConfig:
    settings: Settings
    path: Path
    data_dir: Path


def resolve_config_path(cli_value: str | None) -> Path:
    """`--config` wins, then `$CHATOPS_CONFIG`, then `./config.toml`."""
    return Path(cli_value or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(config_path: Path, data_dir_override: str | None = None) -> LoadedConfig:
    if not config_path.exists():
        raise ConfigError(
            f"config file {config_path} not found: pass --config PATH or set {CONFIG_ENV}")
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{config_path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot be read: {exc}") from None
    settings = parse_settings(raw)
    data_dir = Path(data_dir_override) if data_dir_override else Path(settings.data_dir)
    if not data_dir.is_absolute():
        base = Path.cwd() if data_dir_override else config_path.resolve().parent
        data_dir = base / data_dir
    return LoadedConfig(settings=settings, path=config_path, data_dir=data_dir)


def parse_settings(raw: dict[str, Any]) -> Settings:
    settings = _build(Settings, raw, prefix="")
    _check_people(settings)
    _check_council(settings)
    return settings


def _check_council(settings: Settings) -> None:
    """An endpoint without a model would fail at the first draft, during an incident: say so at start."""
    council = settings.compliance.council
    if council.endpoint and not council.model:
        raise ConfigError(f"compliance.council.model: missing while compliance.council.endpoint = "
                          f"{_show(council.endpoint)}; expected the local model that drafts, e.g. \"llama3.1:8b\" "
                          f"(or endpoint = \"\" for no drafting)")


def _check_people(settings: Settings) -> None:
    """Identity must be unambiguous: permissions hang on it.

    `daemon` is chatops's own actor, which may do anything on its schedule, so no person may take
    the name; and one Slack user id may belong to one person only, or a click would carry the
    roles of whichever entry happened to win.
    """
    seen: dict[str, str] = {}
    for name, person in settings.people.items():
        if name == DAEMON_NAME:
            raise ConfigError(f"people.{name}: the name {name!r} is reserved for chatops's own scheduled "
                              f"actions; give this person another name")
        if person.slack_id and person.slack_id in seen:
            raise ConfigError(f"people.{name}.slack_id = {_show(person.slack_id)}: already the slack_id of "
                              f"people.{seen[person.slack_id]}; expected one entry per Slack user")
        seen.setdefault(person.slack_id, name)


def _build(cls: type, table: Any, prefix: str) -> Any:
    section = prefix.rstrip(".") or "config.toml"
    if not isinstance(table, dict):
        raise ConfigError(f"{section} = {_show(table)}: expected a table ([{section}])")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            raise ConfigError(_unknown_key(prefix + key, list(fields)))
    values: dict[str, Any] = {}
    for name, fld in fields.items():
        if name in table:
            values[name] = _convert(hints[name], fld, table[name], prefix + name)
        elif fld.default is dataclasses.MISSING and fld.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{prefix + name}: missing; expected {fld.metadata.get('doc', 'a value')}")
    return cls(**values)


def _convert(hint: Any, fld: dataclasses.Field, value: Any, key: str) -> Any:
    parse = fld.metadata.get("parse") if fld is not None else None
    if parse is not None:
        try:
            return parse(value)
        except ValueError as exc:
            raise ConfigError(f"{key} = {_show(value)}: {exc}") from None
    origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key + ".")
    if origin is dict:
        _, value_type = typing.get_args(hint)
        if not isinstance(value, dict):
            raise ConfigError(f"{key} = {_show(value)}: expected a table ([{key}.<name>])")
        return {name: _convert(value_type, None, item, f"{key}.{name}") for name, item in value.items()}
    if origin in (list, tuple):
        (item_type, *_rest) = typing.get_args(hint)
        if not isinstance(value, list) or not all(_is(item_type, v) for v in value):
            raise ConfigError(f"{key} = {_show(value)}: expected a list of {_type_name(item_type)}")
        return tuple(value) if origin is tuple else list(value)
    if not _is(hint, value):
        raise ConfigError(f"{key} = {_show(value)}: expected {_type_name(hint)}")
    return float(value) if hint is float else value


def _is(hint: Any, value: Any) -> bool:
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_is(arg, value) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    return {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _unknown_key(key: str, known: list[str]) -> str:
    import difflib   # only for a misspelt key

    leaf = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(leaf, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "expected one of " + ", ".join(sorted(known))
    return f"{key}: unknown key; {hint}"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return repr(value)
