"""Every method the daemon serves, registered here and only here."""

from . import accounts, discover, system

ALL = (
    system.ping,
    system.info,
    accounts.list_,
    accounts.get,
    accounts.create,
    accounts.update,
    accounts.delete,
    accounts.approve,
    accounts.reject,
    discover.discover,
)
