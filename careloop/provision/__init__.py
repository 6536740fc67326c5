"""Device provisioning: registry entries, per-device MQTT credentials, the broker's ACL.

See docs/devices.md. The public names::

    Provisioner, DeviceCredential, Issued        careloop.provision.service
    hash_password, verify_password, new_password careloop.provision.passwords
    SERVICE_ACCESS, device_grants, service_user  careloop.provision.acl
    ProvisionError, UnknownDevice, DeviceExists  careloop.provision.errors
"""

from careloop.provision.acl import SERVICE_ACCESS, device_grants, render_acl, service_user
from careloop.provision.broker import signal_broker
from careloop.provision.errors import DeviceExists, ProvisionError, UnknownDevice
from careloop.provision.passwords import hash_password, new_password, verify_password
from careloop.provision.service import DeviceCredential, Issued, Provisioner

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
