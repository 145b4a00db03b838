"""Schemathesis hooks for login-sandbox (loaded by ../schemathesis.sh through SCHEMATHESIS_HOOKS).

Two rules the sandbox keeps that an OpenAPI document cannot state:

1. `locLatitude` and `locLongitude` go together. The document says so the way JSON Schema's
   `dependentRequired` would, as the operation's `x-dependent-required` extension; schemathesis
   does not read it, so `map_case` applies it to every generated case: a header sent without
   its partner gets the partner with a valid value (0), keeping the generated header (and
   whatever the case meant to test with it).

2. Some 400s answer a request whose shape is right but whose values contradict an earlier
   request or sit inside the encrypted credential envelope (see the crate docs' readings). The
   schema cannot know them, so `filter_failure` drops a "schema-valid request rejected" (ST202)
   finding when, and only when, the server's 400 message is one of those listed below. Every
   other finding stays, and schemathesis counts the dropped ones in its summary.
"""

import atexit
import collections
import json
import sys

import schemathesis

# A value every coordinate header accepts.
PARTNER_VALUE = "0"


@schemathesis.hook
def map_case(context, case):
    operation = context.operation if context is not None else None
    if operation is None:
        return case
    dependencies = operation.definition.raw.get("x-dependent-required") or {}
    if not dependencies or not case.headers:
        return case
    # Header names are case-insensitive.
    present = {name.lower() for name in case.headers}
    for name, partners in dependencies.items():
        if name.lower() not in present:
            continue
        for partner in partners:
            if partner.lower() not in present:
                case.headers[partner] = PARTNER_VALUE
                present.add(partner.lower())
    return case


# The server's 400 messages for values that contradict an earlier request or the encrypted
# envelope's content, by prefix, with why the schema cannot state them.
STATE_DEPENDENT_400 = (
    # verifyOtp: username and refId must be those of the forgot-password request.
    "username or refId does not match this request",
    # realm token: refId must be that of the login request; the OTP is needed when the user's
    # mfa is otp, which the schema cannot know from a reqId.
    "refId does not match this login request",
    'this login has mfa "otp": send the otp',
    # login challenge: the envelope is encrypted; its JWE header and plaintext are beyond a
    # schema (its compact shape is in the schema, and is not excused here).
    "the JWE ",
    "the envelope's ",
    "send captchaId and captchaAnswer together",
    # access token and refresh: the values must repeat those of authorize or of the session.
    "state differs from authorize",
    "scope differs from authorize",
    "codeVerifier does not match the codeChallenge",
    "scope differs from the session",
)

# Error codes that only the envelope's captcha fields produce.
ENVELOPE_CAPTCHA_CODES = ("captcha_required", "invalid_captcha")


# What was dropped, printed when the run ends so a reader can audit it.
DROPPED = collections.Counter()


@atexit.register
def _print_dropped():
    if not DROPPED:
        return
    print("\nST202 findings dropped as state-dependent 400s (hooks.py):", file=sys.stderr)
    for (operation, message), count in sorted(DROPPED.items()):
        print(f"  {count:5} x {operation}: {message}", file=sys.stderr)


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", None) != "ST202" or response.status_code != 400:
        return True
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError):
        return True
    if not isinstance(body, dict):
        return True
    message = body.get("message") or ""
    state_dependent = body.get("error") in ENVELOPE_CAPTCHA_CODES or any(
        message.startswith(prefix) for prefix in STATE_DEPENDENT_400
    )
    if state_dependent:
        DROPPED[(case.operation.label, message)] += 1
    return not state_dependent
