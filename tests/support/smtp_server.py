#!/usr/bin/python3
"""smtp_server.py - a real SMTP server on loopback for the e-mail sink's
end-to-end test (tests/e2e/test_email.c), built on Debian's python3-aiosmtpd.

    smtp_server.py --port N --dir OUT --ready FILE [--tls CERTDIR [--smtps]]
                   [--auth USER:PASSWORD] [--mode MODE]

Each message received is written to OUT as NNNN.json (envelope: mail_from,
rcpt_tos, tls, auth) and then NNNN.eml (the bytes of DATA as received, after
SMTP's dot-unstuffing), the .eml last and by rename, so that a test that
sees an .eml sees it whole. When it listens it writes its port to FILE (by
rename: the file appears complete). Runs until SIGTERM or SIGKILL.

--tls CERTDIR: STARTTLS is offered and required before MAIL; the key and a
self-signed certificate for 127.0.0.1 and localhost are made with openssl
in CERTDIR (cert.pem, the CA file for the client) unless already there.
--smtps: TLS from the first byte instead (implicit TLS, smtps://).
--auth USER:PASSWORD: AUTH (LOGIN, PLAIN) is required, over TLS only.
--mode:
  accept        (default) every message is accepted
  tempfail:N    the first N RCPT commands get 451, later ones are accepted
  reject        every RCPT gets 550
  hold          the first message is written, then its DATA is never
                answered (a client killed in the middle of a delivery);
                later messages are accepted
"""
import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import subprocess
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def make_certificate(certdir):
    cert, key = os.path.join(certdir, "cert.pem"), os.path.join(certdir, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class Handler:
    def __init__(self, out, mode, smtps):
        self.out = out
        self.smtps = smtps
        self.mode, _, n = mode.partition(":")
        self.tempfail_left = int(n) if self.mode == "tempfail" else 0
        self.held = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == "reject":
            return "550 5.1.1 Mailbox unavailable"
        if self.tempfail_left > 0:
            self.tempfail_left -= 1
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = len([f for f in os.listdir(self.out) if f.endswith(".eml")]) + 1
        base = os.path.join(self.out, "%04d" % n)
        info = {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                "tls": self.smtps or session.ssl is not None, "auth": bool(session.authenticated)}
        write_atomic(base + ".json", json.dumps(info).encode())
        write_atomic(base + ".eml", envelope.original_content)
        if self.mode == "hold" and not self.held:
            self.held = True
            await asyncio.Event().wait()  # never answered: the client dies waiting
        return "250 2.0.0 Message accepted"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--tls")
    ap.add_argument("--smtps", action="store_true")
    ap.add_argument("--auth")
    ap.add_argument("--mode", default="accept")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    kwargs = {}
    # aiosmtpd's own AUTH code warns of its deprecated Session.login_data
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    if args.tls and args.smtps:
        kwargs.update(ssl_context=make_certificate(args.tls))
    elif args.tls:
        kwargs.update(tls_context=make_certificate(args.tls), require_starttls=True)
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user.encode() and auth_data.password == password.encode()
            # handled=False: aiosmtpd answers a failure with its 535
            return AuthResult(success=ok, handled=False)

        # aiosmtpd 1.4 sees TLS only when it came by STARTTLS: with --smtps
        # every connection is TLS anyway
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=bool(args.tls) and not args.smtps)
    controller = Controller(Handler(args.dir, args.mode, args.smtps), hostname="127.0.0.1", port=args.port,
                            **kwargs)
    controller.start()
    write_atomic(args.ready, str(args.port).encode())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
