"""Azure DevOps: the names of the pipelines and of the resources they use."""
