//! The configuration file: finding it, parsing TOML, YAML or JSON, and sorting its
//! entries into known keys, `[[plugins]]` and warnings.
//!
//! Input: a path (found by [`find`] or given with `--config`) and its text. Output: a
//! [`FileLayer`] of values located by line and column. A broken file is an error with
//! file, line and column, and so is an unknown key or section (with a "did you mean"
//! hint): a misspelled `DATABASE_URL` must not run against the default database. Keys and section names are case-insensitive, and a known key at
//! the top level (the original's flat layout) counts as if it were in its section.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::Error;
use super::keys::{self, KEYS, PLUGINS, Section};
use crate::diagnostic::{Diagnostic, line_col};

/// File names searched in the project root, first found wins.
pub const SEARCH_ORDER: [&str; 11] = [
    "sqlalembic.toml",
    "sqlalembic.yaml",
    "sqlalembic.yml",
    "sqlalembic.json",
    "config.toml",
    "config.yaml",
    "config.yml",
    "config.json",
    "alembic.toml",
    "alembic.yaml",
    "alembic.json",
];

/// The syntax of a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
    Json,
}

impl Format {
    /// The format a file's extension names.
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Toml => "TOML",
            Format::Yaml => "YAML",
            Format::Json => "JSON",
        }
    }
}

/// The first file of [`SEARCH_ORDER`] that exists in `project_root`.
pub fn find(project_root: &Path) -> Option<PathBuf> {
    SEARCH_ORDER
        .iter()
        .map(|name| project_root.join(name))
        .find(|p| p.is_file())
}

/// One key's value as the file gave it.
#[derive(Debug, Clone)]
pub(crate) struct FileValue {
    /// Index into [`KEYS`].
    pub index: usize,
    pub value: Value,
    /// 1-based line and column of the key, when it could be found in the text.
    pub location: Option<(usize, usize)>,
}

/// What a configuration file contributes.
#[derive(Debug, Default)]
pub(crate) struct FileLayer {
    pub values: Vec<FileValue>,
    /// The raw `plugins` array, if any.
    pub plugins: Option<Value>,
    pub warnings: Vec<Diagnostic>,
    pub text: String,
}

/// Reads and sorts a configuration file; `shown` is the path as messages print it.
pub(crate) fn read(path: &Path, shown: &Path) -> Result<FileLayer, Error> {
    let format = Format::of(path).ok_or_else(|| Error::UnknownFormat {
        path: shown.to_path_buf(),
    })?;
    let text = super::limits::read_bounded(path, shown, false)?.unwrap_or_default();
    let root = parse(&text, format, shown)?;
    let mut layer = collect(root, &text, shown)?;
    layer.text = text;
    Ok(layer)
}

/// Parses `text` into a JSON object (empty for an empty file).
pub(crate) fn parse(text: &str, format: Format, shown: &Path) -> Result<Map<String, Value>, Error> {
    let parse_error = |line: usize, col: usize, message: String| Error::Parse {
        path: shown.to_path_buf(),
        line,
        col,
        format: format.name(),
        message,
    };
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    if text.len() as u64 > super::limits::MAX_BYTES {
        return Err(Error::TooLarge {
            path: shown.to_path_buf(),
            size: text.len() as u64,
            limit: super::limits::MAX_BYTES,
        });
    }
    super::limits::check_depth(text, format, shown)?;
    let value = match format {
        Format::Toml => {
            let table: toml::Table = toml::from_str(text).map_err(|e| {
                let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
                parse_error(line, col, tidy(e.message()))
            })?;
            toml_to_json(toml::Value::Table(table))
        }
        Format::Yaml => {
            let mut value: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| {
                let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                parse_error(line, col, tidy(&e.to_string()))
            })?;
            value.apply_merge().map_err(|e| {
                let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                parse_error(line, col, tidy(&e.to_string()))
            })?;
            yaml_to_json(value)
        }
        Format::Json => serde_json::from_str(text)
            .map_err(|e| parse_error(e.line().max(1), e.column().max(1), tidy(&e.to_string())))?,
    };
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(parse_error(
            1,
            1,
            format!(
                "expected a table of sections at the top level, found {}",
                describe_type(&other)
            ),
        )),
    }
}

/// Drops the parser's own ` at line N column M` suffix (we print the location first)
/// and any trailing period.
fn tidy(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let cut = first.find(" at line ").map_or(first, |i| &first[..i]);
    cut.trim_end_matches('.').to_owned()
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

fn yaml_to_json(value: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn yaml_key(key: serde_yaml_ng::Value) -> String {
    match yaml_to_json(key) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// `a string`, `a list`, … for messages.
pub(crate) fn describe_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

/// How well a key's place matches its section: the own section beats a flat key,
/// which beats a key in another section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Placement {
    WrongSection,
    Flat,
    OwnSection,
}

struct Collector<'a> {
    text: &'a str,
    shown: &'a Path,
    chosen: HashMap<usize, (Placement, FileValue, String)>,
    order: Vec<usize>,
    warnings: Vec<Diagnostic>,
    /// Unknown keys and sections, `(line, col, text)`: the load fails with them.
    unknown: Vec<(usize, usize, String)>,
}

impl Collector<'_> {
    fn warn(
        &mut self,
        code: &str,
        message: String,
        at: Option<(usize, usize)>,
        hint: Option<String>,
    ) {
        let mut d = Diagnostic::warning(code, message).at(
            self.shown,
            at.map(|(l, _)| l),
            at.map(|(_, c)| c),
        );
        if let Some(h) = hint {
            d = d.hint(h);
        }
        self.warnings.push(d);
    }

    fn unknown(&mut self, message: String, at: Option<(usize, usize)>, hint: Option<String>) {
        let (line, col) = at.unwrap_or((1, 1));
        let place = super::value::describe_location(self.shown, Some((line, col)));
        let hint = hint.map(|h| format!("; {h}")).unwrap_or_default();
        self.unknown
            .push((line, col, format!("{place}: {message}{hint}")));
    }

    fn key(&mut self, section: Option<&str>, name: &str, value: Value) {
        let location = locate(self.text, section, name);
        let Some(index) = keys::index_of(name) else {
            let message = match section {
                Some(s) => format!("Unknown key `{name}` in `[{s}]`"),
                None => format!("Unknown key `{name}`"),
            };
            let hint = keys::closest_key(name).map(|k| format!("did you mean `{k}`?"));
            self.unknown(message, location, hint);
            return;
        };
        if value.is_null() {
            return;
        }
        let spec = &KEYS[index];
        let placement = match section.map(Section::from_name) {
            None => Placement::Flat,
            Some(Some(s)) if s == spec.section => Placement::OwnSection,
            Some(_) => {
                self.warn(
                    "CFG003",
                    format!(
                        "Key `{}` belongs in `[{}]`, not `[{}]`",
                        spec.name,
                        spec.section,
                        section.unwrap_or_default()
                    ),
                    location,
                    Some(format!("move it to `[{}]`", spec.section)),
                );
                Placement::WrongSection
            }
        };
        let place = section.map_or_else(|| "the top level".to_owned(), |s| format!("`[{s}]`"));
        let candidate = FileValue {
            index,
            value,
            location,
        };
        match self.chosen.get(&index) {
            None => {
                self.order.push(index);
                self.chosen.insert(index, (placement, candidate, place));
            }
            Some((previous, _, previous_place)) => {
                let (kept_place, replace) = if placement > *previous {
                    (place.clone(), true)
                } else {
                    (previous_place.clone(), false)
                };
                self.warn(
                    "CFG005",
                    format!(
                        "Key `{}` is set more than once; using the one in {kept_place}",
                        spec.name
                    ),
                    location,
                    None,
                );
                if replace {
                    self.chosen.insert(index, (placement, candidate, place));
                }
            }
        }
    }
}

/// Sorts the top-level table into key values, plugins and warnings.
fn collect(root: Map<String, Value>, text: &str, shown: &Path) -> Result<FileLayer, Error> {
    let mut c = Collector {
        text,
        shown,
        chosen: HashMap::new(),
        order: Vec::new(),
        warnings: Vec::new(),
        unknown: Vec::new(),
    };
    let mut plugins = None;
    for (name, value) in root {
        if name.eq_ignore_ascii_case(PLUGINS) {
            plugins = Some(value);
        } else if let Some(section) = Section::from_name(&name) {
            match value {
                Value::Object(entries) => {
                    for (key, v) in entries {
                        c.key(Some(section.name()), &key, v);
                    }
                }
                Value::Null => {}
                other => {
                    let at = locate(text, None, &name);
                    return Err(Error::InvalidValue {
                        key: format!("[{}]", section.name()),
                        value: super::value::show_json(&other),
                        from: super::value::describe_location(shown, at),
                        expected: "a table of keys".to_owned(),
                    });
                }
            }
        } else if keys::index_of(&name).is_some() {
            c.key(None, &name, value);
        } else if let Value::Object(_) = value {
            let at = locate(text, None, &name);
            let hint = keys::closest_section(&name).map(|s| format!("did you mean `[{s}]`?"));
            c.unknown(format!("Unknown section `[{name}]`"), at, hint);
        } else {
            c.key(None, &name, value);
        }
    }
    let Collector {
        mut chosen,
        order,
        mut warnings,
        mut unknown,
        ..
    } = c;
    if !unknown.is_empty() {
        unknown.sort();
        return Err(Error::Unknown {
            problems: unknown.into_iter().map(|(_, _, text)| text).collect(),
        });
    }
    let values = order
        .into_iter()
        .filter_map(|i| chosen.remove(&i).map(|(_, v, _)| v))
        .collect();
    warnings.sort_by_key(|d| (d.line, d.col));
    Ok(FileLayer {
        values,
        plugins,
        warnings,
        text: String::new(),
    })
}

/// Byte offsets where `name` appears as a key (or `[name]` header) in `text`,
/// ignoring case: preceded by a line start, whitespace, a quote, `{`, `,`, `.` or `[`,
/// and followed (after an optional quote and spaces) by `=`, `:`, `]` or `.`.
pub(crate) fn key_offsets(text: &str, name: &str) -> Vec<usize> {
    if name.is_empty() {
        return Vec::new();
    }
    let hay = text.to_ascii_lowercase();
    let needle = name.to_ascii_lowercase();
    let bytes = hay.as_bytes();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(&needle) {
        let start = from + pos;
        let end = start + needle.len();
        from = start + 1;
        let before_ok = start == 0
            || matches!(
                bytes[start - 1],
                b' ' | b'\t' | b'\n' | b'\r' | b'"' | b'\'' | b'{' | b',' | b'.' | b'['
            );
        if !before_ok {
            continue;
        }
        let mut i = end;
        if i < bytes.len() && matches!(bytes[i], b'"' | b'\'') {
            i += 1;
        }
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t') {
            i += 1;
        }
        if i < bytes.len() && matches!(bytes[i], b'=' | b':' | b']' | b'.') {
            found.push(start);
        }
    }
    found
}

/// Best-effort 1-based line and column of `key` (inside `section`, if given) in `text`.
pub(crate) fn locate(text: &str, section: Option<&str>, key: &str) -> Option<(usize, usize)> {
    let keys = key_offsets(text, key);
    let after = section
        .and_then(|s| key_offsets(text, s).first().copied())
        .unwrap_or(0);
    keys.iter()
        .find(|&&k| k > after)
        .or(keys.first())
        .map(|&k| line_col(text, k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(text: &str, format: Format) -> FileLayer {
        let shown = Path::new("cfg");
        let map = parse(text, format, shown).expect("parses");
        collect(map, text, shown).expect("collects")
    }

    fn value_of(layer: &FileLayer, name: &str) -> Option<Value> {
        let index = keys::index_of(name)?;
        layer
            .values
            .iter()
            .find(|v| v.index == index)
            .map(|v| v.value.clone())
    }

    #[test]
    fn search_order_prefers_sqlalembic_then_config_then_alembic() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(find(dir.path()), None);
        for name in ["alembic.json", "config.yml", "sqlalembic.json"] {
            std::fs::write(dir.path().join(name), "{}").expect("write");
        }
        assert_eq!(find(dir.path()), Some(dir.path().join("sqlalembic.json")));
        std::fs::write(dir.path().join("sqlalembic.toml"), "").expect("write");
        assert_eq!(find(dir.path()), Some(dir.path().join("sqlalembic.toml")));
        std::fs::remove_file(dir.path().join("sqlalembic.toml")).expect("rm");
        std::fs::remove_file(dir.path().join("sqlalembic.json")).expect("rm");
        assert_eq!(find(dir.path()), Some(dir.path().join("config.yml")));
    }

    #[test]
    fn toml_yaml_json_give_the_same_values() {
        let toml =
            "[database]\nDB_HOST = \"h\"\ndb_port = 5433\n[Discovery]\nbackends = [\"sql\"]\n";
        let yaml = "database:\n  DB_HOST: h\n  db_port: 5433\nDiscovery:\n  backends: [sql]\n";
        let json = r#"{"database": {"DB_HOST": "h", "db_port": 5433}, "Discovery": {"backends": ["sql"]}}"#;
        for (text, format, port_line) in [
            (toml, Format::Toml, 3),
            (yaml, Format::Yaml, 3),
            (json, Format::Json, 1),
        ] {
            let l = layer(text, format);
            assert_eq!(
                value_of(&l, "DB_HOST"),
                Some(Value::from("h")),
                "{format:?}"
            );
            assert_eq!(
                value_of(&l, "DB_PORT"),
                Some(Value::from(5433)),
                "{format:?}"
            );
            assert_eq!(
                value_of(&l, "BACKENDS"),
                Some(serde_json::json!(["sql"])),
                "{format:?}"
            );
            assert!(l.warnings.is_empty(), "{format:?}: {:?}", l.warnings);
            let port = l
                .values
                .iter()
                .find(|v| v.index == keys::index_of("DB_PORT").expect("key"));
            assert_eq!(
                port.and_then(|v| v.location).map(|l| l.0),
                Some(port_line),
                "{format:?}"
            );
        }
    }

    #[test]
    fn flat_keys_count_as_in_their_section_but_lose_to_it() {
        let l = layer(
            "db_host = \"flat\"\nDEBUG = true\n[database]\nDB_HOST = \"sec\"\n",
            Format::Toml,
        );
        assert_eq!(value_of(&l, "DEBUG"), Some(Value::Bool(true)));
        assert_eq!(value_of(&l, "DB_HOST"), Some(Value::from("sec")));
        assert_eq!(l.warnings.len(), 1);
        assert_eq!(l.warnings[0].code, "CFG005");
    }

    #[test]
    fn unknown_keys_and_sections_are_errors_with_suggestions() {
        let text = "[database]\nDB_HOST = \"h\"\nDB_HSOT = \"x\"\n[databse]\na = 1\n[general]\nDB_USER = \"u\"\n";
        let err = collect(
            parse(text, Format::Toml, Path::new("cfg")).expect("parses"),
            text,
            Path::new("cfg"),
        )
        .expect_err("unknown names");
        assert_eq!(
            err.to_string(),
            "cfg:3:1: Unknown key `DB_HSOT` in `[database]`; did you mean `DB_HOST`?\n\
             cfg:4:2: Unknown section `[databse]`; did you mean `[database]`?"
        );
        // A key in the wrong section is still only a warning: it is known.
        let text = "[general]\nDB_USER = \"u\"\n";
        let l = layer(text, Format::Toml);
        let rendered: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            rendered,
            [
                "cfg:2:1: warning[CFG003]: Key `DB_USER` belongs in `[database]`, not `[general]`\n  hint: move it to `[database]`"
            ]
        );
        assert_eq!(value_of(&l, "DB_USER"), Some(Value::from("u")));
    }

    #[test]
    fn broken_files_report_line_and_column() {
        let shown = Path::new("sqlalembic.toml");
        let err = parse(
            "[database]\nDB_HOST = \"h\"\nDB_PORT = = 3\n",
            Format::Toml,
            shown,
        )
        .expect_err("broken TOML");
        let text = err.to_string();
        assert!(
            text.starts_with("sqlalembic.toml:3:11: Invalid TOML: "),
            "{text}"
        );

        let err = parse(
            "database:\n  DB_HOST: h\n DB_PORT: 3\n",
            Format::Yaml,
            Path::new("c.yaml"),
        )
        .expect_err("broken YAML");
        let Error::Parse { line, format, .. } = &err else {
            panic!("not a parse error: {err}")
        };
        assert_eq!((*line, *format), (3, "YAML"));
        assert!(!err.to_string().contains(" at line "), "{err}");

        let err = parse(
            "{\n  \"database\": {\n    \"DB_HOST\": \"h\",\n  }\n}",
            Format::Json,
            Path::new("c.json"),
        )
        .expect_err("broken JSON");
        assert_eq!(err.to_string(), "c.json:4:3: Invalid JSON: trailing comma");

        let err = parse("[1, 2]", Format::Json, Path::new("c.json")).expect_err("not a table");
        assert_eq!(
            err.to_string(),
            "c.json:1:1: Invalid JSON: expected a table of sections at the top level, found a list"
        );
    }

    #[test]
    fn empty_files_are_empty_tables() {
        for format in [Format::Toml, Format::Yaml, Format::Json] {
            assert!(
                parse("  \n", format, Path::new("x"))
                    .expect("parses")
                    .is_empty()
            );
        }
        assert!(
            parse("# only a comment\n", Format::Yaml, Path::new("x"))
                .expect("parses")
                .is_empty()
        );
    }

    #[test]
    fn locate_finds_keys_in_their_section() {
        let text = "[general]\nname = 1\n[database]\n\"name\" = 2\n";
        assert_eq!(locate(text, Some("database"), "NAME"), Some((4, 2)));
        assert_eq!(locate(text, None, "name"), Some((2, 1)));
        assert_eq!(locate(text, None, "missing"), None);
    }
}
