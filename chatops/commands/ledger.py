"""`chatops ledger …`: verify, prove and verify-proof (read-only, public keys), witness (O2), and the
O3 administration: init, repair, rotate-key, reopen, reseal (docs/ledger.md §7–§10).

Exit codes of verify and verify-proof: 0 OK, 1 integrity failure, 2 usage or configuration error.
The read-only commands are shell-open: file access is the authority, so an O1 (or CI) can run them
without `--as`; with `--as` the permission table is applied like everywhere else.

`jobs.audit` (the ledger code, cryptography) is imported by the handlers, not here: `chatops help` and
every other command load this module for its declarations only.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from chatops.registry import Arg, Command, Invocation, Reply
from jobs.actors import Permission
from jobs.errors import ChatopsError, ExitCode

EXIT_OK, EXIT_INTEGRITY, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 6
LEDGER_CHOICES = ("credit", "operations")


class _Failed(ChatopsError):
    """A ledger command that cannot go on: one line on stderr (the CLI's one error mapping), with the exit
    code the README gives; a report (verify, verify-proof, witness) stays on stdout with its own code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = ExitCode(exit_code)


def _verify(inv: Invocation) -> Reply:
    from jobs import audit
    from store.ledger.note import NoteError
    from store.ledger.verify import parse_since

    loaded = inv.config()
    since = None
    if inv.args.since:
        label = inv.args.since
        try:
            text = sys.stdin.read() if label == "-" else Path(label).read_text(encoding="utf-8")
            since = parse_since("pasted checkpoint" if label == "-" else Path(label).name, text)
        except (OSError, UnicodeDecodeError, NoteError) as exc:
            raise _Failed(f"chatops ledger verify: --since {label}: {exc}", EXIT_USAGE)
    if inv.args.artifacts is not None:
        from jobs.credits.baselines.stats import MAX_DAYS   # its module imports statistics

        if not 0 < inv.args.artifacts <= MAX_DAYS:
            raise _Failed(f"chatops ledger verify: --artifacts DAYS must be a whole number from 1 to {MAX_DAYS:,}",
                          EXIT_USAGE)
    try:
        reports = audit.verify_ledgers(loaded.settings, loaded.data_dir, inv.args.ledger or "all", since=since,
                                       artifacts_days=inv.args.artifacts, now=datetime.now(timezone.utc))
    except audit.LedgerConfigError as exc:
        raise _Failed(f"chatops ledger verify: {exc}", EXIT_USAGE)
    code = EXIT_OK if all(r.ok for r in reports) else EXIT_INTEGRITY
    if inv.args.json:
        return Reply(json.dumps({"ok": code == EXIT_OK, "ledgers": [r.as_json() for r in reports]}, indent=1),
                     code)
    return Reply("\n\n".join(r.text() for r in reports), code)


def _prove(inv: Invocation) -> Reply:
    from jobs import audit
    from store.ledger.merkle import ProofError
    from store.ledger.note import NoteError
    from store.ledger.proof import make_proof
    from store.files import write_file_atomically
    from store.ledger.scan import scan_ledger

    loaded = inv.config()
    ledgers = audit.Ledgers(loaded.settings, loaded.data_dir, clock=lambda: datetime.now(timezone.utc))
    spec = audit.spec_for(inv.args.ledger)
    files = ledgers.files(spec)
    try:
        trust = ledgers.trust(spec)
    except audit.LedgerConfigError as exc:
        raise _Failed(f"chatops ledger prove: {exc}", EXIT_USAGE)
    if (inv.args.seq is None) == (inv.args.run is None):
        raise _Failed("chatops ledger prove: give exactly one of --seq N or --run RUN_ID", EXIT_USAGE)
    seq, out = inv.args.seq, inv.args.out
    if inv.args.run is not None:
        runs = scan_ledger(files.jsonl, collect_kinds=("run.recorded",)).collected
        found = [(s, e) for s, e in runs if e.get("Run_ID") == inv.args.run]
        if not found:
            import difflib   # only for a run id the ledger does not hold

            recorded = {e["Run_ID"].lower(): e["Run_ID"] for _s, e in runs if isinstance(e.get("Run_ID"), str)}
            close = [recorded[r] for r in difflib.get_close_matches(inv.args.run.lower(), sorted(recorded), n=3)]
            raise _Failed(f"chatops ledger prove: no run.recorded entry with Run_ID {inv.args.run!r} in "
                          f"{ledgers.display(spec)}; closest known: {', '.join(close) or 'none'}", EXIT_NOT_FOUND)
        seq, entry = found[-1]
        if out is None and isinstance(entry.get("artifact"), str):
            out = str(loaded.data_dir / (entry["artifact"] + ".tlog-proof"))
    out = out or f"{spec.name}-seq{seq}.tlog-proof"
    if seq < 0:
        raise _Failed(f"chatops ledger prove: --seq {seq}: entries are numbered from 0", EXIT_USAGE)
    try:
        text = make_proof(files, seq, list(trust.log_keys) + list(trust.witnesses), trust.origin)
    except (ProofError, NoteError, OSError) as exc:
        raise _Failed(f"chatops ledger prove: {exc}", EXIT_INTEGRITY)
    try:
        write_file_atomically(Path(out), text.encode("utf-8"))
    except OSError as exc:
        raise _Failed(f"chatops ledger prove: cannot write {out} ({exc.strerror or exc}); choose another --out",
                      EXIT_USAGE)
    return Reply(f"wrote {out}: entry seq {seq:,} of {ledgers.display(spec)}; check it anywhere with: "
                 f"chatops ledger verify-proof {out}" + (" --artifact <run file>" if inv.args.run else ""))


def _verify_proof(inv: Invocation) -> Reply:
    from jobs import audit
    from store.ledger.merkle import ProofError
    from store.ledger.note import NoteError
    from store.ledger.proof import check_artifact, check_proof

    loaded = inv.config()
    ledgers = audit.Ledgers(loaded.settings, loaded.data_dir, clock=lambda: datetime.now(timezone.utc))
    try:
        trust = ledgers.trust(audit.spec_for(inv.args.ledger))
        text = Path(inv.args.proof).read_text(encoding="utf-8")
    except (audit.LedgerConfigError, OSError, UnicodeDecodeError) as exc:
        raise _Failed(f"chatops ledger verify-proof: {exc}", EXIT_USAGE)
    try:
        checked = check_proof(text, list(trust.log_keys) + list(trust.witnesses), trust.origin)
        if inv.args.artifact:
            check_artifact(checked, Path(inv.args.artifact).read_bytes())
    except (ProofError, NoteError) as exc:
        return Reply(f"FAILED {inv.args.proof}: {exc}", EXIT_INTEGRITY)
    except OSError as exc:
        raise _Failed(f"chatops ledger verify-proof: {exc}", EXIT_USAGE)
    entry = checked.entry
    witnesses = ", ".join(v.name for v, _ in checked.checkpoint.opened.cosignatures) or "none"
    lines = [f"OK {inv.args.proof}: entry seq {checked.index:,} ({entry.get('kind')}, {entry.get('ts')}) is in "
             f"{trust.origin} at size {checked.size:,}, signed by {checked.checkpoint.opened.verified[0].short}",
             f"witnessed by: {witnesses}  (trust from {trust.source})"]
    if inv.args.artifact:
        lines.append(f"artifact {inv.args.artifact}: sha256 matches the logged artifact_sha256")
    return Reply("\n".join(lines))


def _witness(inv: Invocation) -> Reply:
    from jobs.witness import PASSPHRASE_ENV, witness

    home = Path(inv.args.dir or os.environ.get("CHATOPS_WITNESS_DIR") or Path.home() / ".config/chatops/witness")
    report = witness(inv.ctx, inv.actor, home, inv.args.ledger, os.environ.get(PASSPHRASE_ENV))
    return Reply("\n".join(report.lines), EXIT_INTEGRITY if report.refused else EXIT_OK)


def _init(inv: Invocation) -> list[str]:
    """`ledger init`, then the vkeys written into config.toml (docs/ledger.md §10: print it and write it)."""
    from jobs import audit

    lines = audit.init_ledgers(inv.ctx, inv.actor)
    pins = {spec.origin_setting: inv.ctx.ledgers.get(spec.name).identity.origin for spec in audit.SPECS}
    vkeys = [inv.ctx.ledgers.get(spec.name).identity.signers[0].verifier.vkey for spec in audit.SPECS]
    return lines + [_pin_in_config(inv.config().path, pins, vkeys)]


def _rotate(inv: Invocation) -> list[str]:
    """`ledger rotate-key`; a config.toml that pins the origins gets the new vkeys added (old ones kept)."""
    from jobs import audit

    lines = audit.rotate_key(inv.ctx, inv.actor, inv.args.reason)
    ledger_settings = inv.ctx.settings.ledger
    if any(getattr(ledger_settings, spec.origin_setting) for spec in audit.SPECS):
        vkeys = [inv.ctx.ledgers.get(spec.name).identity.signers[0].verifier.vkey for spec in audit.SPECS]
        lines.append(_pin_in_config(inv.config().path, {}, vkeys))
    return lines


def _pin_in_config(path: Path, origins: dict[str, str], vkeys: list[str]) -> str:
    from chatops.config import parse_settings
    from jobs.config_pin import pin_ledger_identity

    return pin_ledger_identity(path, origins, vkeys, parse_settings)


def _admin(flow):
    def handler(inv: Invocation) -> Reply:
        from jobs import audit
        from store.keys import KeyFileError
        from store.ledger.ledger import LedgerDamaged, LedgerWriteError
        from store.ledger.note import NoteError

        try:
            return Reply("\n".join(flow(inv)))
        except (LedgerDamaged, NoteError) as exc:
            raise _Failed(f"chatops {inv.command.name}: {exc}", EXIT_INTEGRITY)
        except (KeyFileError, LedgerWriteError, audit.LedgerConfigError, ValueError) as exc:
            raise _Failed(f"chatops {inv.command.name}: {exc}", EXIT_USAGE)
    return handler


def _repair(inv: Invocation) -> list[str]:
    from jobs import audit

    return audit.repair_ledgers(inv.ctx, inv.actor)


def _reopen(inv: Invocation) -> list[str]:
    from jobs import audit

    return audit.reopen(inv.ctx, inv.actor, inv.args.ledger, inv.args.reason)


def _reseal(inv: Invocation) -> list[str]:
    from jobs import audit

    return audit.reseal(inv.ctx, inv.actor, inv.args.ledger, inv.args.reason)


#: What the administration commands act on: both ledgers (`jobs.audit.LEDGERS_SUBJECT`, whose id is
#: repeated here so that declaring the commands does not load the ledger code).
LEDGERS_SUBJECT_ID = "credit+operations"

_LEDGER_ARG = Arg("--ledger", "which ledger (default: both)", choices=LEDGER_CHOICES, subject="ledger")

COMMANDS = [
    Command(("ledger", "verify"), "check the signed ledgers: signatures, roots, append-only, artifacts",
            Permission.LEDGER_VERIFY, _verify, shell_open=True, args=(
                _LEDGER_ARG,
                Arg("--since", "an earlier checkpoint (file, or - for stdin) that must be a prefix", metavar="FILE"),
                Arg("--artifacts", "also check run files of the last DAYS days against sidecars and ledger",
                    type=int, metavar="DAYS"),
                Arg("--json", "machine-readable output", flag=True)),
            description="Read-only, public keys only. Exit 0 OK, 1 integrity failure, 2 usage/config error."),
    Command(("ledger", "prove"), "write a self-contained proof (C2SP tlog-proof) for one entry",
            Permission.LEDGER_VERIFY, _prove, shell_open=True, slack=False, args=(
                Arg("--ledger", "which ledger", choices=LEDGER_CHOICES, default="credit", subject="ledger"),
                Arg("--seq", "the entry's seq", type=int),
                Arg("--run", "the run.recorded entry of this Run_ID (proof written beside the run file)",
                    metavar="RUN_ID"),
                Arg("--out", "where to write the proof", metavar="FILE"))),
    Command(("ledger", "verify-proof"), "check a tlog-proof with the pinned public keys alone",
            Permission.LEDGER_VERIFY, _verify_proof, shell_open=True, slack=False, args=(
                Arg("proof", "the .tlog-proof file", required=True, subject="proof"),
                Arg("--ledger", "whose keys to trust", choices=LEDGER_CHOICES, default="credit"),
                Arg("--artifact", "the run file; its sha256 must be the logged one", metavar="FILE"))),
    Command(("ledger", "witness"), "cosign the current checkpoints after checking they extend the last ones",
            Permission.LEDGER_WITNESS, _witness, slack=False, args=(
                _LEDGER_ARG,
                Arg("--dir", "your witness key and state directory (default $CHATOPS_WITNESS_DIR or "
                             "~/.config/chatops/witness)", metavar="DIR"))),
    Command(("ledger", "init"), "create the signing key and both ledgers; pin their origins and vkeys in config.toml",
            Permission.LEDGER_ADMIN, _admin(_init), slack=False, subject_id=LEDGERS_SUBJECT_ID),
    Command(("ledger", "repair"), "start-up recovery now: repair a torn tail, sign unsigned entries",
            Permission.LEDGER_ADMIN, _admin(_repair), slack=False,
            subject_id=LEDGERS_SUBJECT_ID),
    Command(("ledger", "rotate-key"), "new signing key; the rotation checkpoint is signed by both keys",
            Permission.LEDGER_ADMIN, _admin(_rotate), subject_id=LEDGERS_SUBJECT_ID,
            slack=False, args=(Arg("--reason", "why the key is rotated", required=True),)),
    Command(("ledger", "reopen"), "after a running writer marked a ledger damaged: resume once it verifies again",
            Permission.LEDGER_ADMIN,
            _admin(_reopen), slack=False,
            args=(Arg("--ledger", "which ledger", choices=LEDGER_CHOICES, required=True, subject="ledger"),
                  Arg("--reason", "what was found, what was restored, who decided", required=True))),
    Command(("ledger", "reseal"), "after damage: archive the ledger read-only and start a new one",
            Permission.LEDGER_ADMIN,
            _admin(_reseal), slack=False,
            args=(Arg("--ledger", "which ledger", choices=LEDGER_CHOICES, required=True, subject="ledger"),
                  Arg("--reason", "what was found and who decided to continue", required=True))),
]
