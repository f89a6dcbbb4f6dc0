"""Contracts' business rules. No Flask here: views, the API and the demo call these."""
