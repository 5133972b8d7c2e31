"""Credit monitoring (seed 001): run intake, classification, automatic actions, cases, gates, baselines.

Inner shape, as in every area (docs/architecture.md §2): `records` (what the things are), `schema`
(what a run record must look like), `policy` (how a run is classified), `flows` (the runbook's
procedures, step by step), `gates` (may this be dispatched?), `timers` (ACK deadlines), `messages` (what
is said to people).
"""
