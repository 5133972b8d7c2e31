"""The data directory's access rule, from config.toml, and the doctor that checks it.

`operators_group` (top level of config.toml) is the group O1 viewers read run artifacts through (seed
001); without it only the daemon's user reads the data directory. The rule itself and the walk are in
store/access.py; this module adds what the settings know: the group, and the key directory when it is
inside the data directory (its owner's alone, like the quarantine).
"""
from __future__ import annotations

from pathlib import Path

from jobs.context import Context
from store.access import PRIVATE_ROOTS, Policy, check_data_dir


def policy_for(ctx: Context) -> Policy:
    private = list(PRIVATE_ROOTS)
    key_dir = ctx.ledgers.key_dir
    if key_dir.resolve().is_relative_to(Path(ctx.data_dir).resolve()):
        private.append(key_dir.resolve().relative_to(Path(ctx.data_dir).resolve()))
    return Policy(ctx.settings.operators_group or None, tuple(private))


def data_dir_warnings(ctx: Context) -> list[str]:
    """One line per place in the data directory that is looser than the rule, with its fix."""
    return check_data_dir(ctx.data_dir, policy_for(ctx))


def describe(ctx: Context) -> str:
    """The rule in one line, for `config check` and the daemon's log."""
    group = ctx.settings.operators_group
    who = f"its owner and the group {group}" if group else "its owner only (no operators_group)"
    return f"data directory {ctx.data_dir}: readable by {who}; runs/QUARANTINE, compliance/ and the key directory by the owner alone"
