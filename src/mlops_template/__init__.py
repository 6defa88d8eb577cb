"""mlops-template's own tool: ``mlops-template provision`` sets up Azure DevOps for a project.

Modules, one job each: ``settings`` (the project's ``azure-devops.json``),
``organization`` (the organization-URL rule), ``hook_utils`` (the template's facts
from ``cookiecutter.json``, for its hooks and extension), ``client`` and ``errors`` (REST calls),
``resources`` (routes and bodies), ``lookup`` (what exists), ``plan`` (what to do),
``apply`` and ``once`` (doing it, once), ``lock``, ``git``, ``report`` and ``cli``.
"""
