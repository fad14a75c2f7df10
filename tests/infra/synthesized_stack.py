"""The synthesized back-office stack as the infra tests read it: template, resources by type and catalog tag."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.naming import CATALOG_TAG
from infra.stack import BackofficeStack


@dataclass(frozen=True)
class Synthesized:
    app: App
    stack: BackofficeStack
    template: Template
    outdir: Path

    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        # Read once: each to_json() is a jsii round trip of the whole template (about a second), and a test that
        # walks every function's role asked for it dozens of times. Tests read it, never change it.
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
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

    def asset_path(self, object_key: str) -> Path:
        """Where the asset CloudFormation will read from ``object_key`` (in the assets bucket) is staged."""
        manifest = json.loads((self.outdir / f"{self.stack.artifact_id}.assets.json").read_text())
        for asset in manifest["files"].values():
            if any(d["objectKey"] == object_key for d in asset["destinations"].values()):
                return self.outdir / asset["source"]["path"]
        raise KeyError(f"no staged asset for object key {object_key}")
