"""One command registry: every command is declared once and reached from the shell and from Slack.

A `Command` holds its words (`("baseline", "show")`), its typed arguments, the permission it needs,
the kind of subject it acts on and its help text. `chatops/cli.py` parses argv into it; `/ops <text>`
is parsed once from the user's text with the same specs; thread replies and buttons build the same
typed arguments directly (`Command.arguments`), never by joining words to split them again. `run()`
passes every invocation through the one gate in the domain (`jobs.actors.authorize`) with the
command's subject, so a refusal is recorded once, naming what was refused on what.

Who may run what (`chatops help` says it): a read-only command (`shell_open=True`) runs in the shell
for anyone who can read the data directory, with or without `--as` (acting as a named person never
grants less than acting as nobody); every other command, and every command from Slack, needs a role
the permission table grants.

Areas declare their commands in `chatops/commands/<area>.py` as a module-level `COMMANDS` list, the
thread replies their subjects accept as `REPLIES` (subject kind → reader) and their App Home sections
as `HOME`; the list of areas is `AREAS` below. Area modules must not import the Slack layer, nor at their
top the domain code their handlers call: every command line loads every area's declarations, and a
command should pay for its own imports only (`python -X importtime -m chatops help` shows them).
"""
from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from jobs.actors import (PERMISSIONS, Actor, Permission, Subject, allowed, authorize, describe_roles, needs_roles,
                         refuse)
from jobs.errors import Invalid, Refused

if TYPE_CHECKING:
    from chatops.render.views import HomeSection
    from chatops.config import LoadedConfig
    from jobs.context import Context

AREAS = ("chatops.commands.general", "chatops.commands.baseline", "chatops.commands.ledger", "chatops.commands.credits", "chatops.commands.queries", "chatops.commands.killswitch", "chatops.commands.scrub",
         "chatops.commands.outbox",
         "chatops.commands.calendar", "chatops.commands.incident", "chatops.commands.notion",
         "chatops.commands.report", "chatops.commands.export",
         "chatops.commands.ops", "chatops.commands.sweep")
#: The first word of every command each area declares, so the shell imports only the area a command line
#: names (`chatops scrub check` need not import the scheduler, the approvals or the credit jobs: issue
#: 20 measures it as a whole process). `Registry.load` refuses an area that declares another first word.
FIRST_WORDS = {
    "chatops.commands.general": ("config", "daemon", "help", "jobs"),
    "chatops.commands.baseline": ("baseline",),
    "chatops.commands.ledger": ("ledger",),
    "chatops.commands.credits": ("backfill", "case", "gate", "quarantine", "rerun", "runs", "scenario"),
    "chatops.commands.queries": ("case", "runs"),
    "chatops.commands.killswitch": ("killswitch",),
    "chatops.commands.scrub": ("scrub",),
    "chatops.commands.outbox": ("outbox",),
    "chatops.commands.calendar": ("calendar",),
    "chatops.commands.incident": ("incident",),
    "chatops.commands.notion": ("notion",),
    "chatops.commands.report": ("report",),
    "chatops.commands.export": ("export",),
    "chatops.commands.ops": ("backup", "doctor", "restore", "service", "upgrade"),
    "chatops.commands.sweep": ("summary", "sweep"),
}


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
    subject: str = ""            # this argument names what the command acts on, a subject of this kind

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")

    @property
    def argparse_help(self) -> str:
        """The help as argparse wants it: argparse %-formats every help string, so a literal `%` is `%%`."""
        return self.help.replace("%", "%%")

    def value(self, given: Any) -> Any:
        """`given` (text from Slack, or an already typed value) as this argument's typed value."""
        if self.flag:
            return bool(given)
        if self.nargs in ("+", "*"):
            items = given if isinstance(given, (list, tuple)) else [given]
            return [self._one(item) for item in items]
        return self._one(given)

    def _one(self, given: Any) -> Any:
        if isinstance(given, str) and self.type is not str:
            try:
                given = self.type(given)
            except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
                raise UsageError(f"{self.name} {_shown(given)}: {_type_error_text(exc)}") from None
        if self.choices and given not in self.choices:
            raise UsageError(f"{self.name} {_shown(given)}: expected one of {', '.join(self.choices)}")
        return given

    def _argparse_type(self, text: str) -> Any:
        """`type` for argparse: a converter's own ValueError becomes the message the person reads.

        argparse words a plain ValueError as "invalid _days value: '-5'", naming a Python function and
        hiding the converter's reason (the expected range, an example); this keeps the reason.
        """
        try:
            return self.type(text)
        except argparse.ArgumentTypeError:
            raise
        except (ValueError, TypeError) as exc:
            raise argparse.ArgumentTypeError(f"{_shown(text)}: {_type_error_text(exc)}") from None

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        if self.flag:
            parser.add_argument(self.name, action="store_true", help=self.argparse_help)
            return
        kwargs: dict[str, Any] = {"help": self.argparse_help, "type": self._argparse_type}
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


def _shown(value: Any, limit: int = 60) -> str:
    """A refused value as an error quotes it: whole when short, else its start and its length (a pasted
    paragraph is not echoed back in full)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 1]}…' ({len(str(value)):,} characters)"


def _type_error_text(exc: Exception) -> str:
    """A converter's reason, or what was expected when Python's own wording would be shown instead."""
    text = str(exc)
    if isinstance(exc, argparse.ArgumentTypeError):
        return text
    if not text or text.startswith(("invalid literal for int()", "could not convert string to float")):
        return "expected a number, e.g. 7" if "int()" in text else "expected a number"
    return text


@dataclass
class Invocation:
    """What a handler gets: who asks, with what arguments, through which surface."""

    command: "Command"
    actor: Actor | None          # None for a shell-open command run without --as
    args: argparse.Namespace
    surface: str                  # "cli" or "slack" (a slash command, thread reply or button)
    config: Callable[[], LoadedConfig]
    progress: Callable[[str], None] = lambda _message: None
    _context: Context | None = None

    @property
    def ctx(self) -> Context:
        """The jobs context, built on first use (a command that needs none does not pay for it)."""
        if self._context is None:
            from jobs.compose import build_context   # the store: only for a command that uses it

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
    shell_open: bool = False     # read-only: the CLI runs it for anyone with file access, with or without --as
    ledger: str = ""             # where its refusals are recorded; "" = the area's LEDGER (default operations)
    subject_kind: str = ""       # what it acts on when no argument names it (default: its first word)
    subject_id: str = ""         # … and that subject's id (default: the kind)
    modal: bool = False          # `/ops <its words>` alone opens a form of its arguments (a filing modal)
    example: str = ""            # one typical command line for `--help` (after `chatops `)

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def subject(self, args: argparse.Namespace) -> Subject:
        """What this invocation acts on: the argument declared as its subject, else the command's own area."""
        ledger = self.ledger or "operations"
        for arg in self.args:
            if arg.subject:
                value = getattr(args, arg.dest, None)
                text = " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value or "")
                return Subject(arg.subject, text or "all", ledger)
        kind = self.subject_kind or self.words[0]
        return Subject(kind, self.subject_id or kind, ledger)

    def arguments(self, values: Mapping[str, Any]) -> argparse.Namespace:
        """The typed arguments from structured values (a thread reply, a button, a modal), keyed by `dest`.

        Nothing is joined into a command line and split again: a reason that starts with `--` stays
        a reason. A value the command does not declare, or a required one missing, is a usage error.
        """
        known = {arg.dest: arg for arg in self.args}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise UsageError(f"{self.name} takes no {', '.join(unknown)}")
        parsed = argparse.Namespace()
        for dest, arg in known.items():
            if dest in values and values[dest] not in (None, ""):
                setattr(parsed, dest, arg.value(values[dest]))
            elif arg.required:
                raise UsageError(f"{self.name} needs {arg.name.lstrip('-')}")
            else:
                setattr(parsed, dest, False if arg.flag else arg.default)
        return parsed

    def parser(self, prog: str) -> argparse.ArgumentParser:
        parser = _RaisingParser(prog=f"{prog} {self.name}", description=self.description or self.summary,
                                add_help=True, formatter_class=HelpFormatter)
        parser.footer = self.help_footer(prog)
        for arg in self.args:
            arg.add_to(parser)
        return parser

    def help_footer(self, prog: str) -> str:
        """Who may run it and, where declared, an example: what a new user looks for in `--help`."""
        roles = needs_roles(PERMISSIONS[self.permission])
        if self.shell_open:
            who = f"who: anyone who can read the data directory (read-only); from Slack, {roles}"
        else:
            who = f"who: {roles}" + (" (add --as NAME in the shell)" if prog == "chatops" else "")
        lines = [who]
        if self.example:
            lines.append(f"example: {prog} {self.example}")
        return "\n".join(lines) + "\n"


class UsageError(Invalid):
    """Bad arguments, worded with the command's usage line."""


class HelpRequested(Exception):
    """`--help` was asked for; the message is the help text."""


def terminal_width() -> int:
    """`shutil.get_terminal_size().columns` ($COLUMNS, else the terminal, else 80) without importing shutil.

    argparse's formatter imports shutil (and with it bz2, lzma, zlib: ~2 ms) for this number every time a
    parser declares an argument; runbook loops start `chatops` thousands of times (issue 21).
    """
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, as wide as argparse makes it (the terminal's width less 2)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         terminal_width() - 2 if width is None else width)


class _RaisingParser(argparse.ArgumentParser):
    footer = ""      # lines printed as they are after the options (argparse would re-wrap an epilog)

    def format_help(self) -> str:
        return super().format_help() + ("\n" + self.footer if self.footer else "")

    def error(self, message: str) -> None:  # type: ignore[override]
        """One line: what is wrong, then the usage folded onto the same line (argparse prints two or more)."""
        usage = " ".join(self.format_usage().split())
        raise UsageError(f"{self.prog}: {message}; {usage}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if status == 0:
            raise HelpRequested(message or self.format_help())
        raise UsageError(message or self.format_usage())

    def print_help(self, file=None) -> None:  # type: ignore[override]
        raise HelpRequested(self.format_help())


@dataclass(frozen=True)
class ReplyCommand:
    """What a thread reply means: a registered command and its typed values, on the thread's subject.

    `said` is the reply's own word (`DENIED`), so a refusal is worded in what the person typed.
    """

    words: tuple[str, ...]
    values: Mapping[str, Any]
    said: str


class MalformedReply(Invalid):
    """Looks like one of a subject's replies but is incomplete; the message gives the expected form."""


#: An area's section of a person's App Home: (context, person) → a titled list of lines.
HomeProvider = Callable[["Context", Actor], "HomeSection"]

#: An area's reader of thread replies about one kind of subject: (subject id, text) → the command it
#: means, None for conversation; `MalformedReply` for a reply that starts like a form but lacks its text.
ReplyReader = Callable[[str, str], ReplyCommand | None]


@dataclass
class Registry:
    commands: list[Command] = field(default_factory=list)
    replies: dict[str, ReplyReader] = field(default_factory=dict)   # subject kind → its area's reader
    home: list[HomeProvider] = field(default_factory=list)           # the areas' App Home sections

    @classmethod
    def load(cls, areas: Iterable[str] = AREAS) -> "Registry":
        registry = cls()
        for module_name in areas:
            module = importlib.import_module(module_name)
            declared = FIRST_WORDS.get(module_name)
            stray = sorted({c.words[0] for c in module.COMMANDS} - set(declared)) if declared is not None else []
            if stray:
                raise RuntimeError(f"{module_name} declares commands starting {stray}; add them to its "
                                   "FIRST_WORDS in chatops/registry.py")
            area_ledger = getattr(module, "LEDGER", "operations")
            registry.commands.extend(c if c.ledger else replace(c, ledger=area_ledger) for c in module.COMMANDS)
            for kind, reader in getattr(module, "REPLIES", {}).items():
                if kind in registry.replies:
                    raise RuntimeError(f"replies to {kind} subjects declared twice (again in {module_name})")
                registry.replies[kind] = reader
            registry.home.extend(getattr(module, "HOME", ()))
        names = [c.name for c in registry.commands]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise RuntimeError(f"commands declared twice: {sorted(duplicates)}")
        return registry

    @classmethod
    def load_for(cls, words: Sequence[str]) -> "Registry":
        """Only the area whose commands start with `words[0]`, when one is known to; else every area."""
        first = words[0].lower() if words else ""
        areas = [a for a in AREAS if first in FIRST_WORDS.get(a, ())]
        return cls.load(areas) if areas else cls.load()

    def command(self, words: Sequence[str]) -> Command:
        """The command with exactly these words (a reply or a button names one)."""
        for command in self.commands:
            if command.words == tuple(words):
                return command
        raise UsageError(f"unknown command {' '.join(words)!r}")

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
        import difflib   # only for a mistyped command

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
        may = [c for c in visible if surface == "cli" and c.shell_open
               or actor is not None and allowed(actor, c.permission)]
        may_not = [c for c in visible if c not in may]
        width = max((len(c.name) for c in visible), default=10) + 2
        lines = [f"{prog} commands you may run:"]
        lines += [f"  {prog} {c.name.ljust(width)}{c.summary}" for c in may] or ["  (none)"]
        if may_not:
            lines.append("needs another role:")
            lines += [f"  {prog} {c.name.ljust(width)}{c.summary}  [needs {describe_roles(PERMISSIONS[c.permission])}]"
                      for c in may_not]
        if surface == "cli":
            lines += ["Who may run what: read-only commands (case list, baseline show, ledger verify, …) run for",
                      "anyone who can read the data directory, with or without --as. Every other command acts as a",
                      "person: add --as NAME (from config.toml [people]) holding the role shown. From Slack, every",
                      "command needs the role shown."]
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
        near = registry.closest(words, surface="slack") if words else None
        hint = f"did you mean `/ops {near.name}`?" if near else "try /ops help"
        raise UsageError(f"unknown command {text.strip()!r}; {hint}")
    command, rest = found
    return command, command.parser("/ops").parse_args(rest)


#: Who acts in the shell without `--as`: nobody in particular, holding no role.
NOBODY = Actor(name="nobody", roles=frozenset())


def run(invocation: Invocation) -> Reply:
    """Pass the one gate with the command's subject, then run the handler.

    A read-only command in the shell runs for anyone with file access, whoever they say they are; any
    other command needs a person (`--as` in the shell, the Slack user in Slack) whom the table allows.
    """
    command = invocation.command
    if invocation.surface == "cli" and command.shell_open:
        return command.handler(invocation)
    subject = command.subject(invocation.args)
    if invocation.actor is None:
        raise refuse(invocation.ctx, NOBODY, command.permission, command.name, subject, Refused(
            f"{command.name} acts as a person: add --as NAME (a person from config.toml [people] "
            f"holding {needs_roles(PERMISSIONS[command.permission])})"))
    authorize(invocation.ctx, invocation.actor, command.permission, command.name, subject)
    return command.handler(invocation)
