"""Deployment: the scoring script, the smoke test, registration and deployment."""
