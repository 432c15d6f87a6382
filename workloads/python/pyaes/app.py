"""FunctionBench's `pyaes`: AES-128 in CTR mode, in pure Python, on a random message.

As in the suite: a message of `length_of_message` lowercase letters and digits,
encrypted and decrypted `num_of_iterations` times with a fixed 128-bit key. The message
comes from a seeded generator (`seed`), so the ciphertext is the same on every runtime;
its SHA-256 is the answer.
"""

import hashlib
import random
import string
import time

import pyaes

from owbench_workload import Failed, integer, metric, workload

# The suite's key.
KEY = b"\xa1\xf6%\x8c\x87}_\xcd\x89dHE8\xbf\xc9,"


@workload(
    name="pyaes",
    category="cpu",
    description="FunctionBench pyaes: AES-128-CTR in pure Python on a random message",
    defaults={"length_of_message": 1000, "num_of_iterations": 10, "seed": 42},
)
def run(params):
    length = integer(params, "length_of_message", 1, 10_000_000)
    iterations = integer(params, "num_of_iterations", 1, 100_000)
    rng = random.Random(integer(params, "seed", 0, 2**63 - 1))
    letters = string.ascii_lowercase + string.digits
    message = "".join(rng.choice(letters) for _ in range(length))
    start = time.perf_counter()
    for _ in range(iterations):
        aes = pyaes.AESModeOfOperationCTR(KEY)
        ciphertext = aes.encrypt(message)
        aes = pyaes.AESModeOfOperationCTR(KEY)
        plaintext = aes.decrypt(ciphertext)
    metric("latency", time.perf_counter() - start, "s")
    if plaintext.decode() != message:
        raise Failed("decrypting the ciphertext did not give the message back")
    return {
        "length_of_message": length,
        "num_of_iterations": iterations,
        "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
    }
