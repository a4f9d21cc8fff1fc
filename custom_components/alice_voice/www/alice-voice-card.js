/**
 * Alice Voice card for Home Assistant: a live HUD of one Alice agent.
 *
 *   type: custom:alice-voice-card
 *   agent: conversation.alice          # optional: the first Alice agent otherwise
 *   satellite: assist_satellite.kok    # optional: its state drives the indicator
 *   compact: false                     # optional: status, route and latency only
 *
 * Plain ES2022 with no dependencies and no build step: this file is what Home
 * Assistant serves (custom_components/alice_voice/frontend.py loads it on every
 * page). Data comes from the integration's websocket subscription
 * `alice_voice/subscribe`, which pushes the whole picture at once and after
 * every change, so the card never polls.
 */

const CARD_TAG = "alice-voice-card";
const EDITOR_TAG = "alice-voice-card-editor";
const STATES = ["idle", "listening", "processing", "responding", "error"];

// --- labels ---------------------------------------------------------------------------

const STRINGS = {
  en: {
    states: {
      idle: "Idle",
      listening: "Listening",
      processing: "Thinking",
      responding: "Speaking",
      error: "Error",
    },
    paths: { fast: "Fast", think: "Think", hybrid: "Hybrid" },
    modes: { hybrid: "Hybrid", cloud_only: "Cloud only", local_only: "Local only" },
    reasons: {
      simple_intent: "simple intent",
      complex_intent: "complex intent",
      low_confidence: "low confidence",
      unknown_intent: "unknown intent",
      uncertain_margin: "uncertain margin",
      context_follow_up: "follow-up",
      ha_intent_match: "Home Assistant intent",
    },
    intents: {
      GREETING: "Greeting",
      ACKNOWLEDGMENT: "Acknowledgment",
      CLARIFICATION: "Clarification",
      SIMPLE_QUESTION: "Simple question",
      WEATHER: "Weather",
      TIME_DATE: "Time and date",
      DEVICE_CONTROL: "Device control",
      CALENDAR_QUERY: "Calendar question",
      CALENDAR_CREATE: "New calendar event",
      CALENDAR_COMPLEX: "Calendar planning",
      EMAIL_ANALYSIS: "Reading email",
      EMAIL_SEND: "Sending email",
      SPOTIFY_SEARCH: "Music",
      TASK_PLANNING: "Task planning",
      MULTI_STEP_WORKFLOW: "Multi-step task",
      UNKNOWN: "Unknown",
    },
    sources: {
      openai_realtime: "OpenAI Realtime",
      local_ai: "Local model",
      ha_local_intents: "Home Assistant's intents",
      local_fallback: "Local fallback",
      openai_fallback: "Cloud, as a fallback",
    },
    latency: {
      router: "Router",
      fast: "Fast path",
      think: "Think path",
      end_to_end: "End to end",
    },
    backendStates: { ok: "OK", down: "Down", unknown: "Unknown" },
    you: "You said",
    answer: "Answer",
    route: "Route",
    intent: "Intent",
    source: "Source",
    tools: "Tools",
    noTools: "none",
    error: "Error",
    speech: "Speech",
    speechFacts: (seconds, rate) => `${seconds} s, speaking rate ${rate}×`,
    escalated: "escalated",
    fallbackFrom: (from) => `fallback from ${from}`,
    lastTurn: "Last turn",
    latencyTitle: "Latency",
    budget: (path, ms) => `${path} budget ${ms}`,
    recent: "Recent turns",
    backends: "Backends",
    noTurns: "No turns yet. Say something to Alice.",
    connecting: "Connecting to Alice…",
    notFound: (agent) => `No Alice agent ${agent}. Pick another in the card's settings.`,
    noAgents: "Alice Voice has no agent yet.",
    failed: (why) => `Alice Voice does not answer: ${why}`,
    via: (name) => `via ${name}`,
    turns: (n) => `${n} ${n === 1 ? "turn" : "turns"}`,
    errors: (n) => `${n} ${n === 1 ? "error" : "errors"}`,
    percent: (n) => `${n}%`,
    quote: (text) => `“${text}”`,
    // Editor
    agent: "Agent",
    firstAgent: "The first Alice agent",
    satellite: "Satellite (optional; drives the status)",
    noSatellite: "None",
    compact: "Compact (status, route and latency only)",
  },
  sv: {
    states: {
      idle: "Vilar",
      listening: "Lyssnar",
      processing: "Tänker",
      responding: "Svarar",
      error: "Fel",
    },
    paths: { fast: "Snabb", think: "Tänk", hybrid: "Hybrid" },
    modes: { hybrid: "Hybrid", cloud_only: "Bara moln", local_only: "Bara lokalt" },
    reasons: {
      simple_intent: "enkel avsikt",
      complex_intent: "komplex avsikt",
      low_confidence: "låg säkerhet",
      unknown_intent: "okänd avsikt",
      uncertain_margin: "osäker marginal",
      context_follow_up: "följdfråga",
      ha_intent_match: "Home Assistants avsikt",
    },
    intents: {
      GREETING: "Hälsning",
      ACKNOWLEDGMENT: "Bekräftelse",
      CLARIFICATION: "Förtydligande",
      SIMPLE_QUESTION: "Enkel fråga",
      WEATHER: "Väder",
      TIME_DATE: "Tid och datum",
      DEVICE_CONTROL: "Styra enheter",
      CALENDAR_QUERY: "Kalenderfråga",
      CALENDAR_CREATE: "Ny kalenderhändelse",
      CALENDAR_COMPLEX: "Kalenderplanering",
      EMAIL_ANALYSIS: "Läsa e-post",
      EMAIL_SEND: "Skicka e-post",
      SPOTIFY_SEARCH: "Musik",
      TASK_PLANNING: "Planering",
      MULTI_STEP_WORKFLOW: "Flerstegsuppgift",
      UNKNOWN: "Okänd",
    },
    sources: {
      openai_realtime: "OpenAI Realtime",
      local_ai: "Lokal modell",
      ha_local_intents: "Home Assistants avsikter",
      local_fallback: "Lokalt reservsvar",
      openai_fallback: "Molnet, som reserv",
    },
    latency: {
      router: "Router",
      fast: "Snabb väg",
      think: "Tänk-väg",
      end_to_end: "Hela turen",
    },
    backendStates: { ok: "OK", down: "Nere", unknown: "Okänd" },
    you: "Du sa",
    answer: "Svar",
    route: "Väg",
    intent: "Avsikt",
    source: "Källa",
    tools: "Verktyg",
    noTools: "inga",
    error: "Fel",
    speech: "Tal",
    speechFacts: (seconds, rate) => `${seconds} s, taltakt ${rate}×`,
    escalated: "eskalerad",
    fallbackFrom: (from) => `reserv för ${from}`,
    lastTurn: "Senaste turen",
    latencyTitle: "Svarstid",
    budget: (path, ms) => `budget ${path.toLowerCase()} ${ms}`,
    recent: "Senaste turerna",
    backends: "Tjänster",
    noTurns: "Inga turer ännu. Säg något till Alice.",
    connecting: "Ansluter till Alice…",
    notFound: (agent) => `Ingen Alice-agent ${agent}. Välj en annan i kortets inställningar.`,
    noAgents: "Alice Voice har ingen agent än.",
    failed: (why) => `Alice Voice svarar inte: ${why}`,
    via: (name) => `via ${name}`,
    turns: (n) => `${n} ${n === 1 ? "tur" : "turer"}`,
    errors: (n) => `${n} fel`,
    percent: (n) => `${n} %`,
    quote: (text) => `”${text}”`,
    // Editor
    agent: "Agent",
    firstAgent: "Den första Alice-agenten",
    satellite: "Satellit (valfri; styr statusen)",
    noSatellite: "Ingen",
    compact: "Kompakt (bara status, väg och svarstid)",
  },
};

/** Swedish for sv* languages, English otherwise. */
function languageOf(hass) {
  return String(hass?.language ?? "en").toLowerCase().startsWith("sv") ? "sv" : "en";
}

/** A code such as "complex_intent" or "OLLAMA_DOWN" as words, for codes without a label. */
function humanize(code) {
  const words = String(code).replaceAll("_", " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A latency in ms as text: "72 ms", "1 250 ms", "12,5 s". */
function formatMs(ms, lang) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "–";
  if (ms >= 10000) {
    return `${(ms / 1000).toLocaleString(lang, { maximumFractionDigits: 1 })} s`;
  }
  return `${Math.round(ms).toLocaleString(lang)} ms`;
}

/** Alice's conversation entities: by the entity registry's platform when the frontend has it. */
function aliceAgents(hass) {
  const conversation = Object.keys(hass?.states ?? {}).filter((id) =>
    id.startsWith("conversation."),
  );
  const alice = conversation.filter((id) => hass.entities?.[id]?.platform === "alice_voice");
  return (alice.length ? alice : conversation).sort();
}

function friendlyName(hass, entityId) {
  return hass?.states?.[entityId]?.attributes?.friendly_name ?? entityId;
}

// --- DOM helpers (no innerHTML with data: utterances are user text) ---------------------

/** Create an element: h("div", {class: "x", title: "y"}, "text", otherNode). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "style" && typeof value === "object") Object.assign(element.style, value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

// --- styles -------------------------------------------------------------------------------

const CARD_STYLE = `
  :host { display: block; }
  ha-card { padding: 16px; overflow: hidden; color: var(--primary-text-color); }
  .header { display: flex; align-items: center; gap: 12px; }
  .heading { flex: 1; min-width: 0; }
  .title { font-size: 1.15em; font-weight: 500; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .state { color: var(--secondary-text-color); }
  .state b { color: var(--alice-state-color); font-weight: 500; }
  .badges { display: flex; gap: 4px; flex-wrap: wrap; justify-content: flex-end; }
  .badge, .chip {
    border-radius: 10px; padding: 1px 8px; font-size: 0.8em; white-space: nowrap;
    background: var(--secondary-background-color, rgba(127, 127, 127, 0.15));
    color: var(--secondary-text-color);
  }
  .chip.path { color: var(--text-primary-color, #fff); background: var(--primary-color); font-weight: 500; }
  .chip.path.think { background: var(--accent-color, var(--primary-color)); }
  .chip.warn { background: none; border: 1px solid var(--warning-color, #ffa600); color: var(--warning-color, #ffa600); }

  /* The animated indicator: every shape exists; the state shows one or two of them. */
  .indicator { position: relative; width: 44px; height: 44px; flex: none; }
  .indicator > span { position: absolute; inset: 0; margin: auto; display: none; box-sizing: border-box; }
  .dot { width: 14px; height: 14px; border-radius: 50%; background: var(--alice-state-color); }
  .ring { width: 44px; height: 44px; border-radius: 50%; border: 3px solid var(--alice-state-color);
          animation: alice-pulse 1.4s ease-out infinite; }
  .spinner { width: 38px; height: 38px; border-radius: 50%;
             border: 4px solid color-mix(in srgb, var(--alice-state-color) 20%, transparent);
             border-top-color: var(--alice-state-color); animation: alice-spin 0.9s linear infinite; }
  .waves { width: 34px; height: 28px; gap: 3px; align-items: center; justify-content: center; }
  .waves i { display: block; width: 5px; height: 100%; border-radius: 3px; background: var(--alice-state-color);
             animation: alice-wave 0.9s ease-in-out infinite; }
  .waves i:nth-child(2) { animation-delay: -0.7s; }
  .waves i:nth-child(3) { animation-delay: -0.45s; }
  .waves i:nth-child(4) { animation-delay: -0.2s; }
  .mark { width: 44px; height: 44px; font-weight: 700; font-size: 20px; line-height: 44px; text-align: center; color: var(--text-primary-color, #fff); }

  :host { --alice-state-color: var(--secondary-text-color); }
  :host([data-state="idle"]) { --alice-state-color: var(--secondary-text-color); }
  :host([data-state="listening"]) { --alice-state-color: var(--info-color, #039be5); }
  :host([data-state="processing"]) { --alice-state-color: var(--primary-color); }
  :host([data-state="responding"]) { --alice-state-color: var(--success-color, #43a047); }
  :host([data-state="error"]) { --alice-state-color: var(--error-color, #db4437); }
  :host([data-state="idle"]) .dot,
  :host([data-state="listening"]) .dot, :host([data-state="listening"]) .ring,
  :host([data-state="processing"]) .dot, :host([data-state="processing"]) .spinner,
  :host([data-state="error"]) .dot, :host([data-state="error"]) .mark { display: block; }
  :host([data-state="processing"]) .dot { width: 10px; height: 10px; }
  :host([data-state="responding"]) .waves { display: flex; }
  :host([data-state="error"]) .dot { width: 32px; height: 32px;
    box-shadow: 0 0 0 4px color-mix(in srgb, var(--alice-state-color) 25%, transparent); }

  @keyframes alice-pulse { from { transform: scale(0.35); opacity: 1; } to { transform: scale(1); opacity: 0; } }
  @keyframes alice-spin { to { transform: rotate(360deg); } }
  @keyframes alice-wave { 0%, 100% { transform: scaleY(0.3); } 50% { transform: scaleY(1); } }
  @media (prefers-reduced-motion: reduce) { .indicator span, .indicator i { animation: none !important; } }

  .message { margin-top: 12px; color: var(--secondary-text-color); }
  .message.error { color: var(--error-color, #db4437); }
  section { margin-top: 14px; }
  h3 { margin: 0 0 6px; font-size: 0.8em; font-weight: 500; letter-spacing: 0.04em;
       text-transform: uppercase; color: var(--secondary-text-color); display: flex; justify-content: space-between; }
  h3 span { text-transform: none; letter-spacing: 0; font-weight: 400; }
  .said { margin: 0 0 4px; font-size: 1.05em; }
  .said small { display: block; font-size: 0.75em; color: var(--secondary-text-color); }
  .facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; align-items: baseline; }
  .facts dt { color: var(--secondary-text-color); }
  .facts dd { margin: 0; display: flex; flex-wrap: wrap; gap: 4px 6px; align-items: baseline; min-width: 0; }
  .facts dd.error { color: var(--error-color, #db4437); }
  .confidence { color: var(--secondary-text-color); }

  .bars { display: grid; grid-template-columns: max-content 1fr max-content; gap: 6px 10px; align-items: center; }
  .bar-label { color: var(--secondary-text-color); font-size: 0.9em; }
  .track { position: relative; height: 10px; border-radius: 5px;
           background: var(--secondary-background-color, rgba(127, 127, 127, 0.15)); }
  .fill { position: absolute; inset: 0 auto 0 0; border-radius: 5px; background: var(--secondary-text-color); opacity: 0.7; }
  .fill.budgeted { background: var(--success-color, #43a047); opacity: 1; }
  .fill.near { background: var(--warning-color, #ffa600); }
  .fill.over { background: var(--error-color, #db4437); }
  .budget-mark { position: absolute; top: -3px; bottom: -3px; width: 2px; margin-left: -1px;
                 background: var(--primary-text-color); opacity: 0.55; }
  .bar-value { font-variant-numeric: tabular-nums; text-align: right; font-size: 0.9em; }
  .bar-value.over { color: var(--error-color, #db4437); font-weight: 500; }
  .legend { margin-top: 4px; font-size: 0.8em; color: var(--secondary-text-color); }

  .spark { display: block; width: 100%; height: 36px; }
  .spark polyline { fill: none; stroke: var(--primary-color); stroke-width: 2; stroke-linejoin: round; }
  .spark path { fill: var(--primary-color); opacity: 0.12; stroke: none; }
  .backends { display: flex; flex-wrap: wrap; gap: 6px 16px; }
  .backend { display: inline-flex; align-items: center; gap: 6px; }
  .led { width: 10px; height: 10px; border-radius: 50%; background: var(--disabled-text-color, #9e9e9e); }
  .led.ok { background: var(--success-color, #43a047); }
  .led.down { background: var(--error-color, #db4437); }
  .backend small { color: var(--secondary-text-color); }
  .footer { margin-top: 12px; font-size: 0.8em; color: var(--secondary-text-color); }
  :host([compact]) section { margin-top: 10px; }
`;

// --- the card -----------------------------------------------------------------------------

class AliceVoiceCard extends HTMLElement {
  static getConfigElement() {
    return document.createElement(EDITOR_TAG);
  }

  static getStubConfig(hass) {
    const agent = aliceAgents(hass)[0];
    return agent ? { agent, compact: false } : { compact: false };
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._config = undefined;
    this._hass = undefined;
    this._picture = undefined; // the last pushed picture
    this._failure = undefined; // why subscribing failed
    this._unsubscribe = undefined; // ends the live subscription
    this._generation = 0; // bumped on every (un)subscribe: late replies of old ones are dropped
    this._viewKey = ""; // what of hass the last render used
  }

  setConfig(config) {
    if (!config || typeof config !== "object") throw new Error("Invalid configuration");
    if (config.agent !== undefined && !String(config.agent).startsWith("conversation.")) {
      throw new Error("agent must be a conversation entity (conversation.…)");
    }
    if (config.satellite && !String(config.satellite).startsWith("assist_satellite.")) {
      throw new Error("satellite must be an Assist satellite (assist_satellite.…)");
    }
    const agentChanged = this._config?.agent !== config.agent;
    this._config = { ...config };
    this.toggleAttribute("compact", Boolean(config.compact));
    if (agentChanged) {
      this._picture = undefined;
      if (this.isConnected) this._subscribe();
    }
    this._render();
  }

  set hass(hass) {
    const previous = this._hass;
    this._hass = hass;
    // A first hass, or a new websocket connection: (re)subscribe on it.
    if (previous?.connection !== hass?.connection) this._subscribe();
    // hass changes with every state in the house: render only when what we show changed.
    if (this._hassKey() !== this._viewKey) this._render();
  }

  get hass() {
    return this._hass;
  }

  connectedCallback() {
    this._subscribe();
    this._render();
  }

  disconnectedCallback() {
    this._stop();
  }

  getCardSize() {
    return this._config?.compact ? 3 : 8;
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6 };
  }

  // --- subscription ---

  _subscribe() {
    this._stop();
    const connection = this._hass?.connection;
    if (!connection || !this._config || !this.isConnected) return;
    const generation = this._generation;
    const message = { type: "alice_voice/subscribe" };
    if (this._config.agent) message.agent_id = this._config.agent;
    connection
      .subscribeMessage((picture) => {
        if (generation !== this._generation) return;
        this._picture = picture;
        this._failure = undefined;
        this._render();
      }, message)
      .then((unsubscribe) => {
        if (generation === this._generation) this._unsubscribe = unsubscribe;
        else this._end(unsubscribe); // the card moved on while subscribing
      })
      .catch((err) => {
        if (generation !== this._generation) return;
        this._failure = err?.message ?? err?.code ?? String(err);
        this._render();
      });
  }

  _stop() {
    this._generation += 1;
    const unsubscribe = this._unsubscribe;
    this._unsubscribe = undefined;
    if (unsubscribe) this._end(unsubscribe);
  }

  _end(unsubscribe) {
    // The connection may be gone already: then there is nothing to end.
    Promise.resolve()
      .then(unsubscribe)
      .catch(() => {});
  }

  // --- what to show ---

  _t() {
    return STRINGS[languageOf(this._hass)];
  }

  _hassKey() {
    const satellite = this._config?.satellite;
    return `${languageOf(this._hass)}|${satellite ? this._hass?.states?.[satellite]?.state : ""}`;
  }

  _agent() {
    const agents = this._picture?.agents ?? {};
    if (this._config?.agent) return agents[this._config.agent];
    return Object.values(agents)[0];
  }

  /** The state the indicator shows: the satellite's when one is configured and known. */
  _displayState(agent) {
    const satellite = this._config?.satellite;
    if (satellite) {
      const state =
        this._picture?.satellites?.[satellite] ?? this._hass?.states?.[satellite]?.state;
      if (STATES.includes(state)) return { state, via: friendlyName(this._hass, satellite) };
    }
    return { state: STATES.includes(agent?.state) ? agent.state : "idle", via: undefined };
  }

  // --- rendering ---

  _shell() {
    if (this._parts) return this._parts;
    const indicator = h(
      "div",
      { class: "indicator", role: "img" },
      h("span", { class: "ring" }),
      h("span", { class: "spinner" }),
      h("span", { class: "waves" }, h("i"), h("i"), h("i"), h("i")),
      h("span", { class: "dot" }),
      h("span", { class: "mark" }, "!"),
    );
    const title = h("div", { class: "title", id: "title" });
    const state = h("div", { class: "state", id: "state", "aria-live": "polite" });
    const badges = h("div", { class: "badges", id: "badges" });
    const message = h("div", { class: "message", id: "message" });
    const content = h("div", { id: "content", hidden: true });
    this.shadowRoot.replaceChildren(
      h("style", {}, CARD_STYLE),
      h(
        "ha-card",
        {},
        h("div", { class: "header" }, indicator, h("div", { class: "heading" }, title, state), badges),
        message,
        content,
      ),
    );
    this._parts = { indicator, title, state, badges, message, content };
    return this._parts;
  }

  _render() {
    if (!this._config) return;
    const parts = this._shell();
    const t = this._t();
    const lang = languageOf(this._hass);
    this._viewKey = this._hassKey();
    const agent = this._agent();
    const { state, via } = this._displayState(agent);

    this.setAttribute("data-state", agent || via ? state : "idle");
    parts.indicator.setAttribute("aria-label", t.states[state]);
    parts.title.textContent =
      agent?.title ?? (this._config.agent ? friendlyName(this._hass, this._config.agent) : "Alice");
    parts.state.replaceChildren(
      h("b", {}, t.states[state]),
      via ? ` · ${t.via(via)}` : "",
    );
    parts.badges.replaceChildren(
      ...(agent
        ? [
            h("span", { class: "badge" }, String(agent.language ?? "").toUpperCase()),
            h("span", { class: "badge" }, t.modes[agent.mode] ?? humanize(agent.mode)),
          ]
        : []),
    );

    let message = "";
    if (this._failure) message = t.failed(this._failure);
    else if (!this._picture) message = t.connecting;
    else if (!agent) message = this._config.agent ? t.notFound(this._config.agent) : t.noAgents;
    parts.message.textContent = message;
    parts.message.className = this._failure || (this._picture && !agent) ? "message error" : "message";
    parts.message.hidden = !message;
    parts.content.hidden = Boolean(message);
    if (message) {
      parts.content.replaceChildren();
      return;
    }

    const last = agent.last;
    const sections = [];
    if (!last) {
      sections.push(h("div", { class: "message", id: "no-turns" }, t.noTurns));
    } else if (this._config.compact) {
      sections.push(this._routeSection(last, t, { compact: true }));
      sections.push(this._latencySection(agent, last, t, lang, { compact: true }));
    } else {
      if (last.text || last.response) sections.push(this._wordsSection(last, t));
      sections.push(this._routeSection(last, t, { compact: false, lang }));
      sections.push(this._latencySection(agent, last, t, lang, { compact: false }));
      const spark = this._sparkSection(agent, t, lang);
      if (spark) sections.push(spark);
    }
    if (!this._config.compact) {
      sections.push(this._backendsSection(t));
      sections.push(this._footer(agent, t));
    }
    parts.content.replaceChildren(...sections);
  }

  _wordsSection(last, t) {
    const line = (label, text, id) =>
      text ? h("p", { class: "said", id }, h("small", {}, label), t.quote(text)) : null;
    return h(
      "section",
      { id: "words" },
      line(t.you, last.text, "utterance"),
      line(t.answer, last.response, "response"),
    );
  }

  _routeSection(last, t, { compact, lang }) {
    const path = last.path
      ? h("span", { class: `chip path ${last.path}` }, t.paths[last.path] ?? humanize(last.path))
      : h("span", {}, "–");
    const route = h(
      "dd",
      { id: "route" },
      path,
      last.reason ? h("span", {}, t.reasons[last.reason] ?? humanize(last.reason)) : null,
      last.escalated ? h("span", { class: "chip warn" }, t.escalated) : null,
      last.fallback_from
        ? h("span", { class: "chip warn" }, t.fallbackFrom(t.paths[last.fallback_from] ?? last.fallback_from))
        : null,
    );
    const confidence =
      typeof last.confidence === "number" ? t.percent(Math.round(last.confidence * 100)) : null;
    const intent = h(
      "dd",
      { id: "intent", title: last.intent ?? "" },
      h("span", {}, last.intent ? (t.intents[last.intent] ?? humanize(last.intent)) : "–"),
      confidence ? h("span", { class: "confidence" }, confidence) : null,
    );
    const facts = [h("dt", {}, t.route), route, h("dt", {}, t.intent), intent];
    if (!compact) {
      const tools = last.tools?.length
        ? last.tools.map((tool) =>
            // "intent__HassTurnOn" -> "HassTurnOn"; the full name stays in the tooltip.
            h("span", { class: "chip", title: tool }, String(tool).split("__").pop()),
          )
        : [h("span", {}, t.noTools)];
      facts.push(
        h("dt", {}, t.source),
        h("dd", { id: "source" }, t.sources[last.source] ?? humanize(last.source ?? "–")),
        h("dt", {}, t.tools),
        h("dd", { id: "tools" }, tools),
      );
      if (last.audio && typeof last.audio.duration_ms === "number") {
        // How a voice turn was spoken: numbers only (the audio is never kept).
        const seconds = (last.audio.duration_ms / 1000).toFixed(1);
        const rate = Number(last.audio.speaking_rate ?? 0).toFixed(1);
        facts.push(h("dt", {}, t.speech), h("dd", { id: "speech" }, t.speechFacts(seconds, rate)));
      }
      if (last.error) {
        facts.push(h("dt", {}, t.error), h("dd", { id: "error", class: "error" }, humanize(last.error)));
      }
    }
    const at = last.at ? new Date(last.at) : null;
    const time =
      at && !Number.isNaN(at.getTime())
        ? at.toLocaleTimeString(lang ?? "en", { hour: "2-digit", minute: "2-digit", second: "2-digit" })
        : "";
    return h(
      "section",
      { id: "last" },
      compact ? null : h("h3", {}, t.lastTurn, h("span", {}, time)),
      h("dl", { class: "facts" }, facts),
    );
  }

  /**
   * Bars of the last turn's latencies on one shared scale, with the budget of
   * the path taken (fast 300 ms, think 2000 ms by default) marked on each
   * track. The path's own bar is green under budget, amber near it, red over.
   */
  _latencySection(agent, last, t, lang, { compact }) {
    const measured = last.latency_ms ?? {};
    const budgets = agent.budgets_ms ?? {};
    const pathKind = "think" in measured ? "think" : "fast";
    const budget = budgets[pathKind];
    const kinds = compact
      ? [pathKind, "end_to_end"].filter((kind) => kind in measured)
      : ["router", pathKind, "end_to_end"].filter((kind) => kind in measured);
    const values = kinds.map((kind) => measured[kind]).filter((v) => typeof v === "number");
    const scale = Math.max(budget ?? 0, ...values, 1) * 1.08; // a little room past the largest
    const rows = kinds.flatMap((kind) => {
      const value = measured[kind];
      const budgeted = kind === pathKind && typeof budget === "number";
      let level = "";
      if (budgeted) level = value > budget ? "over" : value > budget * 0.8 ? "near" : "";
      const track = h(
        "div",
        { class: "track" },
        h("div", {
          class: `fill ${budgeted ? "budgeted" : ""} ${level}`,
          style: { width: `${Math.min(100, (100 * value) / scale)}%` },
        }),
        typeof budget === "number"
          ? h("div", { class: "budget-mark", style: { left: `${(100 * budget) / scale}%` } })
          : null,
      );
      return [
        h("span", { class: "bar-label" }, t.latency[kind] ?? humanize(kind)),
        track,
        h("span", { class: `bar-value ${level}`, id: `latency-${kind}` }, formatMs(value, lang)),
      ];
    });
    return h(
      "section",
      { id: "latency" },
      compact ? null : h("h3", {}, t.latencyTitle),
      h("div", { class: "bars" }, rows),
      typeof budget === "number"
        ? h("div", { class: "legend" }, `▏${t.budget(t.paths[pathKind], formatMs(budget, lang))}`)
        : null,
    );
  }

  /** A sparkline of the recent end-to-end latencies (oldest first), with p50 and p95. */
  _sparkSection(agent, t, lang) {
    const history = agent.latency_ms?.end_to_end;
    const recent = (history?.recent ?? []).filter((v) => typeof v === "number");
    if (!recent.length) return null;
    const max = Math.max(...recent, 1);
    const points = (recent.length === 1 ? [recent[0], recent[0]] : recent).map((value, i, all) => {
      const x = (100 * i) / (all.length - 1);
      const y = 29 - (27 * value) / max; // 2 px headroom at the top of a 30-high box
      return [x.toFixed(2), y.toFixed(2)];
    });
    const line = points.map((p) => p.join(",")).join(" ");
    const area = `M0,30 L${points.map((p) => p.join(",")).join(" L")} L100,30 Z`;
    const chart = svg(
      "svg",
      { class: "spark", viewBox: "0 0 100 30", preserveAspectRatio: "none", "aria-hidden": "true" },
      svg("path", { d: area }),
      svg("polyline", { points: line, "vector-effect": "non-scaling-stroke" }),
    );
    const stats = `p50 ${formatMs(history.p50, lang)} · p95 ${formatMs(history.p95, lang)}`;
    return h(
      "section",
      { id: "sparkline" },
      h("h3", {}, t.recent, h("span", {}, stats)),
      chart,
    );
  }

  _backendsSection(t) {
    const names = { ollama: "Ollama", openai: "OpenAI" };
    const backends = Object.entries(this._picture?.backends ?? {}).map(([name, health]) => {
      const state = ["ok", "down"].includes(health?.state) ? health.state : "unknown";
      return h(
        "span",
        { class: "backend", id: `backend-${name}`, title: health?.last_error ? humanize(health.last_error) : "" },
        h("span", { class: `led ${state}` }),
        names[name] ?? humanize(name),
        h("small", {}, t.backendStates[state]),
      );
    });
    return h("section", { id: "backends" }, h("h3", {}, t.backends), h("div", { class: "backends" }, backends));
  }

  _footer(agent, t) {
    const share = Object.entries(agent.path_share ?? {})
      .filter(([path, value]) => typeof value === "number" && value > 0)
      .map(([path, value]) => {
        const name = t.paths[path] ?? (path === "escalated" ? t.escalated : humanize(path));
        return `${name.toLowerCase()} ${t.percent(Math.round(value))}`;
      });
    return h(
      "div",
      { class: "footer", id: "footer" },
      [t.turns(agent.turns ?? 0), t.errors(agent.errors ?? 0), ...share].join(" · "),
    );
  }
}

// --- the visual editor --------------------------------------------------------------------

const EDITOR_STYLE = `
  .form { display: grid; gap: 16px; padding: 8px 0; }
  label { display: grid; gap: 4px; color: var(--secondary-text-color); font-size: 0.9em; }
  select {
    font: inherit; font-size: 1rem; padding: 10px 8px; border-radius: 4px;
    color: var(--primary-text-color); background: var(--card-background-color, var(--primary-background-color));
    border: 1px solid var(--divider-color, rgba(127, 127, 127, 0.4));
  }
  label.toggle { display: flex; align-items: center; gap: 10px; color: var(--primary-text-color); font-size: 1rem; }
  input[type="checkbox"] { width: 18px; height: 18px; accent-color: var(--primary-color); }
`;

class AliceVoiceCardEditor extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._config = {};
    this._hass = undefined;
    this._key = "";
  }

  setConfig(config) {
    this._config = { ...config };
    this._render();
  }

  set hass(hass) {
    this._hass = hass;
    this._render();
  }

  get hass() {
    return this._hass;
  }

  _render() {
    const agents = aliceAgents(this._hass);
    const satellites = Object.keys(this._hass?.states ?? {})
      .filter((id) => id.startsWith("assist_satellite."))
      .sort();
    // Rebuilding on every hass update would close an open select: only when the choices change.
    const key = JSON.stringify([languageOf(this._hass), agents, satellites, this._config]);
    if (key === this._key) return;
    this._key = key;
    const t = STRINGS[languageOf(this._hass)];

    const select = (name, label, empty, ids) => {
      const current = this._config[name] ?? "";
      const choices = current && !ids.includes(current) ? [current, ...ids] : ids;
      const element = h(
        "select",
        { id: name, name },
        h("option", { value: "" }, empty),
        choices.map((id) =>
          h("option", { value: id, selected: id === current }, `${friendlyName(this._hass, id)} (${id})`),
        ),
      );
      element.addEventListener("change", () => this._changed(name, element.value || undefined));
      return h("label", {}, label, element);
    };
    const compact = h("input", { type: "checkbox", id: "compact", checked: Boolean(this._config.compact) });
    compact.addEventListener("change", () => this._changed("compact", compact.checked));

    this.shadowRoot.replaceChildren(
      h("style", {}, EDITOR_STYLE),
      h(
        "div",
        { class: "form" },
        select("agent", t.agent, t.firstAgent, agents),
        select("satellite", t.satellite, t.noSatellite, satellites),
        h("label", { class: "toggle" }, compact, t.compact),
      ),
    );
  }

  _changed(name, value) {
    const config = { ...this._config, [name]: value };
    if (value === undefined) delete config[name];
    this._config = config;
    this.dispatchEvent(new CustomEvent("config-changed", { detail: { config }, bubbles: true, composed: true }));
  }
}

// --- registration -------------------------------------------------------------------------

window.customCards = window.customCards || [];
if (!window.customCards.some((card) => card.type === CARD_TAG)) {
  window.customCards.push({
    type: CARD_TAG,
    name: "Alice Voice",
    description: "Alice's live status: route, intent, latency against the budgets and backend health.",
    preview: true,
    documentationURL: "https://github.com/alice-voice/alice_voice",
  });
}

// Define the elements only once Home Assistant's app is defined: the app replaces
// window.customElements with a scoped registry, and an element defined earlier
// would land in the native registry, where Lovelace never finds it ("Custom
// element doesn't exist"). The page may also load this module twice.
customElements.whenDefined("home-assistant").then(() => {
  for (const [tag, element] of [
    [CARD_TAG, AliceVoiceCard],
    [EDITOR_TAG, AliceVoiceCardEditor],
  ]) {
    if (!window.customElements.get(tag)) window.customElements.define(tag, element);
  }
});
