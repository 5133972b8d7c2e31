"""One command registry: every command is declared once and reached from the shell and from Slack.

A `Command` holds its words (`("baseline", "show")`), its arguments, the permission it needs and its
help text. `chatops/cli.py` builds argparse from it; the Slack layer parses `/ops <words> …` with the
same argument specs; `chatops help` and `/ops help` are generated from it. The permission is checked
in the domain (`jobs.actors.check`) by `run()`, not by the interface that called it.

Areas declare their commands in `chatops/commands/<area>.py` as a module-level `COMMANDS` list; the
list of areas is `AREAS` below. Area modules must not import the Slack layer (a shell command should
not pay for importing slack_bolt).
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import shlex
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Sequence

from chatops.config import LoadedConfig
from jobs.actors import PERMISSIONS, Actor, Permission, PermissionDenied, allowed, check, describe_roles
from jobs.context import Context, build_context
from jobs.errors import ChatopsError

AREAS = ("chatops.commands.general", "chatops.commands.baseline", "chatops.commands.ledger", "chatops.commands.credits", "chatops.commands.queries", "chatops.commands.killswitch", "chatops.commands.scrub")


@dataclass(frozen=True)
class Arg:
    """One argument: `name` is `"scenario"` (positional) or `"--days"` (option)."""

    name: str
    help: str
    type: Callable[[str], Any] = str
    required: bool = False
    default: Any = None
    flag: bool = False
    choices: Sequence[str] | None = None
    nargs: str | None = None
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")

    @property
    def argparse_help(self) -> str:
        """The help as argparse wants it: argparse %-formats every help string, so a literal `%` is `%%`."""
        return self.help.replace("%", "%%")

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.flag:
            parser.add_argument(self.name, action="store_true", help=self.argparse_help)
            return
        kwargs: dict[str, Any] = {"help": self.argparse_help, "type": self.type}
        if self.choices:
            kwargs["choices"] = list(self.choices)
        if self.nargs:
            kwargs["nargs"] = self.nargs
        if self.metavar:
            kwargs["metavar"] = self.metavar
        if self.name.startswith("-"):
            kwargs["required"] = self.required
            kwargs["default"] = self.default
        elif not self.required and not self.nargs:
            kwargs["nargs"] = "?"
            kwargs["default"] = self.default
        parser.add_argument(self.name, **kwargs)


@dataclass
class Invocation:
    """What a handler gets: who asks, with what arguments, through which surface."""

    command: "Command"
    actor: Actor | None          # None for a shell-open command run without --as
    args: argparse.Namespace
    surface: str                  # "cli" or "slack"
    config: Callable[[], LoadedConfig]
    progress: Callable[[str], None] = lambda _message: None
    _context: Context | None = None

    @property
    def ctx(self) -> Context:
        """The jobs context, built on first use (a command that needs none does not pay for it)."""
        if self._context is None:
            loaded = self.config()
            self._context = build_context(loaded.settings, loaded.data_dir)
        return self._context


@dataclass(frozen=True)
class Reply:
    text: str
    exit_code: int = 0


Handler = Callable[[Invocation], Reply]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    summary: str
    permission: Permission
    handler: Handler
    args: tuple[Arg, ...] = ()
    description: str = ""
    slack: bool = True           # reachable as /ops …
    shell_open: bool = False     # the CLI may run it without --as (file permissions are the authority)
    ledger: str = ""             # where its refusals are recorded; "" = the area's LEDGER (default operations)

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def parser(self, prog: str) -> argparse.ArgumentParser:
        parser = _RaisingParser(prog=f"{prog} {self.name}", description=self.description or self.summary,
                                add_help=True)
        for arg in self.args:
            arg.add_to(parser)
        return parser


class UsageError(Exception):
    """Bad arguments, worded with the command's usage line."""


class HelpRequested(Exception):
    """`--help` was asked for; the message is the help text."""


class _RaisingParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.format_usage().strip()}\n{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if status == 0:
            raise HelpRequested(message or self.format_help())
        raise UsageError(message or self.format_usage())

    def print_help(self, file=None) -> None:  # type: ignore[override]
        raise HelpRequested(self.format_help())


@dataclass
class Registry:
    commands: list[Command] = field(default_factory=list)

    @classmethod
    def load(cls, areas: Iterable[str] = AREAS) -> "Registry":
        registry = cls()
        for module_name in areas:
            module = importlib.import_module(module_name)
            area_ledger = getattr(module, "LEDGER", "operations")
            registry.commands.extend(c if c.ledger else replace(c, ledger=area_ledger) for c in module.COMMANDS)
        names = [c.name for c in registry.commands]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise RuntimeError(f"commands declared twice: {sorted(duplicates)}")
        return registry

    def match(self, words: Sequence[str]) -> tuple[Command, list[str]] | None:
        """The command whose words are the longest prefix of `words`, and the remaining words."""
        best: Command | None = None
        for command in self.commands:
            n = len(command.words)
            if tuple(w.lower() for w in words[:n]) == command.words and (best is None or n > len(best.words)):
                best = command
        if best is None:
            return None
        return best, list(words[len(best.words):])

    def groups(self) -> dict[str, list[Command]]:
        """Commands by their first word, for words that start more than one command (`runs`, `case`, …)."""
        by_word: dict[str, list[Command]] = {}
        for command in self.commands:
            by_word.setdefault(command.words[0], []).append(command)
        return {word: commands for word, commands in by_word.items()
                if len(commands) > 1 or len(commands[0].words) > 1}

    def closest(self, words: Sequence[str], surface: str = "cli") -> Command | None:
        """The command whose name is nearest to what was typed (difflib), if any is near enough."""
        best: tuple[float, Command | None] = (0.0, None)
        for command in self.commands:
            if surface != "cli" and not command.slack:
                continue
            typed = " ".join(w.lower() for w in words[:len(command.words)])
            ratio = difflib.SequenceMatcher(None, typed, command.name).ratio()
            if ratio > best[0]:
                best = (ratio, command)
        return best[1] if best[0] >= 0.6 else None

    def group_help(self, word: str, actor: Actor | None, prog: str) -> str:
        """`chatops runs --help`: the commands of one group, each with the role it needs."""
        commands = self.groups().get(word, [])
        width = max(len(c.name) for c in commands) + 2
        lines = [f"{prog} {word} commands:"]
        for c in commands:
            open_ = actor is None and c.shell_open or actor is not None and allowed(actor, c.permission)
            needs = "" if open_ else f"  [needs {describe_roles(PERMISSIONS[c.permission])}]"
            lines.append(f"  {prog} {c.name.ljust(width)}{c.summary}{needs}")
        lines.append(f"Details of one command: {prog} {word} <subcommand> --help")
        return "\n".join(lines)

    def help_text(self, actor: Actor | None, surface: str, prog: str) -> str:
        """What `actor` may run, then what needs another role (and which)."""
        visible = [c for c in self.commands if surface == "cli" or c.slack]
        may = [c for c in visible if actor is None and c.shell_open or actor is not None and allowed(actor, c.permission)]
        may_not = [c for c in visible if c not in may]
        width = max((len(c.name) for c in visible), default=10) + 2
        lines = [f"{prog} commands you may run:"]
        lines += [f"  {prog} {c.name.ljust(width)}{c.summary}" for c in may] or ["  (none)"]
        if may_not:
            lines.append("needs another role:")
            lines += [f"  {prog} {c.name.ljust(width)}{c.summary}  [needs {describe_roles(PERMISSIONS[c.permission])}]"
                      for c in may_not]
        if surface == "cli" and actor is None:
            lines.append("Commands that act as a person need --as NAME (a person from config.toml [people]).")
        lines.append(f"Details of one command: {prog} <command> --help")
        return "\n".join(lines)


def parse_slack_text(registry: Registry, text: str) -> tuple[Command, argparse.Namespace]:
    """Parse the text after `/ops` with the same argument specs as the CLI."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot read the command: {exc}") from None
    found = registry.match(words) if words else None
    if found is None or not found[0].slack:
        raise UsageError(f"unknown command {text.strip()!r}; try /ops help")
    command, rest = found
    return command, command.parser("/ops").parse_args(rest)


def _record_refusal(invocation: Invocation, refusal: PermissionDenied) -> None:
    """Refusals are audited too (docs/architecture.md §3); failing to record one must not hide the refusal."""
    from jobs.audit import record_refusal

    try:
        ctx = invocation.ctx
    except Exception as exc:  # no usable configuration: the person still gets the refusal
        logging.getLogger("chatops.registry").error("refusal of %s not recorded: no context (%s)",
                                                    invocation.command.name, exc)
        return
    record_refusal(ctx, refusal.actor, refusal.permission, invocation.command.name, str(refusal),
                   ledger=invocation.command.ledger or "operations")


def run(invocation: Invocation) -> Reply:
    """Check the permission in the domain, then run the handler.

    A domain error (`jobs.errors.ChatopsError`) propagates to the CLI, which maps it once to its message
    and exit code (chatops/cli.py); on the other surfaces it is the reply, with the same code.
    """
    command = invocation.command
    if invocation.actor is not None:
        try:
            check(invocation.actor, command.permission, action=command.name)
        except PermissionDenied as exc:
            _record_refusal(invocation, exc)
            raise
    elif not (invocation.surface == "cli" and command.shell_open):
        raise PermissionDenied(Actor("nobody", frozenset()), command.permission, action=command.name)
    try:
        return command.handler(invocation)
    except ChatopsError as exc:
        if invocation.surface == "cli":
            raise
        return Reply(str(exc), int(exc.exit_code))
