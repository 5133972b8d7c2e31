"""RFC 9162 §2.1 Merkle tree hashing, the compact range, proof generation and the two verifiers.

Leaf hash = SHA-256(0x00 ‖ line bytes), interior node = SHA-256(0x01 ‖ left ‖ right), the empty
tree's root is SHA-256(""). The writer keeps only a *compact range* (the right edge of perfect
subtrees, ≤ 64 hashes) in memory; proofs are generated from a `TreeHashes` rebuilt from the file
when someone asks for one (docs/ledger.md §3). The verifiers follow RFC 9162 §2.1.3.2 and §2.1.4.2 line by line
and are checked against the transparency-dev vectors, so any proof they accept is a proof that
every other RFC 6962 verifier accepts too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import sha256
from typing import Iterable, Sequence
from store.errors import Invalid

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()


class ProofError(Invalid):
    """A proof that does not verify, or arguments that cannot describe a proof, worded for a person."""


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """Split point k of RFC 6962 §2.1: the largest power of two strictly smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


@dataclass
class CompactRange:
    """The perfect subtrees on the right edge of a tree of `size` leaves, largest first.

    Appending costs one leaf hash plus one node hash per trailing 1-bit of the old size (one on
    average); the root folds at most 63 more hashes. This is all the writer needs to sign a
    checkpoint after every commit without rereading the file.
    """

    size: int = 0
    nodes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> None:
        s = self.size
        h = leaf
        nodes = self.nodes
        while s & 1:
            h = sha256(b"\x01" + nodes.pop() + h).digest()
            s >>= 1
        nodes.append(h)
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        r = self.nodes[-1]
        for n in reversed(self.nodes[:-1]):
            r = sha256(b"\x01" + n + r).digest()
        return r

    def copy(self) -> "CompactRange":
        return CompactRange(self.size, list(self.nodes))


def root_of(leaves: Sequence[bytes]) -> bytes:
    cr = CompactRange()
    cr.extend(leaves)
    return cr.root()


class TreeHashes:
    """Every perfect-subtree hash of a tree, level by level, for proof generation (RFC 6962 §2.1.1/2).

    `levels[k][i]` is the hash of leaves `[i·2^k, (i+1)·2^k)`. Any subtree the proof algorithms ask
    for is split into at most log2(n) of these, so a proof costs O(log² n) hashes at most.
    """

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([sha256(b"\x01" + below[i] + below[i + 1]).digest()
                                for i in range(0, len(below) - 1, 2)])

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end): the RFC 6962 recursion, using stored perfect subtrees."""
        n = end - start
        if n == 0:
            return EMPTY_ROOT
        if n & (n - 1) == 0 and start % n == 0:
            return self.levels[n.bit_length() - 1][start // n]
        if n == 1:
            return self.levels[0][start]
        k = _largest_power_of_two_below(n)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        return self.subtree(0, self.size if size is None else size)

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """PATH(index, D[0:size]) from RFC 6962 §2.1.1, leaf's sibling first."""
        if not 0 <= index < size <= self.size:
            raise ProofError(f"no inclusion proof for index {index} in a tree of size {size} "
                             f"(the ledger has {self.size} entries)")
        return self._path(index, 0, size)

    def _path(self, m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = _largest_power_of_two_below(n)
        if m < k:
            return self._path(m, start, start + k) + [self.subtree(start + k, end)]
        return self._path(m - k, start + k, end) + [self.subtree(start, start + k)]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]) from RFC 6962 §2.1.2."""
        if not 0 < old_size <= new_size <= self.size:
            raise ProofError(f"no consistency proof from size {old_size} to {new_size} "
                             f"(the ledger has {self.size} entries; sizes must be 0 < old ≤ new)")
        return self._subproof(old_size, 0, new_size, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self.subtree(start, end)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return self._subproof(m, start, start + k, complete) + [self.subtree(start + k, end)]
        return self._subproof(m - k, start + k, end, False) + [self.subtree(start, start + k)]


def _require_hashes(what: str, hashes: Iterable[bytes]) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise ProofError(f"{what} hash {i} is {len(h)} bytes; a SHA-256 hash is {HASH_SIZE} bytes")


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` implies for `leaf` at `index` in a tree of `size` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not inside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf)} bytes; a SHA-256 hash is {HASH_SIZE} bytes")
    _require_hashes("proof", proof)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof for index {index} in size {size} has too many hashes "
                             f"({len(proof)})")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"inclusion proof for index {index} in size {size} has too few hashes "
                         f"({len(proof)})")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof for index {index} in size {size} does not lead to the root")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2; size 0 is an error (there is nothing to prove about an empty tree)."""
    if not 0 < old_size <= new_size:
        raise ProofError(f"no consistency proof exists from size {old_size} to {new_size} "
                         f"(need 0 < old ≤ new)")
    if old_size == new_size:
        if proof:
            raise ProofError("sizes are equal, so the consistency proof must be empty")
        if old_root != new_root:
            raise ProofError(f"two different roots for the same size {old_size}")
        return
    if not proof:
        raise ProofError(f"consistency proof from {old_size} to {new_size} is empty")
    _require_hashes("proof", proof)
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path = [old_root] + path
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof from {old_size} to {new_size} has too many hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"consistency proof from {old_size} to {new_size} has too few hashes")
    if fr != old_root:
        raise ProofError(f"consistency proof does not lead to the old root at size {old_size}")
    if sr != new_root:
        raise ProofError(f"consistency proof does not lead to the new root at size {new_size}")
