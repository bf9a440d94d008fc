//! Raw values from every layer, their origin, and their conversion to typed values.
//!
//! Input: a JSON value (files give typed values; `.env`, environment and flags give
//! strings) and the key's [`Kind`]. Output: a [`Typed`] value, or an error naming the
//! key, the value (masked for secrets) and where it came from. It refuses values of
//! the wrong shape, e.g. a list for a port or `maybe` for a boolean.

use std::path::Path;

use serde_json::Value;

use super::keys::{KEYS, KeySpec, Kind};
use super::secret::{MASK, RedactedUrl, redact_text};
use super::{Error, Origin};

/// One effective raw value and where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub value: Value,
    pub origin: Origin,
    /// 1-based line and column inside the origin's file, if known.
    pub location: Option<(usize, usize)>,
}

impl Slot {
    /// Where the value came from, for messages: `sqlalembic.toml:3:7`,
    /// ``environment variable `DB_PORT` ``, ``flag `--database-url` ``, `default`.
    pub fn from(&self) -> String {
        match &self.origin {
            Origin::Default => "default".to_owned(),
            Origin::File(path) | Origin::DotEnv(path) => describe_location(path, self.location),
            Origin::Env(var) => format!("environment variable `{var}`"),
            Origin::Flag(flag) => format!("flag `{flag}`"),
        }
    }
}

/// `path:line:col`, or just `path` when the place is unknown.
pub(crate) fn describe_location(path: &Path, at: Option<(usize, usize)>) -> String {
    match at {
        Some((line, col)) => format!("{}:{line}:{col}", path.display()),
        None => path.display().to_string(),
    }
}

/// A value converted according to its key's [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Typed {
    Bool(bool),
    Port(u16),
    Str(String),
    List(Vec<String>),
}

/// Converts `value` for `kind`; the error is what was expected.
pub(crate) fn convert(kind: Kind, value: &Value) -> Result<Typed, &'static str> {
    match kind {
        Kind::Bool => to_bool(value)
            .map(Typed::Bool)
            .ok_or("a boolean (`true` or `false`)"),
        Kind::Port => to_port(value)
            .map(Typed::Port)
            .ok_or("a port number (1 to 65535)"),
        Kind::Str | Kind::Secret | Kind::Url => {
            scalar_text(value).map(Typed::Str).ok_or("a string")
        }
        Kind::List(sep) => to_list(value, sep)
            .map(Typed::List)
            .ok_or("a list of strings or a separated string"),
    }
}

/// Parses a boolean the way Python configs spell them.
pub(crate) fn to_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "on" | "t" => Some(true),
            "false" | "0" | "no" | "n" | "off" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn to_port(value: &Value) -> Option<u16> {
    let n = match value {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|p| *p > 0)
}

/// A positive integer (plugin limits), from a number or a numeric string.
pub(crate) fn to_positive(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
    .filter(|n| *n > 0)
}

/// A scalar as text: strings as they are, numbers and booleans printed.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list: an array of scalars, or a string split on `sep` (items trimmed, empties dropped).
pub(crate) fn to_list(value: &Value, sep: char) -> Option<Vec<String>> {
    match value {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items.iter().map(scalar_text).collect(),
        Value::String(s) => Some(
            s.split(sep)
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

/// A JSON value for messages, compact and cut to a readable length.
pub(crate) fn show_json(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        let cut: String = text.chars().take(77).collect();
        format!("{cut}...")
    } else {
        text
    }
}

/// A raw value of `spec` for messages: secrets masked, URL passwords masked.
pub(crate) fn show(spec: &KeySpec, value: &Value) -> String {
    match spec.kind {
        Kind::Secret => MASK.to_owned(),
        Kind::Url => match value {
            Value::String(s) => RedactedUrl::new(s.clone()).redacted(),
            other => show_json(other),
        },
        _ => redact_text(&show_json(value)),
    }
}

/// A typed value for the `config` listing, in environment-variable syntax.
pub(crate) fn render(spec: &KeySpec, typed: &Typed) -> String {
    match (spec.kind, typed) {
        (Kind::Secret, Typed::Str(s)) if s.is_empty() => String::new(),
        (Kind::Secret, _) => MASK.to_owned(),
        (Kind::Url, Typed::Str(s)) => RedactedUrl::new(s.clone()).redacted(),
        (Kind::List(sep), Typed::List(items)) => items.join(&sep.to_string()),
        (_, Typed::Bool(b)) => b.to_string(),
        (_, Typed::Port(p)) => p.to_string(),
        (_, Typed::Str(s)) => s.clone(),
        (_, Typed::List(items)) => items.join(","),
    }
}

/// The effective raw values of every key, parallel to [`KEYS`], with typed accessors
/// whose errors name the key, the value and its origin.
#[derive(Debug, Clone)]
pub(crate) struct Slots(pub Vec<Option<Slot>>);

impl Slots {
    /// Every key at its default (keys without one stay empty).
    pub fn defaults() -> Slots {
        Slots(
            KEYS.iter()
                .map(|k| {
                    k.default.map(|d| Slot {
                        value: Value::String(d.to_owned()),
                        origin: Origin::Default,
                        location: None,
                    })
                })
                .collect(),
        )
    }

    /// Sets a key; later calls are higher layers and win.
    pub fn set(&mut self, index: usize, slot: Slot) {
        if let Some(entry) = self.0.get_mut(index) {
            *entry = Some(slot);
        }
    }

    fn index(name: &str) -> usize {
        super::keys::index_of(name).expect("settings.rs only asks for keys of the spec table")
    }

    /// The slot of a key, if it has a value.
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.0.get(Self::index(name)).and_then(Option::as_ref)
    }

    /// The typed value of a key, if set.
    pub fn typed(&self, name: &str) -> Result<Option<Typed>, Error> {
        let spec = &KEYS[Self::index(name)];
        let Some(slot) = self.slot(name) else {
            return Ok(None);
        };
        convert(spec.kind, &slot.value)
            .map(Some)
            .map_err(|expected| self.invalid(name, expected))
    }

    /// An error for a value of this key that does not fit.
    pub fn invalid(&self, name: &str, expected: &str) -> Error {
        let spec = &KEYS[Self::index(name)];
        let (value, from) = self
            .slot(name)
            .map_or((String::new(), "default".to_owned()), |s| {
                (show(spec, &s.value), s.from())
            });
        Error::InvalidValue {
            key: spec.name.to_owned(),
            value,
            from,
            expected: expected.to_owned(),
        }
    }

    /// A boolean value; unset is `false`.
    pub fn bool(&self, name: &str) -> Result<bool, Error> {
        Ok(matches!(self.typed(name)?, Some(Typed::Bool(true))))
    }

    /// A port, if set.
    pub fn port(&self, name: &str) -> Result<Option<u16>, Error> {
        Ok(match self.typed(name)? {
            Some(Typed::Port(p)) => Some(p),
            _ => None,
        })
    }

    /// A string value; an empty string counts as unset.
    pub fn string(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(match self.typed(name)? {
            Some(Typed::Str(s)) if !s.is_empty() => Some(s),
            _ => None,
        })
    }

    /// A list; unset is empty.
    pub fn list(&self, name: &str) -> Result<Vec<String>, Error> {
        Ok(match self.typed(name)? {
            Some(Typed::List(items)) => items,
            _ => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_in_python_spellings() {
        for (v, want) in [
            (json!(true), Some(true)),
            (json!("Yes"), Some(true)),
            (json!("off"), Some(false)),
            (json!(0), Some(false)),
            (json!("maybe"), None),
            (json!([true]), None),
        ] {
            assert_eq!(to_bool(&v), want, "{v}");
        }
    }

    #[test]
    fn ports_must_fit() {
        assert_eq!(convert(Kind::Port, &json!(5432)), Ok(Typed::Port(5432)));
        assert_eq!(convert(Kind::Port, &json!(" 3306 ")), Ok(Typed::Port(3306)));
        assert!(convert(Kind::Port, &json!(70000)).is_err());
        assert!(convert(Kind::Port, &json!("abc")).is_err());
        assert!(convert(Kind::Port, &json!(0)).is_err());
    }

    #[test]
    fn lists_from_arrays_or_strings() {
        assert_eq!(
            convert(Kind::List(':'), &json!("app:lib/models: ")),
            Ok(Typed::List(vec!["app".into(), "lib/models".into()]))
        );
        assert_eq!(
            convert(Kind::List(','), &json!(["a", 1])),
            Ok(Typed::List(vec!["a".into(), "1".into()]))
        );
        assert!(convert(Kind::List(','), &json!([["nested"]])).is_err());
    }

    #[test]
    fn secrets_never_shown() {
        let pass = super::super::keys::lookup("DB_PASS").expect("key");
        assert_eq!(show(pass, &json!("hunter2")), "***");
        assert_eq!(render(pass, &Typed::Str("hunter2".into())), "***");
        let url = super::super::keys::lookup("DATABASE_URL").expect("key");
        assert_eq!(
            show(url, &json!("mysql://u:hunter2@h/d")),
            "mysql://u:***@h/d"
        );
    }
}
