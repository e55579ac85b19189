"""Lists the emails the local SES (moto) has accepted: `make outbox`."""
import json
import os
import re
import urllib.request

port = os.environ.get("MFA_AWS_PORT", "5000")
data = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json"))
messages = data.get("ses", {}).get("Message", [])
if not messages:
    print("No emails sent yet.")
for m in messages:
    to = ", ".join(m.get("destinations", {}).get("ToAddresses", []))
    print(f"From: {m.get('source')}\nTo: {to}\nSubject: {m.get('subject')}")
    links = sorted(set(re.findall(r"https?://[^\s\"<>]+", m.get("body", ""))))
    for link in links:
        print(f"Link: {link.replace('&amp;', '&')}")
    print("-" * 60)
