"""Pytest fixtures for the HA-free Realtime client tests, shared by both test trees.

Import them into a ``conftest.py``: ``from simulators.fixtures import client, server``.
:func:`sdk_client` gives an SDK client for any of the simulated OpenAI servers.
"""

from collections.abc import AsyncIterator
import contextlib
from typing import Protocol

from openai import AsyncOpenAI
import pytest

from .realtime import RealtimeTestServer


class OpenAIServer(Protocol):
    """A simulated OpenAI server: a key it accepts and its base URL."""

    @property
    def api_key(self) -> str:
        """A key the server accepts."""
        ...

    @property
    def base_url(self) -> str:
        """The base URL for ``AsyncOpenAI(base_url=...)``."""
        ...


@contextlib.asynccontextmanager
async def sdk_client(server: OpenAIServer) -> AsyncIterator[AsyncOpenAI]:
    """OpenAI's SDK pointed at ``server`` (no retries: a test sees every failure), then closed."""
    sdk = AsyncOpenAI(api_key=server.api_key, base_url=server.base_url, max_retries=0)
    try:
        yield sdk
    finally:
        await sdk.close()


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[RealtimeTestServer]:
    """The Realtime server alone, without artificial latency."""
    async with RealtimeTestServer.instant() as srv:
        yield srv


@pytest.fixture
async def client(server: RealtimeTestServer) -> AsyncIterator[AsyncOpenAI]:
    """An SDK client for ``server``."""
    async with sdk_client(server) as sdk:
        yield sdk
