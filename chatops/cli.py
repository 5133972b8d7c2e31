"""The `chatops` command: global options, then one of the registered commands.

Thin on purpose: parse, resolve the person (`--as`), call the registry (which checks the permission
in the domain), print. Errors a person reads are printed as one message, without a traceback.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Callable, Sequence

from chatops.config import ConfigError, LoadedConfig, load_config, resolve_config_path
from chatops.registry import Command, HelpRequested, Invocation, Registry, UsageError, run
from jobs.actors import PERMISSIONS, Actor, People, UnknownPerson, describe_roles
from jobs.errors import Refused

PROG = "chatops"
EXIT_USAGE = 2
EXIT_REFUSED = 3


def _global_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, add_help=False)
    parser.add_argument("--config", metavar="PATH")
    parser.add_argument("--data-dir", metavar="DIR")
    parser.add_argument("--as", dest="as_person", metavar="NAME")
    parser.add_argument("-h", "--help", action="store_true")
    return parser


GLOBAL_HELP = """global options (before or after the command words):
  --config PATH   config file (default: $CHATOPS_CONFIG or ./config.toml)
  --data-dir DIR  data directory (overrides data_dir in the config)
  --as NAME       act as this person from config.toml [people] (local mode)"""


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("CHATOPS_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    options, rest = _global_parser().parse_known_args(argv)
    registry = Registry.load_for(rest)
    cache: dict[str, LoadedConfig] = {}

    def config() -> LoadedConfig:
        if "loaded" not in cache:
            cache["loaded"] = load_config(resolve_config_path(options.config), options.data_dir)
        return cache["loaded"]

    found = registry.match(rest) if rest else None
    if found is None:
        registry = Registry.load()   # unknown or no command: the help lists every area's commands
    try:
        actor = _person(config, options.as_person, found[0] if found else None) if options.as_person else None
        if found is None:
            asked_help = not rest or rest[0].lower() == "help" or options.help
            if not asked_help:
                print(f"{PROG}: unknown command {' '.join(rest)!r}", file=sys.stderr)
            print(registry.help_text(actor, "cli", PROG) + "\n" + GLOBAL_HELP)
            return 0 if asked_help else EXIT_USAGE
        command, command_args = found
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
    except (ConfigError, UnknownPerson) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Refused as exc:
        print(f"{PROG}: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        # `chatops … | head` closed the pipe: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _person(config: Callable[[], LoadedConfig], name: str, command: Command | None) -> Actor:
    """`--as NAME` as an actor; an unknown name is refused naming the role the command needs."""
    try:
        return People(config().settings.people).by_name(name)
    except UnknownPerson as exc:
        if command is None:
            raise
        raise UnknownPerson(f"{exc}; {command.name} needs role "
                            f"{describe_roles(PERMISSIONS[command.permission])}") from None


def _progress(message: str) -> None:
    """Progress on long work goes to stderr, rewriting one line when it is a terminal."""
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K" + message)
        sys.stderr.flush()
    else:
        print(message, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
