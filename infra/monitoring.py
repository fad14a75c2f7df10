"""What operators watch in AWS: one CloudWatch dashboard and the alarms that page them.

Alarms go to the notifications topic (the same one that carries case outcomes to chat and SMS subscribers):
a failed execution of any workflow, anything in a dead-letter queue (a rejected or undeliverable event waits
there), approvals still pending after their reminder, and any in-place change of the audit trail. An execution fails only on a technical fault: a case a
business decision stops (blocked, rejected, nothing to bill) ends SUCCEEDED with its outcome, which the outcome
event and its notice already announce, so business rejections never page anyone. The dashboard puts the business metrics the handlers emit
(embedded metric format, namespace ``Backoffice``) beside the Step Functions and queue metrics.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.naming import pascal

NAMESPACE = "Backoffice"
PERIOD = Duration.minutes(5)
SANCTIONS_LIST_MAX_AGE_DAYS = 8


def _business(
    name: str, statistic: str = "Sum", *, period: Duration = PERIOD, **dimensions: str
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        statistic=statistic,
        period=period,
        dimensions_map=dimensions or None,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machines: Mapping[str, sfn.IStateMachine],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        notifications: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._alarm_action = actions.SnsAction(notifications)
        self.alarms: list[cloudwatch.Alarm] = []

        for name, machine in state_machines.items():
            # ExecutionsFailed only: business outcomes succeed, so this counts technical faults (TechnicalFault).
            self._page_on(
                machine.metric_failed(period=PERIOD, statistic="Sum"),
                f"{pascal(name)}ExecutionsFailed",
                f"A {name} execution failed on a technical fault (error TechnicalFault: a step's error, "
                "timeout or outage after its retries); its blocked outcome event gives the reason. Business "
                "outcomes (blocked, rejected) end SUCCEEDED and do not alarm",
            )

        for name, queue in dead_letter_queues.items():
            self._page_on(
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                f"{pascal(name)}NotEmpty",
                f"Messages wait in {name}: rejected or undeliverable events need an operator",
            )

        self._page_on(
            _business("ApprovalsOverdue", "Maximum", workflow="all"),
            "ApprovalsOverdue",
            "Approvals still pending after their reminder: chase the approvers or reassign",
        )

        # The anchor function counts every in-place change of the append-only audit table (MODIFY, REMOVE, a
        # second record over an anchored one): each is tampering, so the first one pages.
        self._page_on(
            _business("AuditTamperingDetected", workflow="audit"),
            "AuditTampered",
            "The append-only audit trail was changed in place (a record modified, deleted or written over an "
            "anchored one). Run `backoffice audit verify` and read the anchor_audit log for the case and record.",
        )

        # The daily sanctions list refresh (functions/refresh_sanctions_list): a fetched list it refused (does not
        # read, or shrank by more than the policy allows) pages at once; the previous list is still in use.
        self._page_on(
            _business("SanctionsListRefused", workflow="sanctions_list"),
            "SanctionsListRefused",
            "The daily refresh refused the sanctions list it fetched (see the sanctions-list case in `backoffice "
            "audit show` for why); vendors are still screened against the previous list",
        )
        self._page_on_stale_sanctions_list()

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Executions by workflow",
                left=[
                    metric
                    for machine in state_machines.values()
                    for metric in (
                        machine.metric_started(period=PERIOD),
                        machine.metric_succeeded(period=PERIOD),
                        machine.metric_failed(period=PERIOD),
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Cases started, duplicates and rejected events",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SUM(SEARCH('{{{NAMESPACE},workflow}} MetricName=\"{name}\"', 'Sum', 300))",
                        label=name,
                        period=PERIOD,
                    )
                    for name in ("CasesStarted", "DuplicateEvents", "RejectedEvents")
                ],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Outcomes and exceptions by rule",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{NAMESPACE},workflow,outcome}} MetricName=\"CaseOutcomes\"', 'Sum', 300)",
                        label="",
                        period=PERIOD,
                    ),
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{NAMESPACE},workflow,rule}} MetricName=\"CaseExceptions\"', 'Sum', 300)",
                        label="",
                        period=PERIOD,
                    ),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Approval turnaround (seconds, p50 and p90) and overdue approvals",
                left=[
                    cloudwatch.MathExpression(
                        expression=(
                            f"SEARCH('{{{NAMESPACE},workflow,step}} MetricName=\"ApprovalTurnaround\"', 'p50', 3600)"
                        ),
                        label="",
                        period=Duration.hours(1),
                    ),
                    cloudwatch.MathExpression(
                        expression=(
                            f"SEARCH('{{{NAMESPACE},workflow,step}} MetricName=\"ApprovalTurnaround\"', 'p90', 3600)"
                        ),
                        label="",
                        period=Duration.hours(1),
                    ),
                ],
                right=[_business("ApprovalsOverdue", "Maximum", workflow="all")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Documents read and needing review",
                left=[
                    _business("DocumentsRead", workflow="vendor_approval"),
                    _business("DocumentsNeedingReview", workflow="vendor_approval"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues",
                left=[
                    queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")
                    for queue in dead_letter_queues.values()
                ],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24),
        )
        # The management numbers the weekly process report publishes (reports/process_report.MANAGEMENT_METRICS;
        # definitions in docs/metrics.md): one point a week, so the trend reads over months.
        weekly = Duration.days(7)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Management numbers (%, weekly): utilization, realization, billing accuracy, orchestrated",
                left=[
                    _business(name, "Maximum", period=weekly, workflow="process_report")
                    for name in (
                        "UtilizationPercent",
                        "RealizationPercent",
                        "BillingAccuracyPercent",
                        "OrchestratedSharePercent",
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="DSO (days, count-back) and WIP (reporting currency), weekly",
                left=[_business("DaysSalesOutstanding", "Maximum", period=weekly, workflow="process_report")],
                right=[_business("WorkInProgressBase", "Maximum", period=weekly, workflow="process_report")],
                width=12,
            ),
        )

    def _page_on_stale_sanctions_list(self) -> None:
        """Pages on the first daily run that finds the list screened against older than
        ``SANCTIONS_LIST_MAX_AGE_DAYS`` (the refresh reports the age of the list in use on every run, refused or
        not), or on a day no refresh reported (missing data breaches: a refresh that stopped running is the way a
        list goes stale unnoticed)."""
        alarm = cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name="SanctionsListAgeDays",
            statistic="Maximum",
            period=Duration.days(1),
            dimensions_map={"workflow": "sanctions_list"},
        ).create_alarm(
            self,
            "SanctionsListStale",
            alarm_description=(
                f"The sanctions list vendors are screened against is older than {SANCTIONS_LIST_MAX_AGE_DAYS} days, "
                "or the daily refresh did not report today: check refresh_sanctions_list's log, then run "
                "`backoffice sanctions refresh`"
            ),
            threshold=SANCTIONS_LIST_MAX_AGE_DAYS,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm.add_alarm_action(self._alarm_action)
        self.alarms.append(alarm)

    def _page_on(self, metric: cloudwatch.Metric, alarm_id: str, description: str) -> None:
        """An alarm that pages the operators' topic as soon as ``metric`` reaches 1 in a period (no data: OK)."""
        alarm = metric.create_alarm(
            self,
            alarm_id,
            alarm_description=description,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self._alarm_action)
        self.alarms.append(alarm)
