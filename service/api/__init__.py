"""HTTP API: the controllers of our own endpoints, their schemas and links."""
