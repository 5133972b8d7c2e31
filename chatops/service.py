"""`chatops service install|uninstall|status`: the daemon as a per-user service of the platform.

Linux: a systemd user unit (`~/.config/systemd/user/<name>.service`), restarted on failure, its tokens
from an `EnvironmentFile`, its log in the journal (`journalctl --user -u <name>`). macOS (where the seeds
run): a launchd agent (`~/Library/LaunchAgents/com.chatops.<name>.plist`, written with `plistlib`),
`KeepAlive` on failure, its log in `~/Library/Logs/chatops/<name>.log`; launchd has no environment
file, so the agent runs `/bin/sh`, which reads the same file and `exec`s the daemon.

The environment file (`~/.config/chatops/<name>.env`, 0600, written atomically) holds the tokens, never
the unit or the plist (those are readable by others): the variables chatops reads (`SECRET_VARIABLES`)
that are set when `install` runs, plus what an earlier install wrote and this one does not replace.
The unit runs this interpreter (`sys.executable`) with the config file's absolute path, so the
service runs the installation that installed it.
"""
from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Mapping

from jobs.errors import Invalid
from store.access import PRIVATE_DIR, PRIVATE_FILE
from store.files import write_file_atomically

#: What the daemon reads from its environment, and so what the environment file carries.
SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_WEBHOOK_URL_SEV0",
                    "SLACK_WEBHOOK_URL_SEV1", "SLACK_WEBHOOK_URL_SEV2", "CHATOPS_INTAKE_TOKEN",
                    "CHATOPS_LEDGER_KEY_PASSPHRASE", "NOTION_TOKEN", "GITHUB_TOKEN", "CHATOPS_LOG_LEVEL")
RESTART_SECONDS = 5


class Platform(StrEnum):
    LINUX = "linux"      # systemd user unit
    MACOS = "macos"      # launchd agent


def this_platform() -> Platform:
    return Platform.MACOS if sys.platform == "darwin" else Platform.LINUX


@dataclass(frozen=True)
class Layout:
    """Where one service's files go on one platform, from the user's home (and XDG_CONFIG_HOME on Linux)."""

    platform: Platform
    name: str
    unit: Path           # the systemd unit or the launchd plist
    env_file: Path
    log: str             # where the platform keeps the log, as a person finds it

    @property
    def label(self) -> str:
        return f"com.chatops.{self.name}"


def layout(platform: Platform, name: str, environ: Mapping[str, str], root: Path | None = None) -> Layout:
    """`root` stands for the home directory (`--root`, like DESTDIR: staging, packaging, tests)."""
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise Invalid(f"--name {name!r}: expected letters, digits, - and _ only (e.g. chatops, chatops-staging)")
    home = Path(root).absolute() if root else Path(environ.get("HOME") or Path.home())
    if platform is Platform.LINUX:
        config = home / ".config" if root else Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
        return Layout(platform, name, config / "systemd" / "user" / f"{name}.service",
                      config / "chatops" / f"{name}.env", f"journalctl --user -u {name}")
    return Layout(platform, name, home / "Library" / "LaunchAgents" / f"com.chatops.{name}.plist",
                  home / "Library" / "Application Support" / "chatops" / f"{name}.env",
                  str(home / "Library" / "Logs" / "chatops" / f"{name}.log"))


def daemon_argv(config: Path) -> list[str]:
    return [sys.executable, "-m", "chatops", "--config", str(Path(config).absolute()), "daemon"]


def systemd_unit(where: Layout, config: Path) -> str:
    config = Path(config).absolute()
    return "\n".join([
        "[Unit]",
        f"Description=chatops daemon ({config})",
        "After=network-online.target",
        "Wants=network-online.target",
        "StartLimitIntervalSec=300",
        "StartLimitBurst=5",
        "",
        "[Service]",
        "Type=simple",
        f"ExecStart={shlex.join(daemon_argv(config))}",
        f"WorkingDirectory={config.parent}",
        f"EnvironmentFile={where.env_file}",
        "Restart=on-failure",
        f"RestartSec={RESTART_SECONDS}",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=10",
        "UMask=0077",
        "StandardOutput=journal",
        "StandardError=journal",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ])


def launchd_plist(where: Layout, config: Path) -> bytes:
    config = Path(config).absolute()
    script = f"set -a; . {shlex.quote(str(where.env_file))}; set +a; exec {shlex.join(daemon_argv(config))}"
    return plistlib.dumps({
        "Label": where.label,
        "ProgramArguments": ["/bin/sh", "-c", script],
        "WorkingDirectory": str(config.parent),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},     # restart when it fails, not when it was stopped cleanly
        "ThrottleInterval": RESTART_SECONDS,
        "Umask": 0o077,
        "StandardOutPath": where.log,
        "StandardErrorPath": where.log,
        "ProcessType": "Background",
    })


def env_file_text(environ: Mapping[str, str], previous: Mapping[str, str]) -> str:
    """`KEY='value'` lines (read by systemd's EnvironmentFile and by `sh`), set variables first."""
    values = {**previous, **{k: environ[k] for k in SECRET_VARIABLES if environ.get(k)}}
    lines = ["# chatops service environment: tokens for the daemon. Mode 0600; never commit it."]
    for key, value in sorted(values.items()):
        if any(c in value for c in "'\n\r\\"):
            raise Invalid(f"{key} contains a quote, a backslash or a line break; it cannot be written to "
                          f"the environment file safely: set it without them")
        lines.append(f"{key}='{value}'")
    return "\n".join(lines) + "\n"


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[key.strip()] = value.strip().strip("'")
    return values


@dataclass(frozen=True)
class Installed:
    where: Layout
    variables: tuple[str, ...]
    started: str          # what the platform said, or why it was not started


def install(where: Layout, config: Path, environ: Mapping[str, str], start: bool) -> Installed:
    if not Path(config).is_file():
        raise Invalid(f"config {config} does not exist; the service runs the daemon with it: give --config PATH")
    previous = read_env_file(where.env_file)
    where.env_file.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    write_file_atomically(where.env_file, env_file_text(environ, previous).encode(), PRIVATE_FILE)
    os.chmod(where.env_file, PRIVATE_FILE)
    where.unit.parent.mkdir(parents=True, exist_ok=True)
    if where.platform is Platform.LINUX:
        write_file_atomically(where.unit, systemd_unit(where, config).encode(), 0o644)
    else:
        Path(where.log).parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(where.unit, launchd_plist(where, config), 0o644)
    variables = tuple(sorted(read_env_file(where.env_file)))
    return Installed(where, variables, _start(where) if start else "not started (--no-start)")


def uninstall(where: Layout, stop: bool) -> list[Path]:
    """Stop it (when asked and possible), then remove the unit and the environment file."""
    if stop:
        _manager(where, "stop")
    removed = [p for p in (where.unit, where.env_file) if p.exists()]
    for path in removed:
        path.unlink()
    return removed


def status_lines(where: Layout) -> list[str]:
    lines = [f"{'unit' if where.platform is Platform.LINUX else 'agent'}: "
             f"{where.unit if where.unit.exists() else f'not installed ({where.unit})'}"]
    if where.env_file.exists():
        mode = stat.S_IMODE(where.env_file.stat().st_mode)
        loose = "" if mode == PRIVATE_FILE else f" — looser than 0600: chmod 600 {where.env_file}"
        names = ", ".join(sorted(read_env_file(where.env_file))) or "no variables"
        lines.append(f"environment file: {where.env_file} ({mode:04o}{loose}): {names}")
    else:
        lines.append(f"environment file: none ({where.env_file})")
    lines.append(f"logs: {where.log}")
    lines.append(f"platform says: {_manager(where, 'status')}")
    return lines


def _start(where: Layout) -> str:
    return _manager(where, "start")


def _manager(where: Layout, action: str) -> str:
    """Ask systemd or launchd; one line of what it answered (or that it is not on this machine)."""
    if where.platform is Platform.LINUX:
        commands = {"start": [["systemctl", "--user", "daemon-reload"],
                              ["systemctl", "--user", "enable", "--now", f"{where.name}.service"]],
                    "stop": [["systemctl", "--user", "disable", "--now", f"{where.name}.service"]],
                    "status": [["systemctl", "--user", "is-active", f"{where.name}.service"]]}[action]
    else:
        domain = f"gui/{os.getuid()}"
        commands = {"start": [["launchctl", "bootstrap", domain, str(where.unit)]],
                    "stop": [["launchctl", "bootout", f"{domain}/{where.label}"]],
                    "status": [["launchctl", "print", f"{domain}/{where.label}"]]}[action]
    if shutil.which(commands[0][0]) is None:
        return f"{commands[0][0]} is not on this machine; run it where the service lives: {shlex.join(commands[-1])}"
    answer = ""
    for argv in commands:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        answer = (run.stdout.strip() or run.stderr.strip()).splitlines()[0:1]
        answer = answer[0] if answer else f"exit {run.returncode}"
        if run.returncode != 0:
            return f"{shlex.join(argv)} failed: {answer}"
    return answer
