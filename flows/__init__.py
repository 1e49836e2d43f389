"""Prefect flows: the pipeline entry points users trigger from the UI, deployments or Python."""
