"""Shared building blocks used by every domain: time, ids, money, pagination, schema base."""
