"""The `chatops` command: global options, then one of the registered commands.

Thin on purpose: parse, resolve the person (`--as`), call the registry (which checks the permission
in the domain), print. Errors are mapped here, once: a `jobs.errors.ChatopsError` prints its sentence and
exits with its kind's code (Invalid 2, Refused 3, NotFound 6, Conflict 7, Damaged 8); anything else is an
internal error, one line on the terminal and the traceback in the log file.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from chatops.registry import Command, HelpFormatter, HelpRequested, Invocation, Registry, UsageError, run
from jobs.actors import PERMISSIONS, Actor, People, UnknownPerson, needs_roles
from jobs.errors import ChatopsError, Damaged, ExitCode

if TYPE_CHECKING:
    from chatops.config import LoadedConfig

PROG = "chatops"
EXIT_USAGE = int(ExitCode.INVALID)
EXIT_REFUSED = int(ExitCode.REFUSED)
EXIT_INTERNAL = 1


def _global_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, add_help=False, formatter_class=HelpFormatter)
    parser.add_argument("--config", metavar="PATH")
    parser.add_argument("--data-dir", metavar="DIR")
    parser.add_argument("--as", dest="as_person", metavar="NAME")
    parser.add_argument("-h", "--help", action="store_true")
    parser.add_argument("--version", action="store_true")
    parser.add_argument("--log-format", choices=("text", "json"))
    return parser


GLOBAL_HELP = """global options (before or after the command words):
  --config PATH   config file (default: $CHATOPS_CONFIG or ./config.toml)
  --data-dir DIR  data directory (overrides data_dir in the config)
  --as NAME       act as this person from config.toml [people] (local mode)
  --log-format F  text or json (one JSON object per log line); default: [logging] format
  --version       print the installed version"""


def version() -> str:
    """The version of the installed package (pyproject.toml), not a second copy of it."""
    from importlib import metadata   # 10-20 ms of imports (email, zipfile, csv): for --version only

    try:
        return f"{PROG} {metadata.version(PROG)}"
    except metadata.PackageNotFoundError:
        return f"{PROG} (version unknown: the package is not installed; run `pip install -e .`)"


def main(argv: Sequence[str] | None = None, registry: Registry | None = None) -> int:
    """Run one command line; `registry` defaults to every area's commands (tests may pass their own)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("CHATOPS_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    options, rest = _global_parser().parse_known_args(argv)
    if options.log_format:
        from chatops.logs import use_format

        use_format(options.log_format)
    if options.version:
        if rest:     # `chatops case ack CASE-1 --version` must not exit 0 as if the command had run
            print(f"{PROG}: --version takes no command; run `{PROG} --version` alone, or drop it from "
                  f"`{PROG} {' '.join(rest)}`", file=sys.stderr)
            return EXIT_USAGE
        print(version())
        return 0
    given = registry
    registry = registry or Registry.load_for(rest)   # only the area the command line names
    cache: dict[str, LoadedConfig] = {}

    def config() -> LoadedConfig:
        if "loaded" not in cache:
            # the settings' parsers and dataclasses: only for a command that reads the configuration
            from chatops.config import load_config, resolve_config_path

            loaded = load_config(resolve_config_path(options.config), options.data_dir)
            if options.log_format:   # the command line's format wins over [logging] format (the daemon's too)
                settings = loaded.settings
                loaded = replace(loaded, settings=replace(settings, logging=replace(settings.logging,
                                                                                    format=options.log_format)))
            cache["loaded"] = loaded
        return cache["loaded"]

    found = registry.match(rest) if rest else None
    if given is None and (found is None or found[0].words == ("help",)):
        registry = Registry.load()   # no command, an unknown one, or help: every area's commands
        found = registry.match(rest) if rest else None
    try:
        actor = _person(config, options.as_person, found[0] if found else None) if options.as_person else None
        if found is None:
            return _not_a_command(registry, rest, options.help, actor)
        command, command_args = found
        if command.words == ("help",) and command_args:    # `chatops help runs`, `chatops help case ack`
            inner = registry.match(command_args)
            if inner is None:
                return _not_a_command(registry, command_args, True, actor)
            command, command_args = inner[0], ["--help"]
        if options.help:
            command_args.append("--help")
        parsed = command.parser(PROG).parse_args(command_args)
        reply = run(Invocation(command=command, actor=actor, args=parsed, surface="cli",
                               config=config, progress=_progress))
        if reply.text:
            print(reply.text)
        return reply.exit_code
    except HelpRequested as exc:
        print(str(exc).rstrip() + "\n\n" + GLOBAL_HELP)
        return 0
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except ChatopsError as exc:
        if isinstance(exc, Damaged):
            _log_traceback(cache, exc, argv)
        print(_one_error(exc), file=sys.stderr)
        return int(exc.exit_code)
    except BrokenPipeError:
        # `chatops … | head` closed the pipe: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last resort: one line for the person, the traceback for the log
        where = _log_traceback(cache, exc, argv)
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc}; the traceback is in the log ({where}); "
              "please report it with that file", file=sys.stderr)
        return EXIT_INTERNAL


def _one_error(exc: ChatopsError) -> str:
    """`chatops: <the error's sentence>`; the sentence already names the thing and the fix.

    "refused:" is added only to what exits 3: an unknown id (6) or a bad value (2) is not called a refusal.
    """
    text = str(exc).strip()
    if exc.exit_code == ExitCode.REFUSED and "refused" not in text.lower():
        text = f"refused: {text}"
    return text if text.startswith(PROG) else f"{PROG}: {text}"


def _not_a_command(registry: Registry, rest: list[str], asked_help: bool, actor: Actor | None) -> int:
    """No command matched: the global help, a group's help (`chatops runs --help`), or the closest command."""
    if not rest or rest[0].lower() == "help":
        print(registry.help_text(actor, "cli", PROG) + "\n" + GLOBAL_HELP)
        return 0
    word = rest[0].lower()
    if word in registry.groups() and len(rest) == 1:
        text = registry.group_help(word, actor, PROG)
        if asked_help:
            print(text + "\n\n" + GLOBAL_HELP)
            return 0
        print(f"{PROG} {word} needs a subcommand.\n{text}", file=sys.stderr)
        return EXIT_USAGE
    typed = " ".join(rest)
    near = registry.closest(rest)
    hint = (f"did you mean `{PROG} {near.name}`? ({PROG} {near.name} --help explains it)" if near
            else f"`{PROG} help` lists the commands")
    print(f"{PROG}: unknown command {typed!r}; {hint}", file=sys.stderr)
    return EXIT_USAGE


def _shape(argv: Sequence[str]) -> str:
    """The command line as the log keeps it: the command's words and option names, every value elided.

    Values can be content that must not reach a log (seed 002 §1: an incident's text given as
    `--what …`), and what failed is found from the command and its options.
    """
    words: list[str] = []
    kept = 0
    after_option = False
    for word in argv:
        if word.startswith("-"):
            words.append(word.split("=", 1)[0])
            after_option = "=" not in word
            continue
        if not after_option and kept < 3 and re.fullmatch(r"[a-z][a-z_-]*", word):
            words.append(word)
            kept += 1
        elif words[-1:] != ["…"]:
            words.append("…")
        after_option = False
    return " ".join(words)


def _log_traceback(cache: dict[str, LoadedConfig], exc: BaseException, argv: Sequence[str]) -> str:
    """Append the traceback to the log file and return its path; the terminal gets one line only.

    The log is `<data_dir>/logs/chatops-cli.log`; when the configuration could not be loaded, or that
    file cannot be opened (the data directory is itself the problem), a file in the temporary directory.
    """
    import tempfile

    loaded = cache.get("loaded")
    candidates = [loaded.data_dir / "logs" / "chatops-cli.log"] if loaded is not None else []
    candidates.append(Path(tempfile.gettempdir()) / f"chatops-cli-{os.getuid()}.log")
    for path in candidates:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding="utf-8")
            os.chmod(path, 0o600)
        except OSError:
            continue
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log = logging.getLogger("chatops.cli.errors")
        log.propagate = False
        log.addHandler(handler)
        try:
            log.error("chatops %s failed", _shape(argv), exc_info=exc)
        finally:
            log.removeHandler(handler)
            handler.close()
        return str(path)
    return "not written: no log file could be opened"


def _person(config: Callable[[], LoadedConfig], name: str, command: Command | None) -> Actor:
    """`--as NAME` as an actor; an unknown name is refused naming the role the command needs."""
    try:
        return People(config().settings.people).by_name(name)
    except UnknownPerson as exc:
        if command is None:
            raise
        if command.shell_open:
            raise UnknownPerson(f"{exc}; {command.name} is read-only: run it without --as") from None
        raise UnknownPerson(f"{exc}; {command.name} needs {needs_roles(PERMISSIONS[command.permission])}") from None


def _progress(message: str) -> None:
    """Progress on long work goes to stderr, rewriting one line when it is a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + message)
        sys.stderr.flush()
    else:
        print(message, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
