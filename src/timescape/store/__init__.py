"""Storage: backends, state tables and SQL text handling."""
