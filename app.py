#!/usr/bin/env python3
"""CDK entry point: ``make synth`` writes the back-office stack's CloudFormation into ``cdk.out/``."""

import sys

from infra.cdk_app import FirmConfigRefused, build_app

if __name__ == "__main__":
    try:
        app, _ = build_app()
    except FirmConfigRefused as refused:
        sys.exit(f"synth refused the firm configuration:\n{refused}")
    app.synth()
