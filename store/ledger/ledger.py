"""The append protocol, start-up recovery and the files of one ledger (docs/ledger.md §1, §5, §6).

Order is the whole design: data written with one `write` and made durable with `fdatasync`, only
then the compact range, the signed checkpoint (temp file, fsync, rename, directory fsync) and the
`ledger.sigs` line. A crash at any point leaves either a torn tail beyond the signed size (repaired
on the next start, the bytes kept for forensics) or complete but unsigned lines (signed on the next
start); it never leaves a checkpoint covering bytes that are not on disk. Damage inside the signed
range is never repaired here: it stops the writer with the `verify` message (fail closed).

One `flock` on `ledger.lock` serialises the daemon, CLI commands and their threads; readers need no
lock. No module state: a `Ledger` object holds the in-memory compact range of one file.

A writer that stays up (the daemon) checks before every commit that the file still ends with the line it
last committed or saw (a read of that one line), and reloads and re-verifies the whole file against the
signed checkpoint when the file was replaced or written without growing. On a mismatch it writes
`ledger.damaged` beside the ledger, calls `on_damaged` once (the domain alerts #ops-critical), and from
then on every writer refuses until an O3 reopens the verified ledger or reseals it (jobs/audit.py).
"""
from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from store.access import make_dirs
from store.files import fsync_directory, open_creating, write_all, write_file_atomically, write_synced
from store.ledger import messages
from store.ledger.entry import MAX_LINE, SCHEMA_VERSION, Entry, EntryInvalid, build_entry
from store.ledger.merkle import CompactRange, leaf_hash
from store.ledger.note import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    b64,
    b64decode_canonical,
    open_checkpoint,
)
from store.ledger.scan import scan_ledger
from store.errors import ChatopsError, Damaged
from store.ledger.view import View, ViewDamaged

log = logging.getLogger("chatops.ledger")


class LedgerDamaged(Damaged):
    """The ledger differs from what was signed: refuse to write (the message is verify's, plus the next step)."""

    NEXT_STEP = ("Nothing more is written to it until an O3 acts: `chatops ledger verify` shows the damage, then "
                 "restore the file from a copy or archive it with `chatops ledger reseal`.")

    def __init__(self, message: str) -> None:
        if "chatops ledger" not in message:
            message = f"{message}{' ' if message.endswith('.') else '. '}{self.NEXT_STEP}"
        super().__init__(message)


def _naming(path: Path, what: str, exc: Exception) -> str:
    """The note's complaint with the file it is about: `<path>: …` (or `<path> is …` for `<what> is …`)."""
    text = str(exc)
    return f"{path}{text[len(what):]}" if text.startswith(what) else f"{path}: {text}"


class LedgerWriteError(ChatopsError):
    """A commit could not be made durable; nothing of it was kept (exit 1: the message says to free space)."""


@dataclass(frozen=True)
class Identity:
    """Who signs this ledger: its origin (the key name), the signing keys and the trusted vkeys."""

    origin: str
    signers: tuple[Signer, ...]
    trusted: tuple[Verifier, ...]


@dataclass(frozen=True)
class LedgerFiles:
    directory: Path

    @property
    def jsonl(self) -> Path:
        return self.directory / "ledger.jsonl"

    @property
    def checkpoint(self) -> Path:
        return self.directory / "ledger.checkpoint"

    @property
    def checkpoints(self) -> Path:
        return self.directory / "ledger.checkpoints"

    @property
    def sigs(self) -> Path:
        return self.directory / "ledger.sigs"

    @property
    def lock(self) -> Path:
        return self.directory / "ledger.lock"

    @property
    def damaged(self) -> Path:
        """Written by a running writer that found the ledger changed under it; every writer refuses while
        it exists (removed by `chatops ledger reopen`, archived by `reseal`)."""
        return self.directory / "ledger.damaged"

    @property
    def vkey(self) -> Path:
        """Public trust file written when config.toml does not pin the origin (see jobs.audit)."""
        return self.directory / "ledger.vkey"


@dataclass(frozen=True)
class SigLine:
    """One `ledger.sigs` line: the size, root and signatures of one commit's checkpoint."""

    size: int
    root: bytes
    signatures: tuple[bytes, ...]   # key id ‖ signature, as in a note signature line

    def render(self) -> str:
        return f"{self.size} {b64(self.root)} " + " ".join(b64(s) for s in self.signatures) + "\n"

    def note(self, origin: str) -> str:
        """The signed checkpoint this line stands for."""
        text = Checkpoint(origin, self.size, self.root).text()
        return text + "\n" + "".join(f"\u2014 {origin} {b64(s)}\n" for s in self.signatures)


def parse_sig_line(line: str) -> SigLine:
    parts = line.split(" ")
    if len(parts) < 3 or not parts[0].isdigit() or not parts[0].isascii():
        raise NoteError(f"ledger.sigs line {line[:40]!r} is not '<size> <root> <signature>…'")
    return SigLine(int(parts[0]), b64decode_canonical(parts[1], "root"),
                   tuple(b64decode_canonical(p, "signature") for p in parts[2:]))


def read_sig_lines(path: Path) -> tuple[list[SigLine], int, int]:
    """(valid lines, bytes they take, total bytes); a torn last line is not returned."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0, 0
    good = raw[:raw.rfind(b"\n") + 1]
    lines = [parse_sig_line(text) for text in good.decode("utf-8", "replace").splitlines()]
    return lines, len(good), len(raw)


def durable_sync(fd: int) -> None:
    """fdatasync on Linux; F_FULLFSYNC on macOS, where fsync does not flush the drive cache."""
    if sys.platform == "darwin":
        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
    else:
        os.fdatasync(fd)


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class SignedState:
    """The largest size the log key is known to have signed, and where that came from."""

    size: int
    root: bytes
    source: str
    sig_lines: tuple[SigLine, ...] = ()
    published: tuple[tuple[int, bytes, str], ...] = ()   # (size, root, file name) of ledger.checkpoints/


@dataclass(frozen=True)
class Recovery:
    """What start-up recovery found and did; `lines()` is what the daemon logs."""

    entries: int
    signed_size: int
    torn_bytes: int = 0
    torn_file: Path | None = None
    torn_sha256: str = ""
    signed_pending: int = 0
    sigs_repaired: bool = False

    def lines(self, name: str) -> list[str]:
        out = []
        if self.torn_bytes:
            out.append(f"{name}: removed a torn tail of {self.torn_bytes:,} bytes (crash during a write); "
                       f"saved to {self.torn_file}, sha256 {self.torn_sha256[:12]}…, recorded as "
                       "ledger.recovered")
        if self.signed_pending:
            out.append(f"{name}: signed {self.signed_pending:,} complete entries that were written but not "
                       "yet signed (crash before the checkpoint)")
        if self.sigs_repaired:
            out.append(f"{name}: completed ledger.sigs from the latest checkpoint")
        return out


@dataclass
class Commit:
    """Entries of one commit, built in memory; written with one `write` when the block ends."""

    ledger: "Ledger"
    first_seq: int
    entries: list[Entry] = field(default_factory=list)

    def append(self, kind: str, actor: str, role: str | None, fields: Mapping[str, Any]) -> Entry:
        entry = build_entry(self.first_seq + len(self.entries), self.ledger.clock(), kind, actor, role,
                            fields)
        self.entries.append(entry)
        return entry


class Ledger:
    """One signed JSONL ledger. `identity` is called once, under the lock, on first use."""

    def __init__(self, directory: Path, identity: Callable[[], Identity],
                 clock: Callable[[], datetime] | None = None, name: str | None = None, which: str = "",
                 on_damaged: Callable[[str], None] | None = None, view: View | None = None) -> None:
        self.files = LedgerFiles(Path(directory))
        self.view = view      # a derived file of some kinds' lines, extended after each commit (store.ledger.view)
        self.name = name or str(self.files.jsonl)
        self.which = which                   # the `--ledger` name in the commands a message gives
        self.on_damaged = on_damaged         # called once, with the sentence, when this writer marks damage
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self._identity_factory = identity
        self._identity: Identity | None = None
        self._thread_lock = threading.RLock()
        self._compact = CompactRange()
        self._bytes = 0
        self._inode: tuple[int, int] | None = None
        self._tail = b""                     # the last complete line, ending at offset `_bytes`
        self._stamp: tuple[int, int, int] | None = None   # (size, mtime, ctime) when this process last looked
        self._unmarked: str | None = None    # damage this process found but could not write down
        self._loaded = False
        self._lock_depth = 0

    # ---- public API ---------------------------------------------------------------------------

    @property
    def identity(self) -> Identity:
        if self._identity is None:
            self._identity = self._identity_factory()
        return self._identity

    @property
    def size(self) -> int:
        return self._compact.size

    def append(self, kind: str, actor: str, role: str | None, fields: Mapping[str, Any]) -> Entry:
        """One entry in one commit: durable and signed when this returns."""
        with self.commit() as c:
            return c.append(kind, actor, role, fields)

    @contextmanager
    def commit(self, extra_signers: Sequence[Signer] = ()) -> Iterator[Commit]:
        """Several entries, one write, one fdatasync, one checkpoint; nothing written if the block raises."""
        with self.locked():
            self._refuse_if_damaged()
            self._catch_up()
            pending = Commit(self, self._compact.size)
            if self._compact.size == 0 and not self.files.checkpoint.exists():
                self._add_created(pending)
            yield pending
            if pending.entries:
                self._write(pending.entries, extra_signers)

    def create(self, actor: str, role: str | None, previous: Mapping[str, Any] | None = None) -> Entry | None:
        """Write `ledger.created` as entry 0 by `actor` (init, reseal); None when the ledger exists."""
        with self.locked():
            self._refuse_if_damaged()
            self._catch_up()
            if self._compact.size or self.files.checkpoint.exists():
                return None
            data = self._created_data()
            if previous is not None:
                data["previous"] = dict(previous)
            entry = build_entry(0, self.clock(), "ledger.created", actor, role, {"data": data})
            self._write([entry], ())
            return entry

    def recover(self) -> Recovery:
        """Start-up recovery (docs/ledger.md §6): repair a torn tail, sign unsigned lines, or raise
        LedgerDamaged."""
        with self.locked():
            self._loaded = False
            return self._load()

    def checkpoint_text(self) -> str:
        return self.files.checkpoint.read_text(encoding="utf-8")

    def publish(self) -> Path:
        """Keep the current checkpoint in `ledger.checkpoints/<size>.checkpoint` (created O_EXCL)."""
        with self.locked():
            self._catch_up()
            text = self.checkpoint_text()
            size = self._compact.size
            make_dirs(self.files.checkpoints)
            path = self.files.checkpoints / f"{size}.checkpoint"
            try:
                write_synced(path, text.encode(), exclusive=True)
            except FileExistsError:
                return path
            fsync_directory(self.files.checkpoints)
            return path

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The writers' lock: a thread lock, then `flock` on ledger.lock (re-entrant in one thread)."""
        with self._thread_lock:
            if self._lock_depth:
                self._lock_depth += 1
                try:
                    yield
                finally:
                    self._lock_depth -= 1
                return
            make_dirs(self.files.directory)
            fd = open_creating(self.files.lock, os.O_RDWR | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._lock_depth = 1
                try:
                    yield
                finally:
                    self._lock_depth = 0
            finally:
                os.close(fd)  # closing drops the flock

    def switch_identity(self, identity: Identity) -> None:
        """After a key rotation or reseal: sign with the new identity from the next commit on."""
        with self._thread_lock:
            self._identity = identity

    def forget(self) -> None:
        """Drop the in-memory state (after files were moved aside); the next use reloads."""
        with self._thread_lock:
            self._loaded = False
            self._compact = CompactRange()
            self._bytes = 0
            self._inode = None
            self._tail = b""
            self._stamp = None
            self._unmarked = None
            if self.view is not None:
                self.view.forget()

    def damage_marked(self) -> dict[str, Any] | None:
        """What `ledger.damaged` says (`found_at`, `detail`, `pid`), or None when the ledger is not marked."""
        try:
            raw = self.files.damaged.read_bytes()
        except FileNotFoundError:
            return None
        try:
            marked = json.loads(raw)
        except ValueError:
            marked = None
        if not isinstance(marked, dict):
            return {"found_at": "", "detail": f"{self.files.damaged.name} is unreadable", "pid": None}
        return marked

    def clear_damage(self) -> None:
        """Remove the mark (an O3's reopen, after the ledger verified again); the next use reloads."""
        with self.locked():
            self.files.damaged.unlink(missing_ok=True)
            fsync_directory(self.files.directory)
            self.forget()

    # ---- damage found by a running writer -----------------------------------------------------

    def _refuse_if_damaged(self) -> None:
        """One `stat` per commit: a mark written by any process stops this one too."""
        if self._unmarked is not None:
            raise LedgerDamaged(self._unmarked)
        if not self.files.damaged.exists():
            return
        marked = self.damage_marked() or {}
        self._loaded = False          # whatever reopens it, the next commit re-verifies the whole file,
        self._identity = None         # under the origin then beside it (a reseal writes a new one)
        raise LedgerDamaged(messages.marked_damaged(self.name, self.which, str(marked.get("found_at") or ""),
                                                    str(marked.get("detail") or "no detail recorded")))

    def _damage(self, detail: str) -> LedgerDamaged:
        """The ledger is not what this writer last signed or saw: mark it, alert once, say what to do."""
        self._loaded = False
        self._identity = None
        message = messages.changed_under_writer(self.name, self.which, detail)
        record = {"ledger": self.name, "found_at": self.clock().astimezone(timezone.utc).isoformat(),
                  "pid": os.getpid(), "detail": detail}
        try:
            write_synced(self.files.damaged, (json.dumps(record) + "\n").encode(), exclusive=True)
        except FileExistsError:
            return LedgerDamaged(message)          # another process marked it first, and alerted
        except OSError as exc:
            log.error("%s: could not write %s (%s); this process refuses to write it until restarted",
                      self.name, self.files.damaged, exc)
            self._unmarked = message
        else:
            fsync_directory(self.files.directory)
        log.error("%s", message)
        if self.on_damaged is not None:
            try:
                self.on_damaged(message)
            except Exception:  # the refusal matters more than the alert about it
                log.exception("%s: could not alert about the damaged ledger", self.name)
        return LedgerDamaged(message)

    # ---- the protocol -------------------------------------------------------------------------

    def _created_data(self) -> dict[str, Any]:
        """The ledger's header: its origin, its keys and the entry schema it starts with (ledgers created
        before the schema was named here have none: schema 1, `store/schema.py`)."""
        identity = self.identity
        return {"origin": identity.origin, "vkey": [s.verifier.vkey for s in identity.signers],
                "schema": SCHEMA_VERSION}

    def _add_created(self, pending: Commit) -> None:
        """A new ledger's first entry names its origin and key (docs/ledger.md §10)."""
        pending.append("ledger.created", "daemon", None, {"data": self._created_data()})

    def _catch_up(self) -> None:
        """Step 2: check that the file still extends what this process last committed or saw, then hash
        what other processes appended since."""
        if not self._loaded:
            self._load()
            return
        try:
            info = os.stat(self.files.jsonl)
        except FileNotFoundError:
            info = None
        if info is None:
            if self._bytes == 0:
                return
            raise self._damage(f"the file is gone, {self._bytes:,} bytes ({self._compact.size:,} entries) were "
                               "committed.")
        if (info.st_dev, info.st_ino) != self._inode:
            if self._inode is not None or self._bytes:
                self._identity = None     # a reseal writes a new origin beside the new file
            self._reload_or_damage("it was replaced by another file")
            return
        if info.st_size < self._bytes:
            raise self._damage(f"it is {info.st_size:,} bytes but {self._bytes:,} bytes were committed: it was "
                               "truncated after it was signed.")
        if not self._tail_intact():
            raise self._damage(f"its last committed entry (seq {self._compact.size - 1:,}, the bytes ending at "
                               f"offset {self._bytes:,}) is not what was signed.")
        if _stamp_of(info) == self._stamp:
            return
        if info.st_size == self._bytes:
            self._reload_or_damage("it was written without growing")
            return
        scan = scan_ledger(self.files.jsonl, start=self._compact, start_offset=self._bytes)
        if scan.problem is not None:
            if scan.problem.kind == "partial":
                raise LedgerDamaged(messages.torn_tail(self.name, scan.total_bytes - scan.good_bytes))
            raise self._damage(messages.inside_signed(scan.problem, scan.entries))
        self._compact = scan.compact
        self._bytes = scan.good_bytes
        self._tail = self._read_tail()
        self._stamp = _stamp_of(info) if info.st_size == scan.good_bytes else None

    def _reload_or_damage(self, what: str) -> None:
        """The whole file against what was signed, as at start; a failure marks the ledger damaged."""
        self._loaded = False
        try:
            self._load()
        except LedgerDamaged as exc:
            raise self._damage(f"{what}, and {exc}") from None

    def _tail_intact(self) -> bool:
        """Whether the file still holds, at the same offset, the last line this process committed or saw."""
        if not self._tail:
            return True
        try:
            fd = os.open(self.files.jsonl, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return False
        try:
            return os.pread(fd, len(self._tail), self._bytes - len(self._tail)) == self._tail
        finally:
            os.close(fd)

    def _read_tail(self) -> bytes:
        """The last complete line before offset `_bytes` (entries are at most MAX_LINE bytes)."""
        if not self._bytes:
            return b""
        fd = os.open(self.files.jsonl, os.O_RDONLY | os.O_CLOEXEC)
        try:
            start = max(0, self._bytes - MAX_LINE - 1)
            chunk = os.pread(fd, self._bytes - start, start)
        finally:
            os.close(fd)
        return chunk[chunk.rfind(b"\n", 0, len(chunk) - 1) + 1:]

    def _write(self, entries: list[Entry], extra_signers: Sequence[Signer]) -> None:
        """Steps 3–6: one buffer, one write loop, fdatasync, then the compact range and checkpoint."""
        buf = b"".join(e.line + b"\n" for e in entries)
        fd = open_creating(self.files.jsonl, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            try:
                write_all(fd, buf)
                durable_sync(fd)
            except OSError as exc:
                self._truncate_back(fd)
                raise LedgerWriteError(
                    f"could not write {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} to "
                    f"{self.name} ({exc.strerror or exc}); nothing was recorded. Free disk space or "
                    "check the file system, then retry") from exc
            info = os.fstat(fd)
            self._inode = (info.st_dev, info.st_ino)
            self._stamp = _stamp_of(info)
        finally:
            os.close(fd)
        before = (self._compact.copy(), self._bytes)
        before_tail = self._tail
        for entry in entries:
            self._compact.append(leaf_hash(entry.line))
        self._bytes += len(buf)
        self._tail = entries[-1].line + b"\n"
        try:
            sig_line = self._sign_checkpoint(extra_signers)
        except OSError as exc:
            # No checkpoint covers the new bytes yet: take them back, so a failed commit leaves nothing.
            self._compact, self._bytes = before
            self._tail = before_tail
            fd = os.open(self.files.jsonl, os.O_WRONLY | os.O_CLOEXEC)
            try:
                self._truncate_back(fd)
            finally:
                os.close(fd)
            raise LedgerWriteError(f"could not write the checkpoint of {self.name} ({exc.strerror or exc}); "
                                   "the entries were taken back, nothing was recorded. Free disk space, "
                                   "then retry") from exc
        self._append_sig_line_logged(sig_line)
        if self.view is not None:
            self.view.extend(entries, self.files.jsonl, before[1], self._bytes)

    def _truncate_back(self, fd: int) -> None:
        try:
            os.ftruncate(fd, self._bytes)
            os.fsync(fd)
            self._stamp = _stamp_of(os.fstat(fd))
        except OSError:
            # The partial bytes stay as a torn tail beyond the signed size; the next load repairs them.
            self._loaded = False

    def _sign_checkpoint(self, extra_signers: Sequence[Signer] = ()) -> SigLine:
        """Step 6: sign the checkpoint and replace ledger.checkpoint; returns its ledger.sigs line."""
        identity = self.identity
        checkpoint = Checkpoint(identity.origin, self._compact.size, self._compact.root())
        signers = tuple(identity.signers) + tuple(extra_signers)
        message = checkpoint.text().encode()
        line = SigLine(checkpoint.size, checkpoint.root, tuple(s.signature(message) for s in signers))
        write_file_atomically(self.files.checkpoint, line.note(identity.origin).encode())
        return line

    def _sign(self) -> None:
        self._append_sig_line(self._sign_checkpoint())

    def _append_sig_line_logged(self, line: SigLine) -> None:
        """The commit is durable and signed; a failing ledger.sigs append is repaired on the next load."""
        try:
            self._append_sig_line(line)
        except OSError as exc:
            log.error("%s: could not append to %s (%s); the next start adds the latest checkpoint's line",
                      self.name, self.files.sigs, exc)
            self._loaded = False

    def _append_sig_line(self, line: SigLine) -> None:
        fd = open_creating(self.files.sigs, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        try:
            write_all(fd, line.render().encode())
            durable_sync(fd)
        finally:
            os.close(fd)

    # ---- recovery -----------------------------------------------------------------------------

    def signed_state(self) -> SignedState:
        """The verified latest checkpoint, or a later ledger.sigs line (a rolled-back checkpoint)."""
        identity = self.identity
        trusted = set(identity.trusted) | {s.verifier for s in identity.signers}
        size, root, source = 0, b"", "none"
        if self.files.checkpoint.exists():
            try:
                signed = open_checkpoint(self.files.checkpoint.read_bytes(), trusted, identity.origin,
                                         what="ledger.checkpoint")
            except NoteError as exc:
                raise LedgerDamaged(_naming(self.files.checkpoint, "ledger.checkpoint", exc)) from None
            size, root, source = signed.checkpoint.size, signed.checkpoint.root, "ledger.checkpoint"
        try:
            lines, _, _ = read_sig_lines(self.files.sigs)
        except NoteError as exc:
            raise LedgerDamaged(f"{self.files.sigs}: {exc}") from None
        if lines and lines[-1].size > size:
            last = lines[-1]
            try:
                open_checkpoint(last.note(identity.origin), trusted, identity.origin, what="ledger.sigs")
            except NoteError as exc:
                raise LedgerDamaged(_naming(self.files.sigs, "ledger.sigs", exc)) from None
            size, root, source = last.size, last.root, "ledger.sigs"
        published = self._published(trusted, identity.origin)
        for p_size, p_root, name in published:
            if p_size > size:   # ledger, checkpoint and sigs were rolled back together below a published size
                size, root, source = p_size, p_root, f"ledger.checkpoints/{name}"
        return SignedState(size, root, source, tuple(lines), published)

    def _published(self, trusted: set[Verifier], origin: str) -> tuple[tuple[int, bytes, str], ...]:
        """Published checkpoints that verify; one that does not is left to `verify` to report."""
        found = []
        if self.files.checkpoints.is_dir():
            for path in self.files.checkpoints.glob("*.checkpoint"):
                try:
                    signed = open_checkpoint(path.read_bytes(), trusted, origin, what=path.name)
                except (NoteError, OSError):
                    continue
                found.append((signed.checkpoint.size, signed.checkpoint.root, path.name))
        return tuple(sorted(found))

    def _load(self) -> Recovery:
        state = self.signed_state()
        scan = scan_ledger(self.files.jsonl, want_roots={state.size} | {p[0] for p in state.published})
        if scan.entries < state.size:
            if scan.problem is not None and scan.problem.line_no <= state.size and scan.problem.kind != "partial":
                raise LedgerDamaged(f"{self.name}: {messages.inside_signed(scan.problem, state.size)}")
            raise LedgerDamaged(f"{self.name}: {messages.truncation(scan.entries, state.size)}")
        if state.size and scan.roots.get(state.size) != state.root:
            raise LedgerDamaged(f"{self.name}: {self._mismatch_message(state)}")
        for p_size, p_root, name in state.published:
            if p_size and scan.roots.get(p_size) != p_root:
                raise LedgerDamaged(f"{self.name}: published checkpoint {name} (root {messages.short(b64(p_root))}) "
                                    f"does not match this ledger at size {p_size:,}: entries before {p_size:,} were "
                                    "changed.")
        self._compact = scan.compact
        self._bytes = scan.good_bytes
        info = os.stat(self.files.jsonl) if self.files.jsonl.exists() else None
        self._inode = (info.st_dev, info.st_ino) if info else None
        self._stamp = _stamp_of(info) if info else None
        self._tail = self._read_tail()
        self._loaded = True
        recovery = Recovery(entries=scan.entries, signed_size=state.size)
        sigs_ok = self._repair_sigs(state)
        if scan.problem is not None:
            recovery = self._cut_torn_tail(scan.good_bytes, scan.total_bytes, recovery)
        elif scan.entries > state.size:
            self._sign()
            recovery = Recovery(entries=scan.entries, signed_size=state.size,
                                signed_pending=scan.entries - state.size)
        elif not sigs_ok:
            recovery = Recovery(entries=scan.entries, signed_size=state.size, sigs_repaired=True)
        for line in recovery.lines(self.name):
            log.warning("%s", line)
        self._sync_view()
        return recovery

    def _sync_view(self) -> None:
        """Bring the view up to the ledger (a crash between a commit and its view write); never raises."""
        if self.view is None:
            return
        try:
            added = self.view.sync(self.files.jsonl, self._bytes)
        except (OSError, ViewDamaged) as exc:
            self.view.forget()
            log.error("%s", exc)
            return
        if added:
            log.warning("%s: added %d line(s) of the signed ledger it lacked (a crash came between a commit and "
                        "the view's write)", self.view.label, added)

    def _repair_sigs(self, state: SignedState) -> bool:
        """Cut a torn ledger.sigs line; add the latest checkpoint's line if the crash came before it."""
        lines, good, total = read_sig_lines(self.files.sigs)
        if total > good:
            fd = os.open(self.files.sigs, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.ftruncate(fd, good)
                os.fsync(fd)
            finally:
                os.close(fd)
        if state.size and (not lines or lines[-1].size < state.size) and state.source == "ledger.checkpoint":
            note = self.files.checkpoint.read_text(encoding="utf-8")
            sigs = tuple(base64.b64decode(line.rsplit(" ", 1)[1])
                         for line in note.split("\n\n", 1)[1].splitlines()
                         if line.split(" ")[1] == self.identity.origin)
            self._append_sig_line(SigLine(state.size, state.root, sigs))
            return False
        return total == good

    def _cut_torn_tail(self, good: int, total: int, recovery: Recovery) -> Recovery:
        """Save the bytes after the last good line, truncate, record `ledger.recovered`, sign."""
        with open(self.files.jsonl, "rb") as handle:
            handle.seek(good)
            torn = handle.read()
        now = self.clock()
        saved = self.files.directory / f"ledger.jsonl.torn-{utc_stamp(now)}"
        n = 0
        while saved.exists():
            n += 1
            saved = self.files.directory / f"ledger.jsonl.torn-{utc_stamp(now)}.{n}"
        write_synced(saved, torn, exclusive=True)
        fd = os.open(self.files.jsonl, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.ftruncate(fd, good)
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_directory(self.files.directory)
        digest = sha256(torn).hexdigest()
        entry = build_entry(self._compact.size, now, "ledger.recovered", "daemon", None,
                            {"data": {"bytes_removed": len(torn), "sha256": digest, "saved_to": saved.name}})
        self._write([entry], ())
        return Recovery(entries=self._compact.size, signed_size=recovery.signed_size, torn_bytes=len(torn),
                        torn_file=saved, torn_sha256=digest)

    def _mismatch_message(self, state: SignedState) -> str:
        """Localise a root mismatch with the per-commit roots in ledger.sigs."""
        sizes = sorted({line.size for line in state.sig_lines if line.size <= state.size} | {state.size})
        scan = scan_ledger(self.files.jsonl, want_roots=sizes)
        by_size = {line.size: line.root for line in state.sig_lines}
        by_size[state.size] = state.root
        last_good, first_bad = None, state.size
        for size in sizes:
            if scan.roots.get(size) == by_size[size]:
                last_good = size
            else:
                first_bad = size
                break
        return messages.root_mismatch(state.size, b64(state.root), last_good, first_bad)


def _stamp_of(info: os.stat_result) -> tuple[int, int, int]:
    """Size and times of the file: another change than this process's own shows in the ctime, which no
    tool can set back."""
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns


__all__ = ["Commit", "Entry", "EntryInvalid", "Identity", "Ledger", "LedgerDamaged", "LedgerFiles",
           "LedgerWriteError", "Recovery", "SigLine", "SignedState", "parse_sig_line", "read_sig_lines"]
