"""What a team would otherwise write: a Python handler that imports boto3 and builds the same three
clients at init, then asks the Runtime API for work (the end of Init Duration)."""
import os
import urllib.request

import boto3

dynamodb = boto3.client("dynamodb")
sesv2 = boto3.client("sesv2")
secrets = boto3.client("secretsmanager")
keys = secrets.get_secret_value(SecretId=os.environ["MFA_KEYS_SECRET"])["SecretString"]

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next", timeout=60).read()
