"""Builds the CDK app: stacks from context, with cdk-nag's AwsSolutions and Serverless packs attached."""

from __future__ import annotations

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from cdk.config import DeploymentConfig
from cdk.stacks.arbiter_stack import ArbiterStack


def build_app(app: App | None = None) -> tuple[App, ArbiterStack]:
    app = app or App()
    keys = DeploymentConfig.model_fields
    config = DeploymentConfig.from_context({k: app.node.try_get_context(k) for k in keys})
    stack = ArbiterStack(
        app,
        f"Arbiter-{config.env}",
        config=config,
        env=Environment(account=app.node.try_get_context("account"), region=app.node.try_get_context("region")),
        description=f"Arbiter serverless arbitrage ({config.env}, {config.mode})",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app, stack
