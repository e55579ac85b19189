"""Prints, as JSON, what the tests check in template.yaml: each function's IAM actions (by its
binary name), the table's key schema, index and TTL attribute, and how stateful resources are kept. Uses cfn-lint's own YAML reader,
which understands CloudFormation's short tags (!Ref, !GetAtt, !Sub)."""
import json
import sys

from cfnlint.decode import decode

template, errors = decode(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
if errors:
    sys.exit(f"template.yaml does not parse: {errors}")
resources = template["Resources"]

functions = {}
for resource in resources.values():
    if resource.get("Type") != "AWS::Serverless::Function":
        continue
    binary = resource["Metadata"]["BuildProperties"]["Binary"]
    actions = set()
    for policy in resource["Properties"].get("Policies", []):
        for statement in policy.get("Statement", []):
            listed = statement["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    functions[binary] = sorted(actions)

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
print(json.dumps({
    "functions": functions,
    "stateful": stateful,
    "table": {
        "keys": keys(table["KeySchema"]),
        "indexes": {i["IndexName"]: keys(i["KeySchema"]) for i in table.get("GlobalSecondaryIndexes", [])},
        "ttl": table["TimeToLiveSpecification"]["AttributeName"],
        "billing": table["BillingMode"],
    },
}, indent=1, sort_keys=True))
