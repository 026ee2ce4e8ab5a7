"""Lambda handler plumbing shared by the functions in ``functions/`` (Powertools wiring only; no domain logic)."""
