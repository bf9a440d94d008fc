//! Live database -> [`Schema`], with one catalog query per kind of object.
//!
//! Input: an open [`Connection`] and [`IntrospectOptions`] (tables to leave out, such as
//! the version and history tables). Output: the tables of the connection's default
//! schema (or the one named in the options) with their columns, primary keys, foreign
//! keys, indexes, unique and check constraints, enums and comments, folded into the IR
//! in memory (STYLE.md 8: never one query per table). Tables are sorted by name,
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
        !self.exclude_tables.iter().any(|t| t == name)
            && self
                .include_tables
                .as_ref()
                .is_none_or(|only| only.iter().any(|t| t == name))
    }
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

    #[test]
    fn options_filter_tables() {
        let mut options = IntrospectOptions::excluding(["alembic_version"]);
        assert!(!options.wants("alembic_version"));
        assert!(options.wants("users"));
        options.include_tables = Some(vec!["posts".into()]);
        assert!(!options.wants("users"));
        assert!(options.wants("posts"));
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
