"""How the service runs: the HTTP server, worker processes, snapshot hot swaps, metrics and request logs."""
