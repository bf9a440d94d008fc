//! DDL pieces shared by the built-in dialects: table references, constraint clauses,
//! `CREATE TABLE` assembly, `CREATE INDEX`, and the `sql` op.
//!
//! Input: IR values and a [`Dialect`] for quoting and types. Output: SQL fragments.
//! Dialect-specific decisions (column definitions, what needs a rebuild) stay in the
//! dialect modules.

use super::{Dialect, DialectError, Statement};
use crate::db::Backend;
use crate::ops::Sql;
use crate::schema::{
    CheckConstraint, ForeignKey, Index, Schema, Table, UniqueConstraint, qualified,
};

/// `"schema"."name"` or `"name"`.
pub fn table_ref<D: Dialect + ?Sized>(d: &D, schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(schema) => format!("{}.{}", d.quote_ident(schema), d.quote_ident(name)),
        None => d.quote_ident(name),
    }
}

/// `"a", "b"`.
pub fn column_list<D: Dialect + ?Sized>(d: &D, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| d.quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CONSTRAINT "name" ` or nothing.
pub fn constraint_prefix<D: Dialect + ?Sized>(d: &D, name: Option<&str>) -> String {
    name.map(|n| format!("CONSTRAINT {} ", d.quote_ident(n)))
        .unwrap_or_default()
}

/// `[CONSTRAINT n] PRIMARY KEY ("a", "b")`, or `None` without primary-key columns.
pub fn pk_clause<D: Dialect + ?Sized>(d: &D, table: &Table) -> Option<String> {
    let columns: Vec<String> = table
        .primary_key_columns()
        .into_iter()
        .map(str::to_owned)
        .collect();
    if columns.is_empty() {
        return None;
    }
    let name = table.primary_key.as_ref().and_then(|pk| pk.name.as_deref());
    Some(format!(
        "{}PRIMARY KEY ({})",
        constraint_prefix(d, name),
        column_list(d, &columns)
    ))
}

/// `[CONSTRAINT n] UNIQUE ("a", "b")`.
pub fn unique_clause<D: Dialect + ?Sized>(d: &D, unique: &UniqueConstraint) -> String {
    format!(
        "{}UNIQUE ({})",
        constraint_prefix(d, unique.name.as_deref()),
        column_list(d, &unique.columns)
    )
}

/// `[CONSTRAINT n] FOREIGN KEY ("a") REFERENCES "t" ("id") [ON DELETE ..] [ON UPDATE ..]`.
pub fn fk_clause<D: Dialect + ?Sized>(d: &D, fk: &ForeignKey) -> String {
    let mut sql = format!(
        "{}FOREIGN KEY ({}) REFERENCES {} ({})",
        constraint_prefix(d, fk.name.as_deref()),
        column_list(d, &fk.columns),
        table_ref(d, fk.ref_schema.as_deref(), &fk.ref_table),
        column_list(d, &fk.ref_columns)
    );
    if let Some(action) = &fk.ondelete {
        sql.push_str(&format!(" ON DELETE {}", referential_action(action)));
    }
    if let Some(action) = &fk.onupdate {
        sql.push_str(&format!(" ON UPDATE {}", referential_action(action)));
    }
    // MySQL parses no deferrability (SQLAlchemy leaves it out there too).
    if d.backend() != Backend::Mysql {
        match fk.deferrable {
            Some(true) => sql.push_str(" DEFERRABLE"),
            Some(false) => sql.push_str(" NOT DEFERRABLE"),
            None => {}
        }
        if let Some(initially) = &fk.initially {
            sql.push_str(&format!(" INITIALLY {}", initially.to_ascii_uppercase()));
        }
    }
    sql
}

/// `cascade`, `set  null` -> `CASCADE`, `SET NULL`.
pub fn referential_action(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_ascii_uppercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `[CONSTRAINT n] CHECK (condition)`.
pub fn check_clause<D: Dialect + ?Sized>(d: &D, check: &CheckConstraint) -> String {
    format!(
        "{}CHECK ({})",
        constraint_prefix(d, check.name.as_deref()),
        check.sqltext
    )
}

/// The entries of an index: quoted column names, expressions verbatim.
pub fn index_entries<D: Dialect + ?Sized>(d: &D, index: &Index) -> String {
    index
        .columns
        .iter()
        .map(|c| {
            if Index::is_expression(c) {
                c.clone()
            } else {
                d.quote_ident(c)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `CREATE [UNIQUE] INDEX "name" ON "table" (entries) [WHERE predicate]`.
pub fn create_index<D: Dialect + ?Sized>(d: &D, schema: Option<&str>, index: &Index) -> String {
    let mut sql = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        d.quote_ident(&index.name),
        table_ref(d, schema, &index.table),
        index_entries(d, index)
    );
    if let Some(predicate) = &index.where_ {
        sql.push_str(&format!(" WHERE {predicate}"));
    }
    sql
}

/// `CREATE TABLE "t" (\n\t<column defs>,\n\t<constraints>\n)<suffix>`: the primary key
/// (unless `inline_pk`), uniques (column flags last, as SQLAlchemy orders them), foreign
/// keys and checks.
pub fn create_table<D: Dialect + ?Sized>(
    d: &D,
    table: &Table,
    column_defs: Vec<String>,
    inline_pk: bool,
    suffix: &str,
) -> String {
    let mut items = column_defs;
    if !inline_pk {
        items.extend(pk_clause(d, table));
    }
    items.extend(table.uniques.iter().map(|u| unique_clause(d, u)));
    for column in table.columns.iter().filter(|c| c.unique) {
        items.push(format!("UNIQUE ({})", d.quote_ident(&column.name)));
    }
    items.extend(table.foreign_keys.iter().map(|fk| fk_clause(d, fk)));
    items.extend(table.checks.iter().map(|c| check_clause(d, c)));
    format!(
        "CREATE TABLE {} (\n\t{}\n){suffix}",
        table_ref(d, table.schema.as_deref(), &table.name),
        items.join(",\n\t")
    )
}

/// The statements of a `sql` op on dialect `d`: its variant for `d`, else the generic
/// text, split into statements (MySQL's splitting rules when `mysql`).
pub fn sql_op<D: Dialect + ?Sized>(d: &D, sql: &Sql, mysql: bool) -> Vec<Statement> {
    let Some(text) = sql.for_dialect(d.name()) else {
        return Vec::new();
    };
    let parts = if mysql {
        crate::revision::file::split_mysql_statements(text)
    } else {
        crate::revision::file::split_sql_statements(text)
    };
    parts.into_iter().map(Statement::new).collect()
}

/// The table `name` of `schema`, or [`DialectError::UnknownTable`].
pub fn table_of<'s>(
    schema: &'s Schema,
    table_schema: Option<&str>,
    name: &str,
) -> Result<&'s Table, DialectError> {
    schema
        .table(table_schema, name)
        .ok_or_else(|| DialectError::UnknownTable {
            table: qualified(table_schema, name),
        })
}

/// `'text'` with quotes doubled (and backslashes doubled when `backslashes`).
pub fn string_literal(text: &str, backslashes: bool) -> String {
    let mut escaped = text.replace('\'', "''");
    if backslashes {
        escaped = escaped.replace('\\', "\\\\");
    }
    format!("'{escaped}'")
}

/// `"name"` with the quote character doubled inside.
pub fn quote_with(name: &str, quote: char) -> String {
    let doubled: String = [quote, quote].iter().collect();
    format!(
        "{quote}{}{quote}",
        name.replace(quote, &doubled),
        quote = quote
    )
}
