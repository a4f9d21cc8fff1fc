"""The agent form: its schema, the values it shows and the data it stores.

An agent (a ``conversation`` subentry) is stored flat; the form nests the
advanced settings and the voice settings in collapsed sections.
"""

from collections.abc import Mapping
from typing import Any

from homeassistant.components.assist_satellite import DOMAIN as ASSIST_SATELLITE_DOMAIN
from homeassistant.const import CONF_LLM_HASS_API, CONF_NAME, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers import llm
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TemplateSelector,
    TextSelector,
)
import probatio

from .const import (
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DEFAULT_CALENDAR,
    CONF_EVENT_TRANSCRIPTS,
    CONF_FAST_BUDGET,
    CONF_KEEP_ALIVE,
    CONF_LANGUAGE,
    CONF_LOCAL_MODEL,
    CONF_MAX_HISTORY,
    CONF_MAX_TOKENS,
    CONF_MODE,
    CONF_NUM_CTX,
    CONF_PROMPT,
    CONF_REALTIME_MODEL,
    CONF_REALTIME_VOICE,
    CONF_SATELLITES,
    CONF_SPECULATE,
    CONF_STT_MODEL,
    CONF_TEMPERATURE,
    CONF_THINK_BUDGET,
    CONF_THINK_LEVEL,
    CONF_THINK_TIMEOUT,
    CONF_VAD_HANGOVER,
    CONF_VAD_SENSITIVITY,
    DEFAULT_CONVERSATION_OPTIONS,
    DEFAULT_NAME,
    REALTIME_MODELS,
    REALTIME_VOICES,
    SECTION_ADVANCED,
    SECTION_VOICE,
    STT_MODELS,
    AgentMode,
    Language,
    ThinkLevel,
)

ADVANCED_OPTIONS = (
    CONF_CONFIDENCE_THRESHOLD,
    CONF_TEMPERATURE,
    CONF_MAX_TOKENS,
    CONF_KEEP_ALIVE,
    CONF_MAX_HISTORY,
    CONF_NUM_CTX,
    CONF_THINK_TIMEOUT,
    CONF_FAST_BUDGET,
    CONF_THINK_BUDGET,
    CONF_EVENT_TRANSCRIPTS,
)
VOICE_OPTIONS = (
    CONF_SATELLITES,
    CONF_STT_MODEL,
    CONF_VAD_SENSITIVITY,
    CONF_VAD_HANGOVER,
    CONF_SPECULATE,
)
SECTIONS = {SECTION_ADVANCED: ADVANCED_OPTIONS, SECTION_VOICE: VOICE_OPTIONS}
INT_OPTIONS = (
    CONF_MAX_TOKENS,
    CONF_KEEP_ALIVE,
    CONF_MAX_HISTORY,
    CONF_NUM_CTX,
    CONF_FAST_BUDGET,
    CONF_THINK_BUDGET,
    CONF_VAD_HANGOVER,
)


def box(minimum: float, maximum: float, step: float, unit: str | None = None) -> NumberSelector:
    """A number typed into a box."""
    config = NumberSelectorConfig(min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _select(
    options: list[str] | tuple[str, ...], key: str, *, custom: bool = False
) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=list(options),
            translation_key=key,
            mode=SelectSelectorMode.DROPDOWN,
            custom_value=custom,
        )
    )


def _advanced_section() -> section:
    return section(
        probatio.Schema(
            {
                probatio.Required(CONF_CONFIDENCE_THRESHOLD): NumberSelector(
                    NumberSelectorConfig(
                        min=0.5, max=0.99, step=0.01, mode=NumberSelectorMode.SLIDER
                    )
                ),
                probatio.Required(CONF_TEMPERATURE): NumberSelector(
                    NumberSelectorConfig(min=0, max=2, step=0.05, mode=NumberSelectorMode.SLIDER)
                ),
                probatio.Required(CONF_MAX_TOKENS): box(0, 32768, 1),
                probatio.Required(CONF_KEEP_ALIVE): box(-1, 86400, 1, "s"),
                probatio.Required(CONF_MAX_HISTORY): box(0, 500, 1),
                probatio.Required(CONF_NUM_CTX): box(2048, 131072, 1024),
                probatio.Required(CONF_THINK_TIMEOUT): box(5, 600, 1, "s"),
                probatio.Required(CONF_FAST_BUDGET): box(50, 5000, 10, "ms"),
                probatio.Required(CONF_THINK_BUDGET): box(200, 30000, 100, "ms"),
                probatio.Required(CONF_EVENT_TRANSCRIPTS): BooleanSelector(),
            }
        ),
        {"collapsed": True},
    )


def _voice_section() -> section:
    return section(
        probatio.Schema(
            {
                probatio.Optional(CONF_SATELLITES): EntitySelector(
                    EntitySelectorConfig(domain=ASSIST_SATELLITE_DOMAIN, multiple=True)
                ),
                probatio.Required(CONF_STT_MODEL): SelectSelector(
                    SelectSelectorConfig(
                        options=list(STT_MODELS),
                        mode=SelectSelectorMode.DROPDOWN,
                        custom_value=True,
                    )
                ),
                probatio.Required(CONF_VAD_SENSITIVITY): NumberSelector(
                    NumberSelectorConfig(min=0, max=1, step=0.05, mode=NumberSelectorMode.SLIDER)
                ),
                probatio.Required(CONF_VAD_HANGOVER): box(90, 3000, 30, "ms"),
                probatio.Required(CONF_SPECULATE): BooleanSelector(),
            }
        ),
        {"collapsed": True},
    )


def agent_schema(
    hass: HomeAssistant, *, is_new: bool, installed_models: list[str]
) -> probatio.Schema:
    """Return the schema of the agent form."""
    apis = [SelectOptionDict(label=api.name, value=api.id) for api in llm.async_get_apis(hass)]
    models = list(
        dict.fromkeys([*installed_models, DEFAULT_CONVERSATION_OPTIONS[CONF_LOCAL_MODEL]])
    )
    schema: dict[Any, Any] = {}
    if is_new:
        schema[probatio.Required(CONF_NAME, default=DEFAULT_NAME)] = TextSelector()
    schema.update(
        {
            probatio.Required(CONF_LANGUAGE): _select(
                [lang.value for lang in Language], CONF_LANGUAGE
            ),
            probatio.Required(CONF_MODE): _select([m.value for m in AgentMode], CONF_MODE),
            probatio.Required(CONF_LOCAL_MODEL): SelectSelector(
                SelectSelectorConfig(
                    options=[SelectOptionDict(label=m, value=m) for m in models],
                    mode=SelectSelectorMode.DROPDOWN,
                    custom_value=True,
                    sort=True,
                )
            ),
            probatio.Required(CONF_THINK_LEVEL): _select(
                [t.value for t in ThinkLevel], CONF_THINK_LEVEL
            ),
            probatio.Required(CONF_REALTIME_MODEL): SelectSelector(
                SelectSelectorConfig(
                    options=list(REALTIME_MODELS),
                    mode=SelectSelectorMode.DROPDOWN,
                    custom_value=True,
                )
            ),
            probatio.Required(CONF_REALTIME_VOICE): _select(REALTIME_VOICES, CONF_REALTIME_VOICE),
            probatio.Optional(CONF_PROMPT): TemplateSelector(),
            probatio.Optional(CONF_LLM_HASS_API): SelectSelector(
                SelectSelectorConfig(options=apis, multiple=True)
            ),
            probatio.Optional(CONF_DEFAULT_CALENDAR): EntitySelector(
                EntitySelectorConfig(domain=Platform.CALENDAR)
            ),
            probatio.Required(SECTION_VOICE): _voice_section(),
            probatio.Required(SECTION_ADVANCED): _advanced_section(),
        }
    )
    return probatio.Schema(schema)


def agent_suggested_values(options: Mapping[str, Any]) -> dict[str, Any]:
    """Nest the stored (flat) options the way the form shows them."""
    values = {**DEFAULT_CONVERSATION_OPTIONS, **options}
    nested = {key for keys in SECTIONS.values() for key in keys}
    suggested = {k: v for k, v in values.items() if k not in nested}
    for name, keys in SECTIONS.items():
        suggested[name] = {k: values[k] for k in keys}
    return suggested


def agent_form_data(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Store the form's input flat, with whole numbers as ints."""
    data = {k: v for k, v in user_input.items() if k not in SECTIONS}
    for name in SECTIONS:
        for key, value in user_input.get(name, {}).items():
            data[key] = int(value) if key in INT_OPTIONS else value
    for key in (CONF_PROMPT, CONF_LLM_HASS_API, CONF_DEFAULT_CALENDAR):
        if not data.get(key):
            data.pop(key, None)
    data.setdefault(CONF_SATELLITES, [])
    return data
