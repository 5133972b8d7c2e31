"""An O2 witnesses the ledgers: cosign each current checkpoint after checking it extends the last one cosigned.

The witness's own key and memory (what it cosigned, at which size) live in the witness's directory,
not in the data directory: a witness is a second party, and a rollback of the data directory must not
roll back what the witness remembers (docs/ledger.md §8). The key is created 0600 on first use,
encrypted when `CHATOPS_WITNESS_KEY_PASSPHRASE` is set.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jobs.actors import Actor, Permission, Subject, authorize
from jobs.errors import Invalid

if TYPE_CHECKING:
    from jobs.context import Context

PASSPHRASE_ENV = "CHATOPS_WITNESS_KEY_PASSPHRASE"


@dataclass
class WitnessReport:
    """What happened per ledger, one line each; `refused` when any checkpoint could not be cosigned."""

    lines: list[str] = field(default_factory=list)
    refused: bool = False


def witness_name(ctx: Context, actor: Actor) -> str:
    return f"o2.{ctx.settings.ledger.company_domain}/{actor.name}"


def witness(ctx: Context, actor: Actor, home: Path, ledger: str | None, passphrase: str | None) -> WitnessReport:
    """Cosign the checkpoints of `ledger` (None: both) as `actor`, with the key in `home`."""
    from jobs import audit
    from store.keys import KeyFileError, create_ed25519_key, load_ed25519_key
    from store.ledger.note import SIG_COSIGNATURE_V1, NoteError, Signer
    from store.ledger.witness import WitnessRefused, cosign

    authorize(ctx, actor, Permission.LEDGER_WITNESS, "ledger witness",
              Subject("ledger", ledger or audit.LEDGERS_SUBJECT.id, audit.LedgerName.OPERATIONS))
    report = WitnessReport()
    key_path = home / "witness.key"
    secret = passphrase.encode() if passphrase else None
    try:
        if not key_path.exists():
            create_ed25519_key(key_path, secret)
            report.lines.append(f"created witness key {key_path} (0600)")
        key = load_ed25519_key(key_path, secret, PASSPHRASE_ENV)
    except KeyFileError as exc:
        raise Invalid(f"chatops ledger witness: {exc}") from None
    name = witness_name(ctx, actor)
    signer = Signer(name, key, SIG_COSIGNATURE_V1)
    if signer.verifier.vkey not in ctx.settings.ledger.witnesses:
        report.lines.append(f"your witness vkey (add it to config.toml [ledger] witnesses): {signer.verifier.vkey}")
    ledgers = ctx.ledgers
    for spec in audit.SPECS:
        if ledger not in (None, spec.name):
            continue
        files = ledgers.files(spec)
        if not files.checkpoint.exists():
            report.lines.append(f"{ledgers.display(spec)}: no checkpoint yet, nothing to cosign")
            continue
        try:
            trust = ledgers.trust(spec)
            done = cosign(files, trust.origin, list(trust.log_keys), signer, home / "state.json", ctx.now())
        except (WitnessRefused, audit.LedgerConfigError, NoteError) as exc:
            report.lines.append(f"REFUSED {ledgers.display(spec)}: {exc}")
            report.refused = True
            continue
        grew = f"consistent with size {done.previous_size:,}" if done.previous_size else "first cosignature"
        report.lines.append(f"{ledgers.display(spec)}: cosigned size {done.size:,} as {name} ({grew}); "
                            f"stored in {done.path.relative_to(ctx.data_dir)}")
    return report
