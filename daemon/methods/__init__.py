"""Every method the daemon serves, registered here and only here."""

from . import bounces, contacts, discover, events, system
from .accounts import core as accounts
from .accounts import mailbox, probe

ALL = (
    system.ping,
    system.info,
    system.status,
    system.backup,
    system.backup_read,
    system.backup_done,
    accounts.list_,
    accounts.get,
    accounts.create,
    accounts.update,
    accounts.delete,
    accounts.approve,
    accounts.reject,
    accounts.health_ok,
    probe.test,
    probe.test_many,
    probe.folders,
    mailbox.poll,
    mailbox.purge_bounces,
    accounts.headers,
    contacts.import_,
    contacts.list_,
    contacts.get,
    contacts.update,
    contacts.unmark,
    contacts.details,
    bounces.list_,
    bounces.get,
    bounces.unparsed,
    bounces.unparsed_get,
    events.list_,
    events.subscribe,
    events.unsubscribe,
    discover.discover,
)
