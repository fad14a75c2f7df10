"""IAM roles AWS services assume to act for the product, from the catalog (Textract's completion notices)."""

from __future__ import annotations

from aws_cdk import Aws, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.catalog import Catalog, ServiceRole
from infra.naming import CATALOG_TAG, pascal
from infra.storage import Storage

# What SNS asks KMS for when a message is published to a topic encrypted with the data key.
_PUBLISH_TO_ENCRYPTED_TOPIC = ["kms:GenerateDataKey", "kms:Decrypt"]


class ServiceRoles(Construct):
    """One role per catalog service role: trusted by its service for this account only, allowed to publish to
    its catalog topics and nothing else.

    Shaped so because some services act for the product with a role the caller passes them: Amazon Textract
    publishes an asynchronous job's completion notice to SNS with the ``RoleArn`` of the job's
    ``NotificationChannel``. The trust policy names the service and pins ``aws:SourceAccount`` to this account,
    so jobs started from another account cannot make the service use this role (the confused-deputy problem).
    Topics are encrypted with the data key, so a publisher also needs the key, through SNS only.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, catalog: Catalog, storage: Storage, key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        self.roles: dict[str, iam.Role] = {
            spec.name: self._role(spec, storage, key) for spec in catalog.service_roles
        }

    def _role(self, spec: ServiceRole, storage: Storage, key: kms.IKey) -> iam.Role:
        role = iam.Role(
            self,
            f"{pascal(spec.name)}Role",
            assumed_by=iam.ServicePrincipal(
                spec.service, conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description=spec.description,
        )
        if spec.publishes_to:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["sns:Publish"],
                    resources=[storage.topics[topic].topic_arn for topic in spec.publishes_to],
                )
            )
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=_PUBLISH_TO_ENCRYPTED_TOPIC,
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"sns.{Aws.REGION}.amazonaws.com"}},
                )
            )
        Tags.of(role).add(CATALOG_TAG, spec.name)
        return role
