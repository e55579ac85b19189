"""Prints, as JSON, what the tests check in template.yaml: each function's IAM actions (by its
binary name), what its role may do to audit items and to log groups, the log groups' retention,
the table's key schema, index and TTL attribute, and how stateful resources are kept. Uses cfn-lint's own YAML reader,
which understands CloudFormation's short tags (!Ref, !GetAtt, !Sub)."""
import fnmatch
import json
import sys

from cfnlint.decode import decode

template, errors = decode(sys.argv[1] if len(sys.argv) > 1 else "template.yaml")
if errors:
    sys.exit(f"template.yaml does not parse: {errors}")
resources = template["Resources"]

def listed(statement, key="Action"):
    a = statement.get(key, [])
    return [a] if isinstance(a, (str, dict)) else a


def matches(action, pattern):
    """IAM action matching: case-insensitive, with * and ? wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def ref_name(value):
    """A resource reference as text: "Logs.Arn" for !GetAtt Logs.Arn, "Logs" for !Ref Logs, a
    plain string as itself, anything else (a !Sub, say) as its JSON."""
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Fn::GetAtt":
            return ".".join(arg) if isinstance(arg, list) else arg
        if fn == "Ref":
            return arg
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# What SAM attaches to every role it makes for a function (the managed
# AWSLambdaBasicExecutionRole), so a function without a Role of its own is evaluated with it.
SAM_BASIC_EXECUTION = {
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "*",
}


def role_statements(function):
    """Every statement of the function's execution role, and the managed policies it has."""
    props = function["Properties"]
    role = props.get("Role")
    if role is None:
        # SAM makes the role from Policies, and adds AWSLambdaBasicExecutionRole.
        statements = [s for p in props.get("Policies", []) for s in p.get("Statement", [])]
        return statements + [SAM_BASIC_EXECUTION], ["AWSLambdaBasicExecutionRole"]
    name = ref_name(role).split(".")[0]
    role = resources[name]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in listed(p["PolicyDocument"], "Statement")]
    managed = [ref_name(m) for m in role.get("ManagedPolicyArns", [])]
    # Policies attached to the role from elsewhere in the template count too.
    for r in resources.values():
        if r.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            p = r["Properties"]
            roles = [ref_name(x) for x in p.get("Roles", [])] + [ref_name(p.get("RoleName"))]
            if name in roles:
                statements += listed(p["PolicyDocument"], "Statement")
    return statements, managed


def denies_audit(statement, action):
    """Does this Deny statement stop `action` on an audit item (partition key AUDIT#...)?"""
    if statement.get("Effect") != "Deny" or not any(matches(action, p) for p in listed(statement)):
        return False
    cond = statement.get("Condition", {}).get("ForAnyValue:StringLike", {})
    keys = cond.get("dynamodb:LeadingKeys", [])
    keys = [keys] if isinstance(keys, str) else keys
    return any(fnmatch.fnmatchcase("AUDIT#20261129#3", k) for k in keys)


# The CloudWatch Logs actions that write to, change or remove a log group or what it holds, or
# send it elsewhere; the first two are what Lambda needs to write a function's output.
LOGS_ACTIONS = [
    "logs:CreateLogStream", "logs:PutLogEvents",
    "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteLogStream",
    "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
    "logs:PutSubscriptionFilter", "logs:DeleteSubscriptionFilter",
    "logs:AssociateKmsKey", "logs:DisassociateKmsKey",
    "logs:PutDataProtectionPolicy", "logs:DeleteDataProtectionPolicy",
    "logs:PutTransformer", "logs:DeleteTransformer", "logs:PutAccountPolicy", "logs:DeleteAccountPolicy",
    "logs:CreateExportTask", "logs:PutDestination", "logs:PutDestinationPolicy",
    "logs:PutLogGroupDeletionProtection", "logs:PutResourcePolicy", "logs:DeleteResourcePolicy",
]

functions = {}
audit = {}
logs = {}
for resource in resources.values():
    if resource.get("Type") != "AWS::Serverless::Function":
        continue
    binary = resource["Metadata"]["BuildProperties"]["Binary"]
    actions = set()
    statements, managed = role_statements(resource)
    allows = [s for s in statements if s.get("Effect", "Allow") == "Allow"]
    for statement in allows:
        actions.update(listed(statement))
    # CloudWatch Logs is written by Lambda from the function's output, not by its code, so the
    # recorded calls never show it: checked below ("logs") instead.
    functions[binary] = sorted(a for a in actions if not a.lower().startswith("logs:"))
    # Which log group the function writes to, and what its role may do to log groups: each
    # action with the resources of the statements allowing it (no Deny condition is modelled:
    # an unconditional Deny with Resource "*" removes the action).
    group = resource["Properties"].get("LoggingConfig", {}).get("LogGroup")
    denied = lambda a: any(
        s.get("Effect") == "Deny" and "Condition" not in s and listed(s, "Resource") == ["*"]
        and any(matches(a, p) for p in listed(s)) for s in statements
    )
    logs[binary] = {
        "group": ref_name(group) if group is not None else None,
        "managed_policies": managed,
        "not_action": any("NotAction" in s or "NotResource" in s for s in allows),
        # Allowed patterns for logs actions that are not plain names (logs:*, logs:Put*, *).
        "wildcards": sorted(
            p for p in actions
            if ("*" in p or "?" in p) and any(matches(a, p) for a in LOGS_ACTIONS + ["logs:Other"])
        ),
        "may": {
            action.split(":")[1]: sorted({
                ref_name(r)
                for s in allows if any(matches(action, p) for p in listed(s))
                for r in listed(s, "Resource")
            }) if not denied(action) else []
            for action in LOGS_ACTIONS
        },
    }
    # A small policy evaluation for one audit item of the table: allowed by an Allow on the
    # action, and not denied by a Deny whose LeadingKeys pattern matches.
    # BatchWriteItem and PartiQL statements are actions of their own that can also change or
    # delete an item.
    audit[binary] = {
        action.split(":")[1]: any(matches(action, p) for p in actions)
        and not any(denies_audit(s, action) for s in statements)
        for action in [
            "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Query",
            "dynamodb:BatchWriteItem", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
        ]
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
    if r.get("Type") in ("AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::KMS::Key", "AWS::Logs::LogGroup")
}


def days(value):
    """A retention in days: a number, or the shortest a !Ref'd parameter allows; None when absent
    (never expire)."""
    if value is None:
        return None
    if isinstance(value, dict) and "Ref" in value:
        p = template["Parameters"][value["Ref"]]
        return min(int(v) for v in p.get("AllowedValues", [p.get("Default", 1)]))
    return int(value)


# Each log group: how it is kept, and how long (days; null: never expires).
log_groups = {
    name: {
        "deletion": r.get("DeletionPolicy"),
        "replace": r.get("UpdateReplacePolicy"),
        "retention_days": days(r.get("Properties", {}).get("RetentionInDays")),
        "deletion_protection": r.get("Properties", {}).get("DeletionProtectionEnabled") in (True, "true"),
    }
    for name, r in resources.items()
    if r.get("Type") == "AWS::Logs::LogGroup"
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
# Each alarm on one of our own metrics (namespace StaffMfa): its metric and dimensions.
alarms = {
    name: {
        "metric": r["Properties"]["MetricName"],
        "dimensions": sorted(d["Name"] for d in r["Properties"].get("Dimensions", [])),
    }
    for name, r in resources.items()
    if r.get("Type") == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "StaffMfa"
}
print(json.dumps({
    "alarms": alarms,
    "routes": routes,
    "functions": functions,
    "audit": audit,
    "logs": logs,
    "log_groups": log_groups,
    "stateful": stateful,
    "table": {
        "keys": keys(table["KeySchema"]),
        "indexes": {i["IndexName"]: keys(i["KeySchema"]) for i in table.get("GlobalSecondaryIndexes", [])},
        "ttl": table["TimeToLiveSpecification"]["AttributeName"],
        "billing": table["BillingMode"],
    },
}, indent=1, sort_keys=True))
