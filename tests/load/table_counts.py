"""What the table holds after a load run, read straight from DynamoDB (moto), not through our API.

Prints one JSON object:
  audit:    {"before": {"action/outcome": n}, "after": {...}}: entries whose actor starts with
            USERS, split at SPLIT_MS (Unix milliseconds) by the time in their sort key
  sessions: {username: {"verified": n, "other": n}}: session items of users starting with USERS
  items:    every item in the table
Usage: table_counts.py TABLE USERS SPLIT_MS
(Run with .venv/bin/python: moto brings boto3. AWS_ENDPOINT_URL and AWS_REGION name moto.)
"""
import json
import os
import sys
from collections import defaultdict

import boto3

table, user_prefix, split_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
split_ns = split_ms * 1_000_000
db = boto3.client(
    "dynamodb",
    region_name=os.environ["AWS_REGION"],
    endpoint_url=os.environ["AWS_ENDPOINT_URL"],
)
audit = {"before": defaultdict(int), "after": defaultdict(int)}
sessions = defaultdict(lambda: {"verified": 0, "other": 0})
items = 0


def text(item, name):
    return item.get(name, {}).get("S", "")


for page in db.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
    for item in page["Items"]:
        items += 1
        pk = item["pk"]["S"]
        if pk.startswith("AUDIT#") and text(item, "actor").startswith(user_prefix):
            # Sort key: <unix seconds, 12 digits>.<nanoseconds, 9 digits>#<random>
            seconds, nanos = item["sk"]["S"].split("#", 1)[0].split(".")
            at_ns = int(seconds) * 1_000_000_000 + int(nanos)
            action = f"{text(item, 'action')}/{text(item, 'outcome')}"
            audit["before" if at_ns < split_ns else "after"][action] += 1
        elif pk.startswith("SESSION#") and text(item, "username").startswith(user_prefix):
            verified = text(item, "mfa") == "verified"
            sessions[text(item, "username")]["verified" if verified else "other"] += 1
print(json.dumps({"audit": audit, "sessions": sessions, "items": items}))
