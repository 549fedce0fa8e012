"""Counterparts beyond the hospital's wall, one package each: interface + real client + sandbox."""
