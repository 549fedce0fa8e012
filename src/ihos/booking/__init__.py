"""Booking from the unified slot pool (PT-08, PT-09, SL-08…SL-11): holds, payment, cancellation,
no-shows and the blacklist."""
