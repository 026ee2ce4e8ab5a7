"""What a use case refuses, by kind, so every caller (HTTP, CLI) answers it the same way: bad input names the
field, an unknown id is not found, a stale version is a conflict carrying the current one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    status = 500
    code = "error"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidRequestError(ApiError):
    status = 422
    code = "invalid_request"

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


class ConflictError(ApiError):
    status = 409
    code = "conflict"

    def __init__(self, message: str, current: Mapping[str, Any] | None = None) -> None:
        self.current = dict(current) if current is not None else None
        super().__init__(message)


class ForbiddenError(ApiError):
    status = 403
    code = "forbidden"


class UnauthenticatedError(ApiError):
    status = 401
    code = "unauthenticated"
