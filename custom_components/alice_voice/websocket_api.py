"""Websocket commands: ``alice_voice/subscribe`` pushes the HUD's picture as it changes.

``{"type": "alice_voice/subscribe", "agent_id": "conversation.alice"}`` (the
agent is optional) answers with a result, then an event message holding
:func:`.hud.hud_snapshot` at once and again after every change, until the
client unsubscribes. What was said is in it only when the agent's "put the
words in events" option is on; keys never are.
"""

from typing import Any

from homeassistant.components import websocket_api
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
import probatio

from .hud import SIGNAL_HUD, hud_snapshot


@callback
def async_setup_websocket_api(hass: HomeAssistant) -> None:
    """Register the commands (from ``async_setup``)."""
    websocket_api.async_register_command(hass, websocket_subscribe)


@websocket_command(
    {
        probatio.Required("type"): "alice_voice/subscribe",
        probatio.Optional("agent_id"): str,
    }
)
@callback
def websocket_subscribe(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Push the HUD's picture now and on every change."""
    agent: str | None = msg.get("agent_id")
    message_id = msg["id"]

    @callback
    def send() -> None:
        connection.send_message(event_message(message_id, hud_snapshot(hass, agent)))

    connection.subscriptions[message_id] = async_dispatcher_connect(hass, SIGNAL_HUD, send)
    connection.send_result(message_id)
    send()
