"""Messages that belong to no family: the executor's own (the circuit breaker's ticket to staff)."""
