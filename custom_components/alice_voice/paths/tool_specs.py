"""Home Assistant's tools as Ollama's function specs, each converted once.

Converting a tool's schema to JSON schema is the costliest part of preparing a
think turn for the model: about 0.15 ms a tool on a small machine, 1.5-2 ms for
the Assist API's tools, all of it on the event loop while other conversations
wait. The API hands out new tool objects every turn, but a tool's spec depends
only on its name, its description, its schema and the API's serializer, so
:class:`ToolSpecs` converts each one once.

A spec is found again by the schema's ``repr``, which names every validator
with its settings; a validator without a ``repr`` of its own shows its address
instead. So that no address can be reused by another object while its entry is
kept, the entry holds on to the schema it was made from. At worst a tool whose
schema is rebuilt every turn is converted every turn, as before.
"""

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

from homeassistant.helpers import llm
import probatio

#: Specs kept (the least recently used go first): far more than any home's tools.
MAX_SPECS: Final = 256

type Serializer = Callable[[Any], Any] | None


def format_tool(tool: llm.Tool, custom_serializer: Serializer) -> dict[str, Any]:
    """Describe a Home Assistant tool the way Ollama wants it."""
    spec: dict[str, Any] = {
        "name": tool.name,
        "parameters": probatio.to_openapi(
            tool.parameters, custom_serializer=custom_serializer, openapi_version="3.1.0"
        ),
    }
    if tool.description:
        spec["description"] = tool.description
    return {"type": "function", "function": spec}


class ToolSpecs:
    """The specs of the tools a model is offered, each converted once."""

    def __init__(self, size: int = MAX_SPECS) -> None:
        """Start empty; keep at most ``size`` specs."""
        self._size = size
        # key -> (spec, the schema it was made from: kept alive with the entry)
        self._specs: OrderedDict[tuple[Any, ...], tuple[dict[str, Any], Any]] = OrderedDict()

    def __len__(self) -> int:
        """How many specs are kept."""
        return len(self._specs)

    def specs(
        self, tools: Iterable[llm.Tool], custom_serializer: Serializer
    ) -> list[dict[str, Any]]:
        """The tools' specs, in order (shared: callers must not change them)."""
        return [self._spec(tool, custom_serializer) for tool in tools]

    def _spec(self, tool: llm.Tool, custom_serializer: Serializer) -> dict[str, Any]:
        key = (
            type(tool),
            tool.name,
            tool.description,
            repr(tool.parameters.schema),
            custom_serializer,
        )
        if (entry := self._specs.get(key)) is not None:
            self._specs.move_to_end(key)
            return entry[0]
        spec = format_tool(tool, custom_serializer)
        self._specs[key] = (spec, tool.parameters)
        if len(self._specs) > self._size:
            self._specs.popitem(last=False)
        return spec
