"""Commissioning's business rules; no Flask in here."""
