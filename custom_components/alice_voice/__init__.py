"""Alice Voice: a Swedish-first hybrid voice assistant for Home Assistant."""
