"""Cases (runbook "Operator Response"): `service` reads and writes them, `flows` are the operator's
numbered steps (ACK, root cause, rerun decision, resolve), `timers` the ACK deadlines."""
