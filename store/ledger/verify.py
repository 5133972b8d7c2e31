"""`chatops ledger verify`: the read-only check of one ledger with public keys only (docs/ledger.md §7).

Order: the checkpoint is read before the ledger (a writer appends data before it replaces the
checkpoint, so the ledger is then at least as long), then one streaming pass computes the root at
every size anything claims to have signed: the latest checkpoint, each commit's line in
`ledger.sigs`, every published checkpoint and the operator's `--since` copy. The result is a report
model that the CLI prints as text or JSON and the Slack layer can render; nothing here prints.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import orjson

from store.ledger import messages
from store.ledger.ledger import LedgerFiles, SigLine, read_sig_lines
from store.ledger.note import (
    SIG_ED25519,
    Checkpoint,
    NoteError,
    SignedCheckpoint,
    Verifier,
    b64,
    open_checkpoint,
    parse_checkpoint_text,
    parse_note,
)
from store.ledger.scan import parse_ts, scan_ledger

if TYPE_CHECKING:   # loaded by the first signature checked, not by a ledger with nothing to verify
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Severity(StrEnum):
    WARNING = "warning"
    FAILURE = "failure"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    message: str


@dataclass
class Report:
    """What verify found for one ledger: summary rows (label, text) and findings."""

    ledger: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    entries: int = 0
    checkpoint_size: int | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.FAILURE for f in self.findings)

    def row(self, label: str, text: str) -> None:
        self.rows.append((label, text))

    def fail(self, message: str) -> None:
        self.findings.append(Finding(Severity.FAILURE, message))

    def warn(self, message: str) -> None:
        self.findings.append(Finding(Severity.WARNING, message))

    def text(self) -> str:
        lines = [f"{label:<11} {value}" for label, value in self.rows]
        for finding in self.findings:
            label = "WARNING" if finding.severity is Severity.WARNING else "FAILED"
            lines.append(f"{label:<11} {finding.message}")
        if self.ok:
            lines.append(f"{'OK':<11} {self.entries:,} entries verified in {self.seconds:.1f} s")
        else:
            lines.append(f"{'FAILED':<11} integrity check failed: keep every file as it is (evidence) and "
                         "tell an O3; continuing needs: chatops ledger reseal --reason …")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {"ledger": self.ledger, "ok": self.ok, "entries": self.entries,
                "checkpoint_size": self.checkpoint_size, "seconds": round(self.seconds, 3),
                "summary": {label: value for label, value in self.rows},
                "findings": [asdict(f) for f in self.findings]}


@dataclass(frozen=True)
class Trust:
    """Origin and keys the verifier trusts, and where they came from (shown in the report)."""

    origin: str
    log_keys: tuple[Verifier, ...]
    witnesses: tuple[Verifier, ...] = ()
    source: str = "config.toml"


@dataclass(frozen=True)
class SinceCheckpoint:
    label: str
    text: str


def _open(data: bytes | str, trust: Trust, what: str) -> SignedCheckpoint:
    try:
        return open_checkpoint(data, trust.log_keys + trust.witnesses, trust.origin, what=what)
    except NoteError as exc:
        message = str(exc)
        if "is not this ledger's origin" in message:
            message += f" ({trust.source} [ledger] origin)."
            message = f"{what}: {message}"
        elif "not signed by a trusted key" in message:
            message += f". Trusted keys come from {trust.source} [ledger] trusted_vkeys."
        elif not message.startswith(what):
            message = f"{what}: {message}"
        raise NoteError(message) from None


def verify_ledger(files: LedgerFiles, trust: Trust, display: str, since: SinceCheckpoint | None = None,
                  artifacts_days: int | None = None, data_dir: Path | None = None,
                  now: datetime | None = None) -> Report:
    started = time.perf_counter()
    report = Report(ledger=display)
    report.row("ledger", display)
    report.row("origin", f"{trust.origin} (from {trust.source})")
    if trust.source != "config.toml":
        report.warn(f"trust for {display} came from {trust.source} in the data directory, not config.toml: "
                    "anyone who can write the data directory could replace the ledger and its key together. "
                    "Pin the origin and trusted_vkeys in config.toml [ledger] (chatops ledger init prints "
                    "the lines)")
    for key in trust.log_keys:
        report.row("key", f"{key.short}  trusted")
    _verify(files, trust, report, since, artifacts_days, data_dir, now or datetime.now(timezone.utc))
    if files.damaged.exists():
        report.warn(f"{display} is marked damaged ({files.damaged.name}, written by a running writer that found it "
                    "changed): every writer refuses until an O3 runs chatops ledger reopen (once this verify passes) "
                    "or chatops ledger reseal")
    report.seconds = time.perf_counter() - started
    return report


def _verify(files: LedgerFiles, trust: Trust, report: Report, since: SinceCheckpoint | None,
            artifacts_days: int | None, data_dir: Path | None, now: datetime) -> None:
    # 1. the latest checkpoint, read before the ledger
    signed = None
    if files.checkpoint.exists():
        try:
            signed = _open(files.checkpoint.read_bytes(), trust, "ledger.checkpoint")
        except NoteError as exc:
            report.fail(str(exc))
            return
    elif not files.jsonl.exists():
        report.row("entries", "none yet: the ledger is created by its first entry (or chatops ledger init)")
        return
    size = signed.checkpoint.size if signed else 0
    report.checkpoint_size = size

    # 2. everything else that claims a signed size
    sig_lines, sig_problems = _read_sigs(files, trust)
    for problem in sig_problems:
        report.fail(problem)
    published = _published(files, trust, report)
    since_cp = None
    if since is not None:
        try:
            since_cp = _open(since.text, trust, since.label)
        except NoteError as exc:
            report.fail(str(exc))
    want = {size} | {line.size for line in sig_lines} | {p.checkpoint.size for _, p in published}
    if since_cp is not None:
        want.add(since_cp.checkpoint.size)

    # 3. one pass over the ledger
    kinds = ("run.recorded", *ARTIFACT_MOVES) if artifacts_days is not None else ()
    scan = scan_ledger(files.jsonl, want_roots=want, collect_kinds=kinds, parallel=True)
    report.entries = scan.entries
    last = f", last at {scan.last_ts[:19]}Z" if scan.last_ts else ""
    seq_range = f" (seq 0–{scan.entries - 1:,})" if scan.entries else ""
    report.row("entries", f"{scan.entries:,}{seq_range}{last}")
    for warning in scan.ts_warnings[:5]:
        report.warn(warning)

    intact = _check_signed_range(files, report, scan, size, signed, sig_lines, published)
    if signed is not None and intact:
        report.row("checkpoint", f"size {size:,}  root {_abbrev(signed.checkpoint.root_b64)}  signature OK")
    _check_sigs(report, scan, sig_lines, size)
    _check_published(report, scan, published, sig_lines)
    if since_cp is not None:
        _check_since(report, scan, since, since_cp, sig_lines, published)
    if scan.problem is not None and scan.problem.line_no > size:
        report.warn(messages.torn_tail(files.jsonl.name, scan.total_bytes - scan.good_bytes))
    if scan.entries > size and intact:
        pending_ts = _ts_of_seq(files, size) if scan.entries > size else None
        report.warn(messages.pending_tail(scan.entries - size, pending_ts))
    if artifacts_days is not None and data_dir is not None:
        _check_artifacts(report, scan.collected, artifacts_days, data_dir, now)


def _abbrev(root_b64: str) -> str:
    return f"{root_b64[:8]}…{root_b64[-5:]}"


def _read_sigs(files: LedgerFiles, trust: Trust) -> tuple[list[SigLine], list[str]]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        lines, good, total = read_sig_lines(files.sigs)
    except NoteError as exc:
        return [], [f"{files.sigs.name}: {exc}"]
    problems = []
    verified: list[SigLine] = []
    previous = 0
    keys = {v.key_id: Ed25519PublicKey.from_public_bytes(v.public_key) for v in trust.log_keys
            if v.name == trust.origin and v.sig_type == SIG_ED25519}
    for number, line in enumerate(lines, 1):
        if not _sig_line_verifies(line, trust.origin, keys):
            problems.append(f"{files.sigs.name} line {number:,} (size {line.size:,}): no signature by a trusted "
                            "key verifies: the line was altered or signed by an unknown key.")
            continue
        if line.size <= previous:
            problems.append(f"{files.sigs.name} line {number:,}: size {line.size:,} is not larger than the line "
                            f"before ({previous:,}): lines were reordered or repeated.")
        previous = line.size
        verified.append(line)
    return verified, problems


def _sig_line_verifies(line: SigLine, origin: str, keys: dict[bytes, Ed25519PublicKey]) -> bool:
    """The signed-note rules for one commit line, without rebuilding the note text: every signature
    by a known key must verify, and at least one must be by a known key."""
    from cryptography.exceptions import InvalidSignature

    message = Checkpoint(origin, line.size, line.root).text().encode()
    known = 0
    for signature in line.signatures:
        key = keys.get(signature[:4])
        if key is None:
            continue
        try:
            key.verify(signature[4:], message)
        except InvalidSignature:
            return False
        known += 1
    return known > 0


def _published(files: LedgerFiles, trust: Trust, report: Report) -> list[tuple[Path, SignedCheckpoint]]:
    found = []
    if not files.checkpoints.is_dir():
        return found
    for path in sorted(files.checkpoints.glob("*.checkpoint"), key=lambda p: (len(p.name), p.name)):
        what = f"{files.checkpoints.name}/{path.name}"
        try:
            signed = _open(path.read_bytes(), trust, what)
        except NoteError as exc:
            report.fail(str(exc))
            continue
        if path.stem != str(signed.checkpoint.size):
            report.fail(f"{what} holds a checkpoint of size {signed.checkpoint.size:,}: the file was "
                        "renamed or replaced.")
            continue
        found.append((path, signed))
    return found


def _check_signed_range(files: LedgerFiles, report: Report, scan, size: int, signed,
                        sig_lines: list[SigLine], published) -> bool:
    if signed is None and scan.entries and not sig_lines:
        report.fail(messages.no_checkpoint(files.jsonl.name, scan.entries))
        return False
    if scan.entries < size:
        problem = scan.problem
        if problem is not None and problem.line_no <= size and problem.kind != "partial":
            report.fail(messages.inside_signed(problem, size))
        else:
            report.fail(messages.truncation(scan.entries, size))
        return False
    if signed is not None and scan.roots.get(size) != signed.checkpoint.root:
        claims = {line.size: line.root for line in sig_lines if line.size < size}
        claims.update({p.checkpoint.size: p.checkpoint.root for _, p in published if p.checkpoint.size < size})
        last_good, first_bad = None, size
        for claimed in sorted(claims):
            if scan.roots.get(claimed) == claims[claimed]:
                last_good = claimed
            else:
                first_bad = claimed
                break
        report.fail(messages.root_mismatch(size, signed.checkpoint.root_b64, last_good, first_bad))
        return False
    if sig_lines and sig_lines[-1].size > size:
        report.fail(f"{files.sigs.name} has a signed size {sig_lines[-1].size:,} but ledger.checkpoint "
                    f"covers only {size:,}: the checkpoint was rolled back.")
        return False
    return True


def _check_sigs(report: Report, scan, sig_lines: list[SigLine], size: int) -> None:
    checked = [line for line in sig_lines if line.size <= scan.entries]
    bad = [line for line in checked if scan.roots.get(line.size) != line.root]
    beyond = len(sig_lines) - len(checked)
    if bad:
        report.fail(f"{len(bad):,} commit signatures in ledger.sigs do not match this ledger (first: size "
                    f"{bad[0].size:,}): entries before that size were changed after they were signed.")
    elif beyond:
        # say only what was compared: the lines past the readable entries prove nothing about them
        report.row("signatures", f"{len(checked):,} of {len(sig_lines):,} commit checkpoints in ledger.sigs "
                                 f"verify and match; {beyond:,} cover entries past the {scan.entries:,} readable "
                                 "ones")
    elif sig_lines:
        report.row("signatures", f"{len(sig_lines):,} commit checkpoints in ledger.sigs: all verify and match")


def _check_published(report: Report, scan, published, sig_lines: list[SigLine]) -> None:
    if not published:
        return
    by_size = {line.size: line.root for line in sig_lines}
    mismatched = 0
    for path, signed in published:
        cp = signed.checkpoint
        if cp.size > scan.entries:
            report.fail(f"published checkpoint {path.name} covers {cp.size:,} entries but the ledger has "
                        f"{scan.entries:,}: {cp.size - scan.entries:,} entries were removed from the end.")
            mismatched += 1
        elif scan.roots.get(cp.size) != cp.root:
            mismatched += 1
            if cp.size in by_size and by_size[cp.size] != cp.root:
                report.fail(f"two validly signed checkpoints for size {cp.size:,} have different roots "
                            f"(ledger.checkpoints/{path.name} vs ledger.sigs): the log key signed two "
                            "histories.")
            else:
                report.fail(f"published checkpoint {path.name} (root {messages.short(cp.root_b64)}) does not "
                            f"match this ledger at size {cp.size:,}: entries before {cp.size:,} were changed.")
    sizes = [p.checkpoint.size for _, p in published]
    if not mismatched:
        report.row("published", f"{len(published)} checkpoints (sizes {sizes[0]:,} … {sizes[-1]:,}): all match "
                                "this ledger")
    witnessed = [(p.checkpoint.size, v, t) for _, p in published for v, t in p.opened.cosignatures]
    if witnessed:
        top = max(size for size, _, _ in witnessed)
        names = ", ".join(f"{v.name} at {datetime.fromtimestamp(t, timezone.utc):%Y-%m-%dT%H:%M:%SZ}"
                          for size, v, t in witnessed if size == top)
        report.row("witnessed", f"size {top:,} cosigned by {names}")


def _check_since(report: Report, scan, since: SinceCheckpoint, signed: SignedCheckpoint,
                 sig_lines: list[SigLine], published) -> None:
    cp = signed.checkpoint
    if cp.size > scan.entries:
        report.fail(f"your checkpoint (size {cp.size:,}, root {messages.short(cp.root_b64)}) is larger than this "
                    f"ledger ({scan.entries:,} entries): entries were removed, or this is another ledger. Keep "
                    "both files; this is evidence.")
        return
    actual = scan.roots.get(cp.size)
    if actual == cp.root:
        report.row("since", f"{since.label} (size {cp.size:,}): append-only, +{scan.entries - cp.size:,} entries")
        return
    others = [("ledger.sigs", line.root) for line in sig_lines if line.size == cp.size]
    others += [(f"ledger.checkpoints/{path.name}", p.checkpoint.root) for path, p in published
               if p.checkpoint.size == cp.size]
    for where, root in others:
        if root != cp.root:
            report.fail(f"two validly signed checkpoints for size {cp.size:,} have different roots ({where} vs "
                        f"{since.label}): the log key signed two histories.")
            return
    report.fail(f"your checkpoint (size {cp.size:,}, root {messages.short(cp.root_b64)}) does not match this "
                f"ledger (root at {cp.size:,} is {messages.short(b64(actual or b''))}): history before entry "
                f"{cp.size:,} was rewritten, or this is another ledger. Keep both files; this is evidence.")


def _ts_of_seq(files: LedgerFiles, seq: int) -> str | None:
    with open(files.jsonl, "rb") as handle:
        for number, line in enumerate(handle):
            if number == seq:
                try:
                    return orjson.loads(line).get("ts")
                except ValueError:
                    return None
    return None


#: Entries that move a run file and name its `old_path` and `new_path`: an artifact is looked for where
#: the last of them put it (into quarantine, then back out on release). `artifacts.restored` rewrites
#: files where they are, so it moves nothing.
ARTIFACT_MOVES = ("quarantine.moved", "quarantine.released")


def _check_artifacts(report: Report, collected: Sequence[tuple[int, dict[str, Any]]], days: int,
                     data_dir: Path, now: datetime) -> None:
    """File = `.sha256` sidecar = ledger entry, for run files recorded in the last `days` days, each
    checked where its whole history in the ledger says it is now."""
    cutoff = now - timedelta(days=days)
    current: dict[str, tuple[str, int, str, tuple[int, str] | None]] = {}   # original -> (path, seq, sha, last move)
    where: dict[str, str] = {}                                             # path now -> original path
    for seq, entry in collected:
        if entry.get("kind") == "run.recorded":
            artifact, digest = entry.get("artifact"), entry.get("artifact_sha256")
            if isinstance(artifact, str) and isinstance(digest, str):
                try:
                    recent = parse_ts(entry["ts"]) >= cutoff
                except (KeyError, ValueError):
                    recent = True
                if recent:
                    current[artifact] = (artifact, seq, digest, None)
                    where[artifact] = artifact
        else:
            data = entry.get("data") or {}
            old, new = data.get("old_path"), data.get("new_path")
            original = where.pop(old, None) if isinstance(old, str) and isinstance(new, str) else None
            if original is not None:
                _, recorded_seq, digest, _ = current[original]
                current[original] = (new, recorded_seq, digest, (seq, str(entry.get("kind"))))
                where[new] = original
    problems = 0
    for path, seq, digest, moved_by in current.values():
        file = data_dir / path
        moved = f", last moved by seq {moved_by[0]:,} {moved_by[1]}" if moved_by is not None else ""
        if not file.exists():
            report.fail(f"{path}: missing (ledger seq {seq:,}{moved})")
            problems += 1
            continue
        actual = hashlib.sha256(file.read_bytes()).hexdigest()
        if actual != digest:
            report.fail(f"{path}: sha256 {actual[:4]}… does not match ledger seq {seq:,} ({digest[:4]}…): the "
                        "artifact changed after it was recorded.")
            problems += 1
            continue
        sidecar = file.with_name(file.name + ".sha256")
        try:
            said = sidecar.read_text(encoding="utf-8").split()[0]
        except (FileNotFoundError, IndexError, UnicodeDecodeError):
            report.fail(f"{path}: .sha256 sidecar missing or empty (ledger seq {seq:,}); recreate it with: "
                        f"sha256sum {file.name} > {sidecar.name}")
            problems += 1
            continue
        if said != digest:
            report.fail(f"{path}: .sha256 sidecar says {said[:4]}…, file and ledger say {digest[:4]}…")
            problems += 1
    if not problems:
        report.row("artifacts", f"{len(current)} run files from the last {days} days: file = .sha256 sidecar = "
                                "ledger entry")


def parse_since(label: str, text: str) -> SinceCheckpoint:
    """Accept a checkpoint file's text or a pasted one (signature lines included)."""
    parse_checkpoint_text(parse_note(text).text)
    return SinceCheckpoint(label, text)


__all__ = ["Finding", "Report", "Severity", "SinceCheckpoint", "Trust", "parse_since", "verify_ledger"]
