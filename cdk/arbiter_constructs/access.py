"""Which DynamoDB actions each function may take, on which tables and indexes: one table, FUNCTION_ACCESS, by the
function's folder under ``functions/``. A function added to the stack adds its row here (``grant_tables`` refuses
a folder without one). tests/integration/saga/test_saga_privileges.py records what each saga step and the
reconciler really call on moto and checks it against this table.

And one guard for every function of the stack, whatever else it is granted (``AuditTrailGuard``, an aspect): the
executions table's audit events are never deleted or changed through IAM. DynamoDB's IAM conditions see only the
partition key (``dynamodb:LeadingKeys``), and an event shares its partition (``EXEC#<id>``) with its execution's
header, head and claims, so:

- DeleteItem is denied on every partition but ``ACTIVE`` (the set of running executions);
- UpdateItem is denied on every partition but ``PNL#<day>`` (the daily P&L aggregates) and ``SLOTS`` (the count
  of running executions);
- batch writes, PartiQL writes and table-level changes (delete, TTL, backups, resource policy) are denied.

What IAM cannot tell apart is a PutItem that creates an event from one that overwrites it: the journal writes
every event with ``attribute_not_exists(sk)``, the hash chain (``verify``) shows any event replaced afterwards, and
point-in-time recovery keeps 35 days of the table's earlier states.
"""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import IAspect, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import IConstruct

GET, QUERY, PUT, UPDATE, DELETE, CHECK = (
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)


@dataclass(frozen=True)
class TableAccess:
    actions: tuple[str, ...]
    indexes: tuple[str, ...] = ()
    """Global secondary indexes the function queries (Query only)."""


POWERTOOLS_IDEMPOTENCY = TableAccess((GET, PUT, UPDATE, DELETE))
"""Powertools' idempotency records: put in progress, updated when done, deleted when the step failed, read when
another delivery holds one."""
VENUES = TableAccess((GET, PUT))
"""Venue state every step that calls a venue shares: circuit breakers and rate buckets (versioned puts) and, in
paper mode, the paper venue's account and orders (conditional transactions of puts)."""
JOURNAL_ORDERS = TableAccess((GET, PUT, CHECK))
"""Orders by clientOrderId, recorded as the venues report them (a put when changed, a condition check when not)."""

FUNCTION_ACCESS: dict[str, dict[str, TableAccess]] = {
    # Creates the execution (header, first events), reads limits, kill switch, pause and locks (a query) and the
    # running set, takes a slot.
    "saga_prepare": {
        "executions": TableAccess((GET, QUERY, PUT, UPDATE, DELETE)),
        "configuration": TableAccess((GET, QUERY)),
        "venue_state": VENUES,
        "idempotency": POWERTOOLS_IDEMPOTENCY,
    },
    # Claims each intent, sends, records the order.
    "saga_place_legs": {
        "executions": TableAccess((GET, PUT)),
        "orders": JOURNAL_ORDERS,
        "venue_state": VENUES,
        "idempotency": POWERTOOLS_IDEMPOTENCY,
    },
    "saga_poll_fills": {"executions": TableAccess((GET, PUT)), "orders": JOURNAL_ORDERS, "venue_state": VENUES},
    # Books the P&L (the daily aggregate is an update) and ends the execution (leaves the running set).
    "saga_settle": {
        "executions": TableAccess((GET, PUT, UPDATE, DELETE)),
        "orders": JOURNAL_ORDERS,
        "venue_state": VENUES,
    },
    # Takes a slot again when it compensates a settled execution.
    "saga_compensate": {
        "executions": TableAccess((GET, QUERY, PUT, UPDATE)),
        "orders": JOURNAL_ORDERS,
        "venue_state": VENUES,
        "idempotency": POWERTOOLS_IDEMPOTENCY,
    },
    # Also reads the risk limits (configuration) for the daily-loss metric of an ended execution.
    "saga_reconcile": {
        "executions": TableAccess((GET, QUERY, PUT, UPDATE, DELETE)),
        "configuration": TableAccess((GET,)),
        "orders": JOURNAL_ORDERS,
        "venue_state": VENUES,
    },
    # Records the incident, books the position, engages the kill switch.
    "saga_incident": {
        "executions": TableAccess((GET, QUERY, PUT, UPDATE, DELETE)),
        "orders": JOURNAL_ORDERS,
        "configuration": TableAccess((GET, PUT)),
        "venue_state": VENUES,
        "idempotency": POWERTOOLS_IDEMPOTENCY,
    },
    # Finds recently ended executions by day, re-reads their orders, corrects P&L, records incidents, engages
    # the kill switch; keeps each venue's verified balances (and forgets them).
    "reconciler": {
        "executions": TableAccess((GET, QUERY, PUT, UPDATE), indexes=("by_day",)),
        "orders": JOURNAL_ORDERS,
        "configuration": TableAccess((GET, PUT)),
        "venue_state": TableAccess((GET, PUT, DELETE)),
    },
    # Reads running executions and today's P&L, the kill switch and limits (the risk engine may engage the switch),
    # takes and gives up its shard's lease (venue state), persists each opportunity with its features; reads the
    # orders of recently ended executions (each venue's recent rejections and partial fills are features).
    "scanner": {
        "executions": TableAccess((GET, QUERY), indexes=("by_day",)),
        "orders": TableAccess((GET,)),
        "configuration": TableAccess((GET, PUT)),
        "venue_state": TableAccess((GET, PUT, DELETE)),
        "opportunities": TableAccess((PUT,)),
    },
    # The retraining's export: ended executions by day (and each one's P&L), the features stored with each
    # opportunity. The evaluation and the promotion touch no table (the model bucket and the SSM parameter).
    "retrain_export": {
        "executions": TableAccess((GET, QUERY), indexes=("by_day",)),
        "opportunities": TableAccess((GET,)),
    },
    "retrain_evaluate": {},
    "retrain_promote": {},
    # Lists executions, incidents and P&L (by day), reads an execution's trail and orders; changes the kill
    # switch, pause, locks, limits and strategies (configuration), and resolves incidents (an audit event and a
    # status change on the execution); reads verified balances and breakers (venue state) and opportunities.
    "api": {
        "executions": TableAccess((GET, QUERY, PUT, UPDATE, DELETE, CHECK), indexes=("by_day",)),
        "configuration": TableAccess((GET, QUERY, PUT, DELETE, CHECK)),
        "orders": TableAccess((GET,)),
        "venue_state": TableAccess((GET, QUERY)),
        "opportunities": TableAccess((GET, QUERY)),
    },
}

AUDITED_TABLE = "executions"
ONLY_ON_PARTITIONS = {DELETE: ("ACTIVE",), UPDATE: ("PNL#*", "SLOTS")}
"""On the executions table: these actions only on partitions matching these patterns (``dynamodb:LeadingKeys``)."""
NEVER_ON_AUDITED_TABLE = (
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:DeleteBackup",
    "dynamodb:PutResourcePolicy",
    "dynamodb:DeleteResourcePolicy",
)


def grant_tables(function: lambda_.Function, folder: str, tables: dict[str, dynamodb.TableV2]) -> None:
    """``FUNCTION_ACCESS[folder]`` as one statement per table, and one of Query alone for its indexes."""
    try:
        access = FUNCTION_ACCESS[folder]
    except KeyError:
        raise KeyError(f"functions/{folder}: no row in FUNCTION_ACCESS (cdk/arbiter_constructs/access.py)") from None
    for key, table_access in access.items():
        table = tables[key]
        function.add_to_role_policy(
            iam.PolicyStatement(actions=list(table_access.actions), resources=[table.table_arn])
        )
        if table_access.indexes:
            indexes = [f"{table.table_arn}/index/{index}" for index in table_access.indexes]
            function.add_to_role_policy(iam.PolicyStatement(actions=[QUERY], resources=indexes))


def audit_guard_statements(executions: dynamodb.TableV2) -> list[iam.PolicyStatement]:
    arn = executions.table_arn
    statements = [
        iam.PolicyStatement(
            effect=iam.Effect.DENY,
            actions=[action],
            resources=[arn],
            conditions={"ForAnyValue:StringNotLike": {"dynamodb:LeadingKeys": list(patterns)}},
        )
        for action, patterns in ONLY_ON_PARTITIONS.items()
    ]
    statements.append(
        iam.PolicyStatement(effect=iam.Effect.DENY, actions=list(NEVER_ON_AUDITED_TABLE), resources=[arn])
    )
    return statements


@jsii.implements(IAspect)
class AuditTrailGuard:
    """Adds the audit guard's deny statements to the role of every Lambda function in the stack, those added
    later by other constructs included."""

    def __init__(self, executions: dynamodb.TableV2) -> None:
        self.executions = executions

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, lambda_.Function) and Stack.of(node) is Stack.of(self.executions):
            for statement in audit_guard_statements(self.executions):
                node.add_to_role_policy(statement)
