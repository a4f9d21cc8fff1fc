"""Protocol-faithful local servers that stand in for Ollama and OpenAI Realtime.

They bind 127.0.0.1 on a free port, follow the wire protocols exactly, and
record every request so that tests can assert on what Alice sent. The
benchmarks and the dev instance reuse them as simulated backends.
"""
