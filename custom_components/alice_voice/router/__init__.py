"""Alice's intent router: classify an utterance and route it fast, think or hybrid.

Pure Python + numpy (no Home Assistant imports), so it can be tested and
benchmarked on its own. Typical use from the integration::

    model = await hass.async_add_executor_job(RouterModel.load)
    router = IntentRouter(model=model, confidence_threshold=0.85)
    decision = await router.route_intent(text, audio_features, context)
    body = decision.to_dict()

See :mod:`.router` for the routing policy and the context contract, and
:mod:`.slots` for the slots of each intent.
"""

from .intents import FAST_INTENTS, THINK_INTENTS, Intent, RoutePath, RouteReason
from .model import DEFAULT_MODEL_PATH, ModelLoadError, RouterModel
from .router import (
    DEFAULT_CONFIDENCE_THRESHOLD,
    Alternative,
    Classification,
    IntentRouter,
    RouteContext,
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
    "RouteContext",
    "RouteDecision",
    "RoutePath",
    "RouteReason",
    "RouterModel",
]
