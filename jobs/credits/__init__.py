"""Credit monitoring (seed 001): run intake, classification, automatic actions, cases, gates, baselines.

Inner shape, as in every area (docs/architecture.md §2): shared `records` (what the things are),
`policy` (how a run is classified), `gates` (may this be dispatched?), `audit` and `messages`; then one
package per part of the runbook: `intake/` (validate, plan once, record), `cases/` (the operator's
procedures, step by step, and the ACK timers), `baselines/` (the Baseline Update Procedure).
"""
