"""`chatops backup DIR` and `chatops restore DIR`: a consistent snapshot, and its verified return.

Backup copies the data directory while holding every writers' lock (`store/snapshot.py`), so the
copy holds whole commits only: the ledgers with their checkpoints, signatures and published
checkpoints, the state store, the outbox, the run files. The key directory is copied only with
`--include-keys` (a backup without it cannot sign; one with it must be kept like the key itself).
The copy is made beside DIR and renamed to it when complete, so DIR is a whole backup or absent.

Restore trusts nothing in the backup until it is checked: every file against the manifest's SHA-256,
then each ledger's proofs by the same code `chatops ledger verify` runs, with the trust of the
installation being restored (config.toml's pinned keys, else the current ledger.vkey; the backup's own
vkey only when there is no other, and it says so). A backup whose ledger is shorter than a checkpoint
the witnesses cosigned here would roll the ledger back past what they vouched for: refused unless
`--reason` says why (recorded). Only then is the data directory replaced, in one atomic swap, with
the previous one kept beside it. Both are recorded in the operations ledger.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from jobs import audit, upgrade
from jobs.actors import Actor, Permission, Subject, authorize, refuse
from jobs.context import Context
from jobs.errors import Conflict, Damaged, Invalid, NotFound, Refused
from store import snapshot
from store.ledger.ledger import LedgerFiles
from store.ledger.note import NoteError, open_checkpoint, parse_checkpoint_text, parse_note
from store.ledger.verify import verify_ledger

SUBJECT_KIND = "backup"
DAEMON_LOCK = "daemon.lock"   # chatops.daemon.LOCK_NAME: held by a running daemon for its whole life


@dataclass(frozen=True)
class BackupMade:
    path: Path
    files: int
    include_keys: bool
    ledgers: dict[str, int]        # ledger name → its size (entries) in the backup
    manifest_sha256: str


@dataclass(frozen=True)
class Restored:
    path: Path
    files: int
    ledgers: dict[str, int]
    previous: Path                 # the data directory as it was, kept beside it
    trust_note: str                # "" or what a person should know: where trust came from, keys not restored


def backup(ctx: Context, actor: Actor, target: Path, include_keys: bool) -> BackupMade:
    target = Path(target).absolute()
    authorize(ctx, actor, Permission.OPS_BACKUP, "backup", Subject(SUBJECT_KIND, str(target)))
    data_dir = Path(ctx.data_dir).absolute()
    if target.is_relative_to(data_dir):
        raise Invalid(f"backup {target}: inside the data directory {data_dir}; choose a directory outside it")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Invalid(f"backup {target}: already exists and is not empty; choose a new directory")
    staging = target.with_name(f".{target.name}.partial-{os.getpid()}")
    if staging.exists():
        snapshot.remove_tree(staging)
    staging.mkdir(mode=0o700, parents=True)
    ledgers = ctx.ledgers
    with snapshot.all_locks(snapshot.lock_paths(data_dir, [ledgers.files(s).directory for s in audit.SPECS])):
        entries = snapshot.copy_tree(data_dir, staging, exclude=ledgers.key_dir)
        if include_keys and ledgers.key_dir.is_dir():
            entries += snapshot.copy_tree(ledgers.key_dir, staging, into=snapshot.KEYS)
    sizes = _sizes(staging)
    digest = snapshot.write_manifest(staging, {
        "created_at": ctx.now().isoformat(), "data_dir": str(data_dir), "include_keys": include_keys,
        "ledgers": sizes, "schema": upgrade.versions(ctx), "dirs": snapshot.dir_modes(staging)}, entries)
    if target.exists():
        target.rmdir()
    os.rename(staging, target)
    ctx.ledgers.operations.append("backup.created", actor.ledger_id, actor.role_for(Permission.OPS_BACKUP) or None,
                                  {"data": {"dir": str(target), "files": len(entries), "include_keys": include_keys,
                                            "ledgers": sizes, "manifest_sha256": digest}})
    return BackupMade(target, len(entries), include_keys, sizes, digest)


def restore(ctx: Context, actor: Actor, source: Path, reason: str = "") -> Restored:
    source = Path(source).absolute()
    subject = Subject(SUBJECT_KIND, str(source))
    authorize(ctx, actor, Permission.OPS_RESTORE, "restore", subject)
    if not source.is_dir():
        raise NotFound(f"restore {source}: no such backup directory; give a directory made by chatops backup")
    manifest, digest = snapshot.read_manifest(source)
    files = snapshot.verify_files(source, manifest)
    trust_note = _verify_ledgers(ctx, source)
    sizes = _sizes(source)
    behind = [(name, sizes.get(name, 0), size) for name, size in _cosigned(ctx).items() if sizes.get(name, 0) < size]
    reason = reason.strip()
    if behind and not reason:
        name, have, cosigned = behind[0]
        raise refuse(ctx, actor, Permission.OPS_RESTORE, "restore", subject, Refused(
            f"restore {source}: its {name} ledger has {have:,} entries but witnesses cosigned {cosigned:,} here; "
            f"restoring it rolls back what they vouched for. If that is intended (the newer entries are lost), "
            f"say why: --reason \"…\""), detail={"ledger": name, "backup_size": have, "cosigned_size": cosigned})
    data_dir = Path(ctx.data_dir).absolute()
    if _daemon_running(data_dir):
        raise Conflict(f"restore: a daemon is running on {data_dir}; stop it first (chatops service stop, or "
                       f"kill -TERM its pid), then restore")
    stamp = re.sub(r"[^0-9TZ]", "", ctx.now().strftime("%Y%m%dT%H%M%SZ"))
    staging = data_dir.with_name(f".{data_dir.name}.restore-{stamp}")
    if staging.exists():
        snapshot.remove_tree(staging)
    staging.mkdir(mode=0o700)
    ledgers = ctx.ledgers
    key_dir = ledgers.key_dir.absolute()
    keys_inside = key_dir.is_relative_to(data_dir)
    for relative in manifest["files"]:
        if relative.startswith(f"{snapshot.KEYS}/"):
            continue
        _copy_one(source / relative, staging / relative)
    has_keys = bool(manifest.get("include_keys")) and any(r.startswith(f"{snapshot.KEYS}/") for r in manifest["files"])
    if keys_inside:
        target_keys = staging / key_dir.relative_to(data_dir)
        if has_keys:
            for relative in manifest["files"]:
                if relative.startswith(f"{snapshot.KEYS}/"):
                    _copy_one(source / relative, target_keys / relative.removeprefix(f"{snapshot.KEYS}/"))
        elif key_dir.is_dir():   # a backup without keys keeps this machine's signing key
            snapshot.copy_tree(key_dir, staging, into=str(key_dir.relative_to(data_dir)))
        if target_keys.is_dir():
            target_keys.chmod(0o700)
    elif has_keys:
        trust_note = " ".join(filter(None, [trust_note, (
            f"the backup's keys/ were not restored: the key directory {key_dir} is outside the data directory; "
            f"copy them from {source / snapshot.KEYS} by hand if this machine lost its key")]))
    snapshot.apply_dir_modes(staging, manifest.get("dirs") or {})
    previous = _unused(data_dir.with_name(f"{data_dir.name}.before-restore-{stamp}"))
    with snapshot.all_locks(snapshot.lock_paths(data_dir, [ledgers.files(s).directory for s in audit.SPECS])):
        snapshot.exchange(staging, data_dir)
    os.rename(staging, previous)
    fresh = audit.Ledgers(ctx.settings, data_dir, clock=ctx.now)
    fresh.operations.append("backup.restored", actor.ledger_id, actor.role_for(Permission.OPS_RESTORE) or None,
                            {"data": {"dir": str(source), "manifest_sha256": digest, "files": files, "ledgers": sizes,
                                      "previous": str(previous), "reason": reason,
                                      "rolled_back": [{"ledger": n, "backup_size": h, "cosigned_size": c}
                                                      for n, h, c in behind]}})
    return Restored(data_dir, files, sizes, previous, trust_note)


def _unused(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`, … when a restore in the same second already kept one there: the
    rename after the swap must not fail, or the data directory is swapped with no record of it."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _copy_one(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = source.read_bytes()
    with open(target, "wb") as writer:
        writer.write(data)
        writer.flush()
        os.fsync(writer.fileno())
    os.chmod(target, source.stat().st_mode & 0o7777)


def _sizes(root: Path) -> dict[str, int]:
    """Each ledger's size by its latest checkpoint in `root` (0 when it has none)."""
    sizes = {}
    for spec in audit.SPECS:
        path = LedgerFiles(root / spec.directory).checkpoint
        try:
            sizes[spec.name.value] = parse_checkpoint_text(parse_note(path.read_text()).text).size
        except FileNotFoundError:
            sizes[spec.name.value] = 0
        except (OSError, NoteError) as exc:
            raise Damaged(f"{path}: {exc}; the backup is damaged, use another") from None
    return sizes


def _verify_ledgers(ctx: Context, source: Path) -> str:
    """Each ledger of the backup verifies with this installation's trust; returns a note when that trust
    had to come from the backup itself."""
    note = ""
    current = ctx.ledgers
    from_backup = audit.Ledgers(ctx.settings, source, clock=ctx.now)
    for spec in audit.SPECS:
        files = LedgerFiles(source / spec.directory)
        if not files.jsonl.exists() and not files.checkpoint.exists():
            continue
        try:
            trust = current.trust(spec)
        except audit.LedgerConfigError:
            try:
                trust = from_backup.trust(spec)
            except audit.LedgerConfigError as exc:
                raise Damaged(f"backup {source}: {spec.name} ledger cannot be verified: {exc}") from None
            note = ("trust came from the backup's own ledger.vkey (this installation has no ledger and config.toml "
                    "pins no origin): pin [ledger] origins and trusted_vkeys to check backups against them")
        report = verify_ledger(files, trust, f"{spec.directory}/ledger.jsonl (backup)")
        if not report.ok:
            failure = next(f.message for f in report.findings if f.severity.value == "failure")
            raise Damaged(f"backup {source}: the {spec.name} ledger does not verify: {failure}; use another backup")
    return note


def _cosigned(ctx: Context) -> dict[str, int]:
    """Per ledger here, the largest size a configured witness cosigned (0: none)."""
    found = {}
    for spec in audit.SPECS:
        files = ctx.ledgers.files(spec)
        if not files.checkpoints.is_dir():
            continue
        try:
            trust = ctx.ledgers.trust(spec)
        except audit.LedgerConfigError:
            continue
        if not trust.witnesses:
            continue
        for path in files.checkpoints.glob("*.checkpoint"):
            try:
                signed = open_checkpoint(path.read_text(), [*trust.log_keys, *trust.witnesses], trust.origin)
            except (OSError, NoteError):
                continue    # `ledger verify` reports a damaged published checkpoint; it vouches for nothing
            if signed.opened.cosignatures:
                found[spec.name.value] = max(found.get(spec.name.value, 0), signed.checkpoint.size)
    return found


def _daemon_running(data_dir: Path) -> bool:
    return snapshot.held(data_dir / DAEMON_LOCK)
