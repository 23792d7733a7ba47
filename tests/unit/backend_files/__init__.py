"""Unit tests of the shipped backend files, src/backends/*.yaml."""
