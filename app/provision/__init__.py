"""Device provisioning: registry entries, per-device MQTT credentials, the broker's ACL.

See docs/devices.md. The public names::

    Provisioner, DeviceCredential, Issued        app.provision.service
    hash_password, verify_password, new_password app.provision.passwords
    SERVICE_ACCESS, device_grants, service_user  app.provision.acl
    ProvisionError, UnknownDevice, DeviceExists  app.provision.errors
"""

from app.provision.acl import SERVICE_ACCESS, device_grants, render_acl, service_user
from app.provision.broker import signal_broker
from app.provision.errors import DeviceExists, ProvisionError, UnknownDevice
from app.provision.passwords import hash_password, new_password, verify_password
from app.provision.service import DeviceCredential, Issued, Provisioner

__all__ = [
    "SERVICE_ACCESS",
    "DeviceCredential",
    "DeviceExists",
    "Issued",
    "ProvisionError",
    "Provisioner",
    "UnknownDevice",
    "device_grants",
    "hash_password",
    "new_password",
    "render_acl",
    "service_user",
    "signal_broker",
    "verify_password",
]
