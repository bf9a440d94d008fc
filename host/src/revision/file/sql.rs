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
        // Counts the characters that start before `byte` (never slices inside one).
        let col_of = |byte: usize| line.char_indices().take_while(|(i, _)| *i < byte).count() + 1;
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
/// `` `...` ``), comments (`--`, `/* */`, nested as in PostgreSQL), dollar-quoted
/// bodies (`$$...$$`, `$tag$...$tag$`) and the `BEGIN ... END` body of a `CREATE
/// TRIGGER`, `PROCEDURE`, `FUNCTION` or `EVENT` (`CASE ... END` inside counted, so
/// SQLite triggers and PostgreSQL's `BEGIN ATOMIC` stay whole). Backslash escapes only
/// in `E'...'` strings (PostgreSQL); use [`split_mysql_statements`] for MySQL's
/// backslash escapes, `#` comments and `DELIMITER`. Statements are trimmed, without
/// the `;`; chunks holding only comments or whitespace are dropped.
pub fn split_sql_statements(text: &str) -> Vec<String> {
    split(text, false)
}

/// [`split_sql_statements`] with MySQL's rules: backslash escapes in all quoted strings,
/// `#` line comments, no nested block comments, no dollar quoting, and the `mysql`
/// client's `DELIMITER x` lines (at the start of a line between statements), after
/// which statements end at `x` instead of `;` until the next `DELIMITER` line. The
/// `DELIMITER` lines themselves are not statements. In stored programs, `END IF`,
/// `END LOOP`, `END WHILE`, `END REPEAT` and `END FOR` do not close a `BEGIN`.
pub fn split_mysql_statements(text: &str) -> Vec<String> {
    split(text, true)
}

/// Words that make a `CREATE` statement one whose `BEGIN ... END` body holds `;`.
const ROUTINES: [&str; 4] = ["TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"];

/// Where the statement being read stands: the words before its first `(` decide
/// whether it is a routine, whose `BEGIN`/`CASE` ... `END` blocks are counted.
#[derive(Default)]
struct Block {
    words: usize,
    create: bool,
    head_done: bool,
    routine: bool,
    depth: usize,
}

impl Block {
    fn word(&mut self, word: &str, after: &[u8]) -> usize {
        let upper = word.to_ascii_uppercase();
        if !self.head_done {
            if self.words == 0 {
                self.create = upper == "CREATE";
            } else if self.create && ROUTINES.contains(&upper.as_str()) {
                self.routine = true;
            }
        }
        self.words += 1;
        if !self.routine {
            return 0;
        }
        match upper.as_str() {
            "BEGIN" | "CASE" => self.depth += 1,
            "END" if self.depth > 0 => {
                // `END IF` and the like close what was not counted; `END CASE` closes
                // a counted `CASE`, whose word must not open another.
                let ws = after.iter().take_while(|c| c.is_ascii_whitespace()).count();
                let rest = &after[ws..];
                let len = rest
                    .iter()
                    .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'_')
                    .count();
                let next = std::str::from_utf8(&rest[..len])
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                match next.as_str() {
                    "IF" | "LOOP" | "WHILE" | "REPEAT" | "FOR" => return ws + len,
                    "CASE" => {
                        self.depth -= 1;
                        return ws + len;
                    }
                    _ => self.depth -= 1,
                }
            }
            _ => {}
        }
        0
    }
}

fn split(text: &str, mysql: bool) -> Vec<String> {
    let b = text.as_bytes();
    let len = b.len();
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let mut statements = Vec::new();
    let mut start = 0;
    let mut has_code = false;
    let mut block = Block::default();
    let mut delimiter: Vec<u8> = b";".to_vec();
    let mut i = 0;
    let mut finish = |from: usize, to: usize, has_code: &mut bool, block: &mut Block| {
        // `has_code` counts bytes that are not ASCII whitespace; a run of other
        // whitespace (vertical tab, ...) alone is no statement either.
        let statement = text[from..to].trim();
        if *has_code && !statement.is_empty() {
            statements.push(statement.to_owned());
        }
        *has_code = false;
        *block = Block::default();
    };
    while i < len {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if delimiter != b";" && b[i..].starts_with(&delimiter) {
            finish(start, i, &mut has_code, &mut block);
            i += delimiter.len();
            start = i;
            continue;
        }
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
            b';' if delimiter == b";" && block.depth == 0 => {
                finish(start, i, &mut has_code, &mut block);
                i += 1;
                start = i;
            }
            b'(' => {
                block.head_done = true;
                has_code = true;
                i += 1;
            }
            c if (c.is_ascii_alphabetic() || c == b'_') && (i == 0 || !is_ident(b[i - 1])) => {
                let end = i + b[i..]
                    .iter()
                    .take_while(|&&c| is_ident(c) || c == b'$')
                    .count();
                let word = &text[i..end];
                if mysql
                    && !has_code
                    && word.eq_ignore_ascii_case("DELIMITER")
                    && first_on_line(b, i)
                {
                    let line_end = b[end..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(len, |p| end + p);
                    let arg = text[end..line_end].trim();
                    let new = arg.split_whitespace().next().unwrap_or_default();
                    if !new.is_empty() && end < len && b[end].is_ascii_whitespace() {
                        delimiter = new.as_bytes().to_vec();
                        i = line_end;
                        start = i;
                        continue;
                    }
                }
                let keyword = i == 0 || b[i - 1] != b'.';
                let skip = if keyword {
                    block.word(word, &b[end..])
                } else {
                    0
                };
                has_code = true;
                i = end + skip;
            }
            c => {
                if !c.is_ascii_whitespace() {
                    has_code = true;
                }
                i += 1;
            }
        }
    }
    finish(start, len, &mut has_code, &mut block);
    statements
}

/// True when only whitespace stands between the line start and `i`.
fn first_on_line(b: &[u8], i: usize) -> bool {
    b[..i]
        .iter()
        .rev()
        .take_while(|&&c| c != b'\n')
        .all(u8::is_ascii_whitespace)
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
    fn trigger_and_routine_bodies_stay_whole() {
        let sqlite = "CREATE TABLE t (a int, n int);\n\
                      CREATE TRIGGER tr AFTER INSERT ON t\n\
                      WHEN CASE WHEN new.a > 0 THEN 1 ELSE 0 END\n\
                      BEGIN\n  UPDATE t SET n = CASE WHEN new.a = 1 THEN 1 ELSE 2 END WHERE a = new.a;\n  SELECT new.end;\nEND;\n\
                      BEGIN;\nINSERT INTO t (a) VALUES (1);\nCOMMIT";
        assert_eq!(
            split_sql_statements(sqlite),
            vec![
                "CREATE TABLE t (a int, n int)",
                "CREATE TRIGGER tr AFTER INSERT ON t\nWHEN CASE WHEN new.a > 0 THEN 1 ELSE 0 END\nBEGIN\n  UPDATE t SET n = CASE WHEN new.a = 1 THEN 1 ELSE 2 END WHERE a = new.a;\n  SELECT new.end;\nEND",
                "BEGIN",
                "INSERT INTO t (a) VALUES (1)",
                "COMMIT",
            ]
        );
        let atomic = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3";
        assert_eq!(
            split_sql_statements(atomic),
            vec![
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END",
                "SELECT 3"
            ]
        );
        let mysql = "CREATE DEFINER=`root`@`%` PROCEDURE p(x int)\nBEGIN\n  IF x > 0 THEN SELECT 1; END IF;\n  \
                     CASE x WHEN 1 THEN SELECT 2; ELSE BEGIN SELECT 3; END; END CASE;\n  \
                     WHILE x > 0 DO SET x = x - 1; END WHILE;\nEND;\nCREATE TABLE `begin` (`end` int)";
        let parts = split_mysql_statements(mysql);
        assert_eq!(parts.len(), 2, "{parts:#?}");
        assert!(parts[0].ends_with("END WHILE;\nEND"), "{parts:#?}");
        assert_eq!(parts[1], "CREATE TABLE `begin` (`end` int)");
        // A table whose columns happen to be called like keywords splits as usual.
        assert_eq!(
            split_sql_statements("CREATE TABLE ev (event int); SELECT 1"),
            vec!["CREATE TABLE ev (event int)", "SELECT 1"]
        );
    }

    #[test]
    fn mysql_delimiter_lines_change_the_terminator() {
        let text = "SELECT 0;\nDELIMITER //\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.a = 1;\nEND//\n\
                    CREATE PROCEDURE p() SELECT 1; SELECT 2//\ndelimiter ;\nSELECT 3;";
        assert_eq!(
            split_mysql_statements(text),
            vec![
                "SELECT 0",
                "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.a = 1;\nEND",
                "CREATE PROCEDURE p() SELECT 1; SELECT 2",
                "SELECT 3",
            ]
        );
        // Elsewhere `DELIMITER` is a word like any other.
        assert_eq!(
            split_sql_statements("DELIMITER //\nSELECT 1;"),
            vec!["DELIMITER //\nSELECT 1"]
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
