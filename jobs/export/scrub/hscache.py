"""Compiled Hyperscan databases and the ruleset's analysis kept between runs, so `scrub check` does not
redo them every time.

Why (issue 20, throughput): compiling the prefilter and needle databases of ~250 rules costs about
0.1 s of CPU, and parsing and analysing every rule's regex (rules.py) about as much again, which is as
much as scanning several megabytes; a short `scrub check` paid both on every run.

A database is stored under `<data_dir>/cache/scrub/` in a file named after a digest of everything its
compilation reads (the expressions, their flags, the Hyperscan version, the machine), so a changed
ruleset, sensitive-item list, learned length or library version simply names another file; the analysis
(`rules-….json`, rules.py) is named after the rules file and the module that made it. A stored file is
never trusted as found: it is used only when its header names that same digest and its bytes carry a
valid HMAC under the scrub key (`keys/scrub.key`, 0600), and Hyperscan then loads it. Anything else
(missing, damaged, written by someone without the key, from another library or CPU) is rebuilt and
written over atomically, 0600 in a 0700 directory; other versions of the same file are removed then. A
cache that cannot be written is not an error: the run rebuilds, as before.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from store.access import ensure_private_dir
from store.files import write_file_atomically

log = logging.getLogger(__name__)

MAGIC = b"chatops-scrub-hyperscan 1\n"
DIGEST = 32

#: (name, expressions, flags per expression) -> a compiled hyperscan.Database
Compile = Callable[[str, Sequence[bytes], Sequence[int]], object]


def compile_database(_name: str, expressions: Sequence[bytes], flags: Sequence[int]):
    """Compile without a cache."""
    import hyperscan

    database = hyperscan.Database()
    database.compile(expressions=list(expressions), ids=list(range(len(expressions))), elements=len(expressions),
                     flags=list(flags))
    return database


class SignedCache:
    """Files under `directory` named after a digest of what they were made from, each used only when it
    carries that digest and a valid HMAC under the scrub key."""

    def __init__(self, directory: Path, key: bytes) -> None:
        self.directory = Path(directory)
        self._key = key

    def load(self, name: str, digest: bytes, suffix: str) -> bytes | None:
        """The stored body, or None when it is missing, damaged or not signed under this key."""
        path = self._path(name, digest, suffix)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        head = len(MAGIC)
        stored_digest, mac, body = data[head:head + DIGEST], data[head + DIGEST:head + 2 * DIGEST], \
            data[head + 2 * DIGEST:]
        if not data.startswith(MAGIC) or stored_digest != digest \
                or not hmac.compare_digest(mac, self._mac(suffix, digest, body)):
            log.warning("scrub cache %s is damaged or was not written by this installation; rebuilding "
                        "and replacing it", path)
            return None
        return body

    def store(self, name: str, digest: bytes, suffix: str, body: bytes) -> None:
        """Write atomically (0600 in a 0700 folder) and remove the other versions of `name`."""
        path = self._path(name, digest, suffix)
        try:
            ensure_private_dir(self.directory)   # 0700; folders above it take the data directory's modes
            write_file_atomically(path, MAGIC + digest + self._mac(suffix, digest, body) + body, 0o600,
                                  sync_directory=False)
            for stale in self.directory.glob(f"{name}-*.{suffix}"):
                if stale != path:
                    stale.unlink(missing_ok=True)
        except OSError as exc:
            log.info("scrub cache %s cannot be written (%s); each run rebuilds it until that folder is "
                     "writable", path, exc)

    def _path(self, name: str, digest: bytes, suffix: str) -> Path:
        return self.directory / f"{name}-{digest.hex()[:32]}.{suffix}"

    def _mac(self, suffix: str, digest: bytes, body: bytes) -> bytes:
        return hmac.new(self._key, b"scrub-cache\x00" + suffix.encode() + b"\x00" + digest + body,
                        hashlib.sha256).digest()


def digest_of(*parts: bytes) -> bytes:
    """SHA-256 over length-prefixed parts (no two part lists give the same input)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big") + part)
    return h.digest()


class DatabaseCache:
    """`compile` for the engine: the stored database when it verifies, else a fresh one (then stored)."""

    def __init__(self, directory: Path, key: bytes) -> None:
        self._files = SignedCache(directory, key)

    def compile(self, name: str, expressions: Sequence[bytes], flags: Sequence[int]):
        import hyperscan

        digest = digest_of(MAGIC, name.encode(), str(getattr(hyperscan, "__version__", "?")).encode(),
                           os.uname().machine.encode(), sys.implementation.name.encode(),
                           *(expression + b"\x00" + str(int(flag)).encode()
                             for expression, flag in zip(expressions, flags, strict=True)))
        body = self._files.load(name, digest, "hsdb")
        if body is not None:
            try:
                database = hyperscan.loadb(body, hyperscan.HS_MODE_BLOCK)
                database.scratch = hyperscan.Scratch(database)   # a loaded database comes without one
                return database
            except hyperscan.error as exc:   # a library or CPU that cannot read it: compile afresh
                log.warning("scrub cache %s cannot be loaded (%s); compiling afresh and replacing it", name, exc)
        database = compile_database(name, expressions, flags)
        self._files.store(name, digest, "hsdb", hyperscan.dumpb(database))
        return database
