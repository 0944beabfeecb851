"""Engine internals: definitions, machines, guards and the Engine service."""
