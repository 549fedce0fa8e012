"""Schedules and the slot pool (SL-01…SL-07): templates, holidays, generated clinic sessions and slots."""
