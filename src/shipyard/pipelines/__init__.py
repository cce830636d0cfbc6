"""Pipelines of cached, retried steps on a local or Ray executor."""
