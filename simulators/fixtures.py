"""Pytest fixtures for the HA-free Realtime client tests, shared by both test trees.

Import them into a ``conftest.py``: ``from simulators.fixtures import client, server``.
"""

from collections.abc import AsyncIterator

from openai import AsyncOpenAI
import pytest

from .realtime import RealtimeTestServer


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[RealtimeTestServer]:
    """The Realtime server alone, without artificial latency."""
    async with RealtimeTestServer.instant() as srv:
        yield srv


@pytest.fixture
async def client(server: RealtimeTestServer) -> AsyncIterator[AsyncOpenAI]:
    """An SDK client for ``server``."""
    sdk = AsyncOpenAI(api_key=server.api_key, base_url=server.base_url, max_retries=0)
    yield sdk
    await sdk.close()
