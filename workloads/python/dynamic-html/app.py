"""SeBS's `110.dynamic-html`: an HTML page rendered by Jinja2 from random numbers.

As in the suite: a page greeting `username` with `random_len` distinct random numbers
below 1,000,000, through a Jinja2 template. The suite stamps the page with the current
time and draws unseeded numbers; the port takes both as parameters (`time`, `seed`), so
the page, and the SHA-256 that is the answer, are the same on every runtime.
"""

import hashlib
import random
import time

from jinja2 import Template

from owbench_workload import InvalidParams, integer, metric, workload

PAGE = """<!DOCTYPE html>
<html>
  <head>
    <title>Randomly generated data.</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
  </head>
  <body>
    <div class="container">
      <p>Welcome {{ username }}!</p>
      <p>Data generated at: {{ cur_time }}!</p>
      <p>Requested random numbers:</p>
      <ul>
        {% for n in random_numbers %}
        <li>{{ n }}</li>
        {% endfor %}
      </ul>
    </div>
  </body>
</html>
"""


@workload(
    name="dynamic-html",
    category="cpu",
    description="SeBS dynamic-html: an HTML page rendered by Jinja2 from random numbers",
    defaults={"username": "testname", "random_len": 10000, "seed": 42, "time": "2026-01-01 00:00:00"},
)
def run(params):
    size = integer(params, "random_len", 1, 1_000_000)
    for key in ("username", "time"):
        if not isinstance(params[key], str):
            raise InvalidParams(f"`{key}` must be a string")
    seed = integer(params, "seed", 0, 2**63 - 1)
    start = time.perf_counter()
    numbers = random.Random(seed).sample(range(0, 1_000_000), size)
    html = Template(PAGE).render(
        username=params["username"], cur_time=params["time"], random_numbers=numbers
    )
    metric("latency", time.perf_counter() - start, "s")
    return {
        "random_len": size,
        "html_bytes": len(html.encode()),
        "html_sha256": hashlib.sha256(html.encode()).hexdigest(),
    }
