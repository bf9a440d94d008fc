//! The `sql` backend: declarative `CREATE TABLE` / `CREATE INDEX` files.
//!
//! Input: the `.sql` files under the discovery paths (never the migrations folder).
//! Output: one table per `CREATE TABLE`, with column types parsed into the IR
//! (`VARCHAR(200)` -> `varchar(200)`, unknown types kept by name), NULL / NOT NULL,
//! DEFAULT, PRIMARY KEY, UNIQUE, REFERENCES, CHECK and COMMENT, table constraints,
//! and the indexes of `CREATE INDEX`. Parsed with `sqlparser` (generic dialect). A
//! statement that does not parse is an `SQL001` error at its line and column; an
//! index on a table no file creates is `SQL002`; other statements are ignored.

use std::path::Path;

use sqlparser::ast::{
    ColumnOption, CreateIndex, CreateTable, Expr, ObjectName, ObjectNamePart, ReferentialAction,
    Spanned, Statement, TableConstraint,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use super::SourceLocation;
use crate::diagnostic::Diagnostic;
use crate::schema::{
    CheckConstraint, Column, ColumnType, ForeignKey, Index, PrimaryKey, Table, UniqueConstraint,
};

/// Reads the tables of SQL files `(relative path, text)`.
pub fn discover(files: &[(&Path, &str)]) -> (Vec<(Table, SourceLocation)>, Vec<Diagnostic>) {
    let mut tables: Vec<(Table, SourceLocation)> = Vec::new();
    let mut indexes = Vec::new();
    let mut diagnostics = Vec::new();
    for (rel, text) in files {
        let statements = match Parser::parse_sql(&GenericDialect {}, text) {
            Ok(s) => s,
            Err(e) => {
                let message = e.to_string();
                let (line, col) = location(&message);
                diagnostics.push(
                    Diagnostic::error("SQL001", format!("Cannot parse SQL: {message}"))
                        .at(rel.to_path_buf(), line, col)
                        .hint("A schema file that does not parse would lose its tables: fix it, or exclude it with `EXCLUDE_PATHS`"),
                );
                continue;
            }
        };
        for stmt in statements {
            let line = stmt.span().start.line as usize;
            match stmt {
                Statement::CreateTable(ct) => {
                    let table = create_table(&ct);
                    tables.push((
                        table,
                        SourceLocation {
                            file: rel.to_path_buf(),
                            line,
                        },
                    ));
                }
                Statement::CreateIndex(ci) => indexes.push((ci, rel.to_path_buf(), line)),
                _ => {}
            }
        }
    }
    for (ci, rel, line) in indexes {
        let (schema, name) = split_name(&ci.table_name);
        match tables
            .iter_mut()
            .find(|(t, _)| t.name == name && (schema.is_none() || t.schema == schema))
        {
            Some((t, _)) => t.indexes.push(create_index(&ci, &t.name)),
            None => diagnostics.push(
                Diagnostic::error(
                    "SQL002",
                    format!("`CREATE INDEX` on table `{name}`, which no schema file creates"),
                )
                .at(rel, Some(line), None),
            ),
        }
    }
    (tables, diagnostics)
}

/// `... at Line: 3, Column: 14` in a parser message.
fn location(message: &str) -> (Option<usize>, Option<usize>) {
    let number = |key: &str| -> Option<usize> {
        let rest = &message[message.find(key)? + key.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    (number("Line: "), number("Column: "))
}

fn ident_parts(name: &ObjectName) -> Vec<String> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn split_name(name: &ObjectName) -> (Option<String>, String) {
    let mut parts = ident_parts(name);
    let table = parts.pop().unwrap_or_default();
    (parts.pop(), table)
}

/// `DEFERRABLE` / `NOT DEFERRABLE` and `INITIALLY ...` of a foreign key.
fn deferrable(fk: &sqlparser::ast::ForeignKeyConstraint) -> (Option<bool>, Option<String>) {
    use sqlparser::ast::DeferrableInitial;
    let Some(c) = &fk.characteristics else {
        return (None, None);
    };
    let initially = c.initially.map(|i| match i {
        DeferrableInitial::Immediate => "IMMEDIATE".to_owned(),
        DeferrableInitial::Deferred => "DEFERRED".to_owned(),
    });
    (c.deferrable, initially)
}

fn action(a: &Option<ReferentialAction>) -> Option<String> {
    a.as_ref().map(|a| a.to_string())
}

fn expr_text(e: &Expr) -> String {
    match e {
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn create_table(ct: &CreateTable) -> Table {
    let (schema, name) = split_name(&ct.name);
    let mut table = Table::new(name.clone());
    table.schema = schema;
    for def in &ct.columns {
        let mut column = Column::new(
            def.name.value.clone(),
            ColumnType::parse(&def.data_type.to_string()),
        );
        let mut explicit_null = false;
        for opt in &def.options {
            let cname = opt.name.as_ref().map(|n| n.value.clone());
            match &opt.option {
                ColumnOption::Null => explicit_null = true,
                ColumnOption::NotNull => column.nullable = false,
                ColumnOption::Default(e) => column.server_default = Some(e.to_string()),
                ColumnOption::PrimaryKey(_) => column.primary_key = true,
                ColumnOption::Unique(_) => column.unique = true,
                ColumnOption::Comment(c) => column.comment = Some(c.clone()),
                ColumnOption::ForeignKey(fk) => {
                    let (ref_schema, ref_table) = split_name(&fk.foreign_table);
                    table.foreign_keys.push(ForeignKey {
                        name: cname.or_else(|| fk.name.as_ref().map(|n| n.value.clone())),
                        columns: vec![column.name.clone()],
                        ref_schema,
                        ref_table,
                        ref_columns: fk
                            .referred_columns
                            .iter()
                            .map(|c| c.value.clone())
                            .collect(),
                        ondelete: action(&fk.on_delete),
                        onupdate: action(&fk.on_update),
                        deferrable: deferrable(fk).0,
                        initially: deferrable(fk).1,
                    });
                }
                ColumnOption::Check(c) => table.checks.push(CheckConstraint {
                    name: cname.or_else(|| c.name.as_ref().map(|n| n.value.clone())),
                    sqltext: c.expr.to_string(),
                }),
                ColumnOption::Generated { .. } => column.autoincrement = Some(true),
                ColumnOption::DialectSpecific(tokens)
                    if tokens.iter().any(|t| {
                        let t = t.to_string().to_ascii_uppercase();
                        t == "AUTOINCREMENT" || t == "AUTO_INCREMENT"
                    }) =>
                {
                    column.autoincrement = Some(true);
                }
                _ => {}
            }
        }
        if column.primary_key && !explicit_null {
            column.nullable = false;
        }
        table.columns.push(column);
    }
    for c in &ct.constraints {
        match c {
            TableConstraint::PrimaryKey(pk) => {
                let cols: Vec<String> = pk
                    .columns
                    .iter()
                    .map(|c| expr_text(&c.column.expr))
                    .collect();
                for col in &mut table.columns {
                    if cols.contains(&col.name) {
                        col.primary_key = true;
                        col.nullable = false;
                    }
                }
                table.primary_key = Some(PrimaryKey {
                    name: pk.name.as_ref().map(|n| n.value.clone()),
                    columns: cols,
                });
            }
            TableConstraint::Unique(u) => table.uniques.push(UniqueConstraint {
                name: u.name.as_ref().map(|n| n.value.clone()),
                columns: u
                    .columns
                    .iter()
                    .map(|c| expr_text(&c.column.expr))
                    .collect(),
            }),
            TableConstraint::ForeignKey(fk) => {
                let (ref_schema, ref_table) = split_name(&fk.foreign_table);
                table.foreign_keys.push(ForeignKey {
                    name: fk.name.as_ref().map(|n| n.value.clone()),
                    columns: fk.columns.iter().map(|c| c.value.clone()).collect(),
                    ref_schema,
                    ref_table,
                    ref_columns: fk
                        .referred_columns
                        .iter()
                        .map(|c| c.value.clone())
                        .collect(),
                    ondelete: action(&fk.on_delete),
                    onupdate: action(&fk.on_update),
                    deferrable: deferrable(fk).0,
                    initially: deferrable(fk).1,
                });
            }
            TableConstraint::Check(ck) => table.checks.push(CheckConstraint {
                name: ck.name.as_ref().map(|n| n.value.clone()),
                sqltext: ck.expr.to_string(),
            }),
            _ => {}
        }
    }
    table.comment = ct.comment.as_ref().map(|c| comment_text(&c.to_string()));
    table
}

/// `COMMENT = 'x'` / `COMMENT 'x'` -> `x`.
fn comment_text(text: &str) -> String {
    let t = text.trim();
    let t = t.strip_prefix("COMMENT").unwrap_or(t).trim_start();
    let t = t.strip_prefix('=').unwrap_or(t).trim();
    t.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .map_or_else(|| t.to_owned(), |t| t.replace("''", "'"))
}

fn create_index(ci: &CreateIndex, table: &str) -> Index {
    Index {
        name: ci
            .name
            .as_ref()
            .map(|n| split_name(n).1)
            .unwrap_or_default(),
        table: table.to_owned(),
        columns: ci
            .columns
            .iter()
            .map(|c| expr_text(&c.column.expr))
            .collect(),
        unique: ci.unique,
        where_: ci.predicate.as_ref().map(|p| p.to_string()),
        dialects: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tables_constraints_and_indexes() {
        let sql = "-- schema\nCREATE TABLE users (\n  id INTEGER PRIMARY KEY,\n  email VARCHAR(120) NOT NULL UNIQUE,\n  created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP\n);\n\nCREATE TABLE app.posts (\n  id BIGINT NOT NULL,\n  user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,\n  price NUMERIC(10, 2) CHECK (price >= 0),\n  body JSONB,\n  CONSTRAINT pk_posts PRIMARY KEY (id),\n  CONSTRAINT uq_posts UNIQUE (user_id, price)\n);\nCREATE UNIQUE INDEX ix_posts_body ON app.posts (lower(body)) WHERE body IS NOT NULL;\nINSERT INTO users (id) VALUES (1);\n";
        let (tables, diags) = discover(&[(Path::new("schema.sql"), sql)]);
        assert!(diags.is_empty(), "{diags:?}");
        let (users, at) = &tables[0];
        assert_eq!(at.line, 2);
        assert_eq!(users.columns[0], Column::primary("id", ColumnType::Integer));
        assert_eq!(users.columns[1].ty, ColumnType::String(Some(120)));
        assert!(users.columns[1].unique && !users.columns[1].nullable);
        assert_eq!(
            users.columns[2].ty,
            ColumnType::Timestamp { timezone: true }
        );
        assert_eq!(
            users.columns[2].server_default.as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        let (posts, at) = &tables[1];
        assert_eq!(at.line, 8);
        assert_eq!(posts.schema.as_deref(), Some("app"));
        assert_eq!(
            posts.primary_key.as_ref().and_then(|p| p.name.as_deref()),
            Some("pk_posts")
        );
        assert!(posts.columns[0].primary_key);
        assert_eq!(posts.foreign_keys[0].ref_table, "users");
        assert_eq!(posts.foreign_keys[0].ondelete.as_deref(), Some("CASCADE"));
        assert_eq!(posts.columns[2].ty, ColumnType::Numeric(Some((10, 2))));
        assert_eq!(posts.checks[0].sqltext, "price >= 0");
        assert_eq!(posts.columns[3].ty, ColumnType::Custom("JSONB".into()));
        assert_eq!(posts.uniques[0].columns, ["user_id", "price"]);
        let ix = &posts.indexes[0];
        assert_eq!((ix.name.as_str(), ix.unique), ("ix_posts_body", true));
        assert_eq!(ix.columns, ["lower(body)"]);
        assert_eq!(ix.where_.as_deref(), Some("body IS NOT NULL"));
    }

    #[test]
    fn parse_errors_and_orphan_indexes_are_located() {
        let (_, diags) = discover(&[(
            Path::new("a.sql"),
            "CREATE TABLE t (\n  id INTEGER,\n  name VARCHAR(10\n);\n",
        )]);
        assert_eq!(diags[0].code, "SQL001");
        assert_eq!(diags[0].path.as_deref(), Some(Path::new("a.sql")));
        assert!(diags[0].line.is_some(), "{:?}", diags[0]);
        let (_, diags) = discover(&[(Path::new("b.sql"), "CREATE INDEX ix ON nowhere (a);")]);
        assert_eq!(diags[0].code, "SQL002");
    }
}
