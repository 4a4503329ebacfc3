"""SQLite state: inbox, outbox, per-family state, poll cursors and the audit chain."""
