"""Prints, as JSON, what the tests check in template.yaml: each function's IAM actions (by its
binary name), the table's key schema, index and TTL attribute, and how stateful resources are kept. Uses cfn-lint's own YAML reader,
which understands CloudFormation's short tags (!Ref, !GetAtt, !Sub)."""
import fnmatch
import json
import sys

from cfnlint.decode import decode

template, errors = decode(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
if errors:
    sys.exit(f"template.yaml does not parse: {errors}")
resources = template["Resources"]

def listed(statement):
    a = statement["Action"]
    return [a] if isinstance(a, str) else a


def denies_audit(statement, action):
    """Does this Deny statement stop `action` on an audit item (partition key AUDIT#...)?"""
    if statement.get("Effect") != "Deny" or action not in listed(statement):
        return False
    cond = statement.get("Condition", {}).get("ForAnyValue:StringLike", {})
    keys = cond.get("dynamodb:LeadingKeys", [])
    keys = [keys] if isinstance(keys, str) else keys
    return any(fnmatch.fnmatchcase("AUDIT#20261129#3", k) for k in keys)


functions = {}
audit = {}
for resource in resources.values():
    if resource.get("Type") != "AWS::Serverless::Function":
        continue
    binary = resource["Metadata"]["BuildProperties"]["Binary"]
    actions = set()
    statements = [s for p in resource["Properties"].get("Policies", []) for s in p.get("Statement", [])]
    for statement in statements:
        if statement.get("Effect", "Allow") == "Allow":
            actions.update(listed(statement))
    functions[binary] = sorted(actions)
    # A small policy evaluation for one audit item of the table: allowed by an Allow on the
    # action, and not denied by a Deny whose LeadingKeys pattern matches.
    audit[binary] = {
        action.split(":")[1]: action in actions and not any(denies_audit(s, action) for s in statements)
        for action in ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query"]
    }

types = {}
table = None
for resource in resources.values():
    if resource.get("Type") == "AWS::DynamoDB::Table":
        table = resource["Properties"]
types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
keys = lambda schema: [[k["AttributeName"], types[k["AttributeName"]], k["KeyType"]] for k in schema]
# Resources whose loss loses data (the table, the key secret): how each is kept.
stateful = {
    name: {"deletion": r.get("DeletionPolicy"), "replace": r.get("UpdateReplacePolicy")}
    for name, r in resources.items()
    if r.get("Type") in ("AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::KMS::Key")
}
# Each function's routes (the HTTP API events' paths; "$default" for the catch-all).
routes = {}
for resource in resources.values():
    if resource.get("Type") != "AWS::Serverless::Function":
        continue
    binary = resource["Metadata"]["BuildProperties"]["Binary"]
    routes[binary] = sorted(
        e["Properties"].get("Path", "$default")
        for e in resource["Properties"].get("Events", {}).values()
        if e.get("Type") == "HttpApi"
    )
print(json.dumps({
    "routes": routes,
    "functions": functions,
    "audit": audit,
    "stateful": stateful,
    "table": {
        "keys": keys(table["KeySchema"]),
        "indexes": {i["IndexName"]: keys(i["KeySchema"]) for i in table.get("GlobalSecondaryIndexes", [])},
        "ttl": table["TimeToLiveSpecification"]["AttributeName"],
        "billing": table["BillingMode"],
    },
}, indent=1, sort_keys=True))
