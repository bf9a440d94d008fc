//! New revision files: the `script.toml.j2` template rendered with minijinja, and ops
//! rendered as `[[upgrade]]` / `[[downgrade]]` TOML tables.
//!
//! The rendered text is parsed back before it is returned, so a broken user template is
//! reported here (located in the file it would have produced) instead of at apply time.

use std::path::Path;

use serde::Serialize;
use serde_json::Value as Json;

use super::error::FileError;
use super::{RevisionKind, file_name, parse_str};
use crate::ops::Op;

/// The built-in template, also what `startproject` writes for users to edit.
pub const DEFAULT_TEMPLATE: &str = include_str!("../../../../templates/migrations/script.toml.j2");

/// What a new revision file holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRevision {
    pub revision: String,
    /// Empty for a base, several for a merge.
    pub down_revisions: Vec<String>,
    pub branch_labels: Vec<String>,
    pub depends_on: Vec<String>,
    pub message: String,
    /// A TOML datetime such as `2026-11-25T18:00:00Z` (see [`now_created_at`]); any other
    /// text is written as a string.
    pub created_at: String,
    pub upgrade: Vec<Op>,
    pub downgrade: Vec<Op>,
    /// `makemigrations --empty`: the template writes commented examples instead of ops.
    pub empty: bool,
}

/// The current time in `timezone` (`MIGRATION_TIMEZONE`) as a TOML datetime, second
/// precision.
pub fn now_created_at(timezone: crate::config::Timezone) -> String {
    timezone.now_toml()
}

#[derive(Serialize)]
struct TemplateContext<'a> {
    revision: &'a str,
    down_revision: Json,
    down_revisions: &'a [String],
    branch_labels: &'a [String],
    depends_on: &'a [String],
    message: &'a str,
    created_at: String,
    upgrade_ops: String,
    downgrade_ops: String,
    upgrade: &'a [Op],
    downgrade: &'a [Op],
    empty: bool,
}

/// Renders a new revision file from `template` (the text of `script.toml.j2`) and checks
/// that the result is a valid revision declaring `new.revision`.
pub fn render_new(template: &str, new: &NewRevision) -> Result<String, FileError> {
    let template_error = |e: minijinja::Error| FileError::Template {
        line: e.line(),
        message: e.to_string(),
    };
    let created_at = if new.created_at.parse::<toml::value::Datetime>().is_ok() {
        new.created_at.clone()
    } else {
        toml_string(&new.created_at, false)
    };
    let render_ops = |section: &str, ops: &[Op]| {
        ops.iter()
            .map(|op| render_op(section, op))
            .collect::<Vec<_>>()
            .join("\n")
            .trim_end()
            .to_owned()
    };
    let ctx = TemplateContext {
        revision: &new.revision,
        down_revision: match new.down_revisions.as_slice() {
            [] => Json::Null,
            [one] => Json::String(one.clone()),
            many => Json::from(many.to_vec()),
        },
        down_revisions: &new.down_revisions,
        branch_labels: &new.branch_labels,
        depends_on: &new.depends_on,
        message: &new.message,
        created_at,
        upgrade_ops: render_ops("upgrade", &new.upgrade),
        downgrade_ops: render_ops("downgrade", &new.downgrade),
        upgrade: &new.upgrade,
        downgrade: &new.downgrade,
        empty: new.empty,
    };

    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    let syntax = env
        .syntax()
        .to_builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(template_error)?;
    env.set_syntax(syntax);
    env.add_filter(
        "toml",
        |value: minijinja::Value| -> Result<String, minijinja::Error> {
            let json = serde_json::to_value(&value).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
            })?;
            let mut out = String::new();
            inline_value(&json, &mut out);
            Ok(out)
        },
    );
    let text = env
        .render_str(
            template,
            minijinja::Value::from(minijinja::value::Serde(&ctx)),
        )
        .map_err(template_error)?;

    let name = file_name(&new.revision, &new.message, RevisionKind::Toml);
    let (file, _) = parse_str(Path::new(&name), RevisionKind::Toml, &text)?;
    if file.revision != new.revision {
        return Err(FileError::Template {
            line: None,
            message: format!(
                "The template wrote revision `{}`, expected `{}`",
                file.revision, new.revision
            ),
        });
    }
    Ok(text)
}

/// One op as a TOML table under `[[section]]` (`upgrade` or `downgrade`), keys in the
/// one fixed order, arrays of tables one entry per line. Ends with a newline.
pub fn render_op(section: &str, op: &Op) -> String {
    let mut out = format!("[[{section}]]\n");
    // `serde_json` keeps field order (feature `preserve_order`); `toml::Table` would sort.
    let json = match serde_json::to_value(op) {
        Ok(json) => json,
        // Ops hold only strings, bools and maps with string keys: serialising cannot fail.
        Err(e) => Json::String(format!("unserialisable op: {e}")),
    };
    let Json::Object(map) = json else {
        return out;
    };
    for (key, value) in &map {
        if value.is_null() {
            continue;
        }
        out.push_str(&toml_key(key));
        out.push_str(" = ");
        match value {
            Json::Array(items) if items.iter().any(Json::is_object) => {
                let mut one_line = String::new();
                inline_value(value, &mut one_line);
                // One short table stays on the key's line.
                if items.len() == 1 && key.len() + 3 + one_line.len() <= 100 {
                    out.push_str(&one_line);
                } else {
                    out.push_str("[\n");
                    for item in items {
                        out.push_str("  ");
                        inline_value(item, &mut out);
                        out.push_str(",\n");
                    }
                    out.push(']');
                }
            }
            Json::String(s) => out.push_str(&toml_string(s, true)),
            other => inline_value(other, &mut out),
        }
        out.push('\n');
    }
    out
}

fn inline_value(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("\"\""),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => out.push_str(&toml_string(s, false)),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inline_value(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            let entries: Vec<_> = map.iter().filter(|(_, v)| !v.is_null()).collect();
            if entries.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{ ");
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&toml_key(key));
                out.push_str(" = ");
                inline_value(value, out);
            }
            out.push_str(" }");
        }
    }
}

fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        toml_string(key, false)
    }
}

/// A TOML string literal. With `multiline`, text spanning lines becomes a `'''` block
/// when that can hold it verbatim.
fn toml_string(s: &str, multiline: bool) -> String {
    let literal_ok = !s.contains("'''")
        && !s.ends_with('\'')
        && !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t');
    if multiline && s.contains('\n') && literal_ok {
        return format!("'''\n{s}'''");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
