"""A Wyoming satellite peer on 127.0.0.1, as Home Assistant's wyoming integration meets it.

Home Assistant is the TCP client; the satellite is the server. It answers
``describe`` on any connection (HA re-describes every 30 s on a new one),
answers ``ping`` with ``pong``, and treats the connection that sends
``run-satellite`` as its controller. :meth:`SatelliteTestServer.speak` then
plays a voice turn as a real satellite in local-wake mode does: ``run-pipeline``
from ASR to TTS, the utterance as 16 kHz chunks of 2048 bytes (real-time paced
when asked), ``audio-stop``; it records every event Home Assistant sends and
answers ``played`` after the TTS audio's ``audio-stop``. Faults: drop the
connection mid-utterance, never send ``played``, send garbage.
"""

from array import array
import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import sys
import time
from typing import Final, Self

from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, Satellite
from wyoming.ping import Ping, Pong
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import RunSatellite
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.snd import Played

RATE: Final = 16_000
CHUNK_BYTES: Final = 2048  # 64 ms at 16 kHz, 16-bit mono, as wyoming-satellite sends
AUDIBLE: Final = 500  # |sample| of 16-bit audio above which Heard.first_audible_at is taken


def audible(pcm: bytes) -> bool:
    """Whether 16-bit LE ``pcm`` holds a sample louder than :data:`AUDIBLE`."""
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder != "little":
        samples.byteswap()
    return bool(samples) and (max(samples) > AUDIBLE or min(samples) < -AUDIBLE)


@dataclass(slots=True)
class Heard:
    """What the satellite received from Home Assistant during one turn."""

    events: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, type)
    transcript: str | None = None
    synthesize: str | None = None
    audio: bytearray = field(default_factory=bytearray)
    audio_rate: int | None = None
    first_audio_at: float | None = None
    first_audible_at: float | None = None  # the first chunk with a sample above AUDIBLE
    errors: list[str] = field(default_factory=list)
    played: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # played, or an error

    @property
    def types(self) -> list[str]:
        """The event types, in order."""
        return [name for _, name in self.events]


class _Handler(AsyncEventHandler):
    def __init__(self, server: SatelliteTestServer, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.server = server

    async def handle_event(self, event: Event) -> bool:
        return await self.server.handle(self, event)


class SatelliteTestServer:
    """A scripted Wyoming satellite; ``speak`` plays one voice turn."""

    def __init__(self, name: str = "Köket", *, area: str | None = None) -> None:
        """Configure; call :meth:`start` to listen."""
        self.name = name
        self.area = area
        self.connections = 0
        self.send_played = True
        self.heard = Heard()
        self._controller: _Handler | None = None
        self._controlled = asyncio.Event()
        self._server: AsyncTcpServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None
        server = self._server._server
        assert isinstance(server, asyncio.Server)
        return int(server.sockets[0].getsockname()[1])

    def info(self) -> Info:
        """What ``describe`` answers."""
        return Info(
            satellite=Satellite(
                name=self.name,
                attribution=Attribution(name="Alice Voice tests", url=""),
                installed=True,
                description="A test satellite",
                version="1.0.0",
                area=self.area,
            )
        )

    async def start(self) -> None:
        """Listen on 127.0.0.1, any free port."""
        self._server = AsyncTcpServer("127.0.0.1", 0)
        await self._server.start(lambda *args: _Handler(self, *args))

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            with contextlib.suppress(ConnectionError, OSError):
                await self._server.stop()
            self._server = None

    async def __aenter__(self) -> Self:
        """Start."""
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop."""
        await self.stop()

    async def wait_controlled(self, within: float = 10.0) -> None:
        """Wait until Home Assistant sent ``run-satellite``."""
        async with asyncio.timeout(within):
            await self._controlled.wait()

    async def handle(self, handler: _Handler, event: Event) -> bool:
        """One event from Home Assistant."""
        if Describe.is_type(event.type):
            self.connections += 1
            await handler.write_event(self.info().event())
            return True
        if Ping.is_type(event.type):
            await handler.write_event(Pong(text=Ping.from_event(event).text).event())
            return True
        if RunSatellite.is_type(event.type):
            self._controller = handler
            self._controlled.set()
            return True
        heard = self.heard
        heard.events.append((time.monotonic(), event.type))
        if event.type == "transcript":
            heard.transcript = str((event.data or {}).get("text", ""))
        elif event.type == "synthesize":
            heard.synthesize = str((event.data or {}).get("text", ""))
        elif event.type == "error":
            heard.errors.append(str((event.data or {}).get("text", "")))
            heard.ended.set()
        elif AudioStart.is_type(event.type):
            heard.audio_rate = AudioStart.from_event(event).rate
        elif AudioChunk.is_type(event.type):
            if heard.first_audio_at is None:
                heard.first_audio_at = time.monotonic()
            chunk = AudioChunk.from_event(event).audio
            if heard.first_audible_at is None and audible(chunk):
                heard.first_audible_at = time.monotonic()
            heard.audio.extend(chunk)
        elif AudioStop.is_type(event.type) and self.send_played:
            await handler.write_event(Played().event())
            heard.played.set()
            heard.ended.set()
        return True

    async def speak(
        self,
        pcm: bytes,
        *,
        realtime: bool = False,
        trailing_silence_ms: int = 600,
        drop_after_ms: int | None = None,
        on_end_of_speech: Callable[[], None] | None = None,
        rate: int = RATE,
        width: int = 2,
    ) -> Heard:
        """Play one turn: ``run-pipeline`` (asr → tts), the audio, ``audio-stop``.

        ``pcm`` is 16 kHz 16-bit mono. ``trailing_silence_ms`` of silence follow it,
        as a microphone keeps streaming after the user stops talking.
        ``drop_after_ms`` closes the connection after that much audio.
        ``on_end_of_speech`` is called when the last chunk of speech was sent.
        ``rate`` and ``width`` send the audio converted to another format than the
        pipeline's 16 kHz, 16-bit (Home Assistant converts it back).
        """
        controller = self._controller
        assert controller is not None, "Home Assistant has not sent run-satellite"
        self.heard = Heard()
        await controller.write_event(
            RunPipeline(start_stage=PipelineStage.ASR, end_stage=PipelineStage.TTS).event()
        )
        await controller.write_event(AudioStart(rate=rate, width=width, channels=1).event())
        audio = pcm + bytes(RATE * 2 * trailing_silence_ms // 1000)
        if (rate, width) != (RATE, 2):
            converter = AudioChunkConverter(rate=rate, width=width, channels=1)
            audio = converter.convert(AudioChunk(RATE, 2, 1, audio)).audio
        sent_ms = 0.0
        began = time.monotonic()
        speech_ms = len(pcm) / 32  # 16 kHz, 16-bit
        for start in range(0, len(audio), CHUNK_BYTES):
            chunk = audio[start : start + CHUNK_BYTES]
            await controller.write_event(
                AudioChunk(rate=rate, width=width, channels=1, audio=chunk).event()
            )
            before = sent_ms
            sent_ms += len(chunk) * 1000 / (rate * width)
            if on_end_of_speech is not None and before < speech_ms <= sent_ms:
                on_end_of_speech()
            if drop_after_ms is not None and sent_ms >= drop_after_ms:
                await controller.disconnect()
                return self.heard
            if realtime:
                await asyncio.sleep(max(0.0, began + sent_ms / 1000 - time.monotonic()))
            else:
                await asyncio.sleep(0)
        await controller.write_event(AudioStop().event())
        return self.heard
