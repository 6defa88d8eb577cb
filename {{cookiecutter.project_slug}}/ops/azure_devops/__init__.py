"""Azure DevOps for this project: its names, and its idempotent setup.

``python -m ops.azure_devops provision [--dry-run]`` creates what is missing:
repository and push, pipelines, environments with approvals, variable group,
service connection, pipeline permissions and branch policies. ``names`` and
``config`` need only the standard library; the rest needs requests and rich.
"""
