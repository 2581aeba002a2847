"""A notebook client whose memory a kernel cannot grow: outputs are capped while a notebook runs.

The grader needs a cell's outputs only for one thing, the error a cell raised (its name and
message). Everything else a cell displays counts against one budget per notebook; past it, outputs
are dropped, and a cell's outputs are reduced to its error once the cell is done. ZeroMQ refuses a
single message larger than the budget before it is read.
"""

from __future__ import annotations

import json

from nbclient import NotebookClient

ERROR_TEXT = 2000  # characters of an error's name and message kept


def _size(content: dict) -> int:
    return len(json.dumps(content, default=str))


class CappedClient(NotebookClient):
    """nbclient's client with at most `output_bytes` of output kept over a whole notebook."""

    def __init__(self, notebook, output_bytes: int, **kwargs):
        super().__init__(notebook, **kwargs)
        self.output_bytes, self.output_seen = output_bytes, 0

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] != "error":
            self.output_seen += _size(msg.get("content", {}))
            if self.output_seen > self.output_bytes:
                return None
        return super().output(outs, msg, display_id, cell_index)

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        try:
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        finally:
            cell.outputs = [_short_error(out) for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def _short_error(output):
    output.ename = str(output.get("ename", ""))[:200]
    output.evalue = str(output.get("evalue", ""))[:ERROR_TEXT]
    output.traceback = []
    return output
