"""Backends described in YAML files (src/backends/<name>.yaml), no Python: load, validate, apply."""
