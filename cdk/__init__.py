"""Arbiter's AWS CDK app: stacks composed of one construct per concern."""
