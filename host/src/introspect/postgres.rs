//! PostgreSQL: `pg_catalog` in five queries (tables, enums, columns, constraints,
//! indexes) for one schema.
//!
//! Types come from `format_type`, mapped back to generic ones; enum columns get their
//! type's name and values from `pg_enum`. `nextval(...)` defaults and identity columns
//! are auto-increment (reported as SQLAlchemy's `"auto"` where that rule applies) and
//! not a server default. A literal default loses its cast (`'draft'::character
//! varying` -> `'draft'`), since the column's type applies it anyway. Indexes that back
//! a primary key or unique constraint are not indexes in the IR; expression entries
//! and partial-index predicates are kept as PostgreSQL prints them.

use std::collections::BTreeMap;

use super::sqltext::{TokenKind, strip_outer_parens, tokenize};
use super::{
    IntrospectError, IntrospectOptions, action, cell, fold_autoincrement, opt_cell, query,
};
use crate::db::Connection;
use crate::schema::{
    CheckConstraint, Column, ColumnType, ForeignKey, Index, PrimaryKey, Schema, Table,
    UniqueConstraint,
};

/// Separator of aggregated name lists (names never contain it).
const SEP: char = '\u{1f}';

pub(super) async fn introspect(
    conn: &mut Connection,
    options: &IntrospectOptions,
) -> Result<Schema, IntrospectError> {
    let ns = match &options.schema {
        Some(s) => format!("'{}'", s.replace('\'', "''")),
        None => "current_schema()".to_owned(),
    };
    // The table filters run inside every query: left-out tables are never read.
    let user_tables = format!(
        "n.nspname = {ns} AND c.relkind IN ('r', 'p') AND NOT c.relispartition{}",
        options.sql_filter("c.relname::text", |s| format!(
            "'{}'",
            s.replace('\'', "''")
        ))
    );
    let tables = query(
        conn,
        "tables",
        &format!(
            "SELECT c.relname::text, obj_description(c.oid, 'pg_class') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {user_tables} ORDER BY c.relname"
        ),
    )
    .await?;
    let enums = query(
        conn,
        "enums",
        &format!(
            "SELECT t.oid::text, t.typname::text, (n.nspname = {ns})::text, n.nspname::text, \
             e.enumlabel::text \
             FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid \
             JOIN pg_namespace n ON n.oid = t.typnamespace \
             ORDER BY t.oid, e.enumsortorder"
        ),
    )
    .await?;
    let columns = query(
        conn,
        "columns",
        &format!(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
             a.attnotnull::text, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, \
             col_description(c.oid, a.attnum), a.atttypid::text, t.typelem::text, \
             a.attgenerated::text \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE {user_tables} AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY c.relname, a.attnum"
        ),
    )
    .await?;
    let names_of = |keys: &str, rel: &str| {
        format!(
            "array_to_string(ARRAY(SELECT a.attname::text FROM unnest(con.{keys}) \
             WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = con.{rel} \
             AND a.attnum = k.n ORDER BY k.i), chr(31))"
        )
    };
    let constraints = query(
        conn,
        "constraints",
        &format!(
            "SELECT c.relname::text, con.conname::text, con.contype::text, \
             pg_get_constraintdef(con.oid, true), {}, fc.relname::text, \
             (fn.nspname = {ns})::text, fn.nspname::text, {}, \
             con.confdeltype::text, con.confupdtype::text, \
             con.condeferrable::text, con.condeferred::text \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_class fc ON fc.oid = con.confrelid \
             LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
             WHERE {user_tables} AND con.contype IN ('p', 'u', 'f', 'c') \
             ORDER BY c.relname, con.conname",
            names_of("conkey", "conrelid"),
            names_of("confkey", "confrelid"),
        ),
    )
    .await?;
    let indexes = query(
        conn,
        "indexes",
        &format!(
            "SELECT c.relname::text, i.relname::text, ix.indisunique::text, \
             array_to_string(ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true) \
             FROM generate_series(1, ix.indnkeyatts) k ORDER BY k), chr(31)), \
             pg_get_expr(ix.indpred, ix.indrelid, true) \
             FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
             JOIN pg_class c ON c.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE {user_tables} AND NOT EXISTS (SELECT 1 FROM pg_constraint con \
             WHERE con.conindid = ix.indexrelid AND con.contype IN ('p', 'u', 'x')) \
             ORDER BY c.relname, i.relname"
        ),
    )
    .await?;

    // Enum types by oid: (name as the IR spells it, values in order).
    let mut enum_types: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for row in &enums {
        let entry = enum_types
            .entry(cell(row, 0).to_owned())
            .or_insert_with(|| {
                // Qualified unless it lives in the default schema being read.
                let name = if cell(row, 2) == "true" && options.schema.is_none() {
                    cell(row, 1).to_owned()
                } else {
                    format!("{}.{}", cell(row, 3), cell(row, 1))
                };
                (name, Vec::new())
            });
        entry.1.push(cell(row, 4).to_owned());
    }

    let mut by_name: BTreeMap<String, Table> = BTreeMap::new();
    for row in &tables {
        let name = cell(row, 0);
        if options.wants(name) {
            let table = Table {
                schema: options.schema.clone(),
                comment: opt_cell(row, 1),
                ..Table::new(name)
            };
            by_name.insert(name.to_owned(), table);
        }
    }

    // (table, column) -> the database generates its values.
    let mut generated: BTreeMap<(String, String), bool> = BTreeMap::new();
    for row in &columns {
        let Some(table) = by_name.get_mut(cell(row, 0)) else {
            continue;
        };
        let name = cell(row, 1).to_owned();
        let enum_type = |oid: &str| {
            enum_types.get(oid).map(|(name, values)| ColumnType::Enum {
                name: Some(name.clone()),
                values: values.clone(),
            })
        };
        let ty = match (enum_type(cell(row, 7)), enum_type(cell(row, 8))) {
            (Some(e), _) => e,
            (None, Some(e)) => ColumnType::Array(Box::new(e)),
            _ => column_type(cell(row, 2)),
        };
        let default = opt_cell(row, 4);
        let serial = default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("));
        let identity = matches!(cell(row, 5), "a" | "d");
        let computed = !cell(row, 9).is_empty();
        generated.insert((table.name.clone(), name.clone()), serial || identity);
        table.columns.push(Column {
            nullable: cell(row, 3) != "true",
            server_default: default
                .filter(|_| !serial && !computed)
                .and_then(|d| plain_default(&d)),
            comment: opt_cell(row, 6),
            ..Column::new(name, ty)
        });
    }

    for row in &constraints {
        let Some(table) = by_name.get_mut(cell(row, 0)) else {
            continue;
        };
        let name = cell(row, 1).to_owned();
        let columns = split_names(cell(row, 4));
        match cell(row, 2) {
            "p" => {
                for column in table.columns.iter_mut() {
                    column.primary_key = columns.contains(&column.name);
                }
                let in_order: Vec<String> = table
                    .columns
                    .iter()
                    .filter(|c| c.primary_key)
                    .map(|c| c.name.clone())
                    .collect();
                if name != crate::dialect::default_pkey_name(&table.name) || in_order != columns {
                    table.primary_key = Some(PrimaryKey {
                        name: Some(name),
                        columns,
                    });
                }
            }
            "u" => table.uniques.push(UniqueConstraint {
                name: Some(name),
                columns,
            }),
            "f" => table.foreign_keys.push(ForeignKey {
                name: Some(name),
                columns,
                ref_schema: if cell(row, 6) == "true" {
                    options.schema.clone()
                } else {
                    Some(cell(row, 7).to_owned())
                },
                ref_table: cell(row, 5).to_owned(),
                ref_columns: split_names(cell(row, 8)),
                ondelete: action(action_name(cell(row, 9))),
                onupdate: action(action_name(cell(row, 10))),
                // As SQLAlchemy reflects them: said only when deferrable.
                deferrable: (cell(row, 11) == "true").then_some(true),
                initially: (cell(row, 11) == "true").then(|| {
                    if cell(row, 12) == "true" {
                        "DEFERRED"
                    } else {
                        "IMMEDIATE"
                    }
                    .to_owned()
                }),
            }),
            "c" => table.checks.push(CheckConstraint {
                name: Some(name),
                sqltext: check_text(cell(row, 3)),
            }),
            _ => {}
        }
    }

    for row in &indexes {
        let Some(table) = by_name.get_mut(cell(row, 0)) else {
            continue;
        };
        let table_name = table.name.clone();
        table.indexes.push(Index {
            name: cell(row, 1).to_owned(),
            table: table_name,
            columns: cell(row, 3).split(SEP).map(index_entry).collect(),
            unique: cell(row, 2) == "true",
            where_: opt_cell(row, 4),
            dialects: Vec::new(),
        });
    }

    let mut schema = Schema::default();
    for (_, mut table) in by_name {
        fold_autoincrement(&mut table, &generated);
        schema.tables.push(table);
    }
    Ok(schema)
}

fn split_names(text: &str) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    text.split(SEP).map(str::to_owned).collect()
}

/// `pg_constraint.confdeltype` codes.
fn action_name(code: &str) -> &'static str {
    match code {
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        _ => "no action",
    }
}

/// `CHECK ((price > 0)) NOT VALID` -> `price > 0`.
fn check_text(definition: &str) -> String {
    let text = definition.trim();
    let text = text.strip_suffix("NOT VALID").unwrap_or(text).trim();
    let text = text.strip_prefix("CHECK").unwrap_or(text);
    strip_outer_parens(text).to_owned()
}

/// An index entry: a column name (unquoted) or an expression as printed.
fn index_entry(text: &str) -> String {
    match tokenize(text).as_slice() {
        [single] if matches!(single.kind, TokenKind::Word | TokenKind::QuotedIdent) => {
            single.ident().unwrap_or_else(|| text.to_owned())
        }
        _ => text.to_owned(),
    }
}

/// The default without a cast of a literal (`'a'::character varying` -> `'a'`); `None`
/// for `NULL`.
fn plain_default(text: &str) -> Option<String> {
    let tokens = tokenize(text);
    let is_null = |t: &str| t.eq_ignore_ascii_case("null");
    let literal_end = match tokens.first() {
        Some(t) if t.kind == TokenKind::String => Some(t.end),
        Some(t) if is_null(t.text) => Some(t.end),
        _ => None,
    };
    let stripped = match literal_end {
        Some(end) if is_cast_suffix(&text[end..]) => text[..end].to_owned(),
        _ => text.to_owned(),
    };
    (!is_null(stripped.trim())).then_some(stripped)
}

/// True for `::type`, `::character varying(20)`, `::text[]`, `::"Mood"` (one cast).
fn is_cast_suffix(rest: &str) -> bool {
    let Some(ty) = rest.strip_prefix("::") else {
        return false;
    };
    !ty.is_empty()
        && !ty.contains("::")
        && ty
            .chars()
            .all(|c| c.is_alphanumeric() || " _.,()[]\"".contains(c))
}

/// `format_type` output -> the IR type.
fn column_type(text: &str) -> ColumnType {
    let lower = text.trim().to_ascii_lowercase();
    match lower.as_str() {
        "time without time zone" => ColumnType::Time,
        _ => match lower.strip_prefix("character(") {
            // `char(3)` prints as `character(3)`.
            Some(rest) => ColumnType::Custom(format!("char({rest}")),
            // PostgreSQL has one timestamp type; the IR's datetime is its SQLAlchemy name.
            None => match ColumnType::parse(text) {
                ColumnType::Timestamp { timezone } => ColumnType::DateTime { timezone },
                other => other,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_lose_literal_casts_only() {
        assert_eq!(
            plain_default("'draft'::character varying").as_deref(),
            Some("'draft'")
        );
        assert_eq!(plain_default("'{}'::jsonb").as_deref(), Some("'{}'"));
        assert_eq!(plain_default("now()").as_deref(), Some("now()"));
        assert_eq!(plain_default("NULL::character varying"), None);
        assert_eq!(
            plain_default("'a'::text || 'b'::text").as_deref(),
            Some("'a'::text || 'b'::text")
        );
        assert_eq!(plain_default("0").as_deref(), Some("0"));
    }

    #[test]
    fn catalog_spellings_map_back() {
        assert_eq!(check_text("CHECK ((price > 0))"), "price > 0");
        assert_eq!(check_text("CHECK (price > 0) NOT VALID"), "price > 0");
        assert_eq!(index_entry("\"Name\""), "Name");
        assert_eq!(index_entry("lower(title)"), "lower(title)");
        assert_eq!(column_type("time without time zone"), ColumnType::Time);
        assert_eq!(
            column_type("character varying(20)"),
            ColumnType::String(Some(20))
        );
        assert_eq!(
            column_type("timestamp with time zone"),
            ColumnType::DateTime { timezone: true }
        );
        assert_eq!(
            column_type("integer[]"),
            ColumnType::Array(Box::new(ColumnType::Integer))
        );
        assert_eq!(action_name("n"), "set null");
        assert_eq!(
            column_type("character(3)"),
            ColumnType::Custom("char(3)".into())
        );
    }
}
