"""Tests for the Home Assistant-free speech backend against the local OpenAI audio server."""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
import contextlib
import io
import logging
from typing import Any, Final, cast
import wave

import httpx
from openai import AsyncOpenAI
import pytest

from custom_components.alice_voice.backends.speech import (
    PCM_RATE,
    SpeechAuthError,
    SpeechClient,
    SpeechConnectionError,
    SpeechError,
    SpeechSettings,
    SpeechTimeoutError,
    sentences,
    wav_header,
)
from simulators.fixtures import sdk_client
from simulators.speech import Faults, SpeechTestServer, synthesize

SPEECH_LOGGER: Final = "custom_components.alice_voice.backends.speech"
FIRST: Final = "Hej! Lampan i köket är tänd nu."
SECOND: Final = "Musiken spelar i vardagsrummet."
THIRD: Final = "Säg till om du vill något mer."
FOURTH: Final = "Ha en riktigt trevlig kväll."


# Sentences requested together may reach the server in either order (each request has its
# own connection); the audio always comes out in the order of the text.


def audio(text: str) -> bytes:
    """The simulator's audio for ``text`` (60 ms a character)."""
    return synthesize(text, ms_per_char=60.0)


async def deltas(*pieces: str) -> AsyncIterator[str]:
    """Text deltas, as an LLM streams them."""
    for piece in pieces:
        yield piece


def split_every(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (mid-word included)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


async def split(text: str, size: int, *, min_chars: int = 20) -> list[str]:
    async with asyncio.timeout(5):
        return [s async for s in sentences(deltas(*split_every(text, size)), min_chars=min_chars)]


@pytest.fixture
async def server(socket_enabled: None) -> AsyncIterator[SpeechTestServer]:
    """A running OpenAI audio server without artificial latency."""
    async with SpeechTestServer() as srv:
        yield srv


@pytest.fixture
async def sdk(server: SpeechTestServer) -> AsyncIterator[AsyncOpenAI]:
    """An SDK client for the server."""
    async with sdk_client(server) as client:
        yield client


@pytest.fixture
def speech(sdk: AsyncOpenAI) -> SpeechClient:
    """A speech client with default settings."""
    return SpeechClient(sdk, SpeechSettings())


async def collect(stream: AsyncGenerator[bytes]) -> bytes:
    """Run a stream to its end (bounded against hangs)."""
    async with asyncio.timeout(10), contextlib.aclosing(stream):
        return b"".join([chunk async for chunk in stream])


# --- sentences ---------------------------------------------------------------------------------

SENTENCE_CASES: Final = [
    pytest.param(
        "Hej! Jag heter Alice och jag hjälper dig gärna. Vad vill du göra i dag?",
        0,
        ["Hej!", "Jag heter Alice och jag hjälper dig gärna.", "Vad vill du göra i dag?"],
        id="swedish",
    ),
    pytest.param(
        "Det kostar t.ex. 3.5 kronor eller 3,5 euro. Mötet börjar kl. 14.30 i morgon. Klart.",
        0,
        [
            "Det kostar t.ex. 3.5 kronor eller 3,5 euro.",
            "Mötet börjar kl. 14.30 i morgon.",
            "Klart.",
        ],
        id="abbreviations-decimals-times",
    ),
    pytest.param(
        "Vi ses den 3. maj. Det är bl.a. en fest, dvs. en s.k. kalas. Ta med ca. tio saker. "
        "Buss nr. 4 går dit.",
        0,
        [
            "Vi ses den 3. maj.",
            "Det är bl.a. en fest, dvs. en s.k. kalas.",
            "Ta med ca. tio saker.",
            "Buss nr. 4 går dit.",
        ],
        id="ordinals-and-more-abbreviations",
    ),
    pytest.param(
        "Mr. Smith met Dr. Jones, e.g. at noon. That is i.e. lunch! Really? Yes.",
        0,
        ["Mr. Smith met Dr. Jones, e.g. at noon.", "That is i.e. lunch!", "Really?", "Yes."],
        id="english",
    ),
    pytest.param(
        'Hon sa: "Det här är bra." Sedan (efter maten.) gick hon. Vänta… Okej.',
        0,
        ['Hon sa: "Det här är bra."', "Sedan (efter maten.) gick hon.", "Vänta…", "Okej."],
        id="quotes-and-ellipsis",
    ),
    pytest.param(
        "Först detta\nsedan det där\n\n   \n- en punkt\nSlut.\nliten bokstav. Sen.",
        0,
        ["Först detta", "sedan det där", "- en punkt", "Slut.", "liten bokstav.", "Sen."],
        id="newlines",
    ),
    pytest.param(
        "Version 2.0 av www.example.se finns. Ladda ner den... och installera. Nu!",
        0,
        ["Version 2.0 av www.example.se finns.", "Ladda ner den... och installera.", "Nu!"],
        id="dots-inside-words",
    ),
    pytest.param(
        "Ja. Okej! Det här är en lång mening som räcker. Nej. Kort.",
        20,
        ["Ja. Okej! Det här är en lång mening som räcker.", "Nej. Kort."],
        id="short-fragments-merge",
    ),
    pytest.param("Hej.", 20, ["Hej."], id="short-rest-flushed"),
    pytest.param("   \n\n  ", 0, [], id="whitespace-only"),
    pytest.param("... !! \n", 0, [], id="punctuation-only"),
    pytest.param("", 0, [], id="empty"),
]


@pytest.mark.parametrize(("text", "min_chars", "expected"), SENTENCE_CASES)
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
async def test_sentences(text: str, min_chars: int, expected: list[str], size: int) -> None:
    """The same sentences however the text is cut into deltas (mid-word included)."""
    assert await split(text, size, min_chars=min_chars) == expected


async def test_sentences_skips_empty_deltas() -> None:
    stream = deltas("", "Hej där", "", " du!", " ", "", "Hur mår du?", "")
    assert [s async for s in sentences(stream, min_chars=0)] == ["Hej där du!", "Hur mår du?"]


@pytest.mark.parametrize(
    ("pieces", "certain_after"),
    [
        # "!" ends a sentence once whitespace follows it.
        pytest.param(["Klart", "!", " ", "Sen"], 3, id="exclamation"),
        # "." needs the next word: "3." could begin "3. maj" or end the sentence.
        pytest.param(["Det blev 3", ".", " ", "Sen"], 4, id="period-waits-for-next-word"),
        pytest.param(["Klockan är kl", ".", " 14", " nu.", " Sen"], 5, id="abbreviation"),
        pytest.param(["Rad ett", "\n", "rad"], 2, id="newline"),
    ],
)
async def test_sentence_is_yielded_as_soon_as_it_is_certain(
    pieces: list[str], certain_after: int
) -> None:
    """The first sentence comes right after the delta that makes its end certain."""
    consumed = 0

    async def stream() -> AsyncIterator[str]:
        nonlocal consumed
        for piece in pieces:
            consumed += 1
            yield piece

    async with contextlib.aclosing(sentences(stream(), min_chars=0)) as found:
        await anext(found)
    assert consumed == certain_after


# --- wav header ----------------------------------------------------------------------------------


def test_wav_header_wraps_pcm() -> None:
    pcm = audio("Hej")
    header = wav_header(PCM_RATE, data_len=len(pcm))
    with wave.open(io.BytesIO(header + pcm)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24_000, 1, 2)
        assert wav.readframes(wav.getnframes()) == pcm


def test_streaming_wav_header() -> None:
    header = wav_header(16_000, channels=2)
    assert len(header) == 44
    assert header[:4] == b"RIFF"
    assert int.from_bytes(header[40:44], "little") == 0x7FFFFFFF  # length unknown
    assert int.from_bytes(header[28:32], "little") == 16_000 * 2 * 2  # bytes per second
    with wave.open(io.BytesIO(header + bytes(64))) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (16_000, 2)


# --- synthesize ----------------------------------------------------------------------------------


async def test_synthesize_streams_pcm(server: SpeechTestServer, speech: SpeechClient) -> None:
    server.per_char_s = 0.001
    chunks = [chunk async for chunk in speech.synthesize(f"  {FIRST} ")]

    assert b"".join(chunks) == audio(FIRST)
    assert len(chunks) > 1  # streamed, not one body
    [record] = server.speech_requests
    assert record.body == {
        "model": "gpt-4o-mini-tts",
        "voice": "marin",
        "input": FIRST,
        "response_format": "pcm",
        "speed": 1.0,
    }


@pytest.mark.parametrize(
    ("model", "sent"),
    [("gpt-4o-mini-tts", "Tala svenska med Stockholmsaccent."), ("tts-1", None)],
)
async def test_settings_are_sent(
    server: SpeechTestServer, sdk: AsyncOpenAI, model: str, sent: str | None
) -> None:
    settings = SpeechSettings(
        model=model,
        voice="cedar",
        speed=1.25,
        instructions="Tala svenska med Stockholmsaccent.",
    )
    await collect(SpeechClient(sdk, settings).synthesize("Hej"))
    body = server.speech_requests[0].body
    assert (body["model"], body["voice"], body["speed"]) == (model, "cedar", 1.25)
    assert body.get("instructions") == sent  # the tts-1 models take none


async def test_blank_text_makes_no_request(server: SpeechTestServer, speech: SpeechClient) -> None:
    assert await collect(speech.synthesize(" \n ")) == b""
    assert await collect(speech.stream(deltas(" ", "\n", ""))) == b""
    assert server.speech_requests == []


async def test_long_text_is_split_into_requests(
    server: SpeechTestServer, speech: SpeechClient
) -> None:
    words = " ".join(["ord"] * 1500)  # 5999 characters
    assert (
        len(await collect(speech.synthesize(words))) == len(audio(words)) - 2880
    )  # one space less
    assert [len(text) for text in server.speech_texts] == [4095, 1903]


# --- stream --------------------------------------------------------------------------------------


async def test_stream_speaks_sentences_in_order(
    server: SpeechTestServer, speech: SpeechClient
) -> None:
    text = f"{FIRST} {SECOND}\n{THIRD} {FOURTH}"
    result = await collect(speech.stream(deltas(*split_every(text, 3))))

    assert sorted(server.speech_texts) == sorted([FIRST, SECOND, THIRD, FOURTH])
    assert result == b"".join(audio(s) for s in (FIRST, SECOND, THIRD, FOURTH))


async def test_stream_starts_before_the_text_is_complete(
    server: SpeechTestServer, speech: SpeechClient
) -> None:
    """The first audio goes out before the last sentence was even written (or requested)."""
    first_audio = asyncio.Event()
    requested_when_first_audio: list[str] = []

    async def llm() -> AsyncIterator[str]:
        yield f"{FIRST} "
        yield f"{SECOND} "
        await first_audio.wait()  # the rest of the answer only comes once audio was heard
        yield THIRD

    chunks: list[bytes] = []
    async with asyncio.timeout(10), contextlib.aclosing(speech.stream(llm())) as stream:
        async for chunk in stream:
            if not first_audio.is_set():
                requested_when_first_audio.extend(server.speech_texts)
                first_audio.set()
            chunks.append(chunk)

    assert requested_when_first_audio == [FIRST]  # the third was not even written yet
    assert sorted(server.speech_texts) == sorted([FIRST, SECOND, THIRD])
    assert b"".join(chunks) == audio(FIRST) + audio(SECOND) + audio(THIRD)


async def test_stream_prefetches_one_sentence(
    server: SpeechTestServer, speech: SpeechClient
) -> None:
    """Sentence n+1 is requested while n plays; never more than two sentences at once."""
    async with (
        asyncio.timeout(10),
        contextlib.aclosing(speech.stream(deltas(f"{FIRST} {SECOND} {THIRD} {FOURTH}"))) as stream,
    ):
        first = await anext(stream)
        # Still on the first sentence: the second was requested and fully received...
        await server.wait_for(
            lambda: (
                len(server.speech_requests) == 2
                and all(r.finished is not None for r in server.speech_requests)
            )
        )
        await asyncio.sleep(0.05)  # ...but no third, however long the listener dawdles
        assert sorted(server.speech_texts) == sorted([FIRST, SECOND])
        rest = b"".join([chunk async for chunk in stream])

    assert first + rest == b"".join(audio(s) for s in (FIRST, SECOND, THIRD, FOURTH))
    assert sorted(server.speech_texts) == sorted([FIRST, SECOND, THIRD, FOURTH])


async def test_stream_keeps_order_when_a_later_sentence_is_faster(
    server: SpeechTestServer, speech: SpeechClient
) -> None:
    server.per_char_s = 0.002  # the long first sentence takes longer than the short second
    long_first = "Det här är en ganska lång mening som tar sin tid att syntetisera."
    result = await collect(speech.stream(deltas(f"{long_first} Kort mening, ja.")))

    by_text = {record.text: record for record in server.speech_requests}
    first, second = by_text[long_first], by_text["Kort mening, ja."]
    assert second.finished is not None
    assert first.finished is not None
    assert second.time < first.finished  # requested while the first still streamed
    assert result == audio(long_first) + audio("Kort mening, ja.")


async def test_closing_the_stream_stops_everything(speech: SpeechClient) -> None:
    text_closed = asyncio.Event()

    async def llm() -> AsyncIterator[str]:
        try:
            yield f"{FIRST} {SECOND} "
            await asyncio.Event().wait()  # the model never finishes
            yield THIRD
        finally:
            text_closed.set()

    stream = speech.stream(llm())
    async with asyncio.timeout(10):
        assert await anext(stream)
        await stream.aclose()
        await text_closed.wait()


async def test_text_stream_failure_is_raised_after_its_audio(speech: SpeechClient) -> None:
    """The sentences completed before the text stream failed are spoken, then it is raised."""

    async def llm() -> AsyncIterator[str]:
        yield f"{FIRST} {SECOND} Och sen"
        raise RuntimeError("model crashed")

    chunks: list[bytes] = []
    with pytest.raises(RuntimeError, match="model crashed"):
        await consume(speech.stream(llm()), chunks)
    assert b"".join(chunks) == audio(FIRST) + audio(SECOND)


async def consume(stream: AsyncGenerator[bytes], chunks: list[bytes]) -> None:
    """Run a stream, keeping the chunks received before any error."""
    async with asyncio.timeout(10), contextlib.aclosing(stream):
        async for chunk in stream:
            chunks.append(chunk)  # noqa: PERF401 - keep what came before an error


async def test_failed_sentence_is_raised_in_order(
    server: SpeechTestServer, speech: SpeechClient
) -> None:
    """The second sentence fails: the first is still heard whole, then the error comes."""

    first = "Nu är lampan i köket tänd!"  # "!" ends it at once; "." would wait for more

    async def llm() -> AsyncIterator[str]:
        yield f"{first} "
        await server.wait_for(lambda: len(server.speech_requests) == 1)
        server.speech_faults = Faults(status=500)
        yield f"{SECOND} {THIRD}"

    chunks: list[bytes] = []
    with pytest.raises(SpeechError) as caught:
        await consume(speech.stream(llm()), chunks)

    assert caught.value.code == "http_500"
    assert b"".join(chunks) == audio(first)


# --- errors --------------------------------------------------------------------------------------


async def failure(client: SpeechClient, text: str = FIRST) -> SpeechError:
    """The error ``synthesize`` raises."""
    with pytest.raises(SpeechError) as caught:
        await collect(client.synthesize(text))
    return caught.value


async def test_wrong_key(server: SpeechTestServer) -> None:
    async with AsyncOpenAI(
        api_key="sk-proj-wrong-0123456789abcdef", base_url=server.base_url, max_retries=0
    ) as sdk:
        error = await failure(SpeechClient(sdk, SpeechSettings()))
    assert isinstance(error, SpeechAuthError)
    assert error.code == "http_401"


@pytest.mark.parametrize(
    ("faults", "kind", "code"),
    [
        pytest.param(Faults(status=500), SpeechError, "http_500", id="server-error"),
        pytest.param(Faults(status=503), SpeechError, "http_503", id="unavailable"),
        pytest.param(Faults(status=429), SpeechError, "rate_limited", id="rate-limited"),
        pytest.param(Faults(drop_after_chunks=1), SpeechConnectionError, "connection", id="drop"),
    ],
)
async def test_server_faults(
    server: SpeechTestServer,
    speech: SpeechClient,
    faults: Faults,
    kind: type[SpeechError],
    code: str,
) -> None:
    server.speech_faults = faults
    error = await failure(speech)
    assert type(error) is kind
    assert error.code == code


async def test_bad_request_keeps_the_reason(sdk: AsyncOpenAI) -> None:
    error = await failure(SpeechClient(sdk, SpeechSettings(voice="bob")))
    assert error.code == "http_400"
    assert "'bob'" in str(error)


async def test_stall_times_out(server: SpeechTestServer, sdk: AsyncOpenAI) -> None:
    server.speech_faults = Faults(stall_after_chunks=1)
    chunks: list[bytes] = []
    client = SpeechClient(sdk, SpeechSettings(stall_timeout=0.2))
    with pytest.raises(SpeechTimeoutError) as caught:
        await consume(client.synthesize(FIRST), chunks)
    assert caught.value.code == "timeout"
    assert "stalled" in str(caught.value)
    assert len(b"".join(chunks)) == 8 * 2880  # the chunk before the stall was passed on


async def test_no_first_byte_times_out(server: SpeechTestServer, sdk: AsyncOpenAI) -> None:
    server.first_byte_s = 1.0
    error = await failure(SpeechClient(sdk, SpeechSettings(first_byte_timeout=0.1)))
    assert isinstance(error, SpeechTimeoutError)
    assert error.code == "timeout"


async def test_first_byte_timeout_covers_a_silent_body(
    server: SpeechTestServer, sdk: AsyncOpenAI
) -> None:
    """Headers came, audio did not: still the first-byte timeout, not the stall timeout."""
    server.speech_faults = Faults(stall_after_chunks=0)
    client = SpeechClient(sdk, SpeechSettings(first_byte_timeout=0.2, stall_timeout=30))
    error = await failure(client)
    assert isinstance(error, SpeechTimeoutError)
    assert "No audio" in str(error)


async def test_sdk_read_timeout_is_a_timeout(server: SpeechTestServer) -> None:
    """The client's own timeout, raised by the transport mid-body, is a timeout too."""
    server.speech_faults = Faults(stall_after_chunks=1)
    async with AsyncOpenAI(
        api_key=server.api_key, base_url=server.base_url, max_retries=0, timeout=0.2
    ) as sdk:
        error = await failure(SpeechClient(sdk, SpeechSettings(stall_timeout=30)))
    assert isinstance(error, SpeechTimeoutError)
    assert error.code == "timeout"


@pytest.mark.parametrize(
    ("faults", "kind"),
    [
        pytest.param(Faults(drop_after_chunks=1), SpeechConnectionError, id="drop"),
        pytest.param(Faults(status=401), SpeechAuthError, id="auth"),
    ],
)
async def test_home_assistant_httpx_client(
    server: SpeechTestServer, faults: Faults, kind: type[SpeechError]
) -> None:
    """Home Assistant passes its shared ``httpx`` client: its errors are mapped the same."""
    async with (
        httpx.AsyncClient() as http_client,
        AsyncOpenAI(
            api_key=server.api_key,
            base_url=server.base_url,
            max_retries=0,
            http_client=cast("Any", http_client),  # legacy httpx: supported at runtime only
        ) as sdk,
    ):
        client = SpeechClient(sdk, SpeechSettings())
        assert await collect(client.synthesize("Hej")) == audio("Hej")
        server.speech_faults = faults
        assert type(await failure(client)) is kind


async def test_unreachable_server(server: SpeechTestServer) -> None:
    url = server.base_url
    await server.stop()
    async with AsyncOpenAI(api_key="sk-test", base_url=url, max_retries=0) as sdk:
        error = await failure(SpeechClient(sdk, SpeechSettings()))
    assert isinstance(error, SpeechConnectionError)
    assert error.code == "connection"


def chain(error: BaseException) -> Sequence[BaseException]:
    """The error and the errors it was raised from (shown in tracebacks)."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return found


async def test_api_key_never_in_messages_or_logs(
    server: SpeechTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=SPEECH_LOGGER)
    wrong = "sk-proj-WrongKey0123456789abcdefABCDEF"
    errors: list[SpeechError] = []
    async with AsyncOpenAI(api_key=wrong, base_url=server.base_url, max_retries=0) as bad:
        errors.append(await failure(SpeechClient(bad, SpeechSettings())))
    async with AsyncOpenAI(api_key=server.api_key, base_url=server.base_url, max_retries=0) as sdk:
        # A 400 whose message quotes what was sent: here the key, as the voice.
        errors.append(await failure(SpeechClient(sdk, SpeechSettings(voice=server.api_key))))
        scenarios: list[Callable[[], None]] = [
            lambda: setattr(server, "speech_faults", Faults(status=500)),
            lambda: setattr(server, "speech_faults", Faults(status=429)),
            lambda: setattr(server, "speech_faults", Faults(drop_after_chunks=1)),
            lambda: setattr(server, "speech_faults", Faults(stall_after_chunks=1)),
        ]
        client = SpeechClient(sdk, SpeechSettings(stall_timeout=0.2))
        for scenario in scenarios:
            scenario()
            errors.append(await failure(client))

    assert [e.code for e in errors] == [
        "http_401",
        "http_400",
        "http_500",
        "rate_limited",
        "connection",
        "timeout",
    ]
    texts = [str(e) for error in errors for e in chain(error)]
    texts += [record.getMessage() for record in caplog.records]
    assert any("Speech request" in text for text in texts)  # the debug log was captured
    for key in (wrong, server.api_key):
        assert not [text for text in texts if key in text]
