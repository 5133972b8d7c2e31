"""Append-only signed JSONL ledgers: RFC 9162 Merkle tree, C2SP checkpoints, recovery, verify, proofs.

See docs/ledger.md. `ledger.Ledger` writes; `verify.verify_ledger` reads with public keys only;
`proof` writes and checks C2SP tlog-proofs; `witness` cosigns checkpoints.
"""
