"""Custom integrations (this package exists so that pytest can import them)."""
