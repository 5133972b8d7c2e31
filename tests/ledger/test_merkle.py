"""RFC 9162 hashing and proofs: public vectors, known answers, naive cross-check, proof mutations."""
from __future__ import annotations

import base64
import json
from hashlib import sha256

import pytest

from store.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    TreeHashes,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.ledger.helpers import VECTORS

INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


# SHA-256 over every vector's relative path and bytes, as copied from transparency-dev/merkle (vectors/README.md).
VECTORS_DIGEST = "7c18e4dee7bb24a811adf6b5610cb958971cf493c7eafad314a6f6c473c35ce2"


def test_all_196_vectors_are_present():
    assert len(INCLUSION) + len(CONSISTENCY) == 196, f"Merkle vectors missing under {VECTORS}"


def test_vectors_are_the_upstream_files_unmodified_with_their_licence():
    digest = sha256()
    for path in sorted(VECTORS.rglob("*.json")):
        digest.update(path.relative_to(VECTORS).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    assert digest.hexdigest() == VECTORS_DIGEST
    assert "Apache License" in (VECTORS / "LICENSE").read_text()
    assert "417fb0c314750d94e53942e9f92e79b6d35915db" in (VECTORS / "README.md").read_text()


@pytest.mark.parametrize("path", INCLUSION, ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vector_is_accepted_or_rejected_as_it_says(path):
    case = json.loads(path.read_text())
    proof = [_b64(h) for h in case["proof"] or []]
    try:
        verify_inclusion(case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"]))
        rejected = False
    except ProofError:
        rejected = True
    assert rejected == case["wantErr"], case["desc"]


@pytest.mark.parametrize("path", CONSISTENCY, ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vector_is_accepted_or_rejected_as_it_says(path):
    case = json.loads(path.read_text())
    proof = [_b64(h) for h in case["proof"] or []]
    try:
        verify_consistency(case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)
        rejected = False
    except ProofError:
        rejected = True
    assert rejected == case["wantErr"], case["desc"]


# RFC 6962 test leaves and the roots of the trees of their first n leaves (as in transparency-dev/merkle).
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(9))
def test_known_answer_roots_of_the_rfc6962_test_leaves(size):
    leaves = [leaf_hash(b) for b in CT_LEAVES[:size]]
    compact = CompactRange()
    compact.extend(leaves)
    assert compact.root().hex() == CT_ROOTS[size]
    if size:
        assert TreeHashes(leaves).root().hex() == CT_ROOTS[size]


def test_empty_tree_root_is_sha256_of_nothing():
    assert EMPTY_ROOT == sha256(b"").digest()
    assert EMPTY_ROOT.hex().startswith("e3b0c442") and EMPTY_ROOT.hex().endswith("b855")


def naive_root(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 6962 §2.1, recursively."""
    n = len(leaves)
    if n == 0:
        return sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(naive_root(leaves[:k]), naive_root(leaves[k:]))


def test_compact_range_and_stored_tree_equal_the_naive_definition_for_every_size_up_to_130():
    leaves = [leaf_hash(f"entry {i}".encode()) for i in range(130)]
    compact = CompactRange()
    tree = TreeHashes(leaves)
    for size in range(131):
        expected = naive_root(leaves[:size])
        assert compact.root() == expected, size
        assert tree.root(size) == expected, size
        assert len(compact.nodes) == bin(size).count("1")
        if size < 130:
            compact.append(leaves[size])


def _mutations(proof: list[bytes]):
    """Every proof hash with one bit flipped, one hash dropped, one added, one hash cut to 31 bytes."""
    for i, h in enumerate(proof):
        bit = (i * 7) % 256
        flipped = bytearray(h)
        flipped[bit // 8] ^= 1 << (bit % 8)
        yield proof[:i] + [bytes(flipped)] + proof[i + 1:]
        yield proof[:i] + proof[i + 1:]
        yield proof[:i] + [h[:31]] + proof[i + 1:]
    yield proof + [sha256(b"extra").digest()]


def test_every_inclusion_proof_up_to_64_leaves_verifies_and_every_mutation_fails():
    leaves = [leaf_hash(f"leaf {i}".encode()) for i in range(64)]
    tree = TreeHashes(leaves)
    checked = 0
    for size in range(1, 65):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            verify_inclusion(index, size, leaves[index], proof, root)
            for bad in _mutations(proof):
                with pytest.raises(ProofError):
                    verify_inclusion(index, size, leaves[index], bad, root)
            for other_size in (size - 1, size + 1):
                if index < other_size <= 64:
                    with pytest.raises(ProofError):
                        verify_inclusion(index, other_size, leaves[index], proof, tree.root(other_size))
            checked += 1
    assert checked == 64 * 65 // 2


def test_every_consistency_proof_up_to_64_leaves_verifies_and_every_mutation_fails():
    leaves = [leaf_hash(f"leaf {i}".encode()) for i in range(64)]
    tree = TreeHashes(leaves)
    for new in range(1, 65):
        new_root = tree.root(new)
        for old in range(1, new + 1):
            old_root = tree.root(old)
            proof = tree.consistency_proof(old, new)
            verify_consistency(old, new, old_root, new_root, proof)
            if old == new:
                continue
            for bad in _mutations(proof):
                with pytest.raises(ProofError):
                    verify_consistency(old, new, old_root, new_root, bad)
            with pytest.raises(ProofError):
                verify_consistency(old, new, new_root, old_root, proof)   # swapped roots
            for old2, new2 in ((old - 1, new), (old + 1, new), (old, new - 1), (old, new + 1)):
                if 0 < old2 < new2 <= 64 and proof != tree.consistency_proof(old2, new2):
                    with pytest.raises(ProofError):
                        verify_consistency(old2, new2, tree.root(old2), tree.root(new2), proof)


def test_proof_generation_refuses_sizes_outside_the_tree():
    tree = TreeHashes([leaf_hash(b"a"), leaf_hash(b"b")])
    with pytest.raises(ProofError, match="no inclusion proof for index 2"):
        tree.inclusion_proof(2, 2)
    with pytest.raises(ProofError, match="sizes must be 0 < old"):
        tree.consistency_proof(0, 2)
