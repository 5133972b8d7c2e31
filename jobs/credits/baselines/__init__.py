"""Baselines (runbook "Baseline Update Procedure"): `flows` are its steps, `runs` streams a scenario's
runs, `stats` computes, `proposals` holds a change until a second O3 approves, `apply` writes it
whole, `note` and `messages` say what changed."""
