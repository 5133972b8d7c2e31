"""Session export (seed 000): the scrub engine (`jobs.export.scrub`) and, later, sources and publishing."""
