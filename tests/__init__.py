"""Tests for the Alice Voice integration."""
