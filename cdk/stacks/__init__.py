"""Stacks: compositions of Arbiter's constructs."""
