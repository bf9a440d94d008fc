//! SQLite: `sqlite_master` joined with the table-valued pragmas, four queries in all.
//!
//! Columns come from `pragma_table_info`, foreign keys from `pragma_foreign_key_list`,
//! indexes and unique constraints from `pragma_index_list` + `pragma_index_info`
//! (origin `u` = unique constraint, `c` = `CREATE INDEX`, `pk` = the primary key). What
//! the pragmas do not report is read from the `CREATE TABLE` / `CREATE INDEX` text:
//! check constraints, constraint names, `AUTOINCREMENT`, index expressions and `WHERE`
//! predicates. A `VARCHAR(n)` column whose only column check is exactly the
//! `col IN (...)` the SQLite dialect writes for enums reads back as that enum.
//! SQLite stores no comments.

use std::collections::BTreeMap;

use super::sqltext::{
    ParsedConstraint, ParsedTable, parse_create_index, parse_create_table, strip_outer_parens,
};
use super::{IntrospectError, IntrospectOptions, action, cell, enum_check_values, opt_cell, query};
use crate::db::Connection;
use crate::schema::{
    CheckConstraint, Column, ColumnType, ForeignKey, Index, PrimaryKey, Schema, Table,
    UniqueConstraint,
};

pub(super) async fn introspect(
    conn: &mut Connection,
    options: &IntrospectOptions,
) -> Result<Schema, IntrospectError> {
    // `"main".sqlite_master` and `pragma_table_info(name, 'main')` for an attached schema.
    let (master, arg) = match &options.schema {
        Some(s) => {
            let quoted = format!("\"{}\"", s.replace('"', "\"\""));
            let literal = format!("'{}'", s.replace('\'', "''"));
            (format!("{quoted}.sqlite_master"), format!(", {literal}"))
        }
        None => ("sqlite_master".to_owned(), String::new()),
    };
    // The table filters run inside every query: left-out tables are never read.
    let user_tables = format!(
        "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'{}",
        options.sql_filter("m.name", |s| format!("'{}'", s.replace('\'', "''")))
    );
    let tables = query(
        conn,
        "tables",
        &format!("SELECT m.name, m.sql FROM {master} m WHERE {user_tables} ORDER BY m.name"),
    )
    .await?;
    let columns = query(
        conn,
        "columns",
        &format!(
            "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk \
             FROM {master} m JOIN pragma_table_info(m.name{arg}) p \
             WHERE {user_tables} ORDER BY m.name, p.cid"
        ),
    )
    .await?;
    let foreign_keys = query(
        conn,
        "foreign keys",
        &format!(
            "SELECT m.name, p.id, p.\"table\", p.\"from\", p.\"to\", p.on_update, p.on_delete \
             FROM {master} m JOIN pragma_foreign_key_list(m.name{arg}) p \
             WHERE {user_tables} ORDER BY m.name, p.id DESC, p.seq"
        ),
    )
    .await?;
    let indexes = query(
        conn,
        "indexes",
        &format!(
            "SELECT m.name, il.name, il.\"unique\", il.origin, ii.name, s.sql \
             FROM {master} m JOIN pragma_index_list(m.name{arg}) il \
             JOIN pragma_index_info(il.name{arg}) ii \
             LEFT JOIN {master} s ON s.type = 'index' AND s.name = il.name \
             WHERE {user_tables} ORDER BY m.name, il.name, ii.seqno"
        ),
    )
    .await?;

    let mut by_name: BTreeMap<String, (Table, ParsedTable)> = BTreeMap::new();
    for row in &tables {
        let name = cell(row, 0);
        if !options.wants(name) {
            continue;
        }
        let table = Table {
            schema: options.schema.clone(),
            ..Table::new(name)
        };
        by_name.insert(name.to_owned(), (table, parse_create_table(cell(row, 1))));
    }

    // Columns, and primary-key positions (pragma `pk` is the 1-based place in the key).
    let mut pk_positions: BTreeMap<String, Vec<(u32, String)>> = BTreeMap::new();
    for row in &columns {
        let Some((table, parsed)) = by_name.get_mut(cell(row, 0)) else {
            continue;
        };
        let name = cell(row, 1).to_owned();
        let pk: u32 = cell(row, 5).parse().unwrap_or(0);
        let parsed_column = parsed
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(&name));
        let column = Column {
            nullable: cell(row, 3) != "1",
            primary_key: pk > 0,
            autoincrement: parsed_column
                .is_some_and(|c| c.autoincrement)
                .then_some(true),
            server_default: opt_cell(row, 4).map(|d| strip_outer_parens(&d).to_owned()),
            ..Column::new(name.clone(), ColumnType::parse(cell(row, 2)))
        };
        if pk > 0 {
            pk_positions
                .entry(table.name.clone())
                .or_default()
                .push((pk, name));
        }
        table.columns.push(column);
    }

    let mut fk_groups: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    let mut fk_order: Vec<(String, String)> = Vec::new();
    for row in &foreign_keys {
        let table = cell(row, 0).to_owned();
        if !by_name.contains_key(&table) {
            continue;
        }
        let key = (table, cell(row, 1).to_owned());
        let fk = fk_groups.entry(key.clone()).or_insert_with(|| {
            fk_order.push(key.clone());
            ForeignKey {
                ref_table: cell(row, 2).to_owned(),
                onupdate: action(cell(row, 5)),
                ondelete: action(cell(row, 6)),
                ..ForeignKey::default()
            }
        });
        fk.columns.push(cell(row, 3).to_owned());
        if let Some(to) = opt_cell(row, 4) {
            fk.ref_columns.push(to);
        }
    }
    for key in fk_order {
        let Some(mut fk) = fk_groups.remove(&key) else {
            continue;
        };
        // `REFERENCES users` without columns means the referenced primary key.
        if fk.ref_columns.is_empty() {
            fk.ref_columns = pk_positions
                .get(&fk.ref_table)
                .map(|pk| sorted_pk(pk.clone()))
                .unwrap_or_default();
        }
        if let Some((table, _)) = by_name.get_mut(&key.0) {
            table.foreign_keys.push(fk);
        }
    }

    let mut index_groups: BTreeMap<(String, String), (Index, String, Option<String>)> =
        BTreeMap::new();
    for row in &indexes {
        let table = cell(row, 0).to_owned();
        if !by_name.contains_key(&table) {
            continue;
        }
        let name = cell(row, 1).to_owned();
        let entry = index_groups
            .entry((table.clone(), name.clone()))
            .or_insert_with(|| {
                let index = Index {
                    name,
                    table,
                    unique: cell(row, 2) == "1",
                    ..Index::default()
                };
                (index, cell(row, 3).to_owned(), opt_cell(row, 5))
            });
        entry.0.columns.push(cell(row, 4).to_owned());
    }
    for ((table_name, _), (mut index, origin, sql)) in index_groups {
        let Some((table, parsed)) = by_name.get_mut(&table_name) else {
            continue;
        };
        match origin.as_str() {
            "u" => {
                let name = unique_name(parsed, &index.columns);
                table.uniques.push(UniqueConstraint {
                    name,
                    columns: index.columns,
                });
            }
            "c" => {
                if let Some(sql) = sql {
                    let parsed_index = parse_create_index(&sql);
                    if !parsed_index.entries.is_empty() {
                        index.columns = parsed_index.entries;
                    }
                    index.where_ = parsed_index.where_;
                }
                table.indexes.push(index);
            }
            _ => {}
        }
    }

    let mut schema = Schema::default();
    for (name, (mut table, parsed)) in by_name {
        let pk = sorted_pk(pk_positions.remove(&name).unwrap_or_default());
        finish_table(&mut table, &parsed, pk);
        schema.tables.push(table);
    }
    Ok(schema)
}

fn sorted_pk(mut positions: Vec<(u32, String)>) -> Vec<String> {
    positions.sort();
    positions.into_iter().map(|(_, name)| name).collect()
}

/// Names of unique constraints come from the `CREATE TABLE` text, matched by columns.
fn unique_name(parsed: &ParsedTable, columns: &[String]) -> Option<String> {
    let table_level = parsed.constraints.iter().find_map(|c| match c {
        ParsedConstraint::Unique {
            name,
            columns: cols,
        } if same_columns(cols, columns) => Some(name.clone()),
        _ => None,
    });
    let column_level = || match columns {
        [only] => parsed
            .columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(only))
            .and_then(|c| c.unique.clone()),
        _ => None,
    };
    table_level.or_else(column_level).flatten()
}

fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Adds what only the `CREATE TABLE` text knows: the primary key's name and order,
/// foreign-key names, checks, and enums written as `VARCHAR` + `CHECK (col IN (...))`.
fn finish_table(table: &mut Table, parsed: &ParsedTable, pk: Vec<String>) {
    let pk_name = parsed
        .constraints
        .iter()
        .find_map(|c| match c {
            ParsedConstraint::PrimaryKey { name, .. } => name.clone(),
            _ => None,
        })
        .or_else(|| {
            parsed
                .columns
                .iter()
                .find_map(|c| c.primary_key_name.clone())
        });
    let in_table_order: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| c.name.as_str())
        .collect();
    if !pk.is_empty() && (pk_name.is_some() || in_table_order != pk) {
        table.primary_key = Some(PrimaryKey {
            name: pk_name,
            columns: pk,
        });
    }

    // Several foreign keys may share columns: match them in declaration order, each
    // parsed constraint once.
    let mut used = vec![false; parsed.constraints.len()];
    for fk in &mut table.foreign_keys {
        let found = parsed.constraints.iter().enumerate().find(|(i, c)| {
            !used[*i]
                && matches!(c, ParsedConstraint::ForeignKey { columns, .. } if same_columns(columns, &fk.columns))
        });
        fk.name = match found {
            Some((i, ParsedConstraint::ForeignKey { name, .. })) => {
                used[i] = true;
                name.clone()
            }
            _ => None,
        };
        if fk.name.is_none()
            && let [only] = fk.columns.as_slice()
        {
            fk.name = parsed
                .columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(only))
                .and_then(|c| c.references.clone())
                .flatten();
        }
    }

    for parsed_column in &parsed.columns {
        let Some(column) = table
            .columns
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(&parsed_column.name))
        else {
            continue;
        };
        for (name, sqltext) in &parsed_column.checks {
            if name.is_none()
                && parsed_column.checks.len() == 1
                && let Some(values) = enum_check_values(sqltext, &column.name)
                && enum_fits(&column.ty, &values)
            {
                column.ty = ColumnType::Enum { name: None, values };
                continue;
            }
            table.checks.push(CheckConstraint {
                name: name.clone(),
                sqltext: sqltext.clone(),
            });
        }
    }
    for c in &parsed.constraints {
        if let ParsedConstraint::Check { name, sqltext } = c {
            table.checks.push(CheckConstraint {
                name: name.clone(),
                sqltext: sqltext.clone(),
            });
        }
    }
}

/// True when `ty` is the `VARCHAR(n)` the SQLite dialect writes for an enum of `values`.
fn enum_fits(ty: &ColumnType, values: &[String]) -> bool {
    let len = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    *ty == ColumnType::String(Some(len as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Backend;
    use crate::db::testing::TestDb;

    #[tokio::test]
    async fn reads_hand_written_ddl() {
        let db = TestDb::new(Backend::Sqlite).await;
        let mut conn = db.connect().await;
        for sql in [
            "CREATE TABLE [orgs] (id integer PRIMARY KEY AUTOINCREMENT, `code` char(4) NOT NULL)",
            "CREATE TABLE members (
                org_id INTEGER NOT NULL REFERENCES orgs ON DELETE CASCADE,
                user_no integer NOT NULL,
                note varchar(20) DEFAULT 'a) b' CHECK (note <> ')'),
                joined DATETIME DEFAULT (datetime('now')),
                CONSTRAINT pk_members PRIMARY KEY (user_no, org_id),
                CONSTRAINT uq_note UNIQUE (note, joined),
                CONSTRAINT ck_user CHECK ((user_no > 0) AND (user_no < 1000))
            )",
            "CREATE INDEX ix_members_recent ON members (lower(note), org_id) WHERE joined IS NOT NULL",
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
        ] {
            conn.execute(sql).await.expect("ddl");
        }
        let options = IntrospectOptions::excluding(["alembic_version"]);
        let schema = super::super::introspect(&mut conn, &options)
            .await
            .expect("introspects");
        let orgs = Table {
            columns: vec![
                Column {
                    nullable: true,
                    autoincrement: Some(true),
                    ..Column::primary("id", ColumnType::Integer)
                },
                Column::new("code", ColumnType::Custom("char(4)".into())).not_null(),
            ],
            ..Table::new("orgs")
        };
        let members = Table {
            columns: vec![
                Column {
                    primary_key: true,
                    ..Column::new("org_id", ColumnType::Integer).not_null()
                },
                Column {
                    primary_key: true,
                    ..Column::new("user_no", ColumnType::Integer).not_null()
                },
                Column {
                    server_default: Some("'a) b'".into()),
                    ..Column::new("note", ColumnType::String(Some(20)))
                },
                Column {
                    server_default: Some("datetime('now')".into()),
                    ..Column::new("joined", ColumnType::DateTime { timezone: false })
                },
            ],
            primary_key: Some(PrimaryKey {
                name: Some("pk_members".into()),
                columns: vec!["user_no".into(), "org_id".into()],
            }),
            foreign_keys: vec![ForeignKey {
                columns: vec!["org_id".into()],
                ref_table: "orgs".into(),
                ref_columns: vec!["id".into()],
                ondelete: Some("cascade".into()),
                ..ForeignKey::default()
            }],
            indexes: vec![Index {
                name: "ix_members_recent".into(),
                table: "members".into(),
                columns: vec!["lower(note)".into(), "org_id".into()],
                unique: false,
                where_: Some("joined IS NOT NULL".into()),
                dialects: Vec::new(),
            }],
            uniques: vec![UniqueConstraint {
                name: Some("uq_note".into()),
                columns: vec!["note".into(), "joined".into()],
            }],
            checks: vec![
                CheckConstraint {
                    name: None,
                    sqltext: "note <> ')'".into(),
                },
                CheckConstraint {
                    name: Some("ck_user".into()),
                    sqltext: "(user_no > 0) AND (user_no < 1000)".into(),
                },
            ],
            ..Table::new("members")
        };
        assert_eq!(schema.tables, vec![members, orgs]);
    }
}
