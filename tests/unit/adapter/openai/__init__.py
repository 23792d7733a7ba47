"""Unit tests of adapter.openai."""
