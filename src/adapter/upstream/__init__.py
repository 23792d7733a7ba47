"""The way out to the backends: the only HTTP client, and the one table from backend outcomes to statuses."""
