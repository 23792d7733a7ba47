"""Unit tests of adapter.providers."""
