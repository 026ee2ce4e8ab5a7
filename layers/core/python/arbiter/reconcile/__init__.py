"""The scheduled reconciler: after the sagas end, what the venues hold is checked again against the journal."""
