"""Sealed text: compliance content encrypted at rest with Fernet, keys rotated with MultiFernet (seed 002 §1).

Why: "No compliance content leaves the local environment" also means no copy in clear in the data
directory, where backups, the operators' group and a stray `grep` reach. Every incident's text is
stored as a Fernet token; only a process holding the key file reads it.

The key file (`compliance.fernet` in the key directory) holds one urlsafe-base64 Fernet key per line,
newest first, written 0600 inside a 0700 directory (`store.keys`). `Sealer.rotate()` puts a new key
first; tokens made under older keys still open (MultiFernet tries each) until `reseal` re-encrypts
them under the newest, after which the caller drops the old keys with `retire()`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from store.errors import Damaged
from store.files import write_file_atomically
from store.keys import check_key_file, create_key_file, ensure_key_dir, read_key_file

KEY_FILE = "compliance.fernet"


class SealedDamaged(Damaged):
    """A token that no key opens, or a key file that holds no key: damage, named with its place."""


@dataclass(frozen=True)
class Sealer:
    """Seal and open text with the keys of `key_file` (created with one key on first use)."""

    key_file: Path

    @classmethod
    def in_dir(cls, key_dir: Path) -> "Sealer":
        return cls(Path(key_dir) / KEY_FILE)

    def _keys(self) -> list[bytes]:
        if not self.key_file.exists():
            from cryptography.fernet import Fernet

            try:
                create_key_file(self.key_file, Fernet.generate_key() + b"\n")
            except FileExistsError:
                pass   # another process made it first: use theirs
        keys = [line.strip() for line in read_key_file(self.key_file).splitlines() if line.strip()]
        if not keys:
            raise SealedDamaged(f"{self.key_file} holds no key; restore it from a backup (incident text sealed "
                                "under it cannot be read without it)")
        return keys

    def _multi(self):
        from cryptography.fernet import Fernet, MultiFernet

        try:
            return MultiFernet([Fernet(key) for key in self._keys()])
        except ValueError:
            raise SealedDamaged(f"{self.key_file} holds a line that is not a Fernet key; restore it from a "
                                "backup") from None

    def seal(self, plain: bytes) -> str:
        return self._multi().encrypt(plain).decode("ascii")

    def open(self, token: str, where: str) -> bytes:
        """The plain bytes of `token`; `where` names the token's place for the message when no key opens it."""
        from cryptography.fernet import InvalidToken

        try:
            return self._multi().decrypt(token.encode("ascii"))
        except (InvalidToken, ValueError):
            raise SealedDamaged(f"{where} cannot be opened with the keys in {self.key_file} (damaged, or sealed "
                                "under a key that was retired); restore the file or the key from a backup") from None

    def reseal(self, token: str) -> str:
        """`token` re-encrypted under the newest key (its timestamp kept)."""
        return self._multi().rotate(token.encode("ascii")).decode("ascii")

    def rotate(self) -> int:
        """Put a new key first; returns how many keys the file now holds."""
        from cryptography.fernet import Fernet

        keys = [Fernet.generate_key(), *self._keys()]
        self._write(keys)
        return len(keys)

    def retire(self) -> int:
        """Keep only the newest key (after every token was resealed); returns how many were dropped."""
        keys = self._keys()
        self._write(keys[:1])
        return len(keys) - 1

    def _write(self, keys: list[bytes]) -> None:
        ensure_key_dir(self.key_file.parent)
        check_key_file(self.key_file)
        write_file_atomically(self.key_file, b"".join(k + b"\n" for k in keys), mode=0o600)
        os.chmod(self.key_file, 0o600)
