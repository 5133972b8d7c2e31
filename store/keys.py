"""Key files: created 0600 inside a 0700 directory, never readable by others even for an instant.

`os.open(..., O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)` creates the file with its final mode, so there
is no window in which another user could open it; loading refuses a key file that others can read,
naming the `chmod` that fixes it.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING
from store.errors import Damaged, Invalid


class KeyFileError(Invalid):
    """A key file that is unsafe or unreadable, worded with the fix."""


class KeyFileDamaged(Damaged, KeyFileError):
    """A key file whose content cannot be a key (emptied, truncated): damage, not a wrong setting."""


def ensure_key_dir(directory: Path) -> Path:
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(f"key directory {directory} is accessible by others (mode {mode:04o}); "
                           f"run: chmod 700 {directory}")
    return directory


def create_key_file(path: Path, data: bytes) -> None:
    """Write a new key file 0600; refuses to overwrite an existing one."""
    ensure_key_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_key_file(path: Path) -> None:
    """Refuse a key that others can read or that another user owns."""
    info = os.stat(path, follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"key {path} is not a regular file; replace it with the real key file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyFileError(f"key {path} is readable by others (mode {mode:04o}); run: chmod 600 {path}")
    if info.st_uid != os.geteuid():
        raise KeyFileError(f"key {path} is owned by uid {info.st_uid}, not this user ({os.geteuid()}); "
                           f"run: chown {os.geteuid()} {path}")


def read_key_file(path: Path) -> bytes:
    check_key_file(path)
    return path.read_bytes()


#: The shortest secret accepted from a key file: below it markers and fingerprints become guessable.
MIN_SECRET_BYTES = 16


def load_or_create_secret(path: Path, nbytes: int = 32) -> bytes:
    """A random secret (e.g. the scrub marker key) kept in a 0600 file, created on first use.

    A file that exists but holds less than MIN_SECRET_BYTES (emptied, truncated) is refused rather than
    used: an empty HMAC key would make every `[REDACTED:…]` marker predictable from the value it hides.
    """
    path = Path(path)
    if not path.exists():
        import secrets   # hmac and random: only when a secret is created

        try:
            create_key_file(path, secrets.token_bytes(nbytes))
        except FileExistsError:
            pass  # another process created it first: use theirs
    secret = read_key_file(path)
    if len(secret) < MIN_SECRET_BYTES:
        raise KeyFileDamaged(f"{path} holds {len(secret)} bytes, fewer than the {MIN_SECRET_BYTES} a key needs; "
                           "restore it from a backup, or move it aside to have a new key made (markers and "
                           "learned fingerprints made under the old key will no longer match)")
    return secret


# ---- Ed25519 signing keys (the ledger key, witness keys) ----------------------------------------
# cryptography is imported inside the functions: commands that never sign do not pay for it.

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

PKCS12_KDF_ROUNDS = 600_000


def ed25519_key_bytes(key: "Ed25519PrivateKey", passphrase: bytes | None, name: str) -> bytes:
    """Serialise a signing key: PKCS#8 PEM, or PKCS#12 at 600,000 PBKDF2 rounds with a passphrase.

    Why PKCS#12: `BestAvailableEncryption` on PKCS#8 uses PBKDF2-SHA256 at only 2,048 iterations
    (measured, docs/ledger.md §10), too few against offline guessing of a stolen backup.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.serialization import pkcs12

    if passphrase is None:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder()
                  .kdf_rounds(PKCS12_KDF_ROUNDS)
                  .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
                  .hmac_hash(SHA256())
                  .build(passphrase))
    return pkcs12.serialize_key_and_certificates(name.encode(), key, None, None, encryption)


def create_ed25519_key(path: Path, passphrase: bytes | None = None) -> "Ed25519PrivateKey":
    """Generate a new Ed25519 key and write it 0600 (O_EXCL: an existing key is never replaced)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    create_key_file(Path(path), ed25519_key_bytes(key, passphrase, Path(path).stem))
    return key


def load_ed25519_key(path: Path, passphrase: bytes | None = None,
                     passphrase_env: str = "CHATOPS_LEDGER_KEY_PASSPHRASE") -> "Ed25519PrivateKey":
    """Load a key written by `create_ed25519_key`, refusing a key file that others can read."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12

    path = Path(path)
    data = read_key_file(path)
    try:
        if data.startswith(b"-----BEGIN"):
            key = load_pem_private_key(data, password=None)
        elif not data.startswith(b"\x30"):     # PKCS#12 is DER: an ASN.1 SEQUENCE; anything else is not a key
            raise KeyFileError(f"key {path} is neither a PEM key nor a PKCS#12 file ({len(data)} bytes: empty or "
                               "damaged); restore it from a backup")
        elif passphrase is None:
            raise KeyFileError(f"key {path} is protected by a passphrase; set {passphrase_env}")
        else:
            key = pkcs12.load_key_and_certificates(data, passphrase)[0]
    except ValueError:
        hint = f"check {passphrase_env}" if passphrase is not None else "restore it from a backup"
        raise KeyFileError(f"key {path} cannot be read (wrong passphrase or damaged file); {hint}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"key {path} is not an Ed25519 key; create a new one with chatops ledger init")
    return key
