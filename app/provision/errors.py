"""Provisioning's exceptions::

    CareloopError
    └── ProvisionError        the credential store or the broker files failed
        ├── UnknownDevice     no credentials were ever issued for this device
        └── DeviceExists      the device already has live credentials

Only the API turns these into HTTP statuses (404, 409, 500).
"""

from __future__ import annotations

from careloop.errors import CareloopError


class ProvisionError(CareloopError):
    """Base of provisioning's errors."""


class UnknownDevice(ProvisionError):
    """No credentials were ever issued for ``device``."""

    def __init__(self, device: str) -> None:
        self.device = device
        super().__init__(f"no credentials for device {device!r}")


class DeviceExists(ProvisionError):
    """``device`` already has live credentials (rotate them, or revoke first)."""

    def __init__(self, device: str, site: str) -> None:
        self.device = device
        self.site = site
        super().__init__(f"device {device!r} is already provisioned at site {site!r}")
