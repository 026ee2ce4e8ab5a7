"""Which opportunities really pay: the features' outcomes as a training set, the retrained model's artifact
(gradient-boosted trees as JSON, scored with numpy: ``arbiter.scoring.trees``), its registry (S3 records, an
SSM parameter naming the live model), its evaluation on a later time window, and the scanner's scorer, which
falls back to expected profit when no model is promoted or the live one cannot load.

Nothing here imports numpy at package import: the retraining's Lambda tasks load it only where they score."""
