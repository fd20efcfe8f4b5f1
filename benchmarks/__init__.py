"""Benchmarks that print numbers (``scripts/bench``); never timed assertions in tests."""
