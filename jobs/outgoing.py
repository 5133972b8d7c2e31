"""Everything that leaves the machine passes the scrub engine's rules first, before it is even queued.

One rule set decides what is a secret, for the 05:00 export and for what chatops says: the scrub
engine (`jobs/export/scrub`), with config's policy (approved emails, internal networks, sensitive
items), the fingerprints learned with `chatops scrub learn`; and, before the rules, this process's own
secrets (the values of the variables that hold tokens and passphrases), removed wherever they appear,
even inside a word or across spaces, under the engine's marker for `process-secret`. A notice is
scrubbed before `OutboxNotifier` queues it, so neither Slack (text, blocks, upload titles: all built
from the notice) nor `outbox.jsonl` ever holds a secret; answers that bypass the outbox (`/ops`
responses, the App Home tab) are scrubbed with `text()`. GitHub, Notion and webhook items will pass
through the same `OutgoingScrubber` before they are queued.

Cost on the alert path: the engine is built once per context (one per process: the daemon's, or a
command's), lazily, on the first message (≈ 0.2 s), and the daemon builds it at start; each notice
is then one engine pass over its JSON (an alert: well under a millisecond, `bench/credits_bench.py`). The engine's Hyperscan scratch is not shared between
threads, so passes are serialised by a lock. Fingerprints learned after the engine was built are
used from the next start.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from jobs.notices import Notice

if TYPE_CHECKING:
    from jobs.context import Context
    from jobs.export.scrub import Engine

SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "NOTION_TOKEN", "GITHUB_TOKEN",
              "CHATOPS_INTAKE_TOKEN", "CHATOPS_LEDGER_KEY_PASSPHRASE", "CHATOPS_WITNESS_KEY_PASSPHRASE")
#: Any other environment variable named like a secret holds one too (secrets come only from the environment).
_SECRET_NAME = re.compile(r"(?:TOKEN|SECRET|PASSWORD|PASSPHRASE|API_KEY|PRIVATE_KEY)$", re.I)
LABEL = "outgoing message"
PROCESS_SECRET = "process-secret"   # the marker's rule for a value of this process's environment


def secret_values(ctx: Context, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of this process's secrets: the known variables, the ledger passphrase variable the
    config names, and every variable named like a secret. Short values (< 8) are left out: they
    would remove ordinary words, and no real token is that short."""
    environ = os.environ if environ is None else environ
    names = {*SECRET_ENV, ctx.settings.ledger.passphrase_env, *(k for k in environ if _SECRET_NAME.search(k))}
    return sorted({v for k in names if len(v := environ.get(k, "")) >= 8}, key=len, reverse=True)


@dataclass
class OutgoingScrubber:
    """The scrub engine as what leaves the machine uses it: built on first use, one pass at a time."""

    ctx: Context
    environ: Mapping[str, str] | None = None
    _engine: "Engine | None" = None
    #: (raw bytes, JSON-escaped bytes, marker) of each of this process's secrets, longest first
    _secrets: tuple[tuple[bytes, bytes, bytes], ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def engine(self) -> "Engine":
        with self._lock:
            if self._engine is None:
                from jobs.export.scrub import build_engine   # the rules are loaded only when something is sent

                engine = build_engine(self.ctx)
                self._secrets = tuple((v.encode(), json.dumps(v, ensure_ascii=False)[1:-1].encode(),
                                       engine.marker(PROCESS_SECRET, v).encode())
                                      for v in secret_values(self.ctx, self.environ))
                self._engine = engine
            return self._engine

    def text(self, text: str) -> str:
        """`text` with everything the rules remove replaced by its `[REDACTED:rule:…]` marker."""
        if not text:
            return text
        return self._pass(text.encode("utf-8", "surrogateescape"), json_line=False).decode("utf-8", "surrogateescape")

    def notice(self, notice: Notice) -> Notice:
        """The notice with its subject, text and every string of its fields scrubbed, in one pass: the
        notice is scrubbed as one JSON line, so field names give context (`"api_key": "…"`)."""
        body = {"subject": notice.subject, "text": notice.text, "fields": notice.fields}
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogateescape")
        cleaned = self._pass(raw, json_line=True)
        if cleaned == raw:
            return notice
        scrubbed: dict[str, Any] = json.loads(cleaned)
        return dataclasses.replace(notice, subject=scrubbed["subject"], text=scrubbed["text"],
                                   fields=scrubbed["fields"])

    def _pass(self, raw: bytes, json_line: bool) -> bytes:
        from jobs.export.scrub import FileKind

        engine = self.engine()
        for value, escaped, marker in self._secrets:
            raw = raw.replace(escaped if json_line else value, marker)
        with self._lock:
            return engine.process(raw, FileKind.JSONL if json_line else FileKind.TEXT, LABEL, scrub=True).output
