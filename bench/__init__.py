"""Benchmarks: scripts that print figures and write BENCHMARKS.md; never timed tests."""
