"""The feature store: one definition for point-in-time training data and online serving."""
