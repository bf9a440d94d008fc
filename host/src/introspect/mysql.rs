//! MySQL / MariaDB: `information_schema` in six queries (version, tables, columns,
//! index columns, foreign-key columns, checks) for one database.
//!
//! `COLUMN_TYPE` maps back to generic types (`int(11)` -> `integer`, `tinyint(1)` ->
//! `boolean`, `enum('a','b')` -> an unnamed enum); MariaDB's `JSON` (a `longtext` with a
//! `json_valid` check named after the column) reads back as `json` without that check.
//! Unique indexes are unique constraints (MySQL cannot tell them apart); the index
//! InnoDB creates for a foreign key is left out. Defaults are SQL text on both servers
//! (MySQL 8 reports string literals unquoted: they are quoted back). `RESTRICT` and
//! `NO ACTION` are InnoDB's default and read back as `None`. Prefix lengths of index
//! columns are not kept.

use std::collections::BTreeMap;

use super::{
    IntrospectError, IntrospectOptions, action, cell, fold_autoincrement, opt_cell, query,
};
use crate::db::Connection;
use crate::schema::{
    CheckConstraint, Column, ColumnType, ForeignKey, Index, PrimaryKey, Schema, Table,
    UniqueConstraint,
};

pub(super) async fn introspect(
    conn: &mut Connection,
    options: &IntrospectOptions,
) -> Result<Schema, IntrospectError> {
    let db = match &options.schema {
        Some(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
        None => "DATABASE()".to_owned(),
    };
    let server = query(conn, "version", "SELECT VERSION(), DATABASE()").await?;
    let mariadb = server
        .first()
        .is_some_and(|row| cell(row, 0).contains("MariaDB"));
    // The database whose tables are read: foreign keys into others name theirs.
    let here = match &options.schema {
        Some(s) => s.clone(),
        None => server
            .first()
            .map(|row| cell(row, 1).to_owned())
            .unwrap_or_default(),
    };
    let text = |column: &str| format!("CAST({column} AS CHAR)");
    // The table filters run inside every query: left-out tables are never read.
    let only = |column: &str| {
        options.sql_filter(column, |s| {
            format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
        })
    };
    let tables = query(
        conn,
        "tables",
        &format!(
            "SELECT {}, {} FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = {db} AND TABLE_TYPE = 'BASE TABLE'{} ORDER BY TABLE_NAME",
            text("TABLE_NAME"),
            text("TABLE_COMMENT"),
            only("TABLE_NAME")
        ),
    )
    .await?;
    let columns = query(
        conn,
        "columns",
        &format!(
            "SELECT {}, {}, {}, {}, {}, {}, {} FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = {db}{} ORDER BY TABLE_NAME, ORDINAL_POSITION",
            text("TABLE_NAME"),
            text("COLUMN_NAME"),
            text("COLUMN_TYPE"),
            text("IS_NULLABLE"),
            text("COLUMN_DEFAULT"),
            text("EXTRA"),
            text("COLUMN_COMMENT"),
            only("TABLE_NAME")
        ),
    )
    .await?;
    // MySQL 8 has functional key parts (`EXPRESSION`); MariaDB has no such column.
    let expression = if mariadb {
        "NULL".to_owned()
    } else {
        text("EXPRESSION")
    };
    let index_columns = query(
        conn,
        "indexes",
        &format!(
            "SELECT {}, {}, {}, {}, {expression} FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = {db}{} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            text("TABLE_NAME"),
            text("INDEX_NAME"),
            text("NON_UNIQUE"),
            text("COLUMN_NAME"),
            only("TABLE_NAME")
        ),
    )
    .await?;
    let foreign_keys = query(
        conn,
        "foreign keys",
        &format!(
            "SELECT {}, {}, {}, {}, {}, {}, {}, {} \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
             ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA \
             AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = {db} AND k.REFERENCED_TABLE_NAME IS NOT NULL{} \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            text("k.TABLE_NAME"),
            text("k.CONSTRAINT_NAME"),
            text("k.COLUMN_NAME"),
            text("k.REFERENCED_TABLE_SCHEMA"),
            text("k.REFERENCED_TABLE_NAME"),
            text("k.REFERENCED_COLUMN_NAME"),
            text("r.DELETE_RULE"),
            text("r.UPDATE_RULE"),
            only("k.TABLE_NAME")
        ),
    )
    .await?;
    // MariaDB names checks per table (a column check is named after its column), so its
    // CHECK_CONSTRAINTS has TABLE_NAME; MySQL 8's names are per schema.
    let checks_sql = if mariadb {
        format!(
            "SELECT {}, {}, {} FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = {db}{} ORDER BY TABLE_NAME, CONSTRAINT_NAME",
            text("TABLE_NAME"),
            text("CONSTRAINT_NAME"),
            text("CHECK_CLAUSE"),
            only("TABLE_NAME")
        )
    } else {
        format!(
            "SELECT {}, {}, {} FROM information_schema.TABLE_CONSTRAINTS t \
             JOIN information_schema.CHECK_CONSTRAINTS c \
             ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA AND c.CONSTRAINT_NAME = t.CONSTRAINT_NAME \
             WHERE t.TABLE_SCHEMA = {db} AND t.CONSTRAINT_TYPE = 'CHECK'{} \
             ORDER BY t.TABLE_NAME, t.CONSTRAINT_NAME",
            text("t.TABLE_NAME"),
            text("t.CONSTRAINT_NAME"),
            text("c.CHECK_CLAUSE"),
            only("t.TABLE_NAME")
        )
    };
    let checks = query(conn, "checks", &checks_sql).await?;

    let mut by_name: BTreeMap<String, Table> = BTreeMap::new();
    for row in &tables {
        let name = cell(row, 0);
        if options.wants(name) {
            let table = Table {
                schema: options.schema.clone(),
                comment: opt_cell(row, 1).filter(|c| !c.is_empty()),
                ..Table::new(name)
            };
            by_name.insert(name.to_owned(), table);
        }
    }

    let mut generated: BTreeMap<(String, String), bool> = BTreeMap::new();
    for row in &columns {
        let Some(table) = by_name.get_mut(cell(row, 0)) else {
            continue;
        };
        let name = cell(row, 1).to_owned();
        let ty = column_type(cell(row, 2));
        let extra = cell(row, 5).to_ascii_lowercase();
        generated.insert(
            (table.name.clone(), name.clone()),
            extra.contains("auto_increment"),
        );
        let expression = extra.contains("default_generated");
        table.columns.push(Column {
            nullable: cell(row, 3) == "YES",
            server_default: opt_cell(row, 4)
                .and_then(|d| default_text(&d, &ty, mariadb || expression)),
            comment: opt_cell(row, 6).filter(|c| !c.is_empty()),
            ..Column::new(name, ty)
        });
    }

    for row in &checks {
        let Some(table) = by_name.get_mut(cell(row, 0)) else {
            continue;
        };
        let name = cell(row, 1).to_owned();
        let clause = cell(row, 2).to_owned();
        // MariaDB's JSON: `longtext` + `CHECK (json_valid(`col`))` named after the column.
        if let Some(column) = table.columns.iter_mut().find(|c| c.name == name)
            && column.ty == ColumnType::Custom("longtext".into())
            && is_json_valid(&clause, &name)
        {
            column.ty = ColumnType::Json;
            continue;
        }
        table.checks.push(CheckConstraint {
            name: Some(name),
            sqltext: clause,
        });
    }

    let mut fk_groups: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for row in &foreign_keys {
        if !by_name.contains_key(cell(row, 0)) {
            continue;
        }
        let key = (cell(row, 0).to_owned(), cell(row, 1).to_owned());
        let fk = fk_groups.entry(key).or_insert_with(|| ForeignKey {
            name: Some(cell(row, 1).to_owned()),
            ref_schema: if cell(row, 3) == here {
                options.schema.clone()
            } else {
                Some(cell(row, 3).to_owned())
            },
            ref_table: cell(row, 4).to_owned(),
            ondelete: innodb_action(cell(row, 6)),
            onupdate: innodb_action(cell(row, 7)),
            ..ForeignKey::default()
        });
        fk.columns.push(cell(row, 2).to_owned());
        fk.ref_columns.push(cell(row, 5).to_owned());
    }
    for ((table, _), fk) in fk_groups {
        if let Some(t) = by_name.get_mut(&table) {
            t.foreign_keys.push(fk);
        }
    }

    let mut index_groups: BTreeMap<(String, String), Index> = BTreeMap::new();
    for row in &index_columns {
        let table = cell(row, 0).to_owned();
        if !by_name.contains_key(&table) {
            continue;
        }
        let name = cell(row, 1).to_owned();
        let index = index_groups
            .entry((table.clone(), name.clone()))
            .or_insert_with(|| Index {
                name,
                table,
                unique: cell(row, 2) == "0",
                ..Index::default()
            });
        let entry = opt_cell(row, 3)
            .or_else(|| opt_cell(row, 4))
            .unwrap_or_default();
        index.columns.push(entry);
    }
    for ((table_name, name), index) in index_groups {
        let Some(table) = by_name.get_mut(&table_name) else {
            continue;
        };
        if name == "PRIMARY" {
            for column in table.columns.iter_mut() {
                column.primary_key = index.columns.contains(&column.name);
            }
            let in_order: Vec<&String> = table
                .columns
                .iter()
                .filter(|c| c.primary_key)
                .map(|c| &c.name)
                .collect();
            if in_order.iter().copied().ne(index.columns.iter()) {
                table.primary_key = Some(PrimaryKey {
                    name: None,
                    columns: index.columns,
                });
            }
        } else if index.unique {
            table.uniques.push(UniqueConstraint {
                name: Some(index.name),
                columns: index.columns,
            });
        } else if !is_foreign_key_index(table, &index) {
            table.indexes.push(index);
        }
    }

    let mut schema = Schema::default();
    for (_, mut table) in by_name {
        fold_autoincrement(&mut table, &generated);
        schema.tables.push(table);
    }
    Ok(schema)
}

/// True for the index InnoDB made for a foreign key: named after the constraint (or
/// its first column when unnamed) over exactly its columns.
fn is_foreign_key_index(table: &Table, index: &Index) -> bool {
    table.foreign_keys.iter().any(|fk| {
        fk.columns == index.columns
            && (fk.name.as_deref() == Some(index.name.as_str())
                || fk.columns.first() == Some(&index.name))
    })
}

/// `RESTRICT` / `NO ACTION` (InnoDB's default) -> `None`.
fn innodb_action(rule: &str) -> Option<String> {
    action(rule).filter(|a| a != "restrict")
}

/// ``json_valid(`col`)`` over `column`.
fn is_json_valid(clause: &str, column: &str) -> bool {
    let compact: String = clause
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '`')
        .collect::<String>()
        .to_ascii_lowercase();
    compact == format!("json_valid({})", column.to_ascii_lowercase())
}

/// `COLUMN_DEFAULT` as SQL text. MariaDB (and MySQL expression defaults) report SQL;
/// MySQL 8 reports literals bare, so non-numeric ones are quoted back. `NULL` -> `None`.
fn default_text(value: &str, ty: &ColumnType, is_sql: bool) -> Option<String> {
    if is_sql {
        return (!value.eq_ignore_ascii_case("null")).then(|| value.to_owned());
    }
    let numeric = matches!(
        ty,
        ColumnType::Integer
            | ColumnType::BigInteger
            | ColumnType::SmallInteger
            | ColumnType::Boolean
            | ColumnType::Numeric(_)
            | ColumnType::Float
    );
    if numeric && value.parse::<f64>().is_ok() {
        Some(value.to_owned())
    } else {
        Some(format!(
            "'{}'",
            value.replace('\\', "\\\\").replace('\'', "''")
        ))
    }
}

/// `COLUMN_TYPE` -> the IR type: display widths dropped from plain integers,
/// `tinyint(1)` as boolean.
fn column_type(text: &str) -> ColumnType {
    let lower = text.trim().to_ascii_lowercase();
    if lower == "tinyint(1)" {
        return ColumnType::Boolean;
    }
    for (name, ty) in [
        ("int", ColumnType::Integer),
        ("integer", ColumnType::Integer),
        ("bigint", ColumnType::BigInteger),
        ("smallint", ColumnType::SmallInteger),
    ] {
        if let Some(rest) = lower.strip_prefix(name) {
            let width = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')'));
            if rest.is_empty() || width.is_some_and(|w| w.chars().all(|c| c.is_ascii_digit())) {
                return ty;
            }
        }
    }
    match lower.as_str() {
        "longtext" => ColumnType::Custom("longtext".into()),
        _ => ColumnType::parse(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_map_back() {
        assert_eq!(column_type("int(11)"), ColumnType::Integer);
        assert_eq!(column_type("int"), ColumnType::Integer);
        assert_eq!(column_type("bigint(20)"), ColumnType::BigInteger);
        assert_eq!(column_type("tinyint(1)"), ColumnType::Boolean);
        assert_eq!(
            column_type("int(10) unsigned"),
            ColumnType::Custom("int(10) unsigned".into())
        );
        assert_eq!(
            column_type("decimal(10,2)"),
            ColumnType::Numeric(Some((10, 2)))
        );
        assert_eq!(
            column_type("enum('a','it''s')"),
            ColumnType::Enum {
                name: None,
                values: vec!["a".into(), "it's".into()]
            }
        );
    }

    #[test]
    fn defaults_are_sql_text() {
        assert_eq!(
            default_text("'x'", &ColumnType::Text, true).as_deref(),
            Some("'x'")
        );
        assert_eq!(default_text("NULL", &ColumnType::Text, true), None);
        assert_eq!(
            default_text("it's", &ColumnType::Text, false).as_deref(),
            Some("'it''s'")
        );
        assert_eq!(
            default_text("0", &ColumnType::Integer, false).as_deref(),
            Some("0")
        );
        assert!(is_json_valid("json_valid(`js`)", "js"));
        assert!(!is_json_valid("json_valid(`other`)", "js"));
        assert_eq!(innodb_action("RESTRICT"), None);
        assert_eq!(innodb_action("CASCADE").as_deref(), Some("cascade"));
    }
}
