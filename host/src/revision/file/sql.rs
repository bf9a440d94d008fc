//! Raw `.sql` revisions and the statement splitter.
//!
//! ```sql
//! -- revision: 3f2a9c1d7e44
//! -- down_revision: a1b2c3d4e5f6
//! -- message: Backfill titles
//! -- +upgrade
//! UPDATE posts SET title = trim(title);
//! -- +downgrade
//! SELECT 1;
//! ```
//!
//! Header keys are those of `.toml` files (Alembic's `Revision ID`, `Revises` and
//! `Create Date` are accepted too); list values are comma-separated, and `None` or an
//! empty value means "absent". Other comment lines in the header are free text, unless
//! they look like a misspelled key (`-- down_revison: ...`), which is refused.

use std::path::Path;

use super::error::{FileError, backticked, closest};
use super::header::{HEADER_KEYS, RawEntry, RawValue, finish};
use super::{RevisionBody, RevisionFile, RevisionKind};
use crate::ops::{Op, Sql};

#[derive(PartialEq)]
enum Section {
    Header,
    Upgrade,
    Downgrade,
}

/// Parses a `.sql` revision; with `header_only` it stops at `-- +upgrade`.
pub(super) fn parse_sql(
    path: &Path,
    text: &str,
    header_only: bool,
) -> Result<(RevisionFile, RevisionBody), FileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let error = |line: usize, col: usize, message: String| FileError::SqlHeader {
        path: path.to_path_buf(),
        line,
        col,
        message,
    };
    let mut entries: Vec<RawEntry> = Vec::new();
    let mut section = Section::Header;
    let mut upgrade = (0, 0);
    let mut downgrade = (0, 0);
    let mut offset = 0;
    let mut line_no = 0;
    for raw_line in text.split_inclusive('\n') {
        line_no += 1;
        let line_start = offset;
        offset += raw_line.len();
        let line = raw_line.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let col_of = |byte: usize| line[..byte].chars().count() + 1;
        let comment = trimmed.strip_prefix("--").map(str::trim);
        if let Some(marker) = comment.and_then(|c| c.strip_prefix('+')) {
            match (marker.trim().to_ascii_lowercase().as_str(), &section) {
                ("upgrade", Section::Header) => {
                    section = Section::Upgrade;
                    upgrade = (offset, text.len());
                    if header_only {
                        break;
                    }
                }
                ("downgrade", Section::Upgrade) => {
                    section = Section::Downgrade;
                    upgrade.1 = line_start;
                    downgrade = (offset, text.len());
                }
                ("downgrade", Section::Header) => {
                    return Err(error(
                        line_no,
                        col_of(indent),
                        "`-- +downgrade` comes before `-- +upgrade`".to_owned(),
                    ));
                }
                ("upgrade" | "downgrade", _) => {
                    return Err(error(
                        line_no,
                        col_of(indent),
                        format!("Second `-- +{marker}` section"),
                    ));
                }
                (_, Section::Header) => {
                    return Err(error(
                        line_no,
                        col_of(indent),
                        format!(
                            "Unknown section `-- +{marker}`: expected `-- +upgrade` or `-- +downgrade`"
                        ),
                    ));
                }
                // `-- +something` inside SQL is just a comment.
                _ => {}
            }
            continue;
        }
        if section != Section::Header || trimmed.is_empty() {
            continue;
        }
        let Some(comment) = comment else {
            return Err(error(
                line_no,
                col_of(indent),
                "Expected `-- key: value` header lines, then `-- +upgrade`, found SQL".to_owned(),
            ));
        };
        let Some((key, value)) = comment.split_once(':') else {
            continue;
        };
        let normalised = key.trim().to_ascii_lowercase().replace(' ', "_");
        let key = match normalised.as_str() {
            "revision_id" => "revision",
            "revises" => "down_revision",
            "create_date" => "created_at",
            k => match HEADER_KEYS.iter().find(|known| **known == k) {
                Some(known) => known,
                None => {
                    if let Some(suggestion) = closest(k, HEADER_KEYS.iter().copied()) {
                        return Err(error(
                            line_no,
                            col_of(indent),
                            format!(
                                "Unknown header key `{}`: did you mean `{suggestion}`? Expected one of {}",
                                key.trim(),
                                backticked(HEADER_KEYS)
                            ),
                        ));
                    }
                    continue; // free-text comment
                }
            },
        };
        if entries.iter().any(|e| e.key == key) {
            return Err(error(
                line_no,
                col_of(indent),
                format!("Duplicate header key `{key}`"),
            ));
        }
        let value_col = col_of(line.len() - value.trim_start().len());
        let value = value.trim();
        let value = match key {
            "down_revision" | "branch_labels" | "depends_on" | "replaces" => {
                RawValue::List(split_list(value))
            }
            _ => RawValue::Str(value.to_owned()),
        };
        entries.push(RawEntry {
            key: key.to_owned(),
            value,
            line: line_no,
            col: value_col,
        });
    }
    if section == Section::Header {
        return Err(error(
            line_no.max(1),
            1,
            "Missing `-- +upgrade` section".to_owned(),
        ));
    }
    let file = finish(path, RevisionKind::Sql, entries)?;
    let as_ops = |(start, end): (usize, usize)| -> Vec<Op> {
        let sql = text[start..end].trim();
        if sql.is_empty() {
            Vec::new()
        } else {
            vec![Op::Sql(Sql::new(sql))]
        }
    };
    let body = if header_only {
        RevisionBody::default()
    } else {
        RevisionBody {
            upgrade: as_ops(upgrade),
            downgrade: if downgrade == (0, 0) {
                Vec::new()
            } else {
                as_ops(downgrade)
            },
        }
    };
    Ok((file, body))
}

/// `a, b`, `[a, b]`, `('a', 'b')`, `None` or empty.
fn split_list(value: &str) -> Vec<String> {
    let value = value.trim_matches(|c| matches!(c, '[' | ']' | '(' | ')') || c.is_whitespace());
    if value.eq_ignore_ascii_case("none") {
        return Vec::new();
    }
    value
        .split(',')
        .map(|item| item.trim().trim_matches(['\'', '"']).trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

/// Splits SQL text into statements at `;`, ignoring `;` inside quotes (`'...'`, `"..."`,
/// `` `...` ``), comments (`--`, `/* */`, nested as in PostgreSQL) and dollar-quoted
/// bodies (`$$...$$`, `$tag$...$tag$`). Backslash escapes only in `E'...'` strings
/// (PostgreSQL); use [`split_mysql_statements`] for MySQL's backslash escapes and `#`
/// comments. Statements are trimmed, without the `;`; chunks holding only comments or
/// whitespace are dropped.
pub fn split_sql_statements(text: &str) -> Vec<String> {
    split(text, false)
}

/// [`split_sql_statements`] with MySQL's rules: backslash escapes in all quoted strings,
/// `#` line comments, no nested block comments, no dollar quoting.
pub fn split_mysql_statements(text: &str) -> Vec<String> {
    split(text, true)
}

fn split(text: &str, mysql: bool) -> Vec<String> {
    let b = text.as_bytes();
    let len = b.len();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let mut statements = Vec::new();
    let mut start = 0;
    let mut has_code = false;
    let mut i = 0;
    while i < len {
        let c = b[i];
        let next = b.get(i + 1).copied();
        match c {
            b'\'' | b'"' | b'`' => {
                let e_string = c == b'\''
                    && i > 0
                    && matches!(b[i - 1], b'e' | b'E')
                    && (i < 2 || !is_ident(b[i - 2]));
                let escapes = c != b'`' && (mysql || e_string);
                i = skip_quoted(b, i, escapes);
                has_code = true;
            }
            b'-' if next == Some(b'-') => i = skip_line(b, i),
            b'#' if mysql => i = skip_line(b, i),
            b'/' if next == Some(b'*') => i = skip_block_comment(b, i, !mysql),
            b'$' if !mysql && (i == 0 || !is_ident(b[i - 1])) => {
                match dollar_tag(b, i) {
                    Some(tag_end) => {
                        let tag = &b[i..tag_end];
                        i = find(b, tag_end, tag).map_or(len, |close| close + tag.len());
                    }
                    None => i += 1,
                }
                has_code = true;
            }
            b';' => {
                if has_code {
                    statements.push(text[start..i].trim().to_owned());
                }
                i += 1;
                start = i;
                has_code = false;
            }
            c => {
                if !c.is_ascii_whitespace() {
                    has_code = true;
                }
                i += 1;
            }
        }
    }
    if has_code {
        statements.push(text[start..].trim().to_owned());
    }
    statements
}

/// Index just past the closing quote (doubled quotes and, with `escapes`, backslashes
/// escape); the end of the text when unterminated.
fn skip_quoted(b: &[u8], open: usize, escapes: bool) -> usize {
    let quote = b[open];
    let mut j = open + 1;
    while j < b.len() {
        if escapes && b[j] == b'\\' {
            j += 2;
        } else if b[j] == quote {
            if b.get(j + 1) == Some(&quote) {
                j += 2;
            } else {
                return j + 1;
            }
        } else {
            j += 1;
        }
    }
    b.len()
}

fn skip_line(b: &[u8], from: usize) -> usize {
    b[from..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| from + p + 1)
}

fn skip_block_comment(b: &[u8], open: usize, nested: bool) -> usize {
    let mut depth = 0usize;
    let mut j = open;
    while j + 1 < b.len() {
        if b[j] == b'/' && b[j + 1] == b'*' && (nested || depth == 0) {
            depth += 1;
            j += 2;
        } else if b[j] == b'*' && b[j + 1] == b'/' {
            depth -= 1;
            j += 2;
            if depth == 0 {
                return j;
            }
        } else {
            j += 1;
        }
    }
    b.len()
}

/// End (exclusive) of a dollar-quote opening tag at `i` (`$$` or `$tag$`).
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j).is_some_and(|c| c.is_ascii_digit()) {
        return None; // `$1` is a parameter
    }
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_statements_respecting_quotes_comments_and_dollars() {
        let text = "CREATE TABLE a (x text DEFAULT ';');\n\
                    -- a comment; with a semicolon\n\
                    INSERT INTO a VALUES ('it''s; fine'), (\"q;\");\n\
                    /* block; /* nested; */ still; */\n\
                    CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\
                    CREATE FUNCTION g() RETURNS int AS $body$ SELECT $1; $body$ LANGUAGE sql;\n\
                    SELECT E'a\\';b';\n\
                    -- only a comment;\n\
                    ;;\n\
                    SELECT 2";
        assert_eq!(
            split_sql_statements(text),
            vec![
                "CREATE TABLE a (x text DEFAULT ';')",
                "-- a comment; with a semicolon\nINSERT INTO a VALUES ('it''s; fine'), (\"q;\")",
                "/* block; /* nested; */ still; */\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
                "CREATE FUNCTION g() RETURNS int AS $body$ SELECT $1; $body$ LANGUAGE sql",
                "SELECT E'a\\';b'",
                "SELECT 2",
            ]
        );
    }

    #[test]
    fn backslashes_are_literal_outside_e_strings_except_on_mysql() {
        assert_eq!(
            split_sql_statements(r"SELECT 'C:\'; SELECT 2"),
            vec![r"SELECT 'C:\'", "SELECT 2"]
        );
        assert_eq!(
            split_mysql_statements("SELECT 'it\\'s;'; # note; here\nSELECT `a;b`"),
            vec!["SELECT 'it\\'s;'", "# note; here\nSELECT `a;b`"]
        );
        assert!(split_sql_statements("  -- nothing\n/* here */ ").is_empty());
    }

    #[test]
    fn reads_header_and_sections() {
        let text = "-- Backfill titles\n\
                    -- revision: 3f2a9c1d7e44\n\
                    -- Revises: a1b2c3d4e5f6, b1b2c3d4e5f6\n\
                    -- branch_labels: None\n\
                    -- message: Note: trims titles\n\
                    \n\
                    -- +upgrade\n\
                    UPDATE posts SET title = trim(title);\n\
                    -- +downgrade\n\
                    SELECT 1;\n";
        let (file, body) = parse_sql(Path::new("x.sql"), text, false).expect("valid");
        assert_eq!(file.revision, "3f2a9c1d7e44");
        assert_eq!(file.down_revisions, ["a1b2c3d4e5f6", "b1b2c3d4e5f6"]);
        assert!(file.branch_labels.is_empty());
        assert_eq!(file.message.as_deref(), Some("Note: trims titles"));
        assert_eq!(file.kind, RevisionKind::Sql);
        assert_eq!(
            body.upgrade,
            vec![Op::Sql(Sql::new("UPDATE posts SET title = trim(title);"))]
        );
        assert_eq!(body.downgrade, vec![Op::Sql(Sql::new("SELECT 1;"))]);
        let (_, header) = parse_sql(Path::new("x.sql"), text, true).expect("valid");
        assert!(header.upgrade.is_empty());
    }

    #[test]
    fn malformed_headers_are_located() {
        let cases = [
            (
                "-- revision: 3f2a9c1d7e44\nSELECT 1;\n-- +upgrade\n",
                "x.sql:2:1: Malformed SQL revision: Expected `-- key: value` header lines, then `-- +upgrade`, found SQL",
            ),
            (
                "-- revision: 3f2a9c1d7e44\n",
                "x.sql:1:1: Malformed SQL revision: Missing `-- +upgrade` section",
            ),
            (
                "-- revision: 3f2a9c1d7e44\n  -- +downgrade\n",
                "x.sql:2:3: Malformed SQL revision: `-- +downgrade` comes before `-- +upgrade`",
            ),
            (
                "-- revision: 3f2a9c1d7e44\n-- +upgrade\n-- +upgrade\n",
                "x.sql:3:1: Malformed SQL revision: Second `-- +upgrade` section",
            ),
            (
                "-- revision: 3f2a9c1d7e44\n-- down_revison: a1b2c3d4e5f6\n-- +upgrade\n",
                "x.sql:2:1: Malformed SQL revision: Unknown header key `down_revison`: did you mean `down_revision`? Expected one of `revision`, `down_revision`, `branch_labels`, `depends_on`, `replaces`, `message`, `created_at`",
            ),
            (
                "-- revision:   xyz\n-- +upgrade\n",
                "x.sql:1:16: Invalid revision id `xyz` in `revision`: expected 12 lowercase hex characters",
            ),
            (
                "-- down_revision: a1b2c3d4e5f6\n-- +upgrade\n",
                "x.sql:1:1: Missing `revision`: expected `revision = ...` in the header",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_sql(Path::new("x.sql"), text, false).expect_err(text);
            assert_eq!(err.to_string(), expected);
        }
    }
}
