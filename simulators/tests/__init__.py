"""Tests of the simulated backends themselves."""
