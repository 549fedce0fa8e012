"""Security building blocks: national cryptography, keys, encrypted fields, masking, passwords, envelopes."""
