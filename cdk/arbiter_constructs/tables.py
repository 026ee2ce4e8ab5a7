"""The DynamoDB tables, created from the layouts in ``arbiter.storage.schema``."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from arbiter.storage.schema import TABLES, TableSpec, table_name
from cdk.config import DeploymentConfig


class DataTables(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeploymentConfig) -> None:
        super().__init__(scope, construct_id)
        self.tables: dict[str, dynamodb.TableV2] = {spec.key: self._table(spec, config) for spec in TABLES}

    def _table(self, spec: TableSpec, config: DeploymentConfig) -> dynamodb.TableV2:
        return dynamodb.TableV2(
            self,
            "".join(part.capitalize() for part in spec.key.split("_")),
            table_name=table_name(config.resource_prefix, spec),
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=(
                dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING) if spec.sort_key else None
            ),
            global_secondary_indexes=[
                dynamodb.GlobalSecondaryIndexPropsV2(
                    index_name=index.name,
                    partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                    sort_key=dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING),
                    projection_type=dynamodb.ProjectionType.ALL,
                )
                for index in spec.indexes
            ]
            or None,
            # Only data meant to expire has a TTL: executions, orders and configuration are the audit record.
            time_to_live_attribute=spec.ttl_attribute,
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=config.is_prod,
            removal_policy=RemovalPolicy.RETAIN if config.is_prod else RemovalPolicy.DESTROY,
        )
