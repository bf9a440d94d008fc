//! Live database -> [`Schema`], with one catalog query per kind of object.
//!
//! Input: an open [`Connection`] and [`IntrospectOptions`] (tables to leave out, such as
//! the version and history tables). Output: the tables of the connection's default
//! schema (or the one named in the options) with their columns, primary keys, foreign
//! keys, indexes, unique and check constraints, enums and comments, folded into the IR
//! in memory (never one query per table). Tables are sorted by name,
//! columns kept in table order.
//!
//! What the IR gets is what the database says, lightly normalised so that a table
//! created from an op reads back as that op: native types map back to generic ones
//! (`character varying(200)` -> `varchar(200)`, MySQL `tinyint(1)` -> `boolean`),
//! `NO ACTION` referential actions become `None`, constraints auto-named by the
//! database keep those names (they are what a `drop_*` op must use), the index a MySQL
//! foreign key creates for itself is left out, and auto-increment is reported as
//! `None` where SQLAlchemy's `"auto"` would produce it. It never writes to the database.

mod mysql;
mod postgres;
mod sqlite;
pub mod sqltext;

use std::collections::BTreeMap;

use crate::db::{Backend, Connection, DbError};
use crate::schema::{Column, ColumnType, Schema, Table};

/// What to read.
///
/// Table names in `exclude_tables` and `include_tables` are exact names or glob
/// patterns (`*` any run of characters, `?` one character, e.g. `audit_*`). They are
/// applied in the catalog queries themselves, so the columns, keys and indexes of
/// left-out tables are never fetched (`MIGRATION_*` filters on databases shared with
/// other applications).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntrospectOptions {
    /// Tables to leave out, e.g. the version and history tables.
    pub exclude_tables: Vec<String>,
    /// When set, only these tables are read.
    pub include_tables: Option<Vec<String>>,
    /// The schema to read (`None`: the connection's default schema, whose tables get
    /// `schema = None`); for SQLite the name of an attached database.
    pub schema: Option<String>,
}

impl IntrospectOptions {
    /// Options that leave out `tables`.
    pub fn excluding<S: Into<String>>(tables: impl IntoIterator<Item = S>) -> Self {
        IntrospectOptions {
            exclude_tables: tables.into_iter().map(Into::into).collect(),
            ..IntrospectOptions::default()
        }
    }

    /// True when table `name` is to be read.
    pub fn wants(&self, name: &str) -> bool {
        !self.exclude_tables.iter().any(|t| glob_match(t, name))
            && self
                .include_tables
                .as_ref()
                .is_none_or(|only| only.iter().any(|t| glob_match(t, name)))
    }

    /// ` AND ...` conditions on the SQL expression `column` (a table name) that keep
    /// the tables [`IntrospectOptions::wants`] may keep; `literal` quotes a string for
    /// the database. A prefilter: `LIKE` may ignore case where globs do not, so
    /// [`IntrospectOptions::wants`] still decides.
    pub fn sql_filter(&self, column: &str, literal: impl Fn(&str) -> String) -> String {
        let mut out = String::new();
        let condition = |pattern: &str| match glob_to_like(pattern) {
            Some(like) => format!("{column} LIKE {} ESCAPE '!'", literal(&like)),
            None => format!("{column} = {}", literal(pattern)),
        };
        let (exact, globs): (Vec<&String>, Vec<&String>) = self
            .exclude_tables
            .iter()
            .partition(|p| glob_to_like(p).is_none());
        if !exact.is_empty() {
            let names: Vec<String> = exact.iter().map(|n| literal(n)).collect();
            out.push_str(&format!(" AND {column} NOT IN ({})", names.join(", ")));
        }
        for pattern in globs {
            out.push_str(&format!(" AND NOT ({})", condition(pattern)));
        }
        if let Some(only) = &self.include_tables {
            if only.is_empty() {
                out.push_str(" AND 1 = 0");
            } else {
                let any: Vec<String> = only.iter().map(|p| condition(p)).collect();
                out.push_str(&format!(" AND ({})", any.join(" OR ")));
            }
        }
        out
    }
}

/// True when `name` matches the glob `pattern` (`*`, `?`; everything else literal).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative matching with backtracking to the last `*`.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// A glob as a `LIKE` pattern with `!` as the escape character; `None` for a plain name.
fn glob_to_like(pattern: &str) -> Option<String> {
    if !pattern.contains(['*', '?']) {
        return None;
    }
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '!' => {
                out.push('!');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Failures to read a database's catalog.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    #[error("Cannot read the {backend} catalog ({what}): {source}")]
    Query {
        backend: &'static str,
        what: &'static str,
        #[source]
        source: DbError,
    },
}

/// Reads the schema of the database behind `conn`.
pub async fn introspect(
    conn: &mut Connection,
    options: &IntrospectOptions,
) -> Result<Schema, IntrospectError> {
    match conn.backend() {
        Backend::Sqlite => sqlite::introspect(conn, options).await,
        Backend::Postgres => postgres::introspect(conn, options).await,
        Backend::Mysql => mysql::introspect(conn, options).await,
    }
}

/// SQLAlchemy's `autoincrement = "auto"` rule: `column` is the only primary-key column
/// of `table`, an integer, with no server default and no foreign key.
pub fn auto_increment_by_default(table: &Table, column: &Column) -> bool {
    let pk = table.primary_key_columns();
    matches!(
        column.ty,
        ColumnType::Integer | ColumnType::BigInteger | ColumnType::SmallInteger
    ) && pk.len() == 1
        && pk[0] == column.name
        && column.server_default.is_none()
        && !table
            .foreign_keys
            .iter()
            .any(|fk| fk.columns.contains(&column.name))
}

/// `autoincrement` as SQLAlchemy would write it: `None` where its `"auto"` rule gives
/// what the database does, else the explicit value.
fn fold_autoincrement(table: &mut Table, generated: &BTreeMap<(String, String), bool>) {
    let snapshot = table.clone();
    for column in &mut table.columns {
        let db = generated
            .get(&(table.name.clone(), column.name.clone()))
            .copied()
            .unwrap_or(false);
        let auto = auto_increment_by_default(&snapshot, column);
        column.autoincrement = match (db, auto) {
            (true, true) | (false, false) => None,
            (db, _) => Some(db),
        };
    }
}

/// One catalog query, with the object kind in its error.
async fn query(
    conn: &mut Connection,
    what: &'static str,
    sql: &str,
) -> Result<Vec<Vec<Option<String>>>, IntrospectError> {
    let backend = conn.backend().name();
    conn.query_text(sql)
        .await
        .map_err(|source| IntrospectError::Query {
            backend,
            what,
            source,
        })
}

/// Cell `i` of a row as text (`""` for NULL or a missing cell).
fn cell(row: &[Option<String>], i: usize) -> &str {
    row.get(i).and_then(Option::as_deref).unwrap_or("")
}

/// Cell `i` of a row, `None` for NULL.
fn opt_cell(row: &[Option<String>], i: usize) -> Option<String> {
    row.get(i).cloned().flatten()
}

/// A referential action as the IR spells it: lower case, `NO ACTION` -> `None`.
fn action(text: &str) -> Option<String> {
    let text = text.trim().to_ascii_lowercase();
    (!text.is_empty() && text != "no action").then_some(text)
}

/// `col IN ('a', 'b')` -> the values, when the condition is exactly that over `column`.
fn enum_check_values(sqltext: &str, column: &str) -> Option<Vec<String>> {
    use sqltext::{TokenKind, tokenize};
    let tokens = tokenize(sqltext);
    let (head, rest) = tokens.split_first()?;
    if head.ident().is_none_or(|i| i != column)
        || !matches!(head.kind, TokenKind::Word | TokenKind::QuotedIdent)
    {
        return None;
    }
    let (in_kw, rest) = rest.split_first()?;
    if !in_kw.is_keyword("IN") {
        return None;
    }
    let (open, rest) = rest.split_first()?;
    let (close, items) = rest.split_last()?;
    if open.kind != TokenKind::LParen || close.kind != TokenKind::RParen {
        return None;
    }
    let mut values = Vec::new();
    for (i, t) in items.iter().enumerate() {
        let expected = if i % 2 == 0 {
            TokenKind::String
        } else {
            TokenKind::Comma
        };
        if t.kind != expected || (expected == TokenKind::String && !t.text.starts_with('\'')) {
            return None;
        }
        if expected == TokenKind::String {
            values.push(t.text[1..t.text.len() - 1].replace("''", "'"));
        }
    }
    if items.len() % 2 == 0 && !items.is_empty() {
        return None;
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Backend;

    #[test]
    fn options_filter_tables() {
        let mut options = IntrospectOptions::excluding(["alembic_version"]);
        assert!(!options.wants("alembic_version"));
        assert!(options.wants("users"));
        options.include_tables = Some(vec!["posts".into()]);
        assert!(!options.wants("users"));
        assert!(options.wants("posts"));
        let globs = IntrospectOptions {
            exclude_tables: vec!["audit_*".into(), "tmp?".into()],
            include_tables: Some(vec!["*".into()]),
            schema: None,
        };
        assert!(!globs.wants("audit_log"));
        assert!(!globs.wants("tmp1"));
        assert!(globs.wants("tmp12"));
        assert!(globs.wants("users"));
    }

    #[test]
    fn globs_match_like_shells() {
        for (pattern, name, expected) in [
            ("a*", "abc", true),
            ("*c", "abc", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*", "", true),
            ("", "", true),
            ("abc", "abd", false),
            ("*_log", "audit_log", true),
        ] {
            assert_eq!(glob_match(pattern, name), expected, "{pattern} {name}");
        }
    }

    #[test]
    fn sql_filters_push_names_and_globs_into_the_query() {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let options = IntrospectOptions {
            exclude_tables: vec!["alembic_version".into(), "audit_*".into()],
            include_tables: Some(vec!["app_?".into(), "o'k".into()]),
            schema: None,
        };
        assert_eq!(
            options.sql_filter("m.name", quote),
            " AND m.name NOT IN ('alembic_version') AND NOT (m.name LIKE 'audit!_%' ESCAPE '!') \
             AND (m.name LIKE 'app!__' ESCAPE '!' OR m.name = 'o''k')"
        );
        assert_eq!(IntrospectOptions::default().sql_filter("x", quote), "");
    }

    /// The filters run in the catalog queries of every backend (a `LIKE` with `_` and
    /// `!` in the name must not match more than the glob).
    #[tokio::test]
    async fn filters_apply_in_the_catalog_queries() {
        use crate::db::testing::TestDb;
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
            let db = TestDb::new(backend).await;
            let mut conn = db.connect().await;
            for sql in [
                "CREATE TABLE app_users (id INTEGER PRIMARY KEY, name VARCHAR(20))",
                "CREATE TABLE audit_log (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES app_users (id))",
                "CREATE TABLE auditxlog (id INTEGER PRIMARY KEY)",
                "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)",
                "CREATE INDEX ix_audit_user ON audit_log (user_id)",
            ] {
                conn.execute(sql).await.expect("setup");
            }
            let options = IntrospectOptions {
                exclude_tables: vec!["alembic_version".into(), "audit_*".into()],
                include_tables: None,
                schema: None,
            };
            let schema = introspect(&mut conn, &options).await.expect("introspects");
            let names: Vec<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
            assert_eq!(names, ["app_users", "auditxlog"], "{backend:?}");
            let only = IntrospectOptions {
                include_tables: Some(vec!["app_*".into()]),
                ..IntrospectOptions::default()
            };
            let schema = introspect(&mut conn, &only).await.expect("introspects");
            assert_eq!(schema.tables.len(), 1, "{backend:?}");
            assert_eq!(schema.tables[0].columns.len(), 2, "{backend:?}");
            conn.close().await;
        }
    }

    #[test]
    fn enum_checks_are_recognised_exactly() {
        assert_eq!(
            enum_check_values("\"status\" IN ('a', 'it''s')", "status"),
            Some(vec!["a".to_owned(), "it's".to_owned()])
        );
        assert_eq!(
            enum_check_values("status IN ()", "status"),
            Some(Vec::new())
        );
        assert_eq!(enum_check_values("status IN ('a',)", "status"), None);
        assert_eq!(enum_check_values("other IN ('a')", "status"), None);
        assert_eq!(enum_check_values("status IN ('a') OR 1", "status"), None);
    }

    #[test]
    fn actions_are_lower_case_without_no_action() {
        assert_eq!(action("CASCADE").as_deref(), Some("cascade"));
        assert_eq!(action("SET NULL").as_deref(), Some("set null"));
        assert_eq!(action("NO ACTION"), None);
        assert_eq!(action(""), None);
    }
}
