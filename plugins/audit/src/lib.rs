//! `audit`: appends one JSON line per signal to a file inside an allowed folder.
//!
//! Each line: `{"signal", "command", "time", "payload"}`. The file is
//! `logs/audit.jsonl` unless the `path` setting names another one; its folder must be
//! in the plugin's `allow.write`, else every call fails with the reason (and the
//! host reports it per `on_error`).
//!
//! ```toml
//! [[plugins]]
//! name = "audit"
//! path = "plugins/audit.wasm"
//! signals = ["*"]
//! allow = { write = ["logs"] }
//! settings = { path = "logs/audit.jsonl" }
//! ```

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::{Mutex, PoisonError};

use sqlalembic_plugin::{Handler, Signal, Verdict, serde_json, settings};

static FILE: Mutex<Option<(String, File)>> = Mutex::new(None);

struct Audit;

impl Handler for Audit {
    fn handle(signal: Signal) -> Result<Verdict, String> {
        let path = settings::string("path").unwrap_or_else(|| "logs/audit.jsonl".to_owned());
        let line = serde_json::json!({
            "signal": signal.name,
            "command": signal.command,
            "time": signal.timestamp,
            "payload": signal.payload(),
        });
        let mut text = line.to_string();
        text.push('\n');
        // The file stays open for the instance's life (one command run): one
        // `open` per run, not per signal.
        let mut open = FILE.lock().unwrap_or_else(PoisonError::into_inner);
        if open.as_ref().is_none_or(|(p, _)| *p != path) {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| format!("Cannot open `{path}`: {e}"))?;
            *open = Some((path.clone(), file));
        }
        let (_, file) = open.as_mut().expect("opened above");
        // One write per line, so concurrent runs interleave whole lines.
        if let Err(e) = file.write_all(text.as_bytes()) {
            *open = None;
            return Err(format!("Cannot append to `{path}`: {e}"));
        }
        Ok(Verdict::Proceed)
    }
}

sqlalembic_plugin::export_handler!(Audit);
