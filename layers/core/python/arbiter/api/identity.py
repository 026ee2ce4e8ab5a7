"""Who calls: the identity API Gateway vouched for (an IAM principal, a Cognito user) and what it may do."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from arbiter.api.errors import ForbiddenError
from arbiter.models.common import ValueModel


class Role(StrEnum):
    READ_ONLY = "read_only"
    OPERATOR = "operator"


class Caller(ValueModel):
    principal: str = Field(min_length=1, max_length=512)
    """An IAM ARN, a Cognito user name, ``local``: recorded on every change it makes."""
    role: Role
    via: str = Field(min_length=1, max_length=32)
    """How the identity was established: ``iam``, ``cognito``, ``local``."""

    def require_operator(self, action: str) -> None:
        if self.role is not Role.OPERATOR:
            raise ForbiddenError(f"{action}: {self.principal} is {self.role.value}, an operator is needed")
