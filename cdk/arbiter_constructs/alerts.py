"""The alert topic: everything that puts money at risk is published here."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdk.arbiter_constructs.queues import dead_letter_queue
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
        self.dead_letters: sqs.Queue | None = None
        if config.alert_email:
            # An alert SNS could not deliver is kept (and its depth alarmed), not dropped. Chat and paging
            # subscribe the same way (README, "Alerts").
            self.dead_letters = dead_letter_queue(self, "UndeliveredAlerts", "alerts SNS could not deliver")
            self.topic.add_subscription(
                subscriptions.EmailSubscription(config.alert_email, dead_letter_queue=self.dead_letters)
            )
