"""The scenarios; importing this package registers them (see :func:`bench.harness.scenario`).

To add one, write a module with a function decorated with ``@scenario(...)`` and
import it here.
"""

from . import cloud, fast_local, hud, load, router, think, voice

__all__ = ["cloud", "fast_local", "hud", "load", "router", "think", "voice"]
