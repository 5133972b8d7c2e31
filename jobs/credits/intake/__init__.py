"""Run intake (runbook "Automatic Actions"): validate a run, plan what happens to it once, record it.

`schema` validates, `plan` decides, `recorder` carries the plan out in one commit per batch;
`sources` reads files and the inbox, `group_commit` batches the daemon's submitters; `file_writers`,
`restore_files` and `reconcile` keep the run files and the promised alerts whole across a crash.
"""
