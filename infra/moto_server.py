"""moto's server, answering one request at a time.

DynamoDB makes every request atomic: a conditional write or a transaction either sees the state
before a concurrent one or after it, never half of it. moto's in-memory backends take no locks, so
under a threaded server two conditional writes can both pass their checks (the race tests caught
exactly that). Processing one request at a time, while still accepting connections on many threads,
gives the local stack DynamoDB's isolation. Usage: moto_server.py PORT
"""
import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

import moto.dynamodb.models  # noqa: F401  (defines DynamoDB's model classes now, to untrack them)
from moto.core.common_models import BaseModel


class Untracked(list):
    """A list that keeps nothing."""

    def append(self, _instance):
        pass


# moto keeps every model instance it ever made, for its dashboard and /moto-api/data.json. For
# DynamoDB that is every item ever written, and every item of every copy of the table a transaction
# takes (one per transaction item, for rollback): never freed. A load run (infra/load.sh, 200 users)
# grew moto to 5 GB in minutes; each garbage collection walked it all, requests slowed until the
# functions' AWS calls timed out (2 s an attempt, 5 s in all), and data.json (read only for SES's
# sent mail) took 3 minutes inside the lock below. DynamoDB's instances are not kept: data.json
# lists none of them.
def models(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from models(sub)


for model in models(BaseModel):
    if model.__module__.startswith("moto.dynamodb."):
        model.instances_tracked = Untracked()

# MOTO_ITEM_ROLLBACK=1 (infra/load.sh): a transaction backs up only the items it names, not the
# whole table. moto deep-copies the table once per transaction item before applying a transaction,
# to roll back if one fails: a 4-item transaction (a code verification) took 336 ms with 3,000
# items in the table and 811 ms with 6,000, and a load run's audit entries grow the table by
# thousands a minute. The backup is now the table with its items dict copied (the item objects
# shared) and deep copies of the items the transaction names, which are the only ones it can
# change (DynamoDB allows each item once per transaction): the same rollback, in time
# proportional to the items touched plus one dict copy (14 ms with 3,000 items). Requests are
# still one at a time.
if os.environ.get("MOTO_ITEM_ROLLBACK") == "1":
    import copy
    import types
    from collections import defaultdict

    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    def named_keys(table, transact_items):
        for entry in transact_items:
            kind, op = next(iter(entry.items()))
            if op.get("TableName") != table.name:
                continue
            attrs = op.get("Item" if kind == "Put" else "Key") or {}
            hash_value = attrs.get(table.hash_key_attr)
            range_value = attrs.get(table.range_key_attr) if table.range_key_attr else None
            if hash_value is not None and (range_value is not None or not table.range_key_attr):
                yield DynamoType(hash_value), range_value and DynamoType(range_value)

    def backup(table, transact_items):
        saved = copy.copy(table)
        saved.items = defaultdict(dict)
        for hash_value, stored in table.items.items():
            saved.items[hash_value] = dict(stored) if table.range_key_attr else stored
        for hash_value, range_value in named_keys(table, transact_items):
            current = table.get_item(hash_value, range_value)
            if current is None:
                continue
            if range_value is None:
                saved.items[hash_value] = copy.deepcopy(current)
            else:
                saved.items[hash_value][range_value] = copy.deepcopy(current)
        return saved

    whole_table_rollback = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        backups = {}

        def deepcopy(value, memo=None):
            if isinstance(value, Table):
                if id(value) not in backups:
                    backups[id(value)] = backup(value, transact_items)
                return backups[id(value)]
            return copy.deepcopy(value, memo)

        # transact_write_items takes its backups with the module's `copy.deepcopy`.
        dynamodb_models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)
        try:
            return whole_table_rollback(self, transact_items)
        finally:
            dynamodb_models.copy = copy

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items

port = int(sys.argv[1])
os.environ.setdefault("MOTO_PORT", str(port))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def one_at_a_time(environ, start_response):
    with lock:
        # Materialise the body inside the lock, so the whole request is one step.
        return list(app(environ, start_response))


run_simple("127.0.0.1", port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)
