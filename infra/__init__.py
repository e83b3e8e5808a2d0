"""Tooling that runs and deploys the gateway; not shipped to Lambda."""
