"""Serving: deployments with primary, canary, A/B and shadow routes; prediction log; batch scoring."""
