"""One answer at a time per satellite: a new turn cancels the one still answering.

When someone talks over Alice (barge-in), or a satellite starts a new turn
while the previous answer is still being produced, the old turn's task is
cancelled. Cancellation runs through everything it awaits: the local model's
stream is closed, an in-flight Realtime response is cancelled and its session
discarded, and the old answer stops feeding text to speech, so no stale audio
is produced. Typed conversations (no satellite, no device) are left alone.
"""

import asyncio

from .const import LOGGER


class InFlightTurns:
    """The task answering each satellite (or device) right now."""

    def __init__(self) -> None:
        """Initialize with nothing in flight."""
        self._tasks: dict[str, asyncio.Task[object]] = {}

    def start(self, key: str | None) -> None:
        """The current task answers ``key`` now; cancel the one that did before."""
        task = asyncio.current_task()
        if key is None or task is None:
            return
        previous = self._tasks.get(key)
        if previous is not None and previous is not task and not previous.done():
            LOGGER.debug("A new turn on %s: the previous answer is cancelled", key)
            previous.cancel("a new turn started on the same satellite")
        self._tasks[key] = task

    def end(self, key: str | None) -> None:
        """The current task is done answering ``key``."""
        if key is not None and self._tasks.get(key) is asyncio.current_task():
            del self._tasks[key]

    def cancel_all(self) -> None:
        """Cancel every turn still answering (the entry unloads)."""
        for task in self._tasks.values():
            if not task.done():
                task.cancel("Alice is unloading")
        self._tasks.clear()
