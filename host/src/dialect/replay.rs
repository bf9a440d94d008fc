//! Replays ops on a [`Schema`]: the schema a database would have after running them.
//!
//! Input: a schema and one [`Op`]. Output: the schema updated in place, as the databases
//! do it: dropping a column also drops the indexes and constraints that use it; renaming
//! a column or table rewrites the indexes, constraints and foreign keys (of every
//! table) that name it. Used for offline `--sql` rendering, where no database can be
//! introspected, by the runner to keep its schema view current between ops, and by the
//! SQLite dialect to compute a rebuilt table's new definition.
//!
//! `Op::Sql` is opaque and leaves the schema unchanged: after a `sql` op that changes the
//! structure the replayed schema is stale, and a runner should introspect again.
//! Refuses ops on tables, columns or named objects that do not exist, and creating
//! ones that already do.

use super::DialectError;
use crate::introspect::sqltext::{mentions_identifier, rename_identifier};
use crate::ops::Op;
use crate::schema::{Index, PrimaryKey, Schema, Table, qualified};

/// Updates `schema` as executing `op` would.
pub fn apply(schema: &mut Schema, op: &Op) -> Result<(), DialectError> {
    match op {
        Op::CreateTable(c) => {
            let t = &c.table;
            if schema.table(t.schema.as_deref(), &t.name).is_some() {
                return Err(DialectError::TableExists {
                    table: t.qualified_name(),
                });
            }
            let mut table = t.clone();
            for index in &mut table.indexes {
                if index.table.is_empty() {
                    index.table.clone_from(&table.name);
                }
            }
            schema.tables.push(table);
        }
        Op::DropTable(d) => {
            let pos = position(schema, d.schema.as_deref(), &d.table)?;
            schema.tables.remove(pos);
        }
        Op::RenameTable(r) => {
            let s = r.schema.as_deref();
            if schema.table(s, &r.new_name).is_some() {
                return Err(DialectError::TableExists {
                    table: qualified(s, &r.new_name),
                });
            }
            let pos = position(schema, s, &r.table)?;
            let table = &mut schema.tables[pos];
            table.name.clone_from(&r.new_name);
            for index in &mut table.indexes {
                index.table.clone_from(&r.new_name);
            }
            for fk in schema.tables.iter_mut().flat_map(|t| &mut t.foreign_keys) {
                if fk.ref_table == r.table && fk.ref_schema.as_deref() == s {
                    fk.ref_table.clone_from(&r.new_name);
                }
            }
        }
        Op::AlterTable(a) => {
            let table = table_mut(schema, a.schema.as_deref(), &a.table)?;
            if let Some(comment) = &a.comment {
                table.comment.clone_from(comment);
            }
        }
        Op::CreatePrimaryKey(c) => {
            let table = table_mut(schema, c.schema.as_deref(), &c.table)?;
            if !table.primary_key_columns().is_empty() {
                return Err(DialectError::ObjectExists {
                    kind: "Primary key",
                    table: table.qualified_name(),
                    name: c.name.clone().unwrap_or_default(),
                });
            }
            for name in &c.columns {
                if table.column(name).is_none() {
                    return Err(DialectError::UnknownColumn {
                        table: table.qualified_name(),
                        column: name.clone(),
                    });
                }
            }
            // The databases make primary-key columns NOT NULL.
            for column in &mut table.columns {
                column.primary_key = false;
                if c.columns.contains(&column.name) {
                    column.nullable = false;
                }
            }
            table.primary_key = Some(PrimaryKey {
                name: c.name.clone(),
                columns: c.columns.clone(),
            });
        }
        Op::DropPrimaryKey(d) => {
            let table = table_mut(schema, d.schema.as_deref(), &d.table)?;
            if table.primary_key_columns().is_empty() {
                let name = d.name.clone().unwrap_or_else(|| "PRIMARY KEY".to_owned());
                return Err(unknown("Primary key", table, &name));
            }
            table.primary_key = None;
            for column in &mut table.columns {
                column.primary_key = false;
            }
        }
        Op::AddColumn(a) => {
            let table = table_mut(schema, a.schema.as_deref(), &a.table)?;
            if table.column(&a.column.name).is_some() {
                return Err(DialectError::ColumnExists {
                    table: table.qualified_name(),
                    column: a.column.name.clone(),
                });
            }
            table.columns.push(a.column.clone());
        }
        Op::DropColumn(d) => {
            let table = table_mut(schema, d.schema.as_deref(), &d.table)?;
            let pos = table
                .columns
                .iter()
                .position(|c| c.name == d.column)
                .ok_or_else(|| DialectError::UnknownColumn {
                    table: table.qualified_name(),
                    column: d.column.clone(),
                })?;
            table.columns.remove(pos);
            forget_column(table, &d.column);
        }
        Op::AlterColumn(a) => {
            let s = a.schema.as_deref();
            let table = table_mut(schema, s, &a.table)?;
            let qualified_name = table.qualified_name();
            let column = table
                .columns
                .iter_mut()
                .find(|c| c.name == a.column)
                .ok_or_else(|| DialectError::UnknownColumn {
                    table: qualified_name.clone(),
                    column: a.column.clone(),
                })?;
            if let Some(ty) = &a.ty {
                column.ty = ty.clone();
            }
            if let Some(nullable) = a.nullable {
                column.nullable = nullable;
            }
            if let Some(default) = &a.server_default {
                column.server_default.clone_from(default);
            }
            if let Some(comment) = &a.comment {
                column.comment.clone_from(comment);
            }
            if let Some(new_name) = &a.new_name
                && *new_name != a.column
            {
                if table.column(new_name).is_some() {
                    return Err(DialectError::ColumnExists {
                        table: qualified_name,
                        column: new_name.clone(),
                    });
                }
                rename_column(schema, s, &a.table, &a.column, new_name);
            }
        }
        Op::CreateIndex(c) => {
            let table = table_mut(schema, c.schema.as_deref(), &c.index.table)?;
            if table.indexes.iter().any(|i| i.name == c.index.name) {
                return Err(DialectError::ObjectExists {
                    kind: "Index",
                    table: table.qualified_name(),
                    name: c.index.name.clone(),
                });
            }
            table.indexes.push(c.index.clone());
        }
        Op::DropIndex(d) => {
            let table = table_mut(schema, d.schema.as_deref(), &d.table)?;
            let pos = table.indexes.iter().position(|i| i.name == d.name);
            let pos = pos.ok_or_else(|| unknown("Index", table, &d.name))?;
            table.indexes.remove(pos);
        }
        Op::CreateUnique(c) => {
            let table = table_mut(schema, c.schema.as_deref(), &c.table)?;
            check_new_name(table, "Unique constraint", c.unique.name.as_deref())?;
            table.uniques.push(c.unique.clone());
        }
        Op::DropUnique(d) => {
            let table = table_mut(schema, d.schema.as_deref(), &d.table)?;
            let columns = d.definition.as_ref().map(|u| u.columns.as_slice());
            match find_named(
                &table.uniques,
                |u| u.name.as_deref(),
                |u| &u.columns,
                &d.name,
                columns,
            ) {
                Some(pos) => {
                    table.uniques.remove(pos);
                }
                None => {
                    // An unnamed `unique = true` column flag matched by its definition.
                    let flagged = match columns {
                        Some([only]) => table
                            .columns
                            .iter_mut()
                            .find(|c| c.name == *only && c.unique),
                        _ => None,
                    };
                    match flagged {
                        Some(column) => column.unique = false,
                        None => return Err(unknown("Unique constraint", table, &d.name)),
                    }
                }
            }
        }
        Op::CreateForeignKey(c) => {
            let table = table_mut(schema, c.schema.as_deref(), &c.table)?;
            check_new_name(table, "Foreign key", c.foreign_key.name.as_deref())?;
            table.foreign_keys.push(c.foreign_key.clone());
        }
        Op::DropForeignKey(d) => {
            let table = table_mut(schema, d.schema.as_deref(), &d.table)?;
            let columns = d.definition.as_ref().map(|f| f.columns.as_slice());
            let pos = find_named(
                &table.foreign_keys,
                |f| f.name.as_deref(),
                |f| &f.columns,
                &d.name,
                columns,
            )
            .ok_or_else(|| unknown("Foreign key", table, &d.name))?;
            table.foreign_keys.remove(pos);
        }
        Op::CreateCheck(c) => {
            let table = table_mut(schema, c.schema.as_deref(), &c.table)?;
            check_new_name(table, "Check constraint", c.check.name.as_deref())?;
            table.checks.push(c.check.clone());
        }
        Op::DropCheck(d) => {
            let table = table_mut(schema, d.schema.as_deref(), &d.table)?;
            let pos = table
                .checks
                .iter()
                .position(|c| c.name.as_deref() == Some(d.name.as_str()))
                .or_else(|| {
                    let text = &d.definition.as_ref()?.sqltext;
                    table
                        .checks
                        .iter()
                        .position(|c| c.name.is_none() && c.sqltext == *text)
                })
                .ok_or_else(|| unknown("Check constraint", table, &d.name))?;
            table.checks.remove(pos);
        }
        Op::Sql(_) => {}
    }
    Ok(())
}

/// The entry called `name`, else the unnamed entry with exactly `columns` (unnamed
/// constraints are dropped by their definition).
fn find_named<T>(
    items: &[T],
    name_of: impl Fn(&T) -> Option<&str>,
    columns_of: impl Fn(&T) -> &Vec<String>,
    name: &str,
    columns: Option<&[String]>,
) -> Option<usize> {
    items
        .iter()
        .position(|i| name_of(i) == Some(name))
        .or_else(|| {
            let columns = columns?;
            items
                .iter()
                .position(|i| name_of(i).is_none() && columns_of(i).as_slice() == columns)
        })
}

fn check_new_name(
    table: &Table,
    kind: &'static str,
    name: Option<&str>,
) -> Result<(), DialectError> {
    let Some(name) = name else { return Ok(()) };
    let taken = table
        .uniques
        .iter()
        .any(|u| u.name.as_deref() == Some(name))
        || table
            .foreign_keys
            .iter()
            .any(|f| f.name.as_deref() == Some(name))
        || table.checks.iter().any(|c| c.name.as_deref() == Some(name));
    if taken {
        return Err(DialectError::ObjectExists {
            kind,
            table: table.qualified_name(),
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn unknown(kind: &'static str, table: &Table, name: &str) -> DialectError {
    DialectError::UnknownObject {
        kind,
        table: table.qualified_name(),
        name: name.to_owned(),
    }
}

fn position(
    schema: &Schema,
    table_schema: Option<&str>,
    name: &str,
) -> Result<usize, DialectError> {
    schema
        .tables
        .iter()
        .position(|t| t.name == name && t.schema.as_deref() == table_schema)
        .ok_or_else(|| DialectError::UnknownTable {
            table: qualified(table_schema, name),
        })
}

fn table_mut<'s>(
    schema: &'s mut Schema,
    table_schema: Option<&str>,
    name: &str,
) -> Result<&'s mut Table, DialectError> {
    let pos = position(schema, table_schema, name)?;
    Ok(&mut schema.tables[pos])
}

/// Drops what used the dropped column `name`: indexes, uniques, foreign keys, checks,
/// and its place in an explicit primary key.
fn forget_column(table: &mut Table, name: &str) {
    let uses = |entries: &[String]| entries.iter().any(|e| entry_uses(e, name));
    table.indexes.retain(|i| {
        !uses(&i.columns)
            && !i
                .where_
                .as_deref()
                .is_some_and(|w| mentions_identifier(w, name))
    });
    table
        .uniques
        .retain(|u| !u.columns.iter().any(|c| c == name));
    table
        .foreign_keys
        .retain(|f| !f.columns.iter().any(|c| c == name));
    table
        .checks
        .retain(|c| !mentions_identifier(&c.sqltext, name));
    if let Some(pk) = &mut table.primary_key {
        pk.columns.retain(|c| c != name);
        if pk.columns.is_empty() {
            table.primary_key = None;
        }
    }
}

/// True when an index entry (a column name or an expression) uses column `name`.
fn entry_uses(entry: &str, name: &str) -> bool {
    if Index::is_expression(entry) {
        mentions_identifier(entry, name)
    } else {
        entry == name
    }
}

/// Renames column `from` of table `table` to `to`, in the table and in every foreign
/// key pointing at it.
fn rename_column(
    schema: &mut Schema,
    table_schema: Option<&str>,
    table: &str,
    from: &str,
    to: &str,
) {
    let quote = |n: &str| format!("\"{}\"", n.replace('"', "\"\""));
    let rename = |entries: &mut Vec<String>| {
        for e in entries.iter_mut() {
            if e == from {
                *e = to.to_owned();
            } else if Index::is_expression(e) && mentions_identifier(e, from) {
                *e = rename_identifier(e, from, to, quote);
            }
        }
    };
    for t in &mut schema.tables {
        let is_target = t.name == table && t.schema.as_deref() == table_schema;
        if is_target {
            if let Some(column) = t.columns.iter_mut().find(|c| c.name == from) {
                column.name = to.to_owned();
            }
            for index in &mut t.indexes {
                rename(&mut index.columns);
                if let Some(w) = &mut index.where_ {
                    *w = rename_identifier(w, from, to, quote);
                }
            }
            for u in &mut t.uniques {
                rename(&mut u.columns);
            }
            for f in &mut t.foreign_keys {
                rename(&mut f.columns);
            }
            for c in &mut t.checks {
                c.sqltext = rename_identifier(&c.sqltext, from, to, quote);
            }
            if let Some(pk) = &mut t.primary_key {
                rename(&mut pk.columns);
            }
        }
        for f in &mut t.foreign_keys {
            if f.ref_table == table && f.ref_schema.as_deref() == table_schema {
                rename(&mut f.ref_columns);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{AlterColumn, DropColumn, RenameTable};
    use crate::schema::{CheckConstraint, Column, ColumnType, ForeignKey, UniqueConstraint};

    fn schema() -> Schema {
        let users = Table {
            columns: vec![
                Column::primary("id", ColumnType::Integer),
                Column::new("email", ColumnType::String(Some(100))),
                Column::new("age", ColumnType::Integer),
            ],
            indexes: vec![Index {
                name: "ix_email".into(),
                table: "users".into(),
                columns: vec!["lower(email)".into()],
                ..Index::default()
            }],
            uniques: vec![UniqueConstraint {
                name: Some("uq_email".into()),
                columns: vec!["email".into()],
            }],
            checks: vec![CheckConstraint {
                name: Some("ck_age".into()),
                sqltext: "age >= 0".into(),
            }],
            ..Table::new("users")
        };
        let posts = Table {
            columns: vec![
                Column::primary("id", ColumnType::Integer),
                Column::new("user_id", ColumnType::Integer),
            ],
            foreign_keys: vec![ForeignKey {
                name: Some("fk_user".into()),
                columns: vec!["user_id".into()],
                ref_table: "users".into(),
                ref_columns: vec!["id".into()],
                ..ForeignKey::default()
            }],
            ..Table::new("posts")
        };
        Schema {
            tables: vec![users, posts],
        }
    }

    #[test]
    fn renaming_a_column_rewrites_everything_that_names_it() {
        let mut s = schema();
        let op = Op::AlterColumn(AlterColumn {
            table: "users".into(),
            column: "id".into(),
            new_name: Some("user_id".into()),
            ..AlterColumn::default()
        });
        apply(&mut s, &op).expect("applies");
        assert_eq!(s.tables[0].columns[0].name, "user_id");
        assert_eq!(s.tables[1].foreign_keys[0].ref_columns, ["user_id"]);
        let op = Op::AlterColumn(AlterColumn {
            table: "users".into(),
            column: "email".into(),
            new_name: Some("mail".into()),
            ..AlterColumn::default()
        });
        apply(&mut s, &op).expect("applies");
        assert_eq!(s.tables[0].indexes[0].columns, ["lower(mail)"]);
        assert_eq!(s.tables[0].uniques[0].columns, ["mail"]);
    }

    #[test]
    fn dropping_a_column_drops_what_uses_it() {
        let mut s = schema();
        for column in ["email", "age"] {
            let op = Op::DropColumn(DropColumn {
                table: "users".into(),
                schema: None,
                column: column.into(),
                definition: None,
            });
            apply(&mut s, &op).expect("applies");
        }
        let users = &s.tables[0];
        assert_eq!(users.columns.len(), 1);
        assert!(users.indexes.is_empty() && users.uniques.is_empty() && users.checks.is_empty());
    }

    #[test]
    fn renaming_a_table_follows_foreign_keys_and_refuses_clashes() {
        let mut s = schema();
        let op = Op::RenameTable(RenameTable {
            table: "users".into(),
            new_name: "accounts".into(),
            schema: None,
        });
        apply(&mut s, &op).expect("applies");
        assert_eq!(s.tables[1].foreign_keys[0].ref_table, "accounts");
        assert_eq!(s.tables[0].indexes[0].table, "accounts");
        let clash = Op::RenameTable(RenameTable {
            table: "posts".into(),
            new_name: "accounts".into(),
            schema: None,
        });
        assert_eq!(
            apply(&mut s, &clash),
            Err(DialectError::TableExists {
                table: "accounts".into()
            })
        );
    }

    #[test]
    fn sql_ops_change_nothing_and_unknown_tables_are_errors() {
        let mut s = schema();
        apply(&mut s, &Op::Sql(crate::ops::Sql::new("DROP TABLE users"))).expect("applies");
        assert_eq!(s, schema());
        let op = Op::DropColumn(DropColumn {
            table: "nope".into(),
            schema: None,
            column: "x".into(),
            definition: None,
        });
        assert_eq!(
            apply(&mut s, &op),
            Err(DialectError::UnknownTable {
                table: "nope".into()
            })
        );
    }
}
