"""`audit`, in Python: appends one JSON line per signal to a file in an allowed folder.

The same plugin as `plugins/audit` (Rust) and `plugins/js/audit` (JavaScript).
Each line: {"signal", "command", "time", "payload"}; the file is
`logs/audit.jsonl` unless the `path` setting names another one, and its folder
must be in the plugin's `allow.write`.

Build (from the repository root):

    componentize-py -d wit -w signal-handler componentize -p plugins/python/audit app -o audit-py.wasm
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host, types


class WitWorld(wit_world.WitWorld):
    def handle(self, signal: types.Signal) -> types.Verdict:
        raw = host.setting("path")
        path = json.loads(raw) if raw is not None else "logs/audit.jsonl"
        line = json.dumps(
            {
                "signal": signal.name,
                "command": signal.command,
                "time": signal.timestamp,
                "payload": json.loads(signal.payload),
            },
            separators=(",", ":"),
        )
        try:
            # One write per line, so concurrent runs interleave whole lines.
            host.append_file(path, (line + "\n").encode("utf-8"))
        except Err as error:
            raise Err(f"audit (python): {error.value}")
        return types.Verdict_Proceed()
