"""The firm's configuration document in SSM Parameter Store, written by the stack.

The document is the one ``make synth CONFIG=FILE`` (``-c config=FILE``) validated with the product's models
(``infra/cdk_app.py``), else the sample firm's (``config/sample-firm.json``). The handlers read its approval policy
with Powertools Parameters (``backoffice/approvals/policy.py``), so nothing firm-specific has to ship in the layer.
SSM holds 4 KB in a Standard parameter and 8 KB in an Advanced one: the stack takes the tier the document needs
and refuses one larger than SSM takes, at synth, not at deploy.
"""

from __future__ import annotations

from aws_cdk import aws_ssm as ssm
from constructs import Construct

STANDARD_LIMIT = 4096
ADVANCED_LIMIT = 8192


class FirmConfigParameter(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, name: str, document: str) -> None:
        super().__init__(scope, construct_id)
        size = len(document.encode())
        if size > ADVANCED_LIMIT:
            raise ValueError(
                f"the firm configuration is {size} bytes compacted; an SSM parameter holds at most {ADVANCED_LIMIT}"
            )
        self.parameter = ssm.StringParameter(
            self,
            "Document",
            parameter_name=name,
            string_value=document,
            tier=ssm.ParameterTier.STANDARD if size <= STANDARD_LIMIT else ssm.ParameterTier.ADVANCED,
            description="The firm's configuration (approval policy, sender, connectors, billing policy)",
        )
