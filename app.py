#!/usr/bin/env python3
"""CDK entry point (``cdk.json`` runs this; ``make synth`` too)."""

from cdk.app_factory import build_app

app, _ = build_app()
app.synth()
