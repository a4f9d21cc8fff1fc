"""Finishing a turn's answer: into the chat log, and out as a ConversationResult.

Every answer Alice gives goes through here, so the chat log always ends with
what she said (Home Assistant reads the speech and ``continue_conversation``
from it, and later turns see it as history).
"""

from homeassistant.components import conversation
from homeassistant.helpers import intent

from .errors import AliceVoiceTurnError
from .models import Turn
from .phrases import phrase


def answer(
    turn: Turn,
    chat_log: conversation.ChatLog,
    text: str,
    response: intent.IntentResponse | None = None,
) -> conversation.ConversationResult:
    """Say ``text``: add it to the chat log and return it as the turn's result.

    ``response`` is Home Assistant's own intent response when an intent did
    the work (its speech is replaced by ``text``); otherwise a plain one.
    """
    chat_log.async_add_assistant_content_without_tools(
        conversation.AssistantContent(agent_id=turn.entity_id, content=text)
    )
    turn.text_started()
    if response is None:
        response = intent.IntentResponse(language=turn.user_input.language)
    response.async_set_speech(text)
    return conversation.ConversationResult(
        response=response, conversation_id=chat_log.conversation_id
    )


def error_answer(
    turn: Turn, chat_log: conversation.ChatLog, message: str
) -> conversation.ConversationResult:
    """Say what went wrong (``message``, already translated) as an error response."""
    chat_log.async_add_assistant_content_without_tools(
        conversation.AssistantContent(agent_id=turn.entity_id, content=message)
    )
    response = intent.IntentResponse(language=turn.user_input.language)
    response.async_set_error(intent.IntentResponseErrorCode.UNKNOWN, message)
    return conversation.ConversationResult(
        response=response, conversation_id=chat_log.conversation_id
    )


def model_answer(turn: Turn, chat_log: conversation.ChatLog) -> conversation.ConversationResult:
    """The result of a model's turn, which is already in the chat log.

    A model may go quiet after a tool call: if Home Assistant's tools
    succeeded, Alice says she is done; without any answer the turn fails (and
    another path may try).
    """
    last = chat_log.content[-1]
    if isinstance(last, conversation.ToolResultContent) and not last.result.error:
        chat_log.async_add_assistant_content_without_tools(
            conversation.AssistantContent(
                agent_id=turn.entity_id, content=phrase(turn.agent.language, "confirmed")
            )
        )
    elif not (isinstance(last, conversation.AssistantContent) and last.content):
        raise AliceVoiceTurnError("empty_reply", fallback_ok=True)
    return conversation.async_get_result_from_chat_log(turn.user_input, chat_log)
