"""Security codes for tests. The platform refuses a code whose time step is not later than the last
one it accepted for that person, so each sign-in in a test takes a code it has not used before."""

from __future__ import annotations

import time

import pyotp

_last_step: dict[str, int] = {}


def fresh_code(secret: str) -> str:
    """A code for ``secret`` from a later time step than any this process has used, waiting for the
    next step when both the current and the next (the most the platform accepts) are used."""
    totp = pyotp.TOTP(secret)
    while True:
        now = totp.timecode(time.time())
        step = max(now, _last_step.get(secret, now - 1) + 1)
        if step <= now + 1:
            _last_step[secret] = step
            return totp.generate_otp(step)
        time.sleep(totp.interval - time.time() % totp.interval + 0.05)
