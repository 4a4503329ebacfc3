"""How events come in: webhook signing and verification, the receiver, the poller."""
