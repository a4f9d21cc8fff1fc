"""Benchmarks of Alice Voice against Home Assistant's own agents (see README.md)."""
