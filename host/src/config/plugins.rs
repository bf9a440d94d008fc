//! The `[[plugins]]` array of tables.
//!
//! Input: the raw `plugins` value of the configuration file. Output: one
//! [`PluginConfig`] per entry, defaults filled in (`on_error = "warn"`, `policy = false`,
//! `timeout_ms = 500`, `memory_mb = 32`, nothing allowed). Field names are
//! case-insensitive. It refuses unknown fields and signal names (with the closest
//! known one), entries without `path`, fields of the wrong type, and two plugins
//! with the same name.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use super::Error;
use super::file::{describe_type, key_offsets, locate};
use super::keys::{PLUGINS, closest};
use super::value::{show_json, to_bool, to_positive};
use crate::diagnostic::line_col;

/// What a plugin's failure does to the command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Report it and carry on.
    #[default]
    Warn,
    /// Stop the command.
    Abort,
}

/// What a plugin's sandbox may touch; everything else is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Allow {
    /// Folders it may read, relative to the project.
    pub read: Vec<String>,
    /// Folders it may write, relative to the project.
    pub write: Vec<String>,
    /// Environment variables it may see.
    pub env: Vec<String>,
    /// Hosts it may reach.
    pub http: Vec<String>,
}

/// One `[[plugins]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginConfig {
    /// Unique name (default: the file stem of `path`).
    pub name: String,
    /// The component, as written (relative to the project root).
    pub path: PathBuf,
    /// Signals it handles.
    pub signals: Vec<String>,
    pub on_error: OnError,
    /// Whether its `deny` verdict on a start signal may stop the command.
    pub policy: bool,
    pub timeout_ms: u64,
    pub memory_mb: u64,
    /// What one call may say: verdict messages, errors and log lines, in KiB.
    pub output_kb: u64,
    /// What the plugin may write in one run (files, streams), in MiB.
    pub write_mb: u64,
    pub allow: Allow,
    /// Free-form settings passed to the plugin (a JSON object).
    pub settings: Value,
}

/// Default plugin time limit per call.
pub const DEFAULT_TIMEOUT_MS: u64 = 500;
/// Default plugin memory limit.
pub const DEFAULT_MEMORY_MB: u64 = 32;
/// Default cap on what one plugin call says (verdict, error, log lines): 1 MiB.
pub const DEFAULT_OUTPUT_KB: u64 = 1024;
/// Default cap on what one plugin writes in one run.
pub const DEFAULT_WRITE_MB: u64 = 64;

const FIELDS: [&str; 11] = [
    "name",
    "path",
    "signals",
    "on_error",
    "policy",
    "timeout_ms",
    "memory_mb",
    "output_kb",
    "write_mb",
    "allow",
    "settings",
];
const ALLOW_FIELDS: [&str; 4] = ["read", "write", "env", "http"];

struct Entry<'a> {
    shown: &'a Path,
    text: &'a str,
    index: usize,
    name: Option<String>,
    at: Option<(usize, usize)>,
    /// Byte offset of the entry's header in `text` (0 when not found).
    from: usize,
}

impl Entry<'_> {
    fn error(&self, message: String) -> Error {
        Error::Plugin {
            location: super::value::describe_location(self.shown, self.at),
            index: self.index + 1,
            name: self.name.clone(),
            message,
        }
    }

    /// An unknown field of the entry (or of its `allow` table): an error naming
    /// where it is and the closest known field.
    fn unknown(&self, field: &str, known: &[&'static str]) -> Error {
        let at = locate(self.text, Some(PLUGINS), field).or(self.at);
        let hint = closest(field, known.iter().copied())
            .map(|k| format!("; did you mean `{k}`?"))
            .unwrap_or_else(|| format!("; known keys: {}", known.join(", ")));
        Error::Plugin {
            location: super::value::describe_location(self.shown, at),
            index: self.index + 1,
            name: self.name.clone(),
            message: format!("unknown key `{field}`{hint}"),
        }
    }

    /// Refuses a signal name this tool never sends, at its place in the file.
    fn check_signal(&self, signal: &str) -> Result<(), Error> {
        if signal == crate::signals::names::ALL_SIGNALS {
            return Ok(());
        }
        let known = crate::signals::names::known_signals();
        if known.iter().any(|k| k == signal) {
            return Ok(());
        }
        let at = ["\"", "'"]
            .iter()
            .find_map(|q| {
                let quoted = format!("{q}{signal}{q}");
                self.text
                    .get(self.from..)?
                    .find(&quoted)
                    .map(|i| line_col(self.text, self.from + i + 1))
            })
            .or(self.at);
        let hint = closest(signal, known.iter().map(String::as_str))
            .map(|k| format!("did you mean `{k}`?"))
            .unwrap_or_else(|| {
                "`sqlalembic plugins list` and the README list the signals".to_owned()
            });
        Err(Error::Plugin {
            location: super::value::describe_location(self.shown, at),
            index: self.index + 1,
            name: self.name.clone(),
            message: format!("unknown signal `{signal}` in `signals`; {hint}"),
        })
    }

    fn strings(&self, field: &str, value: &Value) -> Result<Vec<String>, Error> {
        match value {
            Value::Null => Ok(Vec::new()),
            Value::String(s) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()),
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.error(format!(
                        "`{field}` must be a list of strings, found {} `{}`",
                        describe_type(other),
                        show_json(other)
                    ))),
                })
                .collect(),
            other => Err(self.error(format!(
                "`{field}` must be a list of strings, found {}",
                describe_type(other)
            ))),
        }
    }
}

/// Reads the `plugins` value of a file (`shown` is how messages print its path).
pub(crate) fn parse(value: &Value, text: &str, shown: &Path) -> Result<Vec<PluginConfig>, Error> {
    let headers = key_offsets(text, PLUGINS);
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            let at = headers.first().map(|&o| line_col(text, o));
            return Err(Error::Plugin {
                location: super::value::describe_location(shown, at),
                index: 0,
                name: None,
                message: format!(
                    "`plugins` must be an array of tables (`[[plugins]]`), found {}",
                    describe_type(other)
                ),
            });
        }
    };
    let mut plugins: Vec<PluginConfig> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let at = headers
            .get(index)
            .or(headers.first())
            .map(|&o| line_col(text, o));
        let mut entry = Entry {
            shown,
            text,
            index,
            name: None,
            at,
            from: headers.get(index).copied().unwrap_or(0),
        };
        let Value::Object(map) = item else {
            return Err(entry.error(format!("expected a table, found {}", describe_type(item))));
        };
        let plugin = parse_one(map, &mut entry)?;
        if plugins.iter().any(|p| p.name == plugin.name) {
            return Err(entry.error(format!(
                "the name `{}` is used by another plugin",
                plugin.name
            )));
        }
        plugins.push(plugin);
    }
    Ok(plugins)
}

fn get<'a>(map: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
}

fn parse_one(map: &Map<String, Value>, entry: &mut Entry<'_>) -> Result<PluginConfig, Error> {
    entry.name = get(map, "name").and_then(Value::as_str).map(str::to_owned);
    for key in map.keys() {
        if !FIELDS.iter().any(|f| f.eq_ignore_ascii_case(key)) {
            return Err(entry.unknown(key, &FIELDS));
        }
    }
    let text_field = |entry: &Entry<'_>, field: &str| -> Result<Option<String>, Error> {
        match get(map, field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(entry.error(format!(
                "`{field}` must be a string, found {}",
                describe_type(other)
            ))),
        }
    };
    entry.name = text_field(entry, "name")?;
    let path = text_field(entry, "path")?
        .map(PathBuf::from)
        .ok_or_else(|| entry.error("missing `path` (the `.wasm` component)".to_owned()))?;
    let name = match entry.name.clone() {
        Some(name) => name,
        None => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            entry.name = Some(stem.clone());
            stem
        }
    };
    let signals = match get(map, "signals") {
        Some(v) => entry.strings("signals", v)?,
        None => Vec::new(),
    };
    for signal in &signals {
        entry.check_signal(signal)?;
    }
    let on_error = match get(map, "on_error") {
        None | Some(Value::Null) => OnError::Warn,
        Some(v) => match v.as_str().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("warn") => OnError::Warn,
            Some("abort") => OnError::Abort,
            _ => {
                return Err(entry.error(format!(
                    "`on_error` must be `warn` or `abort`, found `{}`",
                    show_json(v)
                )));
            }
        },
    };
    let policy = match get(map, "policy") {
        None | Some(Value::Null) => false,
        Some(v) => to_bool(v).ok_or_else(|| {
            entry.error(format!(
                "`policy` must be `true` or `false`, found `{}`",
                show_json(v)
            ))
        })?,
    };
    let limit = |field: &str, default: u64| -> Result<u64, Error> {
        match get(map, field) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => to_positive(v).ok_or_else(|| {
                entry.error(format!(
                    "`{field}` must be a positive integer, found `{}`",
                    show_json(v)
                ))
            }),
        }
    };
    let timeout_ms = limit("timeout_ms", DEFAULT_TIMEOUT_MS)?;
    let memory_mb = limit("memory_mb", DEFAULT_MEMORY_MB)?;
    let output_kb = limit("output_kb", DEFAULT_OUTPUT_KB)?;
    let write_mb = limit("write_mb", DEFAULT_WRITE_MB)?;
    let mut allow = Allow::default();
    match get(map, "allow") {
        None | Some(Value::Null) => {}
        Some(Value::Object(grants)) => {
            for (key, value) in grants {
                let list = entry.strings(&format!("allow.{}", key.to_ascii_lowercase()), value)?;
                match key.to_ascii_lowercase().as_str() {
                    "read" => allow.read = list,
                    "write" => allow.write = list,
                    "env" => allow.env = list,
                    "http" => allow.http = list,
                    _ => return Err(entry.unknown(key, &ALLOW_FIELDS)),
                }
            }
        }
        Some(other) => {
            return Err(entry.error(format!(
                "`allow` must be a table like `{{ read = [\"migrations\"] }}`, found {}",
                describe_type(other)
            )));
        }
    }
    let settings = match get(map, "settings") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(other) => {
            return Err(entry.error(format!(
                "`settings` must be a table, found {}",
                describe_type(other)
            )));
        }
    };
    Ok(PluginConfig {
        name,
        path,
        signals,
        on_error,
        policy,
        timeout_ms,
        memory_mb,
        output_kb,
        write_mb,
        allow,
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::file::{Format, parse as parse_file};

    fn plugins(text: &str, format: Format) -> Result<Vec<PluginConfig>, Error> {
        let shown = Path::new("sqlalembic.toml");
        let map = parse_file(text, format, shown).expect("parses");
        let value = map.get("plugins").cloned().unwrap_or(Value::Null);
        parse(&value, text, shown)
    }

    const TOML: &str = r##"
[[plugins]]
name = "audit"
path = "plugins/audit.wasm"
signals = ["command_finished", "command_failed", "revision_applied"]
on_error = "abort"
policy = true
timeout_ms = 250
memory_mb = 64
allow = { read = ["migrations"], write = ["logs"], env = ["SLACK_WEBHOOK_URL"], http = [] }
settings = { channel = "#deploys", retries = 3, nested = { on = true } }

[[plugins]]
PATH = "plugins/notify.wasm"
"##;

    #[test]
    fn parses_the_design_example_and_fills_defaults() {
        let list = plugins(TOML, Format::Toml).expect("valid");
        assert_eq!(list.len(), 2);
        let audit = &list[0];
        assert_eq!(audit.name, "audit");
        assert_eq!(audit.path, PathBuf::from("plugins/audit.wasm"));
        assert_eq!(audit.signals.len(), 3);
        assert_eq!(audit.on_error, OnError::Abort);
        assert!(audit.policy);
        assert_eq!((audit.timeout_ms, audit.memory_mb), (250, 64));
        assert_eq!(audit.allow.read, ["migrations"]);
        assert_eq!(audit.allow.env, ["SLACK_WEBHOOK_URL"]);
        assert!(audit.allow.http.is_empty());
        assert_eq!(
            audit.settings,
            serde_json::json!({"channel": "#deploys", "retries": 3, "nested": {"on": true}})
        );
        let notify = &list[1];
        assert_eq!(notify.name, "notify");
        assert_eq!(notify.on_error, OnError::Warn);
        assert!(!notify.policy);
        assert_eq!((notify.timeout_ms, notify.memory_mb), (500, 32));
        assert_eq!(notify.allow, Allow::default());
        assert_eq!(notify.settings, serde_json::json!({}));
    }

    #[test]
    fn yaml_plugins_list() {
        let yaml = "plugins:\n  - name: a\n    path: a.wasm\n    signals: command_failed, command_finished\n";
        let list = plugins(yaml, Format::Yaml).expect("valid");
        assert_eq!(list[0].signals, ["command_failed", "command_finished"]);
    }

    #[test]
    fn bad_entries_are_errors_with_place() {
        let err = plugins("[[plugins]]\nname = \"a\"\npath = \"a.wasm\"\n\n[[plugins]]\nname = \"b\"\npath = \"b.wasm\"\non_error = \"explode\"\n", Format::Toml)
            .expect_err("bad on_error");
        assert_eq!(
            err.to_string(),
            "sqlalembic.toml:5:3: Invalid plugin entry 2 (`b`): `on_error` must be `warn` or `abort`, found `explode`"
        );
        let err = plugins("[[plugins]]\nname = \"a\"\n", Format::Toml).expect_err("no path");
        assert!(err.to_string().contains("missing `path`"), "{err}");
        let err = plugins(
            "[[plugins]]\npath = \"a.wasm\"\ntimeout_ms = -1\n",
            Format::Toml,
        )
        .expect_err("negative");
        assert!(
            err.to_string()
                .contains("`timeout_ms` must be a positive integer, found `-1`"),
            "{err}"
        );
        let err = plugins(
            "[[plugins]]\npath = \"x/a.wasm\"\n[[plugins]]\npath = \"y/a.wasm\"\n",
            Format::Toml,
        )
        .expect_err("duplicate");
        assert!(
            err.to_string()
                .contains("the name `a` is used by another plugin"),
            "{err}"
        );
        let err = plugins("[plugins]\na = 1\n", Format::Toml).expect_err("not an array");
        assert!(
            err.to_string().contains("must be an array of tables"),
            "{err}"
        );
    }

    #[test]
    fn unknown_plugin_fields_are_errors_with_the_closest_name() {
        let err = plugins(
            "[[plugins]]\npath = \"a.wasm\"\nsignal = [\"x\"]\n",
            Format::Toml,
        )
        .expect_err("unknown field");
        assert_eq!(
            err.to_string(),
            "sqlalembic.toml:3:1: Invalid plugin entry 1: unknown key `signal`; did you mean `signals`?"
        );
        let err = plugins(
            "[[plugins]]\npath = \"a.wasm\"\nallow = { raed = [] }\n",
            Format::Toml,
        )
        .expect_err("unknown allow field");
        assert!(
            err.to_string()
                .ends_with("unknown key `raed`; did you mean `read`?"),
            "{err}"
        );
    }

    #[test]
    fn unknown_signal_names_are_errors_at_their_line() {
        let text = "[[plugins]]\nname = \"a\"\npath = \"a.wasm\"\n\n[[plugins]]\nname = \"b\"\npath = \"b.wasm\"\nsignals = [\"command_finished\", \"migration_migrat_command\"]\n";
        let err = plugins(text, Format::Toml).expect_err("unknown signal");
        assert_eq!(
            err.to_string(),
            "sqlalembic.toml:8:33: Invalid plugin entry 2 (`b`): unknown signal `migration_migrat_command` in `signals`; did you mean `migration_migrate_command`?"
        );
        let ok = plugins(
            "[[plugins]]\npath = \"a.wasm\"\nsignals = [\"*\", \"revision_applied\", \"migration_generated\"]\n",
            Format::Toml,
        )
        .expect("known signals");
        assert_eq!(ok[0].signals.len(), 3);
    }
}
