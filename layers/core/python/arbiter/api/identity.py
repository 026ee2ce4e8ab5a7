"""Who calls: the identity API Gateway vouched for (an IAM principal, a Cognito user) and what it may do.

With IAM (SigV4, the default) the gateway has already checked the caller's IAM policy for the method: the stack's
read-only role may invoke GETs only, so an IAM caller that got through is taken as an operator of what it
invoked. With the Cognito authorizer the groups decide: ``OPERATOR_GROUP`` changes things, ``READ_ONLY_GROUP``
reads; a user in neither may do nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field

from arbiter.api.errors import ForbiddenError, UnauthenticatedError
from arbiter.models.common import ValueModel

OPERATOR_GROUP = "arbiter-operators"
READ_ONLY_GROUP = "arbiter-readers"


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


def _groups(value: Any) -> set[str]:
    """``cognito:groups`` arrives as a list, ``"a,b"`` or ``"[a b]"`` depending on the integration."""
    if isinstance(value, list | tuple):
        return {str(group) for group in value}
    if isinstance(value, str):
        return {group for group in re.split(r"[\s,]+", value.strip("[]")) if group}
    return set()


def caller_from_request_context(context: Mapping[str, Any]) -> Caller:
    """The caller of an API Gateway REST request, from its ``requestContext``."""
    authorizer = context.get("authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    if isinstance(claims, Mapping) and claims:
        user = claims.get("cognito:username") or claims.get("username") or claims.get("sub")
        if not user:
            raise UnauthenticatedError("the token names no user")
        groups = _groups(claims.get("cognito:groups"))
        if OPERATOR_GROUP in groups:
            return Caller(principal=str(user), role=Role.OPERATOR, via="cognito")
        if READ_ONLY_GROUP in groups:
            return Caller(principal=str(user), role=Role.READ_ONLY, via="cognito")
        raise ForbiddenError(f"{user} is in neither {OPERATOR_GROUP} nor {READ_ONLY_GROUP}")
    identity = context.get("identity") or {}
    arn = identity.get("userArn") if isinstance(identity, Mapping) else None
    if arn:
        return Caller(principal=str(arn), role=Role.OPERATOR, via="iam")
    raise UnauthenticatedError("no caller identity: the API accepts IAM-signed or Cognito-authorized requests")
