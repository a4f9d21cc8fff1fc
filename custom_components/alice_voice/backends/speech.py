"""Streaming text to speech over OpenAI's REST audio API, sentence by sentence.

:class:`SpeechClient` turns text into raw PCM16 24 kHz mono audio with
``POST /v1/audio/speech`` (``response_format="pcm"``), streamed as it arrives:
:meth:`~SpeechClient.synthesize` speaks one text, :meth:`~SpeechClient.stream` speaks
text deltas as an LLM streams them. :func:`sentences` cuts the deltas into sentences
(Swedish and English abbreviations, decimals, times and ordinals do not end one), so that
the first sentence is spoken while the rest is still being written, and the request for
the next sentence is made while the current one plays. :func:`wav_header` wraps the PCM
for Home Assistant.

Failures raise :class:`SpeechError` subclasses with a stable ``code``; no message or log
line carries the API key. The module imports the ``openai`` SDK: import it lazily, once a
key is configured.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable
import contextlib
from dataclasses import dataclass
import logging
import re
import struct
import sys
from typing import Any, Final

import httpx2
import openai

__all__ = [
    "PCM_RATE",
    "SpeechAuthError",
    "SpeechClient",
    "SpeechConnectionError",
    "SpeechError",
    "SpeechSettings",
    "SpeechTimeoutError",
    "sentences",
    "wav_header",
]

_LOGGER: Final = logging.getLogger(__name__)

PCM_RATE: Final = 24_000
"""Sample rate of the audio :class:`SpeechClient` yields (PCM16 LE mono)."""

MAX_INPUT_CHARS: Final = 4096
"""The most characters ``/v1/audio/speech`` accepts in one request."""

MAX_IN_FLIGHT: Final = 2
"""Sentences :meth:`SpeechClient.stream` holds at once: the one playing and the next."""

_NO_INSTRUCTIONS: Final = ("tts-1", "tts-1-hd")  # ``instructions`` do not work with these


class SpeechError(Exception):
    """Base class for speech failures.

    Attributes:
        code: A stable key for the failure (``http_<status>``, ``rate_limited``, ``timeout``,
            ``connection``, ``unknown``).
    """

    def __init__(self, message: str, *, code: str) -> None:
        """Initialize the error."""
        super().__init__(message)
        self.code = code


class SpeechAuthError(SpeechError):
    """The API key was rejected (HTTP 401 or 403)."""


class SpeechConnectionError(SpeechError):
    """The API could not be reached, or the connection broke while the audio streamed."""


class SpeechTimeoutError(SpeechError):
    """No audio came in time (``first_byte_timeout``), or the stream stalled (``stall_timeout``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeechSettings:
    """How to speak.

    Attributes:
        model: ``gpt-4o-mini-tts``, ``tts-1`` or ``tts-1-hd``.
        voice: A built-in voice (``marin``, ``cedar``, ``alloy``, …).
        speed: 0.25 to 4.0.
        instructions: How to speak, e.g. ``"Speak Swedish with a natural Stockholm accent."``
            (``gpt-4o-mini-tts`` only; not sent to the ``tts-1`` models).
        first_byte_timeout: Seconds from the request to the first audio bytes.
        stall_timeout: Seconds allowed between two chunks of audio.
    """

    model: str = "gpt-4o-mini-tts"
    voice: str = "marin"
    speed: float = 1.0
    instructions: str | None = None
    first_byte_timeout: float = 10.0
    stall_timeout: float = 10.0


def wav_header(rate: int, channels: int = 1, width: int = 2, data_len: int = 0x7FFFFFFF) -> bytes:
    """Return a 44-byte PCM WAV header; the default length means "unknown, streaming".

    Args:
        rate: Sample rate in Hz (:data:`PCM_RATE` for :class:`SpeechClient` audio).
        channels: Channel count.
        width: Bytes per sample.
        data_len: Bytes of PCM that follow.
    """
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", min(36 + data_len, 0xFFFFFFFF), b"WAVE", b"fmt ", 16, 1, channels, rate),
        *(rate * channels * width, channels * width, width * 8, b"data", data_len),
    )


# --- sentences ---------------------------------------------------------------------------

_ABBREVIATIONS: Final = frozenset(
    {
        # Swedish
        *("t.ex", "bl.a", "ca", "kl", "nr", "dvs", "d.v.s", "s.k", "p.g.a", "fr.o.m", "t.o.m"),
        *("m.fl", "jfr", "tel", "inkl", "exkl", "f.d", "ang"),
        # English
        *("mr", "mrs", "dr", "prof", "e.g", "i.e", "vs", "approx"),
    }
)
_TERMINATORS: Final = ".!?…"
_CLOSERS: Final = "\"'”’»)]"
_OPENERS: Final = "\"'“‘«(["
_WORD: Final = re.compile(r"\w")


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the word before the ``.`` at ``dot`` is a known abbreviation (``t.ex``, ``kl``)."""
    start = dot
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:dot].lstrip(_OPENERS).casefold() in _ABBREVIATIONS


def _sentence_end(text: str, pos: int, *, final: bool) -> tuple[int | None, int]:
    """Find where the first sentence in ``text[pos:]`` ends.

    Returns:
        ``(end, resume)``: ``end`` is the index just after the sentence (its terminator and
        closing quotes), or ``None`` when none is certain yet; ``resume`` is where to look
        again once more text has arrived.
    """
    length = len(text)
    i = pos
    while i < length:
        char = text[i]
        if char == "\n":
            return i + 1, i + 1
        if char not in _TERMINATORS:
            i += 1
            continue
        start = i
        while i < length and text[i] in _TERMINATORS:
            i += 1
        while i < length and text[i] in _CLOSERS:
            i += 1
        if i == length:  # "…3." at the end: a decimal, a time or the end of the sentence?
            return (None, start) if not final else (None, length)
        if not text[i].isspace():  # 3.5, 14.30, t.ex, www.example.se
            continue
        run = text[start:i].rstrip(_CLOSERS)
        if "." not in run and "…" not in run:  # "!" and "?" end a sentence
            return i, i
        if run == "." and _is_abbreviation(text, start):
            continue
        following = i
        while following < length and text[following].isspace():
            if text[following] == "\n":  # a line ends here too
                return i, i
            following += 1
        if following == length:
            return (None, start) if not final else (i, i)
        if text[following].islower():  # "3. maj", "osv. och", "… och sen": the sentence goes on
            i = following
            continue
        return i, i
    return None, length


async def sentences(text_stream: AsyncIterable[str], *, min_chars: int = 20) -> AsyncGenerator[str]:
    """Cut streamed text into sentences, each yielded as soon as it is certain.

    Sentences end at ``.``, ``!``, ``?``, ``…`` (with any closing quotes) followed by
    whitespace, and at newlines; not after abbreviations (``t.ex.``, ``kl.``, ``Dr.``,
    ``e.g.``), inside numbers (``3.5``, ``3,5``, ``14.30``) or before a lowercase word
    (``3. maj``). A piece shorter than ``min_chars`` is joined to the next sentence; the
    rest is flushed at the end. Whitespace-only and punctuation-only pieces are skipped.

    Args:
        text_stream: Text deltas, split anywhere (mid-word included).
        min_chars: The shortest sentence yielded on its own (the last one excepted).
    """
    buffer = ""
    scan = 0  # where the search for the next sentence end resumes
    final = False
    stream = aiter(text_stream)
    while not final:
        try:
            buffer += await anext(stream)
        except StopAsyncIteration:
            final = True
        while (found := _sentence_end(buffer, scan, final=final))[0] is not None:
            end, scan = found
            sentence = buffer[:end].strip()
            if len(sentence) >= min_chars and _WORD.search(sentence):
                yield sentence
                buffer, scan = buffer[end:], 0
        scan = found[1]
    if (rest := buffer.strip()) and _WORD.search(rest):
        yield rest


def _split_long(text: str) -> list[str]:
    """Split ``text`` at whitespace into pieces the API accepts (≤ 4096 characters)."""
    pieces: list[str] = []
    while len(text) > MAX_INPUT_CHARS:
        cut = text.rfind(" ", 0, MAX_INPUT_CHARS + 1)
        cut = cut if cut > 0 else MAX_INPUT_CHARS
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    return [*pieces, text] if text else pieces


# --- the client ----------------------------------------------------------------------------


def _http_errors(name: str) -> tuple[type[BaseException], ...]:
    """The HTTP transport's error class ``name``, from ``httpx2`` and, if loaded, ``httpx``.

    The SDK does not wrap errors raised while a body streams. It uses ``httpx2``; a client
    built on Home Assistant's shared ``httpx`` client raises ``httpx`` errors instead.
    """
    modules = (httpx2, sys.modules.get("httpx"))
    return tuple(getattr(module, name) for module in modules if module is not None)


class SpeechClient:
    """Text to streamed PCM16 24 kHz speech with OpenAI's ``/v1/audio/speech``."""

    def __init__(self, client: openai.AsyncOpenAI, settings: SpeechSettings) -> None:
        """Initialize the client.

        Args:
            client: The ``AsyncOpenAI`` client (its retries apply to opening a request).
            settings: Model, voice and timeouts.
        """
        self._client = client
        self.settings = settings

    async def synthesize(self, text: str) -> AsyncGenerator[bytes]:
        """Speak ``text``: raw PCM16 LE mono 24 kHz chunks, yielded as they arrive.

        Text over 4096 characters is spoken in several requests, one after the other.

        Raises:
            SpeechAuthError: The key was rejected.
            SpeechConnectionError: The API was unreachable or the stream broke.
            SpeechTimeoutError: No audio within ``first_byte_timeout``, or a stall.
            SpeechError: Any other failure (``code`` says which).
        """
        for piece in _split_long(text.strip()):
            async with contextlib.aclosing(self._request(piece)) as chunks:
                async for chunk in chunks:
                    yield chunk

    async def stream(self, text_stream: AsyncIterable[str]) -> AsyncGenerator[bytes]:
        """Speak text deltas as they stream in: audio for each sentence, in order.

        Each sentence is requested as soon as it is complete (see :func:`sentences`), and
        the next one while the current one's audio is still streaming; at most two
        sentences are held at once. The text stream is read on regardless, so a slow
        listener never holds up the text's producer.

        Raises:
            SpeechError: As :meth:`synthesize`; also whatever ``text_stream`` raises.
        """
        texts: asyncio.Queue[str | None] = asyncio.Queue()
        order: asyncio.Queue[asyncio.Queue[bytes | BaseException | None] | None] = asyncio.Queue()
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        tasks: set[asyncio.Task[None]] = set()
        failure: list[BaseException] = []

        async def read() -> None:
            try:
                async for sentence in sentences(text_stream):
                    texts.put_nowait(sentence)
            except Exception as err:  # noqa: BLE001 - handed to the listener below
                failure.append(err)
            finally:
                texts.put_nowait(None)

        async def fetch(sentence: str, audio: asyncio.Queue[bytes | BaseException | None]) -> None:
            try:
                async with contextlib.aclosing(self.synthesize(sentence)) as chunks:
                    async for chunk in chunks:
                        audio.put_nowait(chunk)
            except Exception as err:  # noqa: BLE001 - handed to the listener in order
                audio.put_nowait(err)
            else:
                audio.put_nowait(None)

        async def start() -> None:
            while (sentence := await texts.get()) is not None:
                await slots.acquire()
                audio: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
                order.put_nowait(audio)
                tasks.add(asyncio.create_task(fetch(sentence, audio)))
            order.put_nowait(None)

        tasks.update((asyncio.create_task(read()), asyncio.create_task(start())))
        try:
            while (audio := await order.get()) is not None:
                while (item := await audio.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    yield item
                slots.release()
            if failure:
                raise failure[0]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _request(self, text: str) -> AsyncGenerator[bytes]:
        """Stream one ``/v1/audio/speech`` request's audio, with the timeouts applied."""
        settings = self.settings
        params: dict[str, Any] = {
            "model": settings.model,
            "voice": settings.voice,
            "input": text,
            "response_format": "pcm",
            "speed": settings.speed,
        }
        if settings.instructions and settings.model not in _NO_INSTRUCTIONS:
            params["instructions"] = settings.instructions
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + settings.first_byte_timeout  # for the answer and the first audio
        no_audio = f"No audio within {settings.first_byte_timeout:g} s"
        _LOGGER.debug("Speech request: %d characters, model %s", len(text), settings.model)
        size = 0
        async with contextlib.AsyncExitStack() as stack:
            try:
                async with asyncio.timeout_at(deadline):
                    response = await stack.enter_async_context(
                        self._client.audio.speech.with_streaming_response.create(**params)
                    )
            except TimeoutError:
                raise _timeout(no_audio) from None
            except openai.APIStatusError as err:  # its message is the server's: not chained
                raise self._map_error(err) from None
            except openai.OpenAIError as err:
                raise self._map_error(err) from err
            chunks = response.iter_bytes()
            broken: tuple[type[BaseException], ...] = (*_http_errors("RequestError"), OSError)
            if isinstance(chunks, AsyncGenerator):
                stack.push_async_callback(chunks.aclose)
            while True:
                try:
                    async with asyncio.timeout_at(
                        loop.time() + settings.stall_timeout if size else deadline
                    ):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    stalled = f"The audio stalled for {settings.stall_timeout:g} s"
                    raise _timeout(stalled if size else no_audio) from None
                except broken as err:
                    _LOGGER.debug("Speech stream broke after %d bytes: %r", size, type(err))
                    if isinstance(err, _http_errors("TimeoutException")):  # the SDK's timeout
                        raise _timeout(f"The audio stalled after {size} bytes") from err
                    raise SpeechConnectionError(
                        f"The speech stream broke after {size} bytes ({type(err).__name__})",
                        code="connection",
                    ) from err
                if not chunk:
                    continue
                if not size:
                    _LOGGER.debug("First speech audio after %.3f s", loop.time() - started)
                size += len(chunk)
                yield chunk
        _LOGGER.debug("Speech done: %d bytes in %.3f s", size, loop.time() - started)

    def _map_error(self, err: openai.OpenAIError) -> SpeechError:
        """Map an SDK error to a :class:`SpeechError`, without the server's message for auth."""
        _LOGGER.debug("Speech request failed: %s", type(err).__name__)
        if isinstance(err, openai.APITimeoutError):
            return SpeechTimeoutError("The speech request timed out", code="timeout")
        if isinstance(err, openai.APIConnectionError):
            return SpeechConnectionError("Could not reach the speech API", code="connection")
        if isinstance(err, openai.AuthenticationError | openai.PermissionDeniedError):
            return SpeechAuthError(
                f"The speech API rejected the API key (HTTP {err.status_code})",
                code=f"http_{err.status_code}",
            )
        if isinstance(err, openai.RateLimitError):
            return SpeechError("The speech API is rate limited (HTTP 429)", code="rate_limited")
        if isinstance(err, openai.APIStatusError):
            reason = err.body.get("message") if isinstance(err.body, dict) else None
            reason = reason if isinstance(reason, str) and err.status_code < 500 else None
            detail = f": {_redact(reason, self._client.api_key)}" if reason else ""
            return SpeechError(
                f"The speech API answered HTTP {err.status_code}{detail}",
                code=f"http_{err.status_code}",
            )
        return SpeechError(f"Speech failed ({type(err).__name__})", code="unknown")


_KEYLIKE: Final = re.compile(r"\b(sk|rk|pk)-[\w*-]+")


def _redact(message: str, key: str) -> str:
    """Remove the key and anything like one (OpenAI quotes a masked key) from a message."""
    if key:
        message = message.replace(key, "…")
    return _KEYLIKE.sub("sk-…", message)


def _timeout(message: str) -> SpeechTimeoutError:
    _LOGGER.debug("Speech timed out: %s", message)
    return SpeechTimeoutError(message, code="timeout")
