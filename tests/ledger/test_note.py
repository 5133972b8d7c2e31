"""C2SP signed notes, checkpoints and cosignatures: the spec's example, strict parsing, trust rules."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from store.ledger.note import (
    EM_DASH,
    SIG_COSIGNATURE_V1,
    Checkpoint,
    NoteError,
    Signer,
    add_signature_lines,
    open_checkpoint,
    open_note,
    parse_checkpoint_text,
    parse_note,
    parse_vkey,
    sign_checkpoint,
)

SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = ("This is an example message.\n\n"
             f"{EM_DASH} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
ROOT = base64.b64encode(bytes(range(32))).decode()


def test_the_signed_note_specs_example_verifies_with_its_vkey():
    verifier = parse_vkey(SPEC_VKEY)
    assert verifier.name == "example.com/foo" and verifier.key_id.hex() == "530d903a"
    assert verifier.vkey == SPEC_VKEY
    opened = open_note(SPEC_NOTE, [verifier])
    assert opened.note.text == "This is an example message.\n"
    assert opened.verified == (verifier,)


def test_the_spec_example_with_one_changed_letter_is_rejected_as_altered():
    with pytest.raises(NoteError, match="does not verify: the checkpoint file was altered"):
        open_note(SPEC_NOTE.replace("example message", "example massage"), [parse_vkey(SPEC_VKEY)])


def test_a_vkey_whose_stated_id_does_not_match_its_key_is_refused():
    with pytest.raises(NoteError, match="states key id 530d903b"):
        parse_vkey(SPEC_VKEY.replace("530d903a", "530d903b"))


@pytest.fixture
def signer() -> Signer:
    return Signer("ecomonetize.com/chatops/credit-ledger/7f3a9c", Ed25519PrivateKey.generate())


def _note(size_line: str = "4", root_line: str = ROOT) -> str:
    return f"ecomonetize.com/chatops/credit-ledger/7f3a9c\n{size_line}\n{root_line}\n"


@pytest.mark.parametrize("size_line", ["+5", "05", "\u0663", "-1", "1 ", "9223372036854775808", ""])
def test_checkpoint_sizes_that_are_not_canonical_decimals_are_rejected(size_line):
    with pytest.raises(NoteError):
        parse_checkpoint_text(_note(size_line=size_line))


def test_checkpoint_root_must_be_canonical_base64_of_32_bytes():
    raw = base64.b64encode(bytes(32)).decode()
    non_canonical = raw[:-2] + "B="   # same bytes on decode, stray bits set
    for bad in (non_canonical, raw.rstrip("="), base64.b64encode(bytes(31)).decode()):
        with pytest.raises(NoteError):
            parse_checkpoint_text(_note(root_line=bad))
    assert parse_checkpoint_text(_note(root_line=raw)).root == bytes(32)


def test_parser_rejects_cr_control_characters_blank_signature_block_and_too_many_signatures(signer):
    good = sign_checkpoint(Checkpoint(signer.name, 4, bytes(32)), [signer])
    parse_note(good)
    with pytest.raises(NoteError, match="control character"):
        parse_note(good.replace("\n", "\r\n", 1))
    with pytest.raises(NoteError, match="control character"):
        parse_note(good.replace("ecomonetize", "ecomo\x01netize", 1))
    with pytest.raises(NoteError, match="no signature lines|no blank line"):
        parse_note(good.split("\n\n")[0] + "\n\n")
    many = good + good.split("\n\n")[1] * 16
    with pytest.raises(NoteError, match="at most 16"):
        parse_note(many)
    with pytest.raises(NoteError, match="UTF-8"):
        parse_note(good.encode() + b"\xff")


def test_checkpoint_from_another_origin_or_untrusted_key_is_rejected(signer):
    note = sign_checkpoint(Checkpoint(signer.name, 4, bytes(32)), [signer])
    opened = open_checkpoint(note, [signer.verifier], signer.name)
    assert opened.checkpoint.size == 4
    with pytest.raises(NoteError, match="is not this ledger's origin"):
        open_checkpoint(note, [signer.verifier], "ecomonetize.com/chatops/credit-ledger/1b2c3d")
    stranger = Signer(signer.name, Ed25519PrivateKey.generate())
    with pytest.raises(NoteError, match=r"not signed by a trusted key \(found: ecomonetize.com/chatops/credit-ledger/7f3a9c\+"):
        open_checkpoint(note, [stranger.verifier], signer.name)


def test_unknown_signatures_are_ignored_but_a_bad_one_from_a_known_key_rejects_the_note(signer):
    other = Signer("other.example/log", Ed25519PrivateKey.generate())
    note = sign_checkpoint(Checkpoint(signer.name, 4, bytes(32)), [signer, other])
    assert open_checkpoint(note, [signer.verifier], signer.name).opened.unknown[0].name == "other.example/log"
    forged = sign_checkpoint(Checkpoint(signer.name, 5, bytes(32)), [signer]).split("\n\n")[1]
    tampered = note.split("\n\n")[0] + "\n\n" + forged
    with pytest.raises(NoteError, match="does not verify"):
        open_checkpoint(tampered, [signer.verifier], signer.name)


def test_cosignature_v1_signs_the_time_and_the_checkpoint_and_is_merged_into_the_note(signer):
    witness = Signer("o2.ecomonetize.com/ben", Ed25519PrivateKey.generate(), SIG_COSIGNATURE_V1)
    checkpoint = Checkpoint(signer.name, 4, bytes(32))
    note = sign_checkpoint(checkpoint, [signer])
    line = witness.signature_line(checkpoint.text().encode(), 1_795_000_000)
    merged = add_signature_lines(note, parse_note(checkpoint.text() + "\n" + line).signatures)
    opened = open_checkpoint(merged, [signer.verifier, witness.verifier], signer.name)
    assert opened.opened.cosignatures == ((witness.verifier, 1_795_000_000),)
    assert parse_vkey(witness.verifier.vkey) == witness.verifier
    assert add_signature_lines(merged, parse_note(merged).signatures) == merged   # idempotent
    # a cosignature is not a log signature: a note signed only by a witness has no trusted log signature
    only_witness = checkpoint.text() + "\n" + line
    with pytest.raises(NoteError, match="not signed by a trusted key"):
        open_checkpoint(only_witness, [signer.verifier, witness.verifier], signer.name)
