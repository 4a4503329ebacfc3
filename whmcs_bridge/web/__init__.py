"""Small pages the daemon serves to clients (no framework): one-time consent links."""
