"""C2SP signed notes, verifier keys, tlog checkpoints and tlog cosignatures (docs/ledger.md §4, §8).

A checkpoint is three lines (origin, size, base64 root) signed as a note:

    <text ending in \\n>
    <blank line>
    — <key name> base64(4-byte key id ‖ signature)

Parsing is strict, because a lenient parser is how two programs come to disagree about what was
signed: valid UTF-8, no control characters except `\\n`, at most 16 signature lines, a size written
`0|[1-9][0-9]*` in ASCII, a root in canonical base64 of exactly 32 bytes. Signatures from unknown
keys are ignored; a failing signature from a known key rejects the note; no trusted signature
rejects it (C2SP signed-note).
"""
from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass
from functools import cached_property
from hashlib import sha256
from typing import TYPE_CHECKING, Iterable, Sequence

from store.errors import Invalid

if TYPE_CHECKING:   # cryptography is imported where a key signs or verifies: `ledger verify` of an empty
    # ledger, and every module that only names these types, need not load it (issue 21: CLI start-up)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

EM_DASH = "\u2014"
SIG_ED25519 = 0x01
SIG_COSIGNATURE_V1 = 0x04
MAX_SIGNATURES = 16
MAX_SIZE = 2**63 - 1
_SIZE_RE = re.compile(r"^(0|[1-9][0-9]*)$", re.ASCII)
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(Invalid):
    """A note, checkpoint or key that cannot be accepted, worded with what is wrong."""


def b64decode_canonical(text: str, what: str) -> bytes:
    """Standard base64 that re-encodes to the same text (no missing padding, no stray bits)."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise NoteError(f"{what} {text!r} is not valid base64") from None
    if base64.b64encode(raw).decode() != text:
        raise NoteError(f"{what} {text!r} is not canonical base64")
    return raw


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def check_key_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name) or _CONTROL_RE.search(name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces, '+' or control characters")


def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    return sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A trusted public key: its name, signature type (0x01 log key, 0x04 witness) and id."""

    name: str
    sig_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key)

    @property
    def vkey(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([self.sig_type]) + self.public_key)}"

    @property
    def short(self) -> str:
        """`name+keyid`, how messages name a key."""
        return f"{self.name}+{self.key_id.hex()}"

    def verify(self, text: bytes, signature: bytes) -> int | None:
        """True-ish when `signature` (after the key id) verifies over `text`.

        Returns the cosignature timestamp for a 0x04 key, 0 for a log key; raises NoteError when
        it does not verify.
        """
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        key = Ed25519PublicKey.from_public_bytes(self.public_key)
        timestamp = 0
        message = text
        if self.sig_type == SIG_COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                raise NoteError(f"cosignature by {self.short} is {len(signature)} bytes, expected 72")
            (timestamp,) = struct.unpack(">Q", signature[:8])
            if timestamp > MAX_SIZE:
                raise NoteError(f"cosignature by {self.short} has timestamp {timestamp} beyond 2^63-1")
            message = f"cosignature/v1\ntime {timestamp}\n".encode() + text
            signature = signature[8:]
        try:
            key.verify(signature, message)
        except InvalidSignature:
            raise NoteError(f"signature by {self.short} does not verify") from None
        return timestamp


def parse_vkey(text: str) -> Verifier:
    """`<name>+<hex key id>+base64(type ‖ public key)`; the stated id must match the key."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError(f"verifier key {text!r} is not <name>+<key id>+<base64 key>")
    name, hex_id, key_b64 = parts
    check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteError(f"verifier key {text!r}: key id {hex_id!r} is not 8 lower-case hex digits")
    raw = b64decode_canonical(key_b64, "verifier key")
    if len(raw) != 33 or raw[0] not in (SIG_ED25519, SIG_COSIGNATURE_V1):
        raise NoteError(f"verifier key {text!r} is not an Ed25519 key (type 0x01 or 0x04, 32 bytes)")
    verifier = Verifier(name, raw[0], raw[1:])
    if verifier.key_id.hex() != hex_id:
        raise NoteError(f"verifier key {text!r} states key id {hex_id}, but its key gives "
                        f"{verifier.key_id.hex()}")
    return verifier


@dataclass(frozen=True)
class Signer:
    """A private key under a key name; `sig_type` 0x01 signs notes, 0x04 cosigns checkpoints."""

    name: str
    private_key: Ed25519PrivateKey
    sig_type: int = SIG_ED25519

    @cached_property
    def verifier(self) -> Verifier:
        """Derived once per signer: every ledger commit signs, and deriving the public key each time
        was a sixth of the signing cost."""
        return Verifier(self.name, self.sig_type, raw_public_key(self.private_key.public_key()))

    def signature(self, text: bytes, timestamp: int = 0) -> bytes:
        """key id ‖ signature (‖ timestamp first, for a cosignature)."""
        kid = self.verifier.key_id
        if self.sig_type == SIG_COSIGNATURE_V1:
            message = f"cosignature/v1\ntime {timestamp}\n".encode() + text
            return kid + struct.pack(">Q", timestamp) + self.private_key.sign(message)
        return kid + self.private_key.sign(text)

    def signature_line(self, text: bytes, timestamp: int = 0) -> str:
        return f"{EM_DASH} {self.name} {b64(self.signature(text, timestamp))}\n"


@dataclass(frozen=True)
class SignatureLine:
    name: str
    key_id: bytes
    signature: bytes

    @property
    def short(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"

    def render(self) -> str:
        return f"{EM_DASH} {self.name} {b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[SignatureLine, ...]

    def render(self) -> str:
        return self.text + "\n" + "".join(s.render() for s in self.signatures)


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    data = text.encode()
    return text + "\n" + "".join(s.signature_line(data) for s in signers)


def parse_note(data: bytes | str) -> Note:
    """Split a signed note into text and signature lines, with the C2SP format rules."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not valid UTF-8") from None
    if _CONTROL_RE.search(data) or "\r" in data:
        raise NoteError("note contains a control character other than newline (CR, tab or NUL?)")
    if not data.endswith("\n"):
        raise NoteError("note does not end with a newline")
    split = data.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line between its text and its signatures")
    text, sig_block = data[:split + 1], data[split + 2:]
    if not text.strip("\n"):
        raise NoteError("note text is empty")
    lines = sig_block[:-1].split("\n") if sig_block else []
    if not lines:
        raise NoteError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has {len(lines)} signature lines; at most {MAX_SIGNATURES} are accepted")
    signatures = []
    for line in lines:
        prefix = EM_DASH + " "
        if not line.startswith(prefix):
            raise NoteError(f"signature line {line[:40]!r} does not start with an em dash and a space")
        fields = line[len(prefix):].split(" ")
        if len(fields) != 2:
            raise NoteError(f"signature line {line[:40]!r} is not '— <key name> <base64>'")
        name, sig_b64 = fields
        check_key_name(name)
        raw = b64decode_canonical(sig_b64, "signature")
        if len(raw) < 5:
            raise NoteError(f"signature by {name} is too short ({len(raw)} bytes)")
        signatures.append(SignatureLine(name, raw[:4], raw[4:]))
    return Note(text, tuple(signatures))


@dataclass(frozen=True)
class OpenedNote:
    note: Note
    verified: tuple[Verifier, ...]
    cosignatures: tuple[tuple[Verifier, int], ...]   # (witness, unix time)
    unknown: tuple[SignatureLine, ...]


def open_note(data: bytes | str, verifiers: Iterable[Verifier], what: str = "note") -> OpenedNote:
    """Verify every signature from a known key; require at least one log-key (0x01) signature."""
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    text = note.text.encode()
    verified, cosigned, unknown = [], [], []
    for sig in note.signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unknown.append(sig)
            continue
        try:
            timestamp = verifier.verify(text, sig.signature)
        except NoteError:
            raise NoteError(f"{what}: signature by {verifier.short} does not verify: "
                            "the checkpoint file was altered.") from None
        if verifier.sig_type == SIG_COSIGNATURE_V1:
            cosigned.append((verifier, timestamp))
        else:
            verified.append(verifier)
    if not verified:
        found = ", ".join(s.short for s in note.signatures)
        raise NoteError(f"{what} is not signed by a trusted key (found: {found})")
    return OpenedNote(note, tuple(verified), tuple(cosigned), tuple(unknown))


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64(self.root)}\n"

    @property
    def root_b64(self) -> str:
        return b64(self.root)


def parse_checkpoint_text(text: str) -> Checkpoint:
    """The first three lines of a C2SP checkpoint; extension lines are allowed by the grammar."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("checkpoint text must have an origin, a size and a root line")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not origin:
        raise NoteError("checkpoint origin line is empty")
    if not _SIZE_RE.match(size_text):
        raise NoteError(f"checkpoint size {size_text!r} is not a decimal without sign or leading zeros")
    size = int(size_text)
    if size > MAX_SIZE:
        raise NoteError(f"checkpoint size {size_text} is larger than 2^63-1")
    root = b64decode_canonical(root_text, "checkpoint root")
    if len(root) != 32:
        raise NoteError(f"checkpoint root is {len(root)} bytes, expected 32")
    if any(line == "" for line in lines[3:-1]):
        raise NoteError("checkpoint has an empty extension line")
    return Checkpoint(origin, size, root)


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    opened: OpenedNote

    def render(self) -> str:
        return self.opened.note.render()


def open_checkpoint(data: bytes | str, verifiers: Iterable[Verifier], origin: str,
                    what: str = "checkpoint") -> SignedCheckpoint:
    """Verify a signed checkpoint for the expected `origin` (taken from config, never the file)."""
    verifiers = [v for v in verifiers if v.sig_type == SIG_COSIGNATURE_V1 or v.name == origin]
    note = parse_note(data)
    checkpoint = parse_checkpoint_text(note.text)
    if checkpoint.origin != origin:
        raise NoteError(f"checkpoint origin \"{checkpoint.origin}\" is not this ledger's origin "
                        f"\"{origin}\"")
    return SignedCheckpoint(checkpoint, open_note(data, verifiers, what))


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[Signer]) -> str:
    return sign_note(checkpoint.text(), signers)


def add_signature_lines(note_text: str, lines: Iterable[SignatureLine]) -> str:
    """The same note with more signature lines (a cosignature merge); duplicates are dropped."""
    note = parse_note(note_text)
    merged = list(note.signatures)
    for line in lines:
        if all((s.name, s.key_id) != (line.name, line.key_id) for s in merged):
            merged.append(line)
    if len(merged) > MAX_SIGNATURES:
        raise NoteError(f"checkpoint would carry {len(merged)} signatures; at most {MAX_SIGNATURES}")
    return Note(note.text, tuple(merged)).render()
