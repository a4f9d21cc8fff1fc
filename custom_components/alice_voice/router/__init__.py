"""Alice's intent router: classify an utterance and route it fast, think or hybrid.

Pure Python + numpy (no Home Assistant imports), so it can be tested and
benchmarked on its own. Typical use from the integration::

    model = await hass.async_add_executor_job(RouterModel.load)
    router = IntentRouter(model=model, confidence_threshold=0.85)
    decision = router.route(text, audio_features=audio_features, context=context)
    body = decision.to_dict()

``route`` is sub-millisecond and safe to call on the event loop. See
:mod:`.policy` for the routing policy and the context contract, and
:mod:`.slots` for the slots of each intent.
"""

from .context import RouteContext
from .intents import FAST_INTENTS, THINK_INTENTS, Intent, Origin, RoutePath, RouteReason
from .model import DEFAULT_MODEL_PATH, ModelLoadError, RouterModel
from .policy import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    Alternative,
    Classification,
    IntentRouter,
    RouteDecision,
)

__all__ = [
    "DEFAULT_CONFIDENCE_THRESHOLD",
    "DEFAULT_MODEL_PATH",
    "FAST_INTENTS",
    "THINK_INTENTS",
    "Alternative",
    "Classification",
    "Intent",
    "IntentRouter",
    "ModelLoadError",
    "Origin",
    "RouteContext",
    "RouteDecision",
    "RoutePath",
    "RouteReason",
    "RouterModel",
]
