"""Fixtures for the simulators' own tests."""

# Home Assistant's test plugin runs these tests too: import the integration first,
# so that the probatio shim is installed before anything imports voluptuous.
import custom_components.alice_voice  # noqa: F401  # isort: skip

from simulators.fixtures import client, server  # noqa: F401 - shared with tests/
