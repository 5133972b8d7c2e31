"""The closest known ids to one that is not known: what a not-found answer names so a typo is fixed at once."""
from __future__ import annotations

from typing import Iterable


def closest(subject: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Up to `n` known ids like `subject`; case-insensitive as a second try (`run_7F3A` finds `run_7f3a`)."""
    import difflib   # only when an id is not known: the modules that import this one answer known ids too

    known = list(candidates)
    close = difflib.get_close_matches(subject, known, n=n, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        close = [lowered[k] for k in difflib.get_close_matches(subject.lower(), list(lowered), n=n, cutoff=0.6)]
    return close
