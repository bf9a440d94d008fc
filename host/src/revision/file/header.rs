//! Revision headers: the fast line scanner for `.toml` files and the shared validation
//! that turns raw header values into a [`RevisionFile`].
//!
//! The scanner reads only the top-level `key = value` lines before the first `[` table
//! header, for the few forms sqlalembic writes (basic and literal strings, single-line
//! string arrays, bare datetimes, comments). Anything else makes it give up (`None`) and
//! the caller falls back to the full TOML parser, so unusual files are still read
//! correctly, only slower.

use std::path::Path;

use super::error::{FileError, backticked, closest};
use super::{RevisionFile, RevisionKind, is_revision_id};

/// Header keys, in the order files list them.
pub(super) const HEADER_KEYS: &[&str] = &[
    "revision",
    "down_revision",
    "branch_labels",
    "depends_on",
    "replaces",
    "message",
    "created_at",
];

/// A header value before validation.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RawValue {
    Str(String),
    List(Vec<String>),
    Datetime(String),
    /// Any other TOML type, by name, for the error message.
    Other(&'static str),
}

impl RawValue {
    fn type_name(&self) -> String {
        match self {
            RawValue::Str(_) => "a string".to_owned(),
            RawValue::List(_) => "a list of strings".to_owned(),
            RawValue::Datetime(_) => "a datetime".to_owned(),
            RawValue::Other(name) if name.starts_with(['a', 'e', 'i', 'o', 'u']) => {
                format!("an {name}")
            }
            RawValue::Other(name) => format!("a {name}"),
        }
    }
}

/// One header entry and where its value starts (1-based).
#[derive(Debug, Clone)]
pub(super) struct RawEntry {
    pub key: String,
    pub value: RawValue,
    pub line: usize,
    pub col: usize,
}

/// Validates raw entries into a [`RevisionFile`]: known keys only, the right types,
/// revision ids of 12 lowercase hex characters, `revision` present.
pub(super) fn finish(
    path: &Path,
    kind: RevisionKind,
    entries: Vec<RawEntry>,
) -> Result<RevisionFile, FileError> {
    let mut file = RevisionFile {
        path: path.to_path_buf(),
        revision: String::new(),
        down_revisions: Vec::new(),
        branch_labels: Vec::new(),
        depends_on: Vec::new(),
        replaces: Vec::new(),
        message: None,
        created_at: None,
        kind,
    };
    let mut has_revision = false;
    for RawEntry {
        key,
        value,
        line,
        col,
    } in entries
    {
        let wrong_type = |expected: &'static str, value: &RawValue| FileError::WrongType {
            path: path.to_path_buf(),
            line,
            col,
            key: key.clone(),
            expected,
            found: value.type_name(),
        };
        let check_ids = |ids: &[String]| -> Result<(), FileError> {
            match ids.iter().find(|id| !is_revision_id(id)) {
                Some(bad) => Err(FileError::InvalidRevisionId {
                    path: path.to_path_buf(),
                    line,
                    col,
                    key: key.clone(),
                    value: bad.clone(),
                }),
                None => Ok(()),
            }
        };
        match key.as_str() {
            "revision" => match value {
                RawValue::Str(id) => {
                    check_ids(std::slice::from_ref(&id))?;
                    file.revision = id;
                    has_revision = true;
                }
                other => return Err(wrong_type("a string", &other)),
            },
            "down_revision" => {
                let ids = match value {
                    RawValue::Str(id) if id.is_empty() => Vec::new(),
                    RawValue::Str(id) => vec![id],
                    RawValue::List(ids) => ids,
                    other => return Err(wrong_type("a string or a list of strings", &other)),
                };
                check_ids(&ids)?;
                file.down_revisions = ids;
            }
            "branch_labels" | "depends_on" | "replaces" => {
                let items = match value {
                    RawValue::Str(s) if s.is_empty() => Vec::new(),
                    RawValue::Str(s) => vec![s],
                    RawValue::List(items) => items,
                    other => return Err(wrong_type("a string or a list of strings", &other)),
                };
                if key == "replaces" {
                    check_ids(&items)?;
                }
                match key.as_str() {
                    "branch_labels" => file.branch_labels = items,
                    "depends_on" => file.depends_on = items,
                    _ => file.replaces = items,
                }
            }
            "message" => match value {
                RawValue::Str(s) => file.message = Some(s),
                other => return Err(wrong_type("a string", &other)),
            },
            "created_at" => match value {
                RawValue::Str(s) | RawValue::Datetime(s) => file.created_at = Some(s),
                other => return Err(wrong_type("a datetime or a string", &other)),
            },
            _ => {
                return Err(FileError::UnknownKey {
                    path: path.to_path_buf(),
                    line,
                    col,
                    suggestion: closest(&key, HEADER_KEYS.iter().copied()),
                    key,
                    expected: backticked(HEADER_KEYS),
                });
            }
        }
    }
    if !has_revision {
        return Err(FileError::MissingKey {
            path: path.to_path_buf(),
            line: 1,
            col: 1,
            key: "revision",
        });
    }
    Ok(file)
}

/// Scans the header of a `.toml` revision; `None` when the header uses a form the
/// scanner does not know (the caller then parses the whole file).
pub(super) fn scan_toml_header(text: &str) -> Option<Vec<RawEntry>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries: Vec<RawEntry> = Vec::with_capacity(HEADER_KEYS.len());
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('[') {
            break;
        }
        let key_len = trimmed
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(trimmed.len());
        let key = &trimmed[..key_len];
        let rest = trimmed[key_len..].trim_start_matches([' ', '\t']);
        let rest = rest.strip_prefix('=')?.trim_start_matches([' ', '\t']);
        let value_offset = line.len() - rest.len();
        let (value, after) = scan_value(rest)?;
        let after = after.trim_start_matches([' ', '\t']);
        if !(after.is_empty() || after.starts_with('#')) {
            return None;
        }
        if matches!(key, "upgrade" | "downgrade") {
            // `upgrade = []` before any table: no ops, nothing for the header.
            if value == RawValue::List(Vec::new()) {
                continue;
            }
            return None;
        }
        if !HEADER_KEYS.contains(&key) || entries.iter().any(|e| e.key == key) {
            return None;
        }
        entries.push(RawEntry {
            key: key.to_owned(),
            value,
            line: index + 1,
            col: line[..value_offset].chars().count() + 1,
        });
    }
    Some(entries)
}

/// One value at the start of `s`: returns it and the rest of the line.
fn scan_value(s: &str) -> Option<(RawValue, &str)> {
    match s.as_bytes().first()? {
        b'"' | b'\'' => {
            let (text, rest) = scan_string(s)?;
            Some((RawValue::Str(text), rest))
        }
        b'[' => {
            let mut rest = &s[1..];
            let mut items = Vec::new();
            loop {
                rest = rest.trim_start_matches([' ', '\t']);
                if let Some(after) = rest.strip_prefix(']') {
                    return Some((RawValue::List(items), after));
                }
                let (item, after) = scan_string(rest)?;
                items.push(item);
                rest = after.trim_start_matches([' ', '\t']);
                if let Some(after) = rest.strip_prefix(',') {
                    rest = after;
                } else if !rest.starts_with(']') {
                    return None;
                }
            }
        }
        b'0'..=b'9' => {
            let end = s.find('#').unwrap_or(s.len());
            let token = s[..end].trim_end();
            // Only what TOML itself accepts as a datetime; anything else needs the parser.
            // Its canonical form, as the full parser gives it (`T`, not a space).
            let datetime = token.parse::<toml::value::Datetime>().ok()?;
            Some((RawValue::Datetime(datetime.to_string()), &s[end..]))
        }
        _ => None,
    }
}

/// A single-line basic (`"..."`) or literal (`'...'`) string at the start of `s`.
fn scan_string(s: &str) -> Option<(String, &str)> {
    if s.starts_with("\"\"\"") || s.starts_with("'''") {
        return None;
    }
    let mut chars = s.char_indices();
    let quote = chars.next()?.1;
    let mut out = String::new();
    match quote {
        '\'' => {
            for (i, c) in chars {
                if c == '\'' {
                    return Some((out, &s[i + 1..]));
                }
                out.push(c);
            }
            None
        }
        '"' => {
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => return Some((out, &s[i + 1..])),
                    '\\' => match chars.next()?.1 {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        // \b, \f, \e, \uXXXX ...: rare in headers, leave them to the parser.
                        _ => return None,
                    },
                    c => out.push(c),
                }
            }
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Option<Vec<(String, RawValue, usize, usize)>> {
        scan_toml_header(text).map(|entries| {
            entries
                .into_iter()
                .map(|e| (e.key, e.value, e.line, e.col))
                .collect()
        })
    }

    #[test]
    fn scans_the_forms_sqlalembic_writes() {
        let text = "revision = \"3f2a9c1d7e44\"\n\
                    down_revision = [\"a1b2c3d4e5f6\", 'b1b2c3d4e5f6'] # merge\n\
                    # a comment\n\
                    branch_labels = []\n\
                    message = \"Say \\\"hi\\\" # not a comment\"\n\
                    created_at = 2026-11-25T18:00:00Z\n\
                    \n\
                    [[upgrade]]\n\
                    revision = \"not-a-header\"\n";
        let got = values(text).expect("simple header");
        assert_eq!(
            got,
            vec![
                (
                    "revision".into(),
                    RawValue::Str("3f2a9c1d7e44".into()),
                    1,
                    12
                ),
                (
                    "down_revision".into(),
                    RawValue::List(vec!["a1b2c3d4e5f6".into(), "b1b2c3d4e5f6".into()]),
                    2,
                    17
                ),
                ("branch_labels".into(), RawValue::List(vec![]), 4, 17),
                (
                    "message".into(),
                    RawValue::Str("Say \"hi\" # not a comment".into()),
                    5,
                    11
                ),
                (
                    "created_at".into(),
                    RawValue::Datetime("2026-11-25T18:00:00Z".into()),
                    6,
                    14
                ),
            ]
        );
    }

    #[test]
    fn gives_up_on_unusual_forms() {
        for text in [
            "revision = \"\"\"3f2a9c1d7e44\"\"\"\n",
            "down_revision = [\n  \"a\",\n]\n",
            "\"revision\" = \"3f2a9c1d7e44\"\n",
            "revision.x = \"a\"\n",
            "message = \"\\u00e9\"\n",
            "extra = \"x\"\n",
            "revision = \"a\"\nrevision = \"b\"\n",
            "revision = \"a\" trailing\n",
            "created_at = 2026-13-45\n",
            "upgrade = [1]\n",
        ] {
            assert!(values(text).is_none(), "{text:?}");
        }
        assert_eq!(values("upgrade = []\n"), Some(vec![]));
    }

    #[test]
    fn finish_validates_keys_types_and_ids() {
        let p = Path::new("v/x.toml");
        let entry = |key: &str, value: RawValue| RawEntry {
            key: key.into(),
            value,
            line: 3,
            col: 7,
        };
        let ok = finish(
            p,
            RevisionKind::Toml,
            vec![
                entry("revision", RawValue::Str("3f2a9c1d7e44".into())),
                entry("down_revision", RawValue::Str(String::new())),
                entry("branch_labels", RawValue::Str("main".into())),
            ],
        )
        .expect("valid");
        assert!(ok.down_revisions.is_empty());
        assert_eq!(ok.branch_labels, ["main"]);

        let err = finish(
            p,
            RevisionKind::Toml,
            vec![entry("revision", RawValue::Str("3F2A".into()))],
        )
        .expect_err("bad id");
        assert_eq!(
            err.to_string(),
            "v/x.toml:3:7: Invalid revision id `3F2A` in `revision`: expected 12 lowercase hex characters"
        );
        let err = finish(
            p,
            RevisionKind::Toml,
            vec![entry("down_revison", RawValue::Str("a".into()))],
        )
        .expect_err("unknown key");
        assert!(
            matches!(&err, FileError::UnknownKey { suggestion: Some(s), .. } if s == "down_revision")
        );
        let err = finish(
            p,
            RevisionKind::Toml,
            vec![entry("message", RawValue::Other("integer"))],
        )
        .expect_err("type");
        assert_eq!(
            err.to_string(),
            "v/x.toml:3:7: Wrong type for `message`: expected a string, found an integer"
        );
        let err = finish(p, RevisionKind::Toml, vec![]).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "v/x.toml:1:1: Missing `revision`: expected `revision = ...` in the header"
        );
    }
}
