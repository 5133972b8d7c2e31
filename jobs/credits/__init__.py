"""Credit monitoring (seed 001): run intake, classification, automatic actions, cases, gates, baselines.

Inner shape, as in every area (docs/architecture.md §2): `records` (what the things are), `schema`
(what a run record must look like), `policy` (how a run is classified), `plan` (the one decision tree at
intake: what the automatic actions will do with a run), `recorder` (carries the plans out, one commit
per batch), `flows` (the runbook's operator procedures, step by step), `gates` (may this be
dispatched?), `timers` (ACK deadlines), `messages` (what is said to people).
"""
