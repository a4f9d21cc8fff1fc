"""Backend clients for Alice Voice.

Nothing in this package imports Home Assistant: the clients are plain asyncio
code around the official SDKs, fast to test and easy to reuse.
"""
