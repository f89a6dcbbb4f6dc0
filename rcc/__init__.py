"""Core of the Regional Care Cooperative platform.

Kept free of imports on purpose: pure modules such as ``rcc.geography`` are used by
``matching.engine``, which must load without Flask or a database. The app factory
lives in ``rcc.app``.
"""
