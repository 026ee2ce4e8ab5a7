"""The alert topic: everything that puts money at risk is published here."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from cdk.config import DeploymentConfig


class Alerts(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "AlertKey",
            description="Encrypts Arbiter's alert topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
        # CloudWatch alarms publish to the encrypted topic, so they need the key too.
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal("cloudwatch.amazonaws.com"))
        self.topic = sns.Topic(
            self,
            "AlertTopic",
            display_name="Arbiter alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
