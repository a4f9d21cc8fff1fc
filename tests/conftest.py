"""Fixtures for Alice Voice tests."""

# Import our package first: Home Assistant puts its testing config dir at
# sys.path[0] later, and the probatio shim must be installed before anything
# imports voluptuous.
import custom_components.alice_voice  # noqa: F401  # isort: skip

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/alice_voice."""
    return
