"""Unit tests of adapter.door."""
