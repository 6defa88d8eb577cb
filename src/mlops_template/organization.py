"""The one rule for Azure DevOps organization URLs, for the bake and the tool alike.

Azure DevOps Services addresses an organization as ``https://dev.azure.com/{organization}``
or, for organizations created before 2018, ``https://{organization}.visualstudio.com``
(optionally with ``/DefaultCollection``), and organization-level REST APIs accept either
form ("Work with URLs", https://learn.microsoft.com/azure/devops/extend/develop/work-with-urls).
Host names are case-insensitive (RFC 3986 §3.2.2), in ASCII only: the patterns match with
``re.ASCII``, so letters that Unicode case-folds to ASCII ones (the long s, the Kelvin sign)
do not pass for them. Both forms call REST on
``https://dev.azure.com/{organization}`` and the identity service on
``https://vssps.dev.azure.com/{organization}``.

A loopback base (``http://127.0.0.1:{port}/{organization}``) is accepted too, for the
template's tests; it is not advertised to users.

Standard library only: ``hooks/pre_gen_project.py`` imports this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What users are told; the loopback form is left out on purpose.
RULE = (
    "empty (no Azure DevOps setup), https://dev.azure.com/{org} or https://{org}.visualstudio.com"
)
EXAMPLE = "https://dev.azure.com/contoso"

# Organization names: letters, digits and hyphens, not starting or ending with a hyphen,
# at most 50 characters.
_ORG = r"(?P<org>[A-Za-z0-9]([A-Za-z0-9-]{0,48}[A-Za-z0-9])?)"
_DEV_AZURE = re.compile(rf"https://dev\.azure\.com/{_ORG}/?", re.IGNORECASE | re.ASCII)
_VISUALSTUDIO = re.compile(
    rf"https://{_ORG}\.visualstudio\.com(/DefaultCollection)?/?", re.IGNORECASE | re.ASCII
)
# Case-sensitive path: the double serves the organization name as given.
_LOOPBACK = re.compile(
    rf"(?P<base>http://(127\.0\.0\.1|localhost|\[::1\]):(?P<port>[0-9]{{1,5}}))/{_ORG}/?",
    re.IGNORECASE | re.ASCII,
)
_PORTS = range(1, 65536)


class OrganizationUrlError(ValueError):
    """The organization URL is not one Azure DevOps uses; the message says what is."""


@dataclass(frozen=True)
class Organization:
    """An Azure DevOps organization and the two service bases it is called on."""

    name: str
    rest_url: str
    identity_url: str


def parse(url: str, identity_url: str | None = None) -> Organization:
    """Organization name, REST base and identity base from an organization URL.

    Raises OrganizationUrlError naming the URL and the forms to use.
    """
    url = url.strip()
    for pattern in (_DEV_AZURE, _VISUALSTUDIO):
        match = pattern.fullmatch(url)
        if match:
            org = match["org"]
            rest = f"https://dev.azure.com/{org}"
            identity = f"https://vssps.dev.azure.com/{org}"
            break
    else:
        match = _LOOPBACK.fullmatch(url)
        if not match or int(match["port"]) not in _PORTS:
            raise OrganizationUrlError(
                f"organization URL {url!r} is not valid: use https://dev.azure.com/<organization> "
                "(or https://<organization>.visualstudio.com)"
            )
        org = match["org"]
        base = match["base"].lower()
        rest, identity = f"{base}/{org}", f"{base}/_vssps/{org}"
    return Organization(org, rest, (identity_url or identity).rstrip("/"))


def is_valid(url: str) -> bool:
    """Whether ``url`` is an organization URL the tool accepts."""
    try:
        parse(url)
    except OrganizationUrlError:
        return False
    return True
