#!/usr/bin/env python3
"""CDK entry point: ``make synth`` writes the back-office stack's CloudFormation into ``cdk.out/``."""

from infra.cdk_app import build_app

if __name__ == "__main__":
    app, _ = build_app()
    app.synth()
