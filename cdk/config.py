"""Deployment configuration from CDK context (``-c env=prod -c mode=live``).

Nothing is hard-coded per account."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError


class DeploymentConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    env: Literal["dev", "prod"] = "dev"
    mode: Literal["paper", "live"] = "paper"

    @property
    def is_prod(self) -> bool:
        return self.env == "prod"

    @property
    def resource_prefix(self) -> str:
        return f"arbiter-{self.env}"

    @classmethod
    def from_context(cls, context: dict[str, object]) -> DeploymentConfig:
        given = {k: v for k, v in context.items() if k in cls.model_fields and v is not None}
        try:
            return cls.model_validate(given)
        except ValidationError as error:
            problems = "; ".join(f"context '{e['loc'][0]}': {e['msg']}" for e in error.errors(include_input=False))
            raise ValueError(f"invalid deployment context: {problems}") from None
