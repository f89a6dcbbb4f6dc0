"""Errors services raise; views and the API turn them into pages and responses."""

from __future__ import annotations


class ServiceError(Exception):
    """A business rule said no. The message is written for the person using the service."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class FieldError(ServiceError):
    """One input field is wrong; ``field`` names it so the page can point at it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class FieldErrors(ServiceError):
    """Several fields are wrong at once."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class NotFound(ServiceError):
    """Absent, or belonging to someone else: both look the same from outside."""

    def __init__(self, message: str = "Page not found"):
        super().__init__(message)


class Conflict(ServiceError):
    """The action is not allowed in the record's current state, or someone got there first."""
