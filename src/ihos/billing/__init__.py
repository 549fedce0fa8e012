"""Orders, payments, refunds and anomalies (FI-01…FI-03, PT-14, PT-19): the money of every module."""
