"""Matching's business rules: runs, review, offers, approvals and the shortage report.

No Flask in here: arguments in, results or errors out. Callers own the transaction.
"""
