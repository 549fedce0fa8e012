"""The operation log: record every state change and unmasking; seal it into an SM3 hash chain; verify."""
