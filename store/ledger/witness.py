"""An operator witness (docs/ledger.md §8): cosign a checkpoint only after checking it extends the last.

The witness keeps its own state file (per origin: the size, root and signed text it cosigned last)
and its own Ed25519 key, both in the O2's own directory. It reads the log's checkpoint, checks the
log's signature, recomputes from the ledger that the old root is a prefix of the new tree, persists
the new state atomically *before* it produces the cosignature (the race in tlog-witness), and only
then adds a C2SP tlog-cosignature v1 line to `ledger.checkpoints/<size>.checkpoint`. On any
inconsistency it refuses and hands back both signed checkpoints as evidence.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from store.access import make_dirs
from store.files import write_file_atomically, write_synced
from store.ledger.ledger import LedgerFiles
from store.ledger.note import NoteError, Signer, Verifier, add_signature_lines, open_checkpoint, parse_note
from store.ledger.scan import scan_ledger
from store.errors import Refused


class WitnessRefused(Refused):
    """The new checkpoint is not consistent with the one cosigned before; carries both texts."""

    def __init__(self, reason: str, previous: str, current: str) -> None:
        self.reason, self.previous, self.current = reason, previous, current
        super().__init__(f"{reason}\n--- checkpoint cosigned before ---\n{previous}"
                         f"--- checkpoint offered now ---\n{current}")


@dataclass(frozen=True)
class Cosigned:
    origin: str
    size: int
    previous_size: int
    path: Path
    witness: str


def _load_state(path: Path) -> dict[str, dict[str, object]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise NoteError(f"witness state {path} is not valid JSON ({exc}); restore it from your backup: "
                        "without it the witness cannot tell a rollback from a first run") from None


def _published_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise NoteError(f"{path} cannot be read ({exc}); check the file before cosigning") from None


def cosign(files: LedgerFiles, origin: str, log_keys: list[Verifier], witness: Signer, state_path: Path,
           now: datetime) -> Cosigned:
    """Check and cosign the ledger's current checkpoint; raise WitnessRefused on inconsistency."""
    current_text = files.checkpoint.read_text(encoding="utf-8")
    signed = open_checkpoint(current_text, log_keys, origin, what="ledger.checkpoint")
    new = signed.checkpoint
    state = _load_state(state_path)
    previous = state.get(origin)
    previous_size = 0
    sizes = {new.size}
    if previous is not None:
        previous_size = int(previous["size"])  # type: ignore[arg-type]
        previous_text = str(previous["checkpoint"])
        if new.size < previous_size:
            raise WitnessRefused(f"the log offers size {new.size:,}, smaller than size {previous_size:,} "
                                 "you cosigned before: the ledger was rolled back.", previous_text, current_text)
        sizes.add(previous_size)
    scan = scan_ledger(files.jsonl, want_roots=sizes)
    if scan.roots.get(new.size) != new.root:
        raise WitnessRefused(f"the ledger's entries 0–{new.size - 1:,} do not hash to the signed root: the "
                             "ledger file and its checkpoint disagree.",
                             str(previous["checkpoint"]) if previous else "(none)\n", current_text)
    if previous is not None and scan.roots.get(previous_size) != bytes.fromhex(str(previous["root_hex"])):
        raise WitnessRefused(f"the ledger at size {previous_size:,} no longer has the root you cosigned: "
                             "history was rewritten (or the log key signed two histories).",
                             str(previous["checkpoint"]), current_text)
    path = files.checkpoints / f"{new.size}.checkpoint"
    published = _published_text(path)
    if published is not None and parse_note(published).text != new.text():
        # Another checkpoint of this size was published: two roots for one size. A cosignature over
        # ours merged into that file would sit under text it does not sign; refuse instead.
        raise WitnessRefused(f"ledger.checkpoints/{path.name} holds a different checkpoint for size {new.size:,}: "
                             "two signed histories of one size (the log key signed both, or a file was "
                             "replaced). Keep both files; this is evidence.", published, current_text)
    state[origin] = {"size": new.size, "root_hex": new.root.hex(), "checkpoint": current_text,
                     "cosigned_at": now.isoformat()}
    state_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_file_atomically(state_path, json.dumps(state, indent=1, sort_keys=True).encode(), mode=0o600)
    line = witness.signature_line(new.text().encode(), int(now.timestamp()))
    cosig = parse_note(new.text() + "\n" + line).signatures
    make_dirs(files.checkpoints)
    merged = add_signature_lines(path.read_text(encoding="utf-8") if path.exists() else current_text, cosig)
    if path.exists():
        write_file_atomically(path, merged.encode())
    else:
        try:
            write_synced(path, merged.encode(), exclusive=True)
        except FileExistsError:
            merged = add_signature_lines(path.read_text(encoding="utf-8"), cosig)
            write_file_atomically(path, merged.encode())
    return Cosigned(origin, new.size, previous_size, path, witness.name)


__all__ = ["Cosigned", "WitnessRefused", "cosign"]
