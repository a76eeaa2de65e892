"""How passwords are stored: Argon2id, with the first of OWASP's recommended configurations.

Memory-hard, so that a stolen database costs an attacker's GPUs as much per guess as Django's
PBKDF2 (1 000 000 iterations of SHA-256) does, for a fifth of the server's time: 55 ms per
sign-in instead of 284 ms on our 2-core machines (bench/README.md, "Load test"), which matters
when a whole programme signs in on the deadline's day. Passwords stored the older way are still
accepted, and stored again this way at the person's next sign-in.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id, m = 46 MiB, t = 1, p = 1 (OWASP Password Storage Cheat Sheet)."""

    time_cost = 1
    memory_cost = 47104  # KiB
    parallelism = 1
