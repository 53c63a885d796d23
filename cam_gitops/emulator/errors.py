"""Errors the emulated service answers, named by the error shapes of botocore's model."""

from __future__ import annotations


class ServiceError(Exception):
    """An AWS error answer: ``code`` names the error shape, ``status`` overrides its HTTP status."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class NotFound(Exception):
    """A referenced resource does not exist (-> ResourceNotFoundException)."""

    def __init__(self, kind: str, arn: str) -> None:
        self.kind = kind
        self.arn = arn
        super().__init__(f"{kind} not found: {arn}")


def validation_error(message: str) -> ServiceError:
    """A ``ValidationException`` (400) with ``message``."""
    return ServiceError("ValidationException", message)
