"""Backends described in YAML files (src/backends/<name>.yaml): JMESPath from the request document to the body sent and from the answer back."""
