"""Route one or more utterances and print the decision and the time it took.

Usage::

    script/route "boka möte med anna imorgon"
    script/route --language en --context '{"previous_intent": "DEVICE_CONTROL"}' "and in the bedroom"
    script/route --explain "tänd lampan i köket"
    echo "vad är klockan" | script/route -
"""

import argparse
import json
from pathlib import Path
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.alice_voice.router import IntentRouter, RouterModel


def main(argv: list[str] | None = None) -> int:
    """Print the routing decision for each utterance."""
    parser = argparse.ArgumentParser(description="Try Alice's intent router.")
    parser.add_argument("text", nargs="+", help='utterances ("-" reads lines from stdin)')
    parser.add_argument("--language", help="sv or en (default: detected)")
    parser.add_argument("--context", help="context as JSON (previous_intent, now, time_zone)")
    parser.add_argument("--audio", help="audio_features as JSON (confidence, language)")
    parser.add_argument("--threshold", type=float, default=0.85, help="confidence threshold")
    parser.add_argument("--explain", action="store_true", help="show the strongest features")
    args = parser.parse_args(argv)
    try:
        context = json.loads(args.context) if args.context else None
        audio = json.loads(args.audio) if args.audio else None
    except json.JSONDecodeError as err:
        parser.error(f"--context/--audio must be JSON: {err}")
    started = time.perf_counter()
    model = RouterModel.load()
    load_ms = (time.perf_counter() - started) * 1000
    router = IntentRouter(model=model, confidence_threshold=args.threshold)
    router.route("värm upp")  # first call pays for lazy imports and caches
    texts = [line.strip() for line in sys.stdin] if args.text == ["-"] else args.text
    print(f"model loaded in {load_ms:.1f} ms")
    for text in texts:
        started = time.perf_counter()
        decision = router.route(text, language=args.language, audio_features=audio, context=context)
        took_ms = (time.perf_counter() - started) * 1000
        print(f"\n{text!r}  ({took_ms:.3f} ms)")
        print(json.dumps(decision.to_dict(), ensure_ascii=False, indent=2))
        if args.explain:
            for intent, features in router.explain(text).items():
                shown = ", ".join(f"{name} {weight:+.2f}" for name, weight in features)
                print(f"  {intent}: {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
