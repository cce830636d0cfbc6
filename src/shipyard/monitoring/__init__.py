"""Monitoring: drift, data quality, performance from late labels, alerts and the actions that close the loop."""
