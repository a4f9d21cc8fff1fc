"""Pure helpers of the think path."""

from homeassistant.helpers import llm
import probatio

from custom_components.alice_voice.think import format_tool, trim_history


class Tool(llm.Tool):
    name = "alice_voice__test"
    description = None  # type: ignore[assignment]
    parameters = probatio.Schema({probatio.Required("query"): str})

    async def async_call(self, hass, tool_input, llm_context):  # type: ignore[no-untyped-def]
        return llm.ToolResult({})


def test_format_tool_without_description() -> None:
    spec = format_tool(Tool(), None)
    assert spec["type"] == "function"
    assert spec["function"]["name"] == "alice_voice__test"
    assert "description" not in spec["function"]
    assert spec["function"]["parameters"]["required"] == ["query"]


def test_trim_history() -> None:
    messages = [{"role": "system", "content": "s"}]
    for turn in range(5):
        messages += [
            {"role": "user", "content": f"u{turn}"},
            {"role": "assistant", "content": "", "tool_calls": [{}]},
            {"role": "tool", "content": "{}"},
            {"role": "assistant", "content": f"a{turn}"},
        ]
    messages.append({"role": "user", "content": "now"})
    assert trim_history(messages, 0) == messages
    assert trim_history(messages, 50) == messages
    trimmed = trim_history(messages, 2)
    assert [m["content"] for m in trimmed if m["role"] in ("system", "user")] == [
        "s",
        "u3",
        "u4",
        "now",
    ]
    # The cut lands on a user message, never between a call and its result.
    assert trimmed[1]["role"] == "user"
    without_system = trim_history(messages[1:], 1)
    assert without_system[0] == {"role": "user", "content": "u4"}
