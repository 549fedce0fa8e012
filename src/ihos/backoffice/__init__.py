"""Back office configuration (AD-08): dictionaries, system rules, background-work failures, system clients."""
