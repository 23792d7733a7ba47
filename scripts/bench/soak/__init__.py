"""The soak benchmark's parts (scripts/soak.py): traffic, /proc sampling, the judgement and the report."""
