"""The scrub as the rest of chatops uses it: an engine built from the context, and the two actions
that change state (`learn`, and scrubbing files), each checked against the permission table here so
the CLI, Slack and the 05:00 pipeline are held to the same rule.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from jobs.actors import Actor, Permission, Subject, authorize
from jobs.context import Context
from jobs.export.scrub.detect import LearnedSecrets, Policy, fingerprint
from jobs.export.scrub.engine import Engine
from jobs.export.scrub.files import ProgressFn
from jobs.export.scrub.hscache import SignedCache
from jobs.export.scrub.report import RunReport
from jobs.export.scrub.rules import load_rules
from jobs.export.scrub.run import scrub_paths
from store import fingerprints
from store.keys import load_or_create_secret
from jobs.errors import Invalid

KEY_FILE = "keys/scrub.key"
CACHE_DIR = "cache/scrub"   # compiled Hyperscan databases and the rules' analysis (hscache.py)
MIN_LEARNED_BYTES = 8
_FORBIDDEN = set(" \t\r\n\"'`<>(){}[],;\\")


class LearnError(Invalid):
    """A value `scrub learn` will not take, worded without the value."""


def scrub_key(ctx: Context) -> bytes:
    """The marker and fingerprint key, `<data_dir>/keys/scrub.key` (0600, created on first use)."""
    return load_or_create_secret(ctx.data_dir / KEY_FILE)


def build_engine(ctx: Context, prefilter: str | None = None) -> Engine:
    settings = ctx.settings.scrub
    rules_path = Path(settings.rules_file) if settings.rules_file else None
    if rules_path is not None and not rules_path.is_absolute():
        rules_path = ctx.data_dir / rules_path
    key = scrub_key(ctx)
    by_length: dict[int, set[str]] = {}
    for fp in fingerprints.all_fingerprints(ctx.state):
        by_length.setdefault(fp.length, set()).add(fp.digest)
    policy = Policy(
        approved_emails=frozenset(e.lower() for e in settings.approved_emails),
        internal_networks=settings.internal_cidrs,
        sensitive_items=settings.sensitive_items,
        learned=LearnedSecrets({n: frozenset(d) for n, d in by_length.items()}),
        key=key,
    )
    ruleset = load_rules(rules_path, SignedCache(ctx.data_dir / CACHE_DIR, key))
    return Engine(ruleset, policy, prefilter=prefilter or settings.engine,
                  max_line_bytes=settings.max_line_bytes, cache_dir=ctx.data_dir / CACHE_DIR)


def learn(ctx: Context, actor: Actor, values: Iterable[str], item: str) -> tuple[int, int]:
    """Store keyed fingerprints of `values` (one secret each); returns (new, already known).

    Values must be one token (no whitespace, quotes, brackets, commas, semicolons or backslashes) of at
    least 8 bytes: the scan compares whole tokens of the learned lengths, and a shorter value would
    match ordinary words."""
    authorize(ctx, actor, Permission.SCRUB_LEARN, "scrub learn", Subject("secret", item))
    key = scrub_key(ctx)
    now = ctx.now().isoformat()
    prints: list[fingerprints.Fingerprint] = []
    for number, value in enumerate(values, start=1):
        raw = value.encode("utf-8")
        if len(raw) < MIN_LEARNED_BYTES:
            raise LearnError(f"value #{number} is {len(raw)} bytes; learn takes secrets of at least "
                             f"{MIN_LEARNED_BYTES} bytes (shorter ones would match ordinary words); nothing stored")
        bad = sorted(set(value) & _FORBIDDEN)
        if bad:
            raise LearnError(f"value #{number} contains {', '.join(repr(c) for c in bad)}; learn takes single "
                             "tokens (one secret per line, no spaces, quotes or brackets); nothing stored")
        prints.append(fingerprints.Fingerprint(fingerprint(key, raw), len(raw), item, now, actor.name))
    if not prints:
        raise LearnError("no value on standard input; pipe one secret per line, e.g. "
                         "`op read op://vault/item/field | chatops scrub learn --item NAME --as YOU`")
    new = fingerprints.add(ctx.state, prints)
    return new, len(prints) - new


def run_scrub(ctx: Context, actor: Actor, paths: Sequence[Path], out_dir: Path | None = None,
              in_place: bool = False, progress: ProgressFn | None = None, prefilter: str | None = None) -> RunReport:
    """Scrub files (clean copies or in place) as `actor`, then verify and grade."""
    authorize(ctx, actor, Permission.SCRUB_WRITE, "scrub", Subject("path", " ".join(str(p) for p in paths)))
    return scrub_paths(paths, build_engine(ctx, prefilter), out_dir=out_dir, in_place=in_place, progress=progress)
