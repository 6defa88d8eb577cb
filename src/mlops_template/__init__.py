"""mlops-template's own tool: ``mlops-template provision`` sets up Azure DevOps for a project.

Modules, one job each: ``settings`` (the project's ``azure-devops.json``),
``organization`` (the organization-URL rule), ``hook_utils`` (the template's facts from
``cookiecutter.json``, for its hooks and extension), ``client``, ``error_translation`` and
``errors`` (REST calls), ``azure_devops`` (routes and bodies), ``arm`` (Resource Manager),
``lookup`` (what exists), ``plan`` (what to do), ``apply`` and ``create_once`` (doing it,
once), ``lock``, ``git``, ``report`` and ``cli``; docs/developing.md lists every module.
"""
