"""FunctionBench's `chameleon`: an HTML table rendered by a Chameleon page template.

As in the suite: a table of `num_of_rows` rows of `num_of_cols` cells, each cell a
`<span>` whose class and text come from TAL expressions (`tal:repeat`, `tal:define`,
`tal:attributes`, `tal:content`). Chameleon compiles the template to Python code and
runs it, so the work is template compilation and rendering in pure Python. The suite
returns the page; the port returns its SHA-256 and size (the same on every runtime) and
reports the time as a metric.
"""

import ast
import hashlib
import time

from chameleon import PageTemplate

from owbench_workload import integer, metric, workload

# `ast.unparse`, which Chameleon compiles its templates with, imports `_ast_unparse` on
# first use in CPython 3.14. componentize-py keeps that module only if it is loaded
# while the component is made: unparse once at import.
ast.unparse(ast.parse("pass"))

BIGTABLE_ZPT = """\
<table xmlns="http://www.w3.org/1999/xhtml"
xmlns:tal="http://xml.zope.org/namespaces/tal">
<tr tal:repeat="row python: options['table']">
<td tal:repeat="c python: row.values()">
<span tal:define="d python: c + 1"
tal:attributes="class python: 'column-' + str(d)"
tal:content="python: d" />
</td>
</tr>
</table>"""


@workload(
    name="chameleon",
    category="cpu",
    description="FunctionBench chameleon: an HTML table rendered by a Chameleon page template",
    defaults={"num_of_rows": 100, "num_of_cols": 100},
)
def run(params):
    rows = integer(params, "num_of_rows", 1, 10000)
    cols = integer(params, "num_of_cols", 1, 10000)
    start = time.perf_counter()
    template = PageTemplate(BIGTABLE_ZPT)
    data = {str(i): i for i in range(cols)}
    page = template.render(options={"table": [data for _ in range(rows)]})
    metric("latency", time.perf_counter() - start, "s")
    encoded = page.encode("utf-8")
    return {
        "num_of_rows": rows,
        "num_of_cols": cols,
        "bytes": len(encoded),
        "sha256": hashlib.sha256(encoded).hexdigest(),
    }
