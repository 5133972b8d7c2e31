"""Pin the ledgers' identity in config.toml: their origins and the signing keys verify trusts.

`ledger init` and `ledger rotate-key` write what they created into the operator's config file
(docs/ledger.md §10) so that `ledger verify` trusts config.toml, not the data directory it checks. The
file is the operator's: tomlkit edits it as a document, so every other key, comment and blank line
stays as written. Only empty origins are filled in: a pinned origin is never replaced (that is
reseal's decision, made by hand). The new text is validated by the caller's parser before it
atomically replaces the file, and any failure leaves the file as it was and says what to pin by hand.
"""
from __future__ import annotations

import stat
from pathlib import Path
from typing import Any, Callable, Mapping

import tomlkit
from tomlkit.exceptions import TOMLKitError

from store.files import write_file_atomically

KEEP = "config.toml was not changed; pin the lines above by hand"


def pin_ledger_identity(path: Path, origins: Mapping[str, str], vkeys: list[str],
                        validate: Callable[[dict[str, Any]], object]) -> str:
    """Set the empty `[ledger]` origins to `origins`, add `vkeys` to `trusted_vkeys`; one line saying what
    was done. `validate` parses the new settings and raises when they are not valid."""
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, TOMLKitError) as exc:
        return f"{path} cannot be read ({exc}); {KEEP}"
    ledger = document.get("ledger")
    if ledger is None:
        ledger = tomlkit.table()
        document["ledger"] = ledger
    if any(ledger.get(key) not in (None, "", value) for key, value in origins.items()):
        return f"{path} already pins other origins in [ledger]; {KEEP}"
    trusted = [str(v) for v in ledger.get("trusted_vkeys", [])]
    missing = [v for v in vkeys if v not in trusted]
    if all(ledger.get(key) == value for key, value in origins.items()) and not missing:
        return f"{path} already pins these origins and keys"
    for key, value in origins.items():
        ledger[key] = value
    if "trusted_vkeys" in ledger:
        for vkey in missing:
            ledger["trusted_vkeys"].append(vkey)
    else:
        ledger["trusted_vkeys"] = missing
    new_text = tomlkit.dumps(document)
    try:
        validate(tomlkit.parse(new_text).unwrap())
        write_file_atomically(path, new_text.encode("utf-8"), stat.S_IMODE(path.stat().st_mode))
    except Exception as exc:  # noqa: BLE001 - whatever the parser or the disk says, the file stays as it was
        return f"{path} could not be updated ({exc}); {KEEP}"
    return f"wrote {', '.join(sorted(set(origins) | {'trusted_vkeys'}))} into {path} [ledger]: verify trusts config.toml"
