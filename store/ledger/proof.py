"""Self-contained proofs that one entry is in the ledger: the C2SP tlog-proof format (docs/ledger.md §9).

    c2sp.org/tlog-proof@v1
    extra <base64 of the ledger line>
    index <seq>
    <base64 hash>…            inclusion proof, leaf's sibling first
    <blank line>
    <signed checkpoint, cosignatures included>

Whoever holds the proof and the pinned vkeys can check it without the ledger: the extra line is
*not* trusted by itself, it is hashed into the leaf, and the inclusion proof must lead from that
leaf to the root that the trusted key signed.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from store.ledger.ledger import LedgerFiles
from store.ledger.merkle import ProofError, TreeHashes, leaf_hash, verify_inclusion
from store.ledger.note import SignedCheckpoint, Verifier, b64, b64decode_canonical, open_checkpoint
from store.ledger.scan import scan_ledger

HEADER = "c2sp.org/tlog-proof@v1"
_INDEX_RE = re.compile(r"^index (0|[1-9][0-9]*)$", re.ASCII)


@dataclass(frozen=True)
class CheckedProof:
    index: int
    size: int
    line: bytes
    checkpoint: SignedCheckpoint

    @property
    def entry(self) -> dict[str, Any]:
        return orjson.loads(self.line)


def _choose_checkpoint(files: LedgerFiles, seq: int) -> str:
    """The smallest published checkpoint covering `seq` that has cosignatures, else the latest one."""
    candidates = []
    if files.checkpoints.is_dir():
        for path in files.checkpoints.glob("*.checkpoint"):
            if path.stem.isdigit() and int(path.stem) > seq:
                text = path.read_text(encoding="utf-8")
                candidates.append((text.count("\u2014 ") > 1, int(path.stem), text))
    cosigned = sorted(c for c in candidates if c[0])
    if cosigned:
        return cosigned[0][2]
    return files.checkpoint.read_text(encoding="utf-8")


def make_proof(files: LedgerFiles, seq: int, trusted: list[Verifier], origin: str) -> str:
    """Write the proof for entry `seq` against a checkpoint that covers it (verified before use)."""
    if seq < 0:
        raise ProofError(f"seq {seq} is not an entry: entries are numbered from 0")
    note = _choose_checkpoint(files, seq)
    signed = open_checkpoint(note, trusted, origin, what="checkpoint")
    size = signed.checkpoint.size
    scan = scan_ledger(files.jsonl, keep_leaves=True, parse=False)   # the signed root vouches for them
    leaves = scan.leaves or []
    if seq >= size:
        if seq >= len(leaves):
            raise ProofError(f"there is no entry seq {seq:,}: the ledger has {len(leaves):,} entries "
                             f"(seq 0–{len(leaves) - 1:,})")
        raise ProofError(f"entry seq {seq:,} is not covered by a checkpoint yet (latest size {size:,}); "
                         "it is signed on the next commit")
    if len(leaves) < size:
        raise ProofError(f"the ledger has {len(leaves):,} valid entries but the checkpoint covers {size:,}; "
                         "run chatops ledger verify")
    tree = TreeHashes(leaves[:size])
    if tree.root() != signed.checkpoint.root:
        raise ProofError("the ledger does not match its checkpoint; run chatops ledger verify")
    line = _line_at(files, seq)
    path = tree.inclusion_proof(seq, size)
    body = [HEADER, f"extra {b64(line)}", f"index {seq}"] + [b64(h) for h in path]
    return "\n".join(body) + "\n\n" + note


def _line_at(files: LedgerFiles, seq: int) -> bytes:
    with open(files.jsonl, "rb") as handle:
        for number, line in enumerate(handle):
            if number == seq:
                return line.rstrip(b"\n")
    raise ProofError(f"entry seq {seq:,} is not in {files.jsonl}")


def check_proof(text: str, trusted: list[Verifier], origin: str) -> CheckedProof:
    """Verify a tlog-proof with public keys alone; raises ProofError or NoteError with the reason."""
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise ProofError("proof has no blank line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProofError(f"not a tlog-proof: first line is {lines[0][:40]!r}, expected {HEADER!r}")
    rest = lines[1:]
    extra = None
    if rest and rest[0].startswith("extra "):
        extra = b64decode_canonical(rest[0][6:], "extra")
        rest = rest[1:]
    if not rest or not _INDEX_RE.match(rest[0]):
        raise ProofError("proof has no valid 'index <n>' line")
    index = int(rest[0][6:])
    hashes = [b64decode_canonical(h, "proof hash") for h in rest[1:]]
    if extra is None:
        raise ProofError("proof carries no entry (extra line); chatops proofs always include it")
    signed = open_checkpoint(note, trusted, origin, what="proof checkpoint")
    verify_inclusion(index, signed.checkpoint.size, leaf_hash(extra), hashes, signed.checkpoint.root)
    try:
        entry = orjson.loads(extra)
    except orjson.JSONDecodeError:
        raise ProofError("the proven entry is not JSON") from None
    if not isinstance(entry, dict) or entry.get("seq") != index:
        raise ProofError(f"the proven entry does not say seq {index}")
    return CheckedProof(index, signed.checkpoint.size, extra, signed)


def check_artifact(proof: CheckedProof, content: bytes) -> None:
    """The run file's hash must be the one the proven entry recorded."""
    recorded = proof.entry.get("artifact_sha256")
    actual = hashlib.sha256(content).hexdigest()
    if recorded != actual:
        raise ProofError(f"the file's sha256 {actual[:12]}… is not the one logged at seq {proof.index:,} "
                         f"({str(recorded)[:12]}…): the file changed after it was recorded")


__all__ = ["CheckedProof", "ProofError", "check_artifact", "check_proof", "make_proof"]
