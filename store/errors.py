"""The one error hierarchy every surface renders once.

It lives in `store` (the lowest layer) so that store errors (a damaged ledger, a corrupted state file) are
members of it without an upward import; `jobs.errors` re-exports it for the layers above.

A person reaches the domain from the CLI, a Slack command, a thread reply, a button or the scheduler. Each
surface maps these five kinds once (the CLI to an exit code, Slack to an ephemeral answer, the log to a
line with its traceback), so no area needs a wrapper of its own. The message is the sentence the person
reads: it names the thing, the value and the next step.
"""
from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The CLI's exit codes, as the README gives them."""

    DONE = 0
    CHECK_FAILED = 1
    INVALID = 2
    REFUSED = 3
    NOT_FOUND = 6
    CONFLICT = 7
    DAMAGED = 8


class ChatopsError(Exception):
    """An error a person may read: `str(error)` is the whole sentence, with the fix."""

    exit_code: ExitCode = ExitCode.CHECK_FAILED


class Refused(ChatopsError):
    """The actor may not do this (role, approval rule, kill switch); recorded by the gate."""

    exit_code = ExitCode.REFUSED


class Invalid(ChatopsError):
    """The input or configuration is wrong; the message names the field and what it expects."""

    exit_code = ExitCode.INVALID


class NotFound(ChatopsError):
    """The named subject (case, run, scenario, PR, incident) does not exist; say the closest known ones."""

    exit_code = ExitCode.NOT_FOUND


class Conflict(ChatopsError):
    """The subject is in a state that does not allow this now (already decided, superseded, held)."""

    exit_code = ExitCode.CONFLICT


class Damaged(ChatopsError):
    """Stored data failed a check (ledger, state, artifact); nothing more is written until a person acts."""

    exit_code = ExitCode.DAMAGED
