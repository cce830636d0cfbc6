"""The model registry: versions with lineage, aliases with history, gates that cannot be skipped."""
