"""Who may read the data directory: its owner, and the operators' group when one is configured.

Modes are set explicitly (`fchmod`/`chmod` after each creation), so the umask never decides them:

| what | with `operators_group` | without |
|---|---|---|
| the data directory and every directory under it | `2750` (setgid: new entries inherit the group) | `0700` |
| every file | `0640` | `0600` |
| `runs/QUARANTINE/` (PII-flagged runs), `compliance/` (incident timelines), `operations/reports/compliance/` (post-mortems) and a key directory inside the data directory, and all below | `0700`, files `0600` | same |

A new entry takes its mode from the directory it is created in (`dir_mode_under`, `file_mode_in`): a
file is readable by exactly whom its directory admits, and everything below the quarantine stays private,
without passing the policy to every writer. Only the roots are set by name (`prepare_data_dir`,
`ensure_private_dir`). `check_data_dir` is the doctor: one line per directory that is looser than this,
with the `chmod`/`chgrp` that fixes it.
"""
from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from store.errors import Invalid

SHARED_DIR = 0o2750
SHARED_FILE = 0o640
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: Below the data directory: only the owner reads these (quarantined PII-flagged runs; compliance incidents,
#: whose timelines are sealed but whose ids and times are still nobody else's business; compliance
#: post-mortems, which hold incident content once written, seed 002 §1).
PRIVATE_ROOTS = (Path("runs") / "QUARANTINE", Path("compliance"), Path("operations") / "reports" / "compliance")
#: The doctor lists at most this many places one by one, then one command that fixes them all.
LISTED = 20


def group_id(name: str) -> int:
    """The gid of `name`; KeyError when this machine has no such group."""
    return grp.getgrnam(name).gr_gid


def dir_mode_under(parent: Path) -> int:
    """The mode of a new directory in `parent`: its parent's, without write for the group or anything for
    others."""
    return stat.S_IMODE(os.stat(parent).st_mode) & 0o2750


def file_mode_in(directory: Path) -> int:
    """The mode of a new file in `directory`: what the directory grants, read-only for the group, nothing
    for others, no execute."""
    return stat.S_IMODE(os.stat(directory).st_mode) & 0o640


def make_dirs(path: Path) -> None:
    """`mkdir -p` inside the data directory: every new directory takes its parent's mode (`dir_mode_under`),
    whatever the umask."""
    path = Path(path)
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue           # another writer made it meanwhile, with the same rule
        os.chmod(directory, dir_mode_under(directory.parent))


def ensure_private_dir(path: Path) -> None:
    """A directory for its owner alone (`0700`), parents as `make_dirs` makes them; an existing one is left
    as it is (the doctor names it when it is looser)."""
    path = Path(path)
    if path.exists():
        return
    make_dirs(path.parent)
    try:
        path.mkdir(mode=PRIVATE_DIR)
    except FileExistsError:
        return
    os.chmod(path, PRIVATE_DIR)


class DataDirUnusable(Invalid):
    """`data_dir` names something chatops cannot make or use as its data directory (a configuration error)."""


@dataclass(frozen=True)
class Policy:
    """What the data directory should look like: the operators' group (None: owner only), and the
    directories below it that are the owner's alone."""

    group: str | None = None
    private: tuple[Path, ...] = PRIVATE_ROOTS

    @property
    def gid(self) -> int | None:
        return group_id(self.group) if self.group else None

    def dir_mode(self) -> int:
        return SHARED_DIR if self.group else PRIVATE_DIR

    def file_mode(self) -> int:
        return SHARED_FILE if self.group else PRIVATE_FILE


def prepare_data_dir(data_dir: Path, policy: Policy) -> None:
    """Create the data directory with the policy's group and mode. Its private roots are made private
    where they are created (`ensure_private_dir`: the first quarantine move, the key directory).

    An existing data directory is not changed (a person may have set it on purpose, and an O1 reading
    through the group cannot change it): the doctor (`check_data_dir`) says what is looser and how to fix it.
    """
    data_dir = Path(data_dir)
    fix = "set data_dir in config.toml (or --data-dir) to a folder this user may create and write"
    if not data_dir.exists():
        try:
            data_dir.parent.mkdir(parents=True, exist_ok=True)     # outside the data directory: not ours to set
            data_dir.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            pass
        except OSError as exc:
            raise DataDirUnusable(f"data directory {data_dir} cannot be created ({exc.strerror or exc}); {fix}") \
                from None
        else:
            if policy.gid is not None:
                os.chown(data_dir, -1, policy.gid)
            os.chmod(data_dir, policy.dir_mode())
    if not data_dir.is_dir():
        raise DataDirUnusable(f"data directory {data_dir} is not a directory; {fix}")


def check_data_dir(data_dir: Path, policy: Policy) -> list[str]:
    """One line per directory, or per directory's files, that others (or a group other than the
    operators') may read or enter, each with the command that fixes it; empty when nothing is looser."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return []
    gid = policy.gid
    private = {data_dir / p for p in policy.private}
    lines: list[str] = []
    for directory, is_private in _directories(data_dir, private):
        want_dir = PRIVATE_DIR if is_private else policy.dir_mode()
        want_file = PRIVATE_FILE if is_private else policy.file_mode()
        info = os.lstat(directory)
        problem = _looser(info, want_dir, gid, is_private)
        if problem:
            group = None if is_private else policy.group
            lines.append(f"{directory} is {problem}; run: {_fix(directory, want_dir, group)}")
        loose = [entry for entry in _files(directory)
                 if _looser(entry.stat(follow_symlinks=False), want_file, gid, is_private)]
        if loose:
            example = loose[0]
            what = _looser(example.stat(follow_symlinks=False), want_file, gid, is_private)
            group = "" if is_private or not policy.group else f"chgrp {policy.group} {directory}/* && "
            lines.append(f"{len(loose):,} file(s) in {directory} are looser than {want_file:04o} (e.g. {example.name}: "
                         f"{what}); run: {group}find {directory} -maxdepth 1 -type f -exec chmod {want_file:04o} {{}} +")
    if len(lines) > LISTED:
        rest = len(lines) - LISTED
        lines = lines[:LISTED] + [f"… and {rest:,} more; fix the whole data directory with: {_fix_all(data_dir, policy)}"]
    return lines


def _directories(root: Path, private: set[Path]) -> Iterable[tuple[Path, bool]]:
    """Every directory under `root` (symlinks not followed), and whether it is in a private subtree."""
    stack = [(root, root in private)]
    while stack:
        directory, is_private = stack.pop()
        yield directory, is_private
        try:
            entries = list(os.scandir(directory))
        except PermissionError:
            continue
        for entry in sorted(entries, key=lambda e: e.name, reverse=True):
            if entry.is_dir(follow_symlinks=False):
                child = Path(entry.path)
                stack.append((child, is_private or child in private))


def _files(directory: Path) -> list[os.DirEntry]:
    try:
        return sorted((e for e in os.scandir(directory) if e.is_file(follow_symlinks=False)), key=lambda e: e.name)
    except PermissionError:
        return []


def _looser(info: os.stat_result, want: int, gid: int | None, private: bool) -> str:
    """Why `info` grants more than `want` (the operators' group `gid`, None: none); "" when it does not."""
    mode = stat.S_IMODE(info.st_mode)
    group_bits = mode & 0o070
    if mode & 0o007:
        return f"mode {mode:04o}, open to others"
    if group_bits and private:
        return f"mode {mode:04o}, open to its group (this is for its owner alone)"
    if group_bits & ~want & 0o070:
        return f"mode {mode:04o}, more than {want:04o} for its group"
    if group_bits and gid is None:
        return f"mode {mode:04o}, open to its group (no operators_group is configured)"
    if group_bits and info.st_gid != gid:
        return f"group {_group_name(info.st_gid)}, not the operators' group"
    return ""


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _fix(path: Path, mode: int, group: str | None) -> str:
    return (f"chgrp {group} {path} && " if group else "") + f"chmod {mode:04o} {path}"


def _fix_all(data_dir: Path, policy: Policy) -> str:
    private = " && ".join(f"chmod -R u=rwX,go= {data_dir / p}" for p in policy.private)
    if policy.group:
        return (f"chgrp -R {policy.group} {data_dir} && chmod -R u=rwX,g=rX,o= {data_dir} && "
                f"find {data_dir} -type d -exec chmod g+s {{}} + && {private}")
    return f"chmod -R u=rwX,go= {data_dir}"
