#!/usr/bin/python3
"""mime_check.py - reads one received e-mail (an .eml of smtp_server.py) with
Python's email package, the parser a mail client would use, and prints what
tests/e2e/test_email.c asserts as one JSON object:

  {"defects": [...], "content_type", "subject" (decoded), "message_id",
   "from", "to", "date", "mime_version", "bare_lf", "max_line",
   "parts": [{"type", "charset", "cte", "text" (decoded)}]}

    mime_check.py FILE.eml
"""
import email
import email.policy
import json
import sys


def main():
    raw = open(sys.argv[1], "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    lines = raw.split(b"\r\n")
    facts = {
        "defects": [type(d).__name__ for d in msg.defects],
        "content_type": msg.get_content_type(),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "date": str(msg["Date"]),
        "mime_version": str(msg["MIME-Version"]),
        "bare_lf": raw.replace(b"\r\n", b"").count(b"\n"),
        "max_line": max(len(line) for line in lines),
        "parts": [],
    }
    for part in msg.walk():
        if part.is_multipart():
            continue
        facts["defects"] += [type(d).__name__ for d in part.defects]
        facts["parts"].append({"type": part.get_content_type(),
                               "charset": part.get_content_charset(),
                               "cte": part["Content-Transfer-Encoding"],
                               "text": part.get_content().replace("\r\n", "\n")})
    print(json.dumps(facts, ensure_ascii=False))


if __name__ == "__main__":
    main()
