"""A TCP server that only records who connects: proof that nothing did.

Point a cloud endpoint (the OpenAI base URL) at it in ``local_only`` tests;
any connection at all is recorded, and the fixture using it fails the test.
"""

import asyncio


class SentinelServer:
    """Accepts TCP connections on 127.0.0.1, records and closes them."""

    def __init__(self) -> None:
        """Create the sentinel; call :meth:`start`."""
        self.connections: list[tuple[str, int]] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on a free port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "sentinel not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """An OpenAI-style base URL that leads here."""
        return f"http://127.0.0.1:{self.port}/v1"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        self.connections.append((host, port))
        writer.close()
