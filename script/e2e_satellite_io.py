"""The satellite's microphone, wake word, speaker and event hooks for ``script/e2e_satellite``.

Run by the satellite's own Python (``.e2e-satellite-venv``, any Python >= 3.9,
standard library only) as ``wyoming-satellite``'s ``--*-command`` programs:

``mic WAV TRIGGER``
    Raw 16 kHz 16-bit mono PCM on stdout, paced in real time (64 ms chunks):
    silence until the file TRIGGER exists, then 1 s of silence, the WAV's frames
    once, and silence forever.
``wake TRIGGER``
    Reads the satellite's audio from stdin; prints one detection (a line with the
    wake word's name) as soon as TRIGGER exists, once, then only reads.
``save FILE``
    Appends stdin to FILE (the speaker's audio, or the text of an event hook).
"""

import os
import sys
import time
import wave

CHUNK_BYTES = 2048  # 1024 samples of 16-bit audio: 64 ms at 16 kHz
RATE = 16000
LEAD_IN_S = 1.0


def mic(wav_path: str, trigger: str) -> None:
    """Stream silence, then the utterance once when triggered, paced in real time."""
    with wave.open(wav_path, "rb") as wav:
        if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) != (RATE, 2, 1):
            sys.exit(f"{wav_path}: expected 16 kHz 16-bit mono")
        speech = wav.readframes(wav.getnframes())
    silence = bytes(CHUNK_BYTES)
    pending = b""  # what is still to be said
    said = False
    out = sys.stdout.buffer
    next_at = time.monotonic()
    while True:
        if not said and os.path.exists(trigger):
            said = True
            pending = bytes(int(LEAD_IN_S * RATE) * 2) + speech
        if pending:
            chunk, pending = pending[:CHUNK_BYTES], pending[CHUNK_BYTES:]
            chunk = chunk.ljust(CHUNK_BYTES, b"\0")
        else:
            chunk = silence
        try:
            out.write(chunk)
            out.flush()
        except BrokenPipeError:
            return
        next_at += CHUNK_BYTES / 2 / RATE
        time.sleep(max(0.0, next_at - time.monotonic()))


def wake(trigger: str) -> None:
    """Detect the wake word once, when triggered (the audio itself is ignored)."""
    detected = False
    source = sys.stdin.buffer
    while source.read(CHUNK_BYTES):
        if not detected and os.path.exists(trigger):
            detected = True
            print("e2e_trigger", flush=True)


def save(path: str) -> None:
    """Append stdin to ``path`` as it arrives."""
    source = sys.stdin.buffer
    with open(path, "ab") as target:
        while data := source.read1(65536):
            target.write(data)
            target.flush()


def main() -> None:
    """Dispatch on the first argument."""
    command, *args = sys.argv[1:] or [""]
    try:
        if command == "mic" and len(args) == 2:
            mic(*args)
        elif command == "wake" and len(args) == 1:
            wake(*args)
        elif command == "save" and len(args) == 1:
            save(*args)
        else:
            sys.exit(f"usage: {sys.argv[0]} mic WAV TRIGGER | wake TRIGGER | save FILE")
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
