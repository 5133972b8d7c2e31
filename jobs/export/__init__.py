"""Session export (seed 000): the scrub engine (`jobs.export.scrub`) and the 05:00 pipeline that uses it.

records.py (what a day's run remembers), service.py (the store), sources.py (collect), repo.py (the export
git repository), pull_requests.py (the PR host protocol) with local_provider.py and providers.py, policy.py
(§3's tiers), incidents.py, audit_log.py (§6), messages.py, flows.py (the steps and the PR actions),
scheduled.py (the daemon's job).
"""
