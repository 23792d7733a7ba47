"""The CustomLLM providers config.yaml names: mapped (any backend file), laas, image; their shared base."""
