// `audit`, in JavaScript: appends one JSON line per signal to a file in an allowed
// folder. The same plugin as `plugins/audit` (Rust) and `plugins/python/audit`.
//
// Each line: {"signal", "command", "time", "payload"}; the file is
// `logs/audit.jsonl` unless the `path` setting names another one, and its folder
// must be in the plugin's `allow.write`.
//
// Build (from the repository root; `--sync`: sqlalembic calls plugins synchronously):
//
//   componentize-qjs --sync --wit wit --world signal-handler \
//     --js plugins/js/audit/audit.js -o audit-js.wasm

import host from "sqlalembic:plugin/host@0.1.2";

// UTF-8 bytes of a string (QuickJS has no TextEncoder).
function utf8(text) {
  const bytes = [];
  for (const ch of text) {
    let c = ch.codePointAt(0);
    if (c < 0x80) {
      bytes.push(c);
    } else if (c < 0x800) {
      bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    } else {
      bytes.push(
        0xf0 | (c >> 18),
        0x80 | ((c >> 12) & 0x3f),
        0x80 | ((c >> 6) & 0x3f),
        0x80 | (c & 0x3f),
      );
    }
  }
  return new Uint8Array(bytes);
}

export function handle(signal) {
  const raw = host.setting("path");
  const path = raw === null || raw === undefined ? "logs/audit.jsonl" : JSON.parse(raw);
  const line = JSON.stringify({
    signal: signal.name,
    command: signal.command,
    time: signal.timestamp,
    payload: JSON.parse(signal.payload),
  });
  try {
    // One write per line, so concurrent runs interleave whole lines.
    host.appendFile(path, utf8(line + "\n"));
  } catch (error) {
    throw `audit (js): ${error}`;
  }
  return { tag: "proceed" };
}
