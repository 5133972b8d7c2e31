"""`chatops config check`: the effective configuration, as TOML a person can compare with the file."""
from __future__ import annotations

import dataclasses
import ipaddress
import json
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from chatops.config import LoadedConfig
from jobs import data_access
from jobs.context import Context
from jobs.schedule import schedule_lines
from jobs.settings import WeeklyTime


def render_config_report(loaded: LoadedConfig, ctx: Context) -> str:
    from jobs.compliance.business_days import holidays_for   # loads the holidays library: here, not at every start

    holidays_for(loaded.settings.compliance)   # a holiday calendar the library lacks is named now, not at a close
    lines = [f"config    {loaded.path.resolve()}: OK", f"data_dir  {loaded.data_dir}", "",
             "# effective configuration (defaults filled in)"]
    lines += _toml_lines(loaded.settings, [])
    lines += ["", "# next run of every job"]
    lines += schedule_lines(ctx)
    lines += ["", f"# {data_access.describe(ctx)}"]
    lines += [f"warning: {line}" for line in data_access.data_dir_warnings(ctx)] or ["nothing in it is looser"]
    return "\n".join(lines)


def _toml_lines(obj: Any, path: list[str]) -> list[str]:
    scalars: list[str] = []
    tables: list[str] = []
    for fld in dataclasses.fields(obj):
        value = getattr(obj, fld.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, WeeklyTime):
            tables += ["", f"[{'.'.join(path + [fld.name])}]"] + _toml_lines(value, path + [fld.name])
        elif isinstance(value, dict) and all(dataclasses.is_dataclass(v) for v in value.values()):
            for name, item in value.items():
                tables += ["", f"[{'.'.join(path + [fld.name, _key(name)])}]"] + _toml_lines(
                    item, path + [fld.name, name])
        else:
            doc = fld.metadata.get("doc")
            comment = f"  # {doc}" if doc else ""
            scalars.append(f"{fld.name} = {_value(value)}{comment}")
    return scalars + tables


def _key(name: str) -> str:
    return name if name.replace("_", "").replace("-", "").isalnum() else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (time,)):
        return f'"{value:%H:%M}"'
    if isinstance(value, date):
        return value.isoformat()          # a TOML local date, e.g. [compliance] holidays
    if isinstance(value, (WeeklyTime, ZoneInfo)):
        return f'"{value}"'
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return f'"{value}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)
