//! The full reader for `.toml` revisions: the spanned TOML document, then the header and
//! each `[[upgrade]]` / `[[downgrade]]` table as an [`Op`], every error located.

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::error::{FileError, closest};
use super::header::{RawEntry, RawValue, finish};
use super::{RevisionBody, RevisionFile, RevisionKind};
use crate::diagnostic::line_col;
use crate::ops::{OP_NAMES, Op};

/// Parses a whole `.toml` revision. With `header_only`, the op tables are not read.
pub(super) fn parse_toml(
    path: &Path,
    text: &str,
    header_only: bool,
) -> Result<(RevisionFile, RevisionBody), FileError> {
    let root = DeTable::parse(text).map_err(|e| {
        let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
        FileError::InvalidToml {
            path: path.to_path_buf(),
            line,
            col,
            message: e.message().to_owned(),
        }
    })?;
    let mut entries = Vec::new();
    let mut sections: Vec<(&'static str, Spanned<DeValue<'_>>)> = Vec::new();
    for (key, value) in root.into_inner() {
        let name: &str = key.get_ref();
        match name {
            "upgrade" => sections.push(("upgrade", value)),
            "downgrade" => sections.push(("downgrade", value)),
            name => {
                let (line, col) = line_col(text, value.span().start);
                entries.push(RawEntry {
                    key: name.to_owned(),
                    value: raw_value(value.get_ref()),
                    line,
                    col,
                });
            }
        }
    }
    // The table is sorted by key; report problems in file order.
    entries.sort_by_key(|e| (e.line, e.col));
    let file = finish(path, RevisionKind::Toml, entries)?;
    let mut body = RevisionBody::default();
    if header_only {
        return Ok((file, body));
    }
    for (section, value) in sections {
        let ops = read_section(path, text, section, value)?;
        match section {
            "upgrade" => body.upgrade = ops,
            _ => body.downgrade = ops,
        }
    }
    Ok((file, body))
}

fn raw_value(value: &DeValue<'_>) -> RawValue {
    match value {
        DeValue::String(s) => RawValue::Str(s.to_string()),
        DeValue::Datetime(d) => RawValue::Datetime(d.to_string()),
        DeValue::Array(items) => {
            let strings: Option<Vec<String>> = items
                .iter()
                .map(|item| match item.get_ref() {
                    DeValue::String(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect();
            strings.map_or(RawValue::Other("array of non-strings"), RawValue::List)
        }
        other => RawValue::Other(other.type_str()),
    }
}

fn read_section(
    path: &Path,
    text: &str,
    section: &'static str,
    value: Spanned<DeValue<'_>>,
) -> Result<Vec<Op>, FileError> {
    let at = |span: &Range<usize>| line_col(text, span.start);
    let span = value.span();
    let items = match value.into_inner() {
        DeValue::Array(items) => items,
        other => {
            let (line, col) = at(&span);
            return Err(FileError::WrongType {
                path: path.to_path_buf(),
                line,
                col,
                key: section.to_owned(),
                expected: "an array of op tables (`[[upgrade]]` / `[[downgrade]]`)",
                found: format!("a {}", other.type_str()),
            });
        }
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        let span = item.span();
        // Locations are computed only for errors: `line_col` scans the text, and doing it
        // for every op made reading a large revision quadratic.
        let loc = || at(&span);
        let mut table = match item.into_inner() {
            DeValue::Table(table) => table,
            other => {
                let (line, col) = loc();
                return Err(FileError::WrongType {
                    path: path.to_path_buf(),
                    line,
                    col,
                    key: section.to_owned(),
                    expected: "an array of op tables (`[[upgrade]]` / `[[downgrade]]`)",
                    found: format!("an array holding a {}", other.type_str()),
                });
            }
        };
        let Some(op_value) = table.remove("op") else {
            let (line, col) = loc();
            return Err(FileError::MissingOp {
                path: path.to_path_buf(),
                line,
                col,
                section,
            });
        };
        let op_span = op_value.span();
        let op_loc = || at(&op_span);
        let name = match op_value.get_ref() {
            DeValue::String(name) => name.to_string(),
            other => {
                let (line, col) = op_loc();
                return Err(FileError::WrongType {
                    path: path.to_path_buf(),
                    line,
                    col,
                    key: "op".to_owned(),
                    expected: "a string naming the op",
                    found: format!("a {}", other.type_str()),
                });
            }
        };
        let unknown = || {
            let (line, col) = op_loc();
            FileError::UnknownOp {
                path: path.to_path_buf(),
                line,
                col,
                suggestion: closest(&name, OP_NAMES.iter().copied()),
                op: name.clone(),
            }
        };
        if !OP_NAMES.contains(&name.as_str()) {
            return Err(unknown());
        }
        let deserializer =
            ValueDeserializer::from(Spanned::new(span.clone(), DeValue::Table(table)));
        let op = match Op::deserialize_named(&name, deserializer) {
            None => return Err(unknown()),
            Some(Err(e)) => return Err(op_error(path, text, &name, &e, &span)),
            Some(Ok(op)) => op,
        };
        op.validate().map_err(|message| {
            let (line, col) = loc();
            FileError::InvalidOp {
                path: path.to_path_buf(),
                line,
                col,
                op: name.clone(),
                message,
            }
        })?;
        ops.push(op);
    }
    Ok(ops)
}

/// Maps a serde error inside an op table to a located [`FileError`]; errors without a
/// span (conversions after deserialising) point at the op table.
fn op_error(
    path: &Path,
    text: &str,
    op: &str,
    err: &toml::de::Error,
    table_span: &Range<usize>,
) -> FileError {
    let offset = err.span().map_or(table_span.start, |s| s.start);
    let (line, col) = line_col(text, offset);
    let message = err.message();
    let first_backticked = |s: &str| s.split('`').nth(1).map(str::to_owned);
    if let Some(rest) = message.strip_prefix("missing field ")
        && let Some(field) = first_backticked(rest)
    {
        return FileError::MissingField {
            path: path.to_path_buf(),
            line,
            col,
            op: op.to_owned(),
            field,
        };
    }
    if let Some(rest) = message.strip_prefix("unknown field ")
        && let Some(field) = first_backticked(rest)
    {
        // serde: "unknown field `x`, expected one of `a`, `b`" (or "expected `a`").
        let expected = rest
            .split_once("expected")
            .map(|(_, list)| {
                list.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        return FileError::UnknownField {
            path: path.to_path_buf(),
            line,
            col,
            op: op.to_owned(),
            field,
            expected,
        };
    }
    FileError::InvalidOp {
        path: path.to_path_buf(),
        line,
        col,
        op: op.to_owned(),
        message: message.to_owned(),
    }
}
