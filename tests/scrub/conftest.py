"""Engines for the scrub tests: one per prefilter, so the pure-Python fallback is held to the same results."""
from __future__ import annotations

import ipaddress

import pytest

from jobs.export.scrub import Engine, load_rules
from jobs.export.scrub.detect import LearnedSecrets, Policy

INTERNAL = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "fd00::/8", "::1/128"))
KEY = b"k" * 32
# Hyperscan is a declared dependency: when it is missing its tests fail, they are not quietly dropped.
PREFILTERS = ["python", "hyperscan"]


def make_engine(prefilter: str, sensitive: tuple[str, ...] = (), learned: dict | None = None,
                key: bytes = KEY, max_line_bytes: int = 64 * 1024 * 1024) -> Engine:
    policy = Policy(frozenset({"info@ecomonetize.com"}), INTERNAL, sensitive,
                    LearnedSecrets(learned or {}), key)
    return Engine(load_rules(), policy, prefilter=prefilter, max_line_bytes=max_line_bytes)


@pytest.fixture(params=PREFILTERS, scope="session")
def engine(request) -> Engine:
    return make_engine(request.param)
