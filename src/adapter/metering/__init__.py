"""Metering: a usage line per model call (usage_log), Lago billing events (lago), the summary CLI."""
