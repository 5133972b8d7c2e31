"""The audit ledgers as the rest of chatops uses them, and the ledger's administrative flows.

`ctx.ledgers.credit` / `ctx.ledgers.operations` are `store.ledger.Ledger` objects, opened on first
use: `append(kind, actor, role, fields)` for one entry, `with ledger.commit() as c:` for several in
one commit. This module decides what the store does not: where the files and the key live, which
origin and keys to trust (config.toml when pinned, else the data directory, with a warning), the
auto-initialisation of a new install, start-up checks, and the O3 flows (init, repair, rotate-key,
reseal), each checked against the permission table and recorded in the ledger itself.

Where the writer's origin comes from: `ledger.vkey` beside the ledger (written by init, reseal and
auto-initialisation; public), else config.toml's pinned origin. A verifier trusts config.toml when it
pins an origin and keys, and falls back to `ledger.vkey` with a warning (anyone who can write the
data directory could replace both).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from jobs.actors import Actor, Permission, Subject, authorize
from jobs.settings import LedgerSettings, Settings
from store.keys import KeyFileError, check_key_file, create_ed25519_key, ensure_key_dir, load_ed25519_key
from store.access import file_mode_in, make_dirs
from store.files import write_file_atomically
from store.ledger.entry import MAX_LINE
from store.ledger.ledger import (
    Identity,
    Ledger,
    LedgerDamaged,
    LedgerFiles,
    Recovery,
    read_sig_lines,
    utc_stamp,
)
from store.ledger import messages
from store.ledger.merkle import EMPTY_ROOT
from store.ledger.note import NoteError, Signer, Verifier, b64, parse_vkey
from store.ledger.scan import scan_ledger
from store.ledger.verify import Report, SinceCheckpoint, Trust, verify_ledger
from store.ledger.view import View
from store.ledger.view import check as check_view
from jobs.errors import Invalid

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from jobs.context import Context

log = logging.getLogger("chatops.audit")

KEY_FILE = "ledger.key"
NEW_KEY_FILE = "ledger.key.new"


class LedgerName(StrEnum):
    CREDIT = "credit"
    OPERATIONS = "operations"


#: The subject of the commands that act on both ledgers at once (init, repair, rotate-key).
LEDGERS_SUBJECT = Subject("ledger", "credit+operations")


@dataclass(frozen=True)
class LedgerSpec:
    name: LedgerName
    key_name: str          # the <ledger name> part of the origin
    directory: str         # relative to data_dir
    origin_setting: str    # the [ledger] key that pins its origin
    view: str = ""         # relative to data_dir: the derived file of `view_kinds` lines (store.ledger.view)
    view_kinds: frozenset[str] = frozenset()


#: The runbook's run log: one line per run, each the signed `run.recorded` entry itself. The signed credit
#: ledger (runs and every action on them, in one commit each) lives in `audit/` beside it.
RUN_LOG = "runs/CREDIT_MONITORING/ledger.jsonl"

SPECS = (
    LedgerSpec(LedgerName.CREDIT, "credit-ledger", "runs/CREDIT_MONITORING/audit", "credit_origin",
               view=RUN_LOG, view_kinds=frozenset({"run.recorded"})),
    LedgerSpec(LedgerName.OPERATIONS, "operations-ledger", "operations", "operations_origin"),
)

#: Files a data directory made before the run log kept beside it, when the signed credit ledger was
#: `runs/CREDIT_MONITORING/ledger.jsonl` itself; moved into `audit/` on first use (`Ledgers.get`).
_OLD_LAYOUT = ("ledger.jsonl", "ledger.sigs", "ledger.checkpoints", "ledger.vkey", "ledger.checkpoint")


def spec_for(name: str) -> LedgerSpec:
    for spec in SPECS:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown ledger {name!r}: expected one of {', '.join(s.name for s in SPECS)}")


class LedgerConfigError(Invalid):
    """Trust settings that do not allow a verdict (exit 2): names the setting and the fix."""


class StartRefused(Exception):
    """The daemon must not start: an unsafe key or a damaged ledger (the message says which)."""


def read_vkey_file(path: Path) -> list[Verifier]:
    try:
        lines = path.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return []
    return [parse_vkey(line) for line in lines]


class Ledgers:
    """Both ledgers of one data directory; nothing is opened before the first use."""

    def __init__(self, settings: Settings, data_dir: Path, clock: Callable[[], datetime],
                 on_damaged: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.config: LedgerSettings = settings.ledger
        self.data_dir = Path(data_dir)
        self.clock = clock
        self.on_damaged = on_damaged     # a writer found its ledger changed under it (the context alerts)
        self._opened: dict[LedgerName, Ledger] = {}

    # ---- where things are ----------------------------------------------------------------------

    @property
    def key_dir(self) -> Path:
        configured = self.config.key_dir
        if not configured:
            return self.data_dir / "keys"
        path = Path(configured)
        return path if path.is_absolute() else self.data_dir / path

    @property
    def key_path(self) -> Path:
        return self.key_dir / KEY_FILE

    def files(self, spec: LedgerSpec) -> LedgerFiles:
        return LedgerFiles(self.data_dir / spec.directory)

    def display(self, spec: LedgerSpec) -> str:
        return f"{spec.directory}/ledger.jsonl"

    def passphrase(self) -> bytes | None:
        value = os.environ.get(self.config.passphrase_env)
        return value.encode() if value else None

    # ---- the two ledgers -----------------------------------------------------------------------

    @cached_property
    def credit(self) -> Ledger:
        return self.get(LedgerName.CREDIT)

    @cached_property
    def operations(self) -> Ledger:
        return self.get(LedgerName.OPERATIONS)

    def view(self, spec: LedgerSpec) -> View | None:
        if not spec.view:
            return None
        return View(self.data_dir / spec.view, spec.view_kinds, spec.view)

    def get(self, name: str) -> Ledger:
        spec = spec_for(name)
        if spec.name not in self._opened:
            self.move_old_layout(spec)
            self._opened[spec.name] = Ledger(self.files(spec).directory, lambda: self._identity(spec),
                                             clock=self.clock, name=self.display(spec), which=spec.name,
                                             on_damaged=self.on_damaged, view=self.view(spec))
        return self._opened[spec.name]

    def old_layout(self, spec: LedgerSpec) -> Path | None:
        """The folder of a signed ledger kept where its view now goes (a data directory made before the view)."""
        if not spec.view:
            return None
        folder = (self.data_dir / spec.view).parent
        return folder if (folder / "ledger.checkpoint").exists() or (folder / "ledger.sigs").exists() else None

    def move_old_layout(self, spec: LedgerSpec) -> None:
        """Move the signed ledger's files into its folder; the view is derived from them on first use.

        Idempotent and safe to repeat after a crash: each file moves only if its new place is free, and
        `ledger.checkpoint`, which marks the old layout, moves last.
        """
        old = self.old_layout(spec)
        if old is None:
            return
        new = self.files(spec).directory
        make_dirs(new)
        names = [*_OLD_LAYOUT[:-1], *(p.name for p in old.glob("ledger.jsonl.torn-*")), _OLD_LAYOUT[-1]]
        for name in names:
            if not (new / name).exists():
                with contextlib.suppress(FileNotFoundError):
                    os.rename(old / name, new / name)
        (old / "ledger.lock").unlink(missing_ok=True)
        log.warning("moved the signed credit ledger from %s into %s; %s is now its run log (one line per run), "
                    "derived from it", old.relative_to(self.data_dir), new.relative_to(self.data_dir), spec.view)

    # ---- keys and identity (writer side) -------------------------------------------------------

    def load_key(self, create: bool) -> "Ed25519PrivateKey":
        """The log signing key; created 0600 in a 0700 directory when `create` and it is missing."""
        if not self.key_path.exists():
            if not create:
                raise KeyFileError(f"ledger key {self.key_path} is missing; restore it from a backup, or "
                                   "run: chatops ledger init (a new key needs its vkey added to config.toml)")
            ensure_key_dir(self.key_dir)
            try:
                create_ed25519_key(self.key_path, self.passphrase())
                log.info("created ledger key %s (0600)", self.key_path)
            except FileExistsError:
                pass  # another process created it first
        ensure_key_dir(self.key_dir)
        return load_ed25519_key(self.key_path, self.passphrase(), self.config.passphrase_env)

    def writer_origin(self, spec: LedgerSpec) -> str | None:
        verifiers = read_vkey_file(self.files(spec).vkey)
        if verifiers:
            return verifiers[0].name
        return getattr(self.config, spec.origin_setting) or None

    def _identity(self, spec: LedgerSpec) -> Identity:
        origin = self.writer_origin(spec)
        if origin is None:
            origin = self._auto_init(spec)
        elif not self.key_path.exists() and not self.files(spec).vkey.exists():
            # config.toml names an installation this data directory never held: "run ledger init" would
            # loop, so say both ways out (a copied config.toml from another install is the usual cause).
            raise KeyFileError(
                f"ledger key {self.key_path} is missing and config.toml [ledger] {spec.origin_setting} pins "
                f"\"{origin}\" from another installation; restore that key from a backup (chatops restore), "
                "or for a new installation set credit_origin, operations_origin and trusted_vkeys to empty "
                "and run: chatops ledger init")
        key = self.load_key(create=False)
        signer = Signer(origin, key)
        trusted = tuple(v for v in self._configured_vkeys() + read_vkey_file(self.files(spec).vkey)
                        if v.name == origin)
        return Identity(origin, (signer,), trusted)

    def _auto_init(self, spec: LedgerSpec) -> str:
        """A new install writes its first entry without a manual `chatops ledger init`."""
        key = self.load_key(create=True)
        origin = new_origin(self.config.company_domain, spec.key_name)
        vkey = Signer(origin, key).verifier.vkey
        files = self.files(spec)
        make_dirs(files.directory)
        write_file_atomically(files.vkey, (vkey + "\n").encode())
        log.info("initialised %s: origin %s, vkey %s (kept in %s; pin it in config.toml [ledger] with "
                 "chatops ledger init)", self.display(spec), origin, vkey, files.vkey)
        return origin

    def _configured_vkeys(self) -> list[Verifier]:
        try:
            return [parse_vkey(v) for v in self.config.trusted_vkeys]
        except NoteError as exc:
            raise LedgerConfigError(f"config.toml [ledger] trusted_vkeys: {exc}") from None

    # ---- trust (verifier side: public keys only, never the private key) ------------------------

    def trust(self, spec: LedgerSpec) -> Trust:
        witnesses = tuple(self._witnesses())
        pinned = getattr(self.config, spec.origin_setting)
        if pinned:
            keys = tuple(v for v in self._configured_vkeys() if v.name == pinned and v.sig_type == 1)
            if not keys:
                raise LedgerConfigError(
                    f"config.toml [ledger] {spec.origin_setting} = \"{pinned}\" but trusted_vkeys has no key "
                    "with that name; add the vkey printed by chatops ledger init")
            return Trust(pinned, keys, witnesses, "config.toml")
        files = LedgerFiles(self.old_layout(spec) or self.files(spec).directory)
        try:
            keys = tuple(read_vkey_file(files.vkey))
        except NoteError as exc:
            raise LedgerConfigError(f"{files.vkey}: {exc}") from None
        if not keys:
            raise LedgerConfigError(
                f"no trusted key for {self.display(spec)}: config.toml [ledger] {spec.origin_setting} is not "
                f"set and {files.vkey} does not exist; run: chatops ledger init --as <O3>")
        return Trust(keys[0].name, keys, witnesses, files.vkey.relative_to(self.data_dir).as_posix())

    def _witnesses(self) -> list[Verifier]:
        try:
            return [parse_vkey(v) for v in self.config.witnesses]
        except NoteError as exc:
            raise LedgerConfigError(f"config.toml [ledger] witnesses: {exc}") from None


def new_origin(domain: str, key_name: str) -> str:
    """`<company domain>/chatops/<ledger name>/<6-hex install id>` (docs/ledger.md §4)."""
    import secrets   # hmac and random: for `ledger init` only, not for every command that loads this module

    return f"{domain}/chatops/{key_name}/{secrets.token_hex(3)}"


# ---- the small API for the rest of the code ----------------------------------------------------


def check_key_permissions(ledgers: Ledgers) -> None:
    """Refuse a key others can read (docs/ledger.md §10), naming the chmod that fixes it."""
    if ledgers.key_dir.exists():
        mode = stat.S_IMODE(ledgers.key_dir.stat().st_mode)
        if mode & 0o077:
            raise StartRefused(f"ledger key directory {ledgers.key_dir} is accessible by others (mode "
                               f"{mode:04o}); run: chmod 700 {ledgers.key_dir}")
    if ledgers.key_path.exists():
        try:
            check_key_file(ledgers.key_path)
        except KeyFileError as exc:
            raise StartRefused(f"ledger {exc}") from None


def start_ledgers(ctx: "Context") -> list[Recovery]:
    """Daemon start: key permissions, then recovery of every existing ledger; fail closed on damage."""
    check_key_permissions(ctx.ledgers)
    done = []
    for spec in SPECS:
        ledger = ctx.ledgers.get(spec.name)
        marked = ledger.damage_marked()
        if marked is not None:      # found by a running writer: a restart does not clear it, an O3 does
            message = (messages.marked_damaged(ledger.name, spec.name, str(marked.get("found_at") or ""),
                                               str(marked.get("detail") or "no detail recorded"))
                       + " The daemon refuses to start.")
            alert_damaged(ctx, message)
            raise StartRefused(message)
        if not ledger.files.jsonl.exists() and not ledger.files.checkpoint.exists():
            continue
        try:
            done.append(ledger.recover())
        except (LedgerDamaged, NoteError) as exc:
            message = (f"{exc}\nThe daemon refuses to start. Check with: chatops ledger verify; continuing "
                       "needs an O3: chatops ledger reseal --ledger " f"{spec.name} --reason … --as <O3>")
            alert_damaged(ctx, message)
            raise StartRefused(message) from None
        except KeyFileError as exc:
            raise StartRefused(str(exc)) from None
    return done


def alert_damaged(ctx: "Context", message: str) -> None:
    """#ops-critical, through the outbox, never suppressed: a ledger that stopped being written."""
    from jobs.notices import Notice   # `ledger verify` and the other readers send nothing

    if ctx.notifier is None:
        return
    try:
        ctx.notifier.send(Notice(kind="ledger.damaged", subject="LEDGER", text="Ledger damaged: " + message,
                                 channel=ctx.settings.slack.channels.ops_critical, suppressible=False))
    except Exception as exc:  # the refusal to start matters more than the alert about it
        log.error("could not queue the #ops-critical alert about the damaged ledger: %s", exc)


# ---- verify (read-only) ------------------------------------------------------------------------


def verify_ledgers(settings: Settings, data_dir: Path, which: str = "all", since: SinceCheckpoint | None = None,
                   artifacts_days: int | None = None, now: datetime | None = None) -> list[Report]:
    """Verify with public keys only; raises LedgerConfigError when no trust is configured."""
    ledgers = Ledgers(settings, data_dir, clock=lambda: now or datetime.now().astimezone())
    reports = []
    for spec in SPECS:
        if which not in ("all", spec.name):
            continue
        old = ledgers.old_layout(spec)
        if old is not None:    # read-only: verified where it is; the next writer moves it
            files = LedgerFiles(old)
            report = verify_ledger(files, ledgers.trust(spec), spec.view, since=since,
                                   artifacts_days=artifacts_days, data_dir=data_dir, now=now)
            report.warn(f"{spec.view} is the signed credit ledger itself (a data directory made before the run "
                        f"log): the daemon's next start, or any command that records, moves it to "
                        f"{spec.directory}/ledger.jsonl and leaves one line per run in {spec.view}")
            reports.append(report)
            continue
        files = ledgers.files(spec)
        if not files.jsonl.exists() and not files.checkpoint.exists():
            report = Report(ledger=ledgers.display(spec))
            report.row("ledger", ledgers.display(spec))
            report.row("entries", "none yet: created by its first entry (or chatops ledger init)")
            reports.append(report)
            continue
        report = verify_ledger(files, ledgers.trust(spec), ledgers.display(spec), since=since,
                               artifacts_days=artifacts_days, data_dir=data_dir, now=now)
        if spec.view:
            _verify_view(report, ledgers, spec)
        reports.append(report)
    return reports


def _verify_view(report: Report, ledgers: Ledgers, spec: LedgerSpec) -> None:
    """The run log must be exactly the signed ledger's run records: a changed, added or reordered line fails."""
    found = check_view(ledgers.data_dir / spec.view, spec.view, ledgers.files(spec).jsonl, spec.view_kinds)
    kinds = ", ".join(sorted(spec.view_kinds))
    if found.problem:
        fix = ("the signed ledger verifies, so the run log can be written again from it: chatops ledger repair "
               "--as <O3> (it keeps the edited file read-only, as evidence)" if report.ok else
               "write it again (chatops ledger repair --as <O3>) only once the signed ledger is sound")
        report.fail(f"{found.problem}; {fix}")
    elif found.behind:
        report.warn(f"{spec.view} lacks the last {found.behind:,} {kinds} entries of the signed ledger (a crash "
                    "between a commit and the view's write): added on the daemon's next start or commit, or "
                    "run: chatops ledger repair --as <O3>")
    if not found.problem:
        lines = f"{found.lines:,} line{'' if found.lines == 1 else 's'}"
        report.row("run log", f"{spec.view}: {lines}, each the signed {kinds} entry, in order")


# ---- administrative flows (O3), each recorded -------------------------------------------------


def init_ledgers(ctx: "Context", actor: Actor) -> list[str]:
    """Create the key and both ledgers (first entry `ledger.created` by the O3); print what to pin."""
    authorize(ctx, actor, Permission.LEDGER_ADMIN, "ledger init", LEDGERS_SUBJECT)
    ledgers = ctx.ledgers
    lines = []
    vkeys, origins = [], []
    for spec in SPECS:
        ledger = ledgers.get(spec.name)
        created = ledger.create(actor.ledger_id, actor.role_for(Permission.LEDGER_ADMIN) or None)
        identity = ledger.identity
        vkey = identity.signers[0].verifier.vkey
        state = "created" if created else "already initialised"
        lines.append(f"{ledgers.display(spec)}: {state}, origin {identity.origin}")
        lines.append(f"  vkey {vkey}")
        origins.append(f'{spec.origin_setting} = "{identity.origin}"')
        vkeys.append(vkey)
    lines.append(f"key {ledgers.key_path} (0600 in a 0700 directory)")
    lines.append("For config.toml, so that verify trusts config, not the data directory:")
    lines.append("[ledger]")
    lines += origins
    lines.append("trusted_vkeys = [" + ", ".join(f'"{v}"' for v in vkeys) + "]")
    return lines


def repair_ledgers(ctx: "Context", actor: Actor) -> list[str]:
    """Start-up recovery on demand; the repair is recorded in each ledger it touched."""
    authorize(ctx, actor, Permission.LEDGER_ADMIN, "ledger repair", LEDGERS_SUBJECT)
    role = actor.role_for(Permission.LEDGER_ADMIN) or None
    lines = []
    for spec in SPECS:
        ledger = ctx.ledgers.get(spec.name)
        if not ledger.files.jsonl.exists():
            lines.append(f"{ctx.ledgers.display(spec)}: no ledger yet, nothing to repair")
            continue
        recovery = ledger.recover()
        done = recovery.lines(ctx.ledgers.display(spec)) + _repair_view(ctx.ledgers, spec, ledger)
        if done:
            ledger.append("ledger.repaired", actor.ledger_id, role, {"data": {
                "torn_bytes": recovery.torn_bytes, "torn_sha256": recovery.torn_sha256,
                "signed_pending": recovery.signed_pending}})
        lines += done or [f"{ctx.ledgers.display(spec)}: intact, {recovery.entries:,} entries; nothing to repair"]
    return lines


def _repair_view(ledgers: Ledgers, spec: LedgerSpec, ledger: Ledger) -> list[str]:
    """Write the view again when it is not exactly the ledger's lines of its kinds (the old one kept aside)."""
    if ledger.view is None:
        return []
    with ledger.locked():
        found = check_view(ledger.view.path, spec.view, ledger.files.jsonl, spec.view_kinds)
        if not found.problem and not found.behind:
            return []
        kept = ""
        if found.problem and ledger.view.path.exists():
            target = ledger.view.path.with_name(f"{ledger.view.path.name}.damaged-{utc_stamp(ledgers.clock())}")
            os.replace(ledger.view.path, target)
            _make_read_only(target)
            kept = f"; the edited file is kept read-only as {target.name}"
        lines = ledger.view.rebuild(ledger.files.jsonl, ledger.files.jsonl.stat().st_size)
    why = found.problem or f"it lacked the last {found.behind:,} entries"
    return [f"{spec.view}: written again from the signed ledger ({lines:,} lines): {why}{kept}"]


def rotate_key(ctx: "Context", actor: Actor, reason: str) -> list[str]:
    """New key; `ledger.key_rotated` signed by both keys in each ledger; then the old key is replaced.

    Resumable: a `ledger.key.new` left by an interrupted rotation is used again, and a ledger whose
    last entry already announces it is not rotated twice.
    """
    authorize(ctx, actor, Permission.LEDGER_ADMIN, "ledger rotate-key", LEDGERS_SUBJECT)
    if not reason.strip():
        raise ValueError("--reason is required: say why the key is rotated (schedule, suspected compromise, …)")
    ledgers = ctx.ledgers
    role = actor.role_for(Permission.LEDGER_ADMIN) or None
    old_key = ledgers.load_key(create=False)
    new_path = ledgers.key_dir / NEW_KEY_FILE
    if new_path.exists():
        new_key = load_ed25519_key(new_path, ledgers.passphrase(), ledgers.config.passphrase_env)
    else:
        new_key = create_ed25519_key(new_path, ledgers.passphrase())
    lines, vkeys = [], []
    for spec in SPECS:
        ledger = ledgers.get(spec.name)
        identity = ledger.identity
        old_signer = Signer(identity.origin, old_key)
        new_signer = Signer(identity.origin, new_key)
        with ledger.commit(extra_signers=(new_signer,)) as c:
            if not _announces(ledger.files, new_signer.verifier.vkey):   # an interrupted run did this one
                c.append("ledger.key_rotated", actor.ledger_id, role, {"data": {
                    "old_vkey": old_signer.verifier.vkey, "new_vkey": new_signer.verifier.vkey, "reason": reason}})
        files = ledgers.files(spec)
        known = read_vkey_file(files.vkey)
        if new_signer.verifier not in known:
            text = "".join(v.vkey + "\n" for v in known + [new_signer.verifier])
            write_file_atomically(files.vkey, text.encode())
        ledger.switch_identity(Identity(identity.origin, (new_signer,),
                                        tuple(identity.trusted) + (new_signer.verifier,)))
        ledger.publish()
        lines.append(f"{ledgers.display(spec)}: rotated at size {ledger.size:,}; the rotation checkpoint is "
                     "signed by both keys and published")
        vkeys.append(new_signer.verifier.vkey)
    os.replace(new_path, ledgers.key_path)
    lines.append(f"the old private key was replaced by the new one in {ledgers.key_path}")
    lines.append("Add the new vkeys to config.toml [ledger] trusted_vkeys (keep the old ones forever):")
    lines += [f'  "{v}",' for v in vkeys]
    return lines


def _announces(files: LedgerFiles, vkey: str) -> bool:
    """Whether the ledger's last entry is the `ledger.key_rotated` that introduces `vkey`."""
    try:
        with open(files.jsonl, "rb") as handle:
            handle.seek(max(0, handle.seek(0, os.SEEK_END) - MAX_LINE - 1))
            tail = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        last = json.loads(tail)
    except (OSError, ValueError):
        return False
    data = last.get("data") if isinstance(last, dict) else None
    return last.get("kind") == "ledger.key_rotated" and isinstance(data, dict) and data.get("new_vkey") == vkey


def reseal(ctx: "Context", actor: Actor, which: str, reason: str) -> list[str]:
    """After damage: archive the files read-only and start a new ledger under a new install id."""
    authorize(ctx, actor, Permission.LEDGER_ADMIN, "ledger reseal", Subject("ledger", which))
    if not reason.strip():
        raise ValueError("--reason is required: say what was found and who decided to continue")
    spec = spec_for(which)
    ledgers = ctx.ledgers
    ledger = ledgers.get(spec.name)
    files = ledgers.files(spec)
    key = ledgers.load_key(create=False)
    old_origin = ledgers.writer_origin(spec) or ""
    stamp = utc_stamp(ctx.now())
    with ledger.locked():
        good_size, good_root = _last_good(files)
        archived = []
        view = ledger.view.path if ledger.view is not None else None
        for path in (files.jsonl, files.checkpoint, files.sigs, files.vkey, files.checkpoints, files.damaged, view):
            if path is not None and path.exists():
                target = path.with_name(f"{path.name}.damaged-{stamp}")
                os.replace(path, target)
                _make_read_only(target)
                archived.append(target.name)
        origin = new_origin(ledgers.config.company_domain, spec.key_name)
        signer = Signer(origin, key)
        write_file_atomically(files.vkey, (signer.verifier.vkey + "\n").encode())
        ledger.forget()
        ledger.switch_identity(Identity(origin, (signer,), (signer.verifier,)))
        ledger.create(actor.ledger_id, actor.role_for(Permission.LEDGER_ADMIN) or None, previous={
            "origin": old_origin, "size": good_size, "last_good_root": b64(good_root), "reason": reason,
            "archived": archived})
    return [f"{ledgers.display(spec)}: archived read-only as {', '.join(archived) or '(nothing)'}",
            f"new ledger origin {origin} (first entry records the old origin, last good size {good_size:,} "
            f"and root {b64(good_root)[:8]}…)",
            f"update config.toml [ledger]: {spec.origin_setting} = \"{origin}\" and add to trusted_vkeys: "
            f"\"{signer.verifier.vkey}\""]


def reopen(ctx: "Context", actor: Actor, which: str, reason: str) -> list[str]:
    """After a running writer marked a ledger damaged: if the whole file verifies again against what was
    signed (restored from the original bytes), remove the mark and record who reopened it and why."""
    authorize(ctx, actor, Permission.LEDGER_ADMIN, "ledger reopen", Subject("ledger", which))
    if not reason.strip():
        raise ValueError("--reason is required: say what was found, what was restored, and who decided")
    spec = spec_for(which)
    ledger = ctx.ledgers.get(spec.name)
    display = ctx.ledgers.display(spec)
    with ledger.locked():
        marked = ledger.damage_marked()
        if marked is None:
            return [f"{display}: not marked damaged; nothing to reopen"]
        ledger.forget()
        try:
            recovery = ledger.recover()
        except (LedgerDamaged, NoteError) as exc:
            raise LedgerDamaged(f"{display} still does not match what was signed: {exc} It stays closed: restore "
                                f"the file, or run: chatops ledger reseal --ledger {spec.name} --reason \"…\" "
                                "--as <O3>") from None
        ledger.clear_damage()
        ledger.append("ledger.reopened", actor.ledger_id, actor.role_for(Permission.LEDGER_ADMIN) or None, {"data": {
            "found_at": marked.get("found_at"), "found": marked.get("detail"), "reason": reason.strip(),
            "entries": recovery.entries}})
    return [f"{display}: verified again ({recovery.entries:,} entries match the signed checkpoint); the damage "
            f"mark of {str(marked.get('found_at') or '')[:19]}Z is removed and writing resumes",
            f"recorded as ledger.reopened by {actor.name}"]


def _last_good(files: LedgerFiles) -> tuple[int, bytes]:
    """The largest size whose signed root (ledger.sigs) the file still matches."""
    try:
        lines, _, _ = read_sig_lines(files.sigs)
    except NoteError:
        lines = []
    if not lines:
        return 0, EMPTY_ROOT
    scan = scan_ledger(files.jsonl, want_roots={line.size for line in lines})
    good = [(line.size, line.root) for line in lines if scan.roots.get(line.size) == line.root]
    return max(good) if good else (0, EMPTY_ROOT)


def _make_read_only(path: Path) -> None:
    """Archived evidence: read-only for whom the ledger's directory admits (owner, operators' group), never others."""
    readable = file_mode_in(path.parent) & 0o440
    if path.is_dir():
        for child in path.iterdir():
            child.chmod(readable)
        path.chmod(readable | (readable >> 2))      # r-x for the same people
    else:
        path.chmod(readable)
