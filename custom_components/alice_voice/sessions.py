"""What Alice remembers of each satellite's (or conversation's) recent turns.

A state is keyed by the satellite, else the device, else the conversation, so
"och i sovrummet?" follows up what the same satellite heard last, and a "ja"
answers the question the same satellite asked. States unused for
:data:`.const.SESSION_TTL` seconds are forgotten.
"""

from dataclasses import dataclass, field
import time

from .const import SESSION_TTL
from .models import PendingAction
from .router import Intent


@dataclass(slots=True)
class ConversationState:
    """The previous intent, and an action waiting for a "yes"."""

    previous_intent: Intent | None = None
    pending: PendingAction | None = None
    pending_since: float = 0.0
    touched: float = field(default_factory=time.monotonic)


class ConversationStates:
    """The states of one config entry's conversations, forgetting stale ones."""

    def __init__(self, ttl: float = SESSION_TTL) -> None:
        """Initialize an empty store."""
        self._ttl = ttl
        # Kept in order of last use, so stale states are at the front.
        self._states: dict[str, ConversationState] = {}

    def get(self, key: str) -> ConversationState:
        """The state of ``key`` (new if unknown or stale), now the most recently used."""
        now = time.monotonic()
        while self._states:
            oldest = next(iter(self._states))
            if now - self._states[oldest].touched <= self._ttl:
                break
            del self._states[oldest]
        state = self._states.pop(key, None) or ConversationState()
        self._states[key] = state
        state.touched = now
        return state
