"""The runbook's Weekly Review Procedure, the SEV2 batch review and the Audit and Compliance reports (seed 001)."""
