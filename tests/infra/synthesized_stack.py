"""The synthesized back-office stack as the infra tests read it: template, resources by type and catalog tag.

It is the cloud assembly the cached synth keeps (``backoffice/local/template.py``: one synthesis per change of
the CDK code, state machines, layer or functions, shared by every test worker and the local runtime), read as
JSON: no jsii round trip per question.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from backoffice.local.template import CHECKS, STACK_TEMPLATE
from infra.naming import CATALOG_TAG


@dataclass(frozen=True)
class Synthesized:
    outdir: Path

    @cached_property
    def template(self) -> dict[str, Any]:
        template: dict[str, Any] = json.loads((self.outdir / STACK_TEMPLATE).read_text())
        return template

    @cached_property
    def checks(self) -> dict[str, Any]:
        """What ``infra/assembly.py`` found: cdk-nag findings, CDK error and warning annotations, the artifact id."""
        checks: dict[str, Any] = json.loads((self.outdir / CHECKS).read_text())
        return checks

    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {logical_id: r for logical_id, r in self.resources.items() if r["Type"] == resource_type}

    def catalog_entry(self, resource_type: str, name: str) -> tuple[str, dict[str, Any]]:
        """The one resource of ``resource_type`` built for the catalog entry ``name`` (found by its tag)."""
        found = [
            (logical_id, resource)
            for logical_id, resource in self.of_type(resource_type).items()
            if {"Key": CATALOG_TAG, "Value": name} in resource.get("Properties", {}).get("Tags", [])
        ]
        assert len(found) == 1, (
            f"expected one {resource_type} tagged {CATALOG_TAG}={name}, found {len(found)}"
        )
        return found[0]

    def role_statements(self, role_id: str) -> list[dict[str, Any]]:
        """The Allow statements of every policy attached to the role ``role_id`` (a logical id)."""
        return [
            statement
            for policy in self.of_type("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Allow"
        ]

    def function_statements(self, function_name: str) -> list[dict[str, Any]]:
        """The Allow statements of the catalog function's own role."""
        _, function = self.catalog_entry("AWS::Lambda::Function", function_name)
        return self.role_statements(function["Properties"]["Role"]["Fn::GetAtt"][0])

    def asset_path(self, object_key: str) -> Path:
        """Where the asset CloudFormation will read from ``object_key`` (in the assets bucket) is staged."""
        manifest = json.loads((self.outdir / f"{self.checks['artifact_id']}.assets.json").read_text())
        for asset in manifest["files"].values():
            if any(d["objectKey"] == object_key for d in asset["destinations"].values()):
                return self.outdir / asset["source"]["path"]
        raise KeyError(f"no staged asset for object key {object_key}")

    def layer_asset(self) -> Path:
        """The staged directory of the stack's one Lambda layer (what CloudFormation uploads)."""
        (layer,) = self.of_type("AWS::Lambda::LayerVersion").values()
        return self.asset_path(layer["Properties"]["Content"]["S3Key"])
