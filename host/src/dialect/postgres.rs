//! The PostgreSQL dialect.
//!
//! Input: an [`Op`] and the database's current [`Schema`]. Output: PostgreSQL DDL.
//! Types follow SQLAlchemy 2.0's PostgreSQL compiler (`TIMESTAMP WITH TIME ZONE`,
//! `BYTEA`, `UUID`, `INTEGER[]`); auto-incrementing integer keys are `SERIAL` /
//! `BIGSERIAL` / `SMALLSERIAL`. Enums are named types: `CREATE TYPE ... AS ENUM` is
//! emitted before the first column that uses one (when `schema` has no column of that
//! type yet) and `DROP TYPE` after the last column using it is gone; an enum that
//! gains values gets `ALTER TYPE ... ADD VALUE` (to run outside the transaction, so
//! later statements can use the value), any other change of its values
//! replaces the type (rename old, create new, convert every column, drop old).
//! `alter_column` changes the type with `USING col::type` (dropping and restoring the
//! column's default around it, which PostgreSQL cannot always cast), then nullability,
//! default, comment, and renames last. Comments use `COMMENT ON`. Refuses enums
//! without a name.

use std::collections::BTreeMap;

use super::ddl::{self, table_ref};
use super::{Capabilities, Dialect, DialectError, Statement, autoincrements, replay};
use crate::db::Backend;
use crate::ops::{AlterColumn, Op};
use crate::schema::{Column, ColumnType, Schema, Table};

/// The built-in PostgreSQL dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn name(&self) -> &str {
        "postgresql"
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_ddl: true,
            alter_column: true,
            comments: true,
            partial_indexes: true,
            named_enums: true,
            arrays: true,
            check_constraints: true,
        }
    }

    fn max_identifier_length(&self) -> Option<usize> {
        Some(63)
    }

    fn quote_ident(&self, name: &str) -> String {
        ddl::quote_with(name, '"')
    }

    fn type_sql(&self, ty: &ColumnType) -> Result<String, DialectError> {
        Ok(match ty {
            ColumnType::Integer => "INTEGER".into(),
            ColumnType::BigInteger => "BIGINT".into(),
            ColumnType::SmallInteger => "SMALLINT".into(),
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::String(n) | ColumnType::Unicode(n) => match n {
                Some(n) => format!("VARCHAR({n})"),
                None => "VARCHAR".into(),
            },
            ColumnType::Text => "TEXT".into(),
            ColumnType::Numeric(Some((p, s))) => format!("NUMERIC({p}, {s})"),
            ColumnType::Numeric(None) => "NUMERIC".into(),
            ColumnType::Float => "FLOAT".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::DateTime { timezone: false }
            | ColumnType::Timestamp { timezone: false } => "TIMESTAMP WITHOUT TIME ZONE".into(),
            ColumnType::DateTime { timezone: true } | ColumnType::Timestamp { timezone: true } => {
                "TIMESTAMP WITH TIME ZONE".into()
            }
            ColumnType::Time => "TIME WITHOUT TIME ZONE".into(),
            ColumnType::Interval => "INTERVAL".into(),
            ColumnType::LargeBinary => "BYTEA".into(),
            ColumnType::Json => "JSON".into(),
            ColumnType::Uuid => "UUID".into(),
            ColumnType::Enum {
                name: Some(name), ..
            } => self.type_name(name),
            ColumnType::Enum { name: None, .. } => {
                return Err(DialectError::UnsupportedType {
                    dialect: self.name().into(),
                    ty: ty.to_string(),
                    reason: "PostgreSQL enums are named types; give the enum a name: \
                             `enum(name, 'a', 'b')`"
                        .into(),
                });
            }
            ColumnType::Array(inner) => format!("{}[]", self.type_sql(inner)?),
            ColumnType::Custom(text) => text.clone(),
            ColumnType::Variant { .. } => self.type_sql(ty.for_dialect(self.name()))?,
        })
    }

    fn literal(&self, text: &str) -> String {
        ddl::string_literal(text, false)
    }

    fn render(&self, op: &Op, schema: &Schema) -> Result<Vec<Statement>, DialectError> {
        let op = &*op.for_dialect(self.name());
        if !op.applies_to(self.name()) {
            return Ok(Vec::new());
        }
        let op = &*op.with_db_identifiers(self.max_identifier_length());
        let schema = &*schema.for_dialect(self.name());
        let t = |s: &Option<String>, name: &str| table_ref(self, s.as_deref(), name);
        let stmt = |sql: String| vec![Statement::new(sql)];
        let body = match op {
            Op::CreateTable(c) => self.create_table(&c.table)?,
            Op::DropTable(d) => stmt(format!("DROP TABLE {}", t(&d.schema, &d.table))),
            Op::RenameTable(r) => stmt(format!(
                "ALTER TABLE {} RENAME TO {}",
                t(&r.schema, &r.table),
                self.quote_ident(&r.new_name)
            )),
            Op::AlterTable(a) => match &a.comment {
                Some(comment) => stmt(format!(
                    "COMMENT ON TABLE {} IS {}",
                    t(&a.schema, &a.table),
                    comment
                        .as_ref()
                        .map_or_else(|| "NULL".to_owned(), |c| self.literal(c))
                )),
                None => Vec::new(),
            },
            Op::CreatePrimaryKey(c) => stmt(format!(
                "ALTER TABLE {} ADD {}PRIMARY KEY ({})",
                t(&c.schema, &c.table),
                c.name
                    .as_ref()
                    .map(|n| format!("CONSTRAINT {} ", self.quote_ident(n)))
                    .unwrap_or_default(),
                c.columns
                    .iter()
                    .map(|c| self.quote_ident(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Op::DropPrimaryKey(d) => {
                // Without a name: the schema's, else PostgreSQL's default `<table>_pkey`.
                let name = d
                    .name
                    .clone()
                    .or_else(|| {
                        schema
                            .table(d.schema.as_deref(), &d.table)
                            .and_then(|t| t.primary_key.as_ref()?.name.clone())
                    })
                    .unwrap_or_else(|| default_pkey_name(&d.table));
                self.drop_constraint(&d.schema, &d.table, &name)
            }
            Op::AddColumn(a) => {
                let mut table = schema
                    .table(a.schema.as_deref(), &a.table)
                    .cloned()
                    .unwrap_or_else(|| Table::new(a.table.clone()));
                table.columns.push(a.column.clone());
                let mut def = self.column_def(&table, &a.column)?;
                if a.column.primary_key {
                    def.push_str(" PRIMARY KEY");
                }
                if a.column.unique {
                    def.push_str(" UNIQUE");
                }
                let mut out = stmt(format!(
                    "ALTER TABLE {} ADD COLUMN {def}",
                    t(&a.schema, &a.table)
                ));
                if let Some(comment) = &a.column.comment {
                    out.push(self.column_comment(&table, &a.column.name, Some(comment)));
                }
                out
            }
            Op::DropColumn(d) => stmt(format!(
                "ALTER TABLE {} DROP COLUMN {}",
                t(&d.schema, &d.table),
                self.quote_ident(&d.column)
            )),
            Op::AlterColumn(a) => self.alter_column(a, schema)?,
            Op::CreateIndex(c) => stmt(ddl::create_index(self, c.schema.as_deref(), &c.index)),
            Op::DropIndex(d) => stmt(format!("DROP INDEX {}", t(&d.schema, &d.name))),
            Op::CreateUnique(c) => stmt(format!(
                "ALTER TABLE {} ADD {}",
                t(&c.schema, &c.table),
                ddl::unique_clause(self, &c.unique)
            )),
            Op::CreateForeignKey(c) => stmt(format!(
                "ALTER TABLE {} ADD {}",
                t(&c.schema, &c.table),
                ddl::fk_clause(self, &c.foreign_key)
            )),
            Op::CreateCheck(c) => stmt(format!(
                "ALTER TABLE {} ADD {}",
                t(&c.schema, &c.table),
                ddl::check_clause(self, &c.check)
            )),
            Op::DropUnique(d) => self.drop_constraint(&d.schema, &d.table, &d.name),
            Op::DropForeignKey(d) => self.drop_constraint(&d.schema, &d.table, &d.name),
            Op::DropCheck(d) => self.drop_constraint(&d.schema, &d.table, &d.name),
            Op::Sql(s) => return Ok(ddl::sql_op(self, s, false)),
        };
        self.with_enum_types(op, schema, body)
    }

    fn lock_sql(&self, key: &str) -> Option<String> {
        Some(format!(
            "SELECT pg_advisory_lock(hashtext({}))",
            self.literal(key)
        ))
    }

    fn unlock_sql(&self, key: &str) -> Option<String> {
        Some(format!(
            "SELECT pg_advisory_unlock(hashtext({}))",
            self.literal(key)
        ))
    }
}

impl PostgresDialect {
    /// `"name"`, or `"schema"."name"` for a qualified type name.
    fn type_name(&self, name: &str) -> String {
        name.split('.')
            .map(|part| self.quote_ident(part))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `"name" TYPE [DEFAULT x] [NOT NULL]`; auto-incrementing integers are `SERIAL`s.
    fn column_def(&self, table: &Table, column: &Column) -> Result<String, DialectError> {
        let serial = autoincrements(table, column);
        let ty = match (&column.ty, serial) {
            (ColumnType::Integer, true) => "SERIAL".to_owned(),
            (ColumnType::BigInteger, true) => "BIGSERIAL".to_owned(),
            (ColumnType::SmallInteger, true) => "SMALLSERIAL".to_owned(),
            (ty, _) => self.type_sql(ty)?,
        };
        let mut def = format!("{} {ty}", self.quote_ident(&column.name));
        if let Some(default) = column.server_default.as_ref().filter(|_| !serial) {
            def.push_str(&format!(" DEFAULT {default}"));
        }
        let in_pk = table.primary_key_columns().contains(&column.name.as_str());
        if !column.nullable || in_pk {
            def.push_str(" NOT NULL");
        }
        Ok(def)
    }

    fn create_table(&self, table: &Table) -> Result<Vec<Statement>, DialectError> {
        let defs = table
            .columns
            .iter()
            .map(|c| self.column_def(table, c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = vec![Statement::new(ddl::create_table(
            self, table, defs, false, "",
        ))];
        if let Some(comment) = &table.comment {
            out.push(Statement::new(format!(
                "COMMENT ON TABLE {} IS {}",
                table_ref(self, table.schema.as_deref(), &table.name),
                self.literal(comment)
            )));
        }
        for column in &table.columns {
            if let Some(comment) = &column.comment {
                out.push(self.column_comment(table, &column.name, Some(comment)));
            }
        }
        for index in &table.indexes {
            let mut index = index.clone();
            if index.table.is_empty() {
                index.table.clone_from(&table.name);
            }
            out.push(Statement::new(ddl::create_index(
                self,
                table.schema.as_deref(),
                &index,
            )));
        }
        Ok(out)
    }

    fn column_comment(&self, table: &Table, column: &str, comment: Option<&String>) -> Statement {
        Statement::new(format!(
            "COMMENT ON COLUMN {}.{} IS {}",
            table_ref(self, table.schema.as_deref(), &table.name),
            self.quote_ident(column),
            comment.map_or_else(|| "NULL".to_owned(), |c| self.literal(c))
        ))
    }

    fn drop_constraint(&self, schema: &Option<String>, table: &str, name: &str) -> Vec<Statement> {
        vec![Statement::new(format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            table_ref(self, schema.as_deref(), table),
            self.quote_ident(name)
        ))]
    }

    fn alter_column(
        &self,
        a: &AlterColumn,
        schema: &Schema,
    ) -> Result<Vec<Statement>, DialectError> {
        let table_sql = table_ref(self, a.schema.as_deref(), &a.table);
        let table = schema.table(a.schema.as_deref(), &a.table);
        let current = table.and_then(|t| t.column(&a.column));
        let col = self.quote_ident(&a.column);
        let alter = |what: String| {
            Statement::new(format!("ALTER TABLE {table_sql} ALTER COLUMN {col} {what}"))
        };
        let mut out = Vec::new();
        let old_type = a.existing_type.as_ref().or(current.map(|c| &c.ty));
        let same_enum = matches!(
            (old_type, &a.ty),
            (Some(ColumnType::Enum { name: n1, .. }), Some(ColumnType::Enum { name: n2, .. })) if n1 == n2
        );
        let mut restore_default = None;
        if let Some(ty) = a.ty.as_ref().filter(|_| !same_enum) {
            // A default may not cast to the new type: drop it, set it again afterwards.
            let old_default = match &a.existing_server_default {
                Some(d) => d.clone(),
                None => current.and_then(|c| c.server_default.clone()),
            };
            if let Some(old_default) = old_default {
                out.push(alter("DROP DEFAULT".into()));
                if a.server_default.is_none() {
                    restore_default = Some(old_default);
                }
            }
            let ty_sql = self.type_sql(ty)?;
            // Enums convert from text only (not from another enum).
            let via_text = if enum_of(ty).is_some() { "::text" } else { "" };
            out.push(alter(format!(
                "TYPE {ty_sql} USING {col}{via_text}::{ty_sql}"
            )));
        }
        match a.nullable {
            Some(true) => out.push(alter("DROP NOT NULL".into())),
            Some(false) => out.push(alter("SET NOT NULL".into())),
            None => {}
        }
        match a.server_default.clone().or(restore_default.map(Some)) {
            Some(Some(default)) => out.push(alter(format!("SET DEFAULT {default}"))),
            Some(None) => out.push(alter("DROP DEFAULT".into())),
            None => {}
        }
        if let Some(comment) = &a.comment {
            let t = table.cloned().unwrap_or_else(|| Table {
                schema: a.schema.clone(),
                ..Table::new(a.table.clone())
            });
            out.push(self.column_comment(&t, &a.column, comment.as_ref()));
        }
        if let Some(new_name) = a.new_name.as_ref().filter(|n| **n != a.column) {
            out.push(Statement::new(format!(
                "ALTER TABLE {table_sql} RENAME COLUMN {col} TO {}",
                self.quote_ident(new_name)
            )));
        }
        Ok(out)
    }

    /// Wraps `body` with the enum-type statements `op` implies: `CREATE TYPE` before it
    /// for enums it starts using, `DROP TYPE` after it for enums nothing uses any more,
    /// and value changes of an enum it keeps using.
    fn with_enum_types(
        &self,
        op: &Op,
        schema: &Schema,
        body: Vec<Statement>,
    ) -> Result<Vec<Statement>, DialectError> {
        // Replaying costs a copy of the schema: only for ops that can start or stop
        // using an enum type (a migration of thousands of ops stays linear).
        if !touches_enums(op, schema) {
            return Ok(body);
        }
        let before = enums_of(schema);
        let mut replayed = schema.clone();
        let after = match replay::apply(&mut replayed, op) {
            Ok(()) => enums_of(&replayed),
            // Offline with an incomplete schema: at least create what the op names.
            Err(_) => {
                let mut after = before.clone();
                for (name, values) in enums_named_by(op) {
                    after.entry(name).or_insert(values);
                }
                after
            }
        };
        let mut head = Vec::new();
        let mut tail = Vec::new();
        let mut body = body;
        for (name, values) in &after {
            match before.get(name) {
                None => head.push(self.create_enum(name, values)),
                Some(old) if old == values => {}
                Some(old) if is_extension(old, values) => {
                    // Each value goes right after its predecessor, which exists by then;
                    // a new first value goes before the first old one.
                    let first_old = values.iter().find(|v| old.contains(v));
                    for (i, value) in values.iter().enumerate().filter(|(_, v)| !old.contains(v)) {
                        let position = match (i.checked_sub(1), first_old) {
                            (Some(prev), _) => format!(" AFTER {}", self.literal(&values[prev])),
                            (None, Some(first)) => format!(" BEFORE {}", self.literal(first)),
                            (None, None) => String::new(),
                        };
                        // Outside the transaction: a value added inside one cannot be
                        // used before it commits.
                        head.push(Statement {
                            sql: format!(
                                "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}{position}",
                                self.type_name(name),
                                self.literal(value)
                            ),
                            transactional: false,
                        });
                    }
                }
                Some(_) => {
                    body = self.replace_enum(name, values, &replayed, body)?;
                }
            }
        }
        for name in before.keys().filter(|n| !after.contains_key(*n)) {
            tail.push(Statement::new(format!(
                "DROP TYPE {}",
                self.type_name(name)
            )));
        }
        head.extend(body);
        head.extend(tail);
        Ok(head)
    }

    fn create_enum(&self, name: &str, values: &[String]) -> Statement {
        let values: Vec<String> = values.iter().map(|v| self.literal(v)).collect();
        Statement::new(format!(
            "CREATE TYPE {} AS ENUM ({})",
            self.type_name(name),
            values.join(", ")
        ))
    }

    /// An enum whose values changed other than by additions: rename the old type,
    /// create the new one, convert every column using it (in `after`), drop the old.
    fn replace_enum(
        &self,
        name: &str,
        values: &[String],
        after: &Schema,
        body: Vec<Statement>,
    ) -> Result<Vec<Statement>, DialectError> {
        let old_name = format!("{name}_old");
        let mut out = vec![
            Statement::new(format!(
                "ALTER TYPE {} RENAME TO {}",
                self.type_name(name),
                self.quote_ident(old_name.rsplit('.').next().unwrap_or(&old_name))
            )),
            self.create_enum(name, values),
        ];
        let new_type = self.type_name(name);
        for table in &after.tables {
            for column in &table.columns {
                if !matches!(&column.ty, ColumnType::Enum { name: Some(n), .. } if n == name) {
                    continue;
                }
                let t = table_ref(self, table.schema.as_deref(), &table.name);
                let c = self.quote_ident(&column.name);
                if column.server_default.is_some() {
                    out.push(Statement::new(format!(
                        "ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"
                    )));
                }
                out.push(Statement::new(format!(
                    "ALTER TABLE {t} ALTER COLUMN {c} TYPE {new_type} USING {c}::text::{new_type}"
                )));
                if let Some(default) = &column.server_default {
                    out.push(Statement::new(format!(
                        "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {default}"
                    )));
                }
            }
        }
        out.push(Statement::new(format!(
            "DROP TYPE {}",
            self.type_name(&old_name)
        )));
        out.extend(body);
        Ok(out)
    }
}

/// The name PostgreSQL gives an unnamed primary key: `<table>_pkey`, the table part
/// cut (on a character boundary) so the whole fits its 63-byte identifiers.
pub(crate) fn default_pkey_name(table: &str) -> String {
    const SUFFIX: &str = "_pkey";
    const MAX_IDENT: usize = 63;
    let mut end = table.len().min(MAX_IDENT - SUFFIX.len());
    while !table.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{SUFFIX}", &table[..end])
}

/// True when `new` is `old` with values added (order of the old ones kept).
fn is_extension(old: &[String], new: &[String]) -> bool {
    let kept: Vec<&String> = new.iter().filter(|v| old.contains(v)).collect();
    kept.len() == old.len() && kept.iter().zip(old).all(|(a, b)| *a == b)
}

/// Named enum types used by the columns of `schema`, with their values.
fn enums_of(schema: &Schema) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for column in schema.tables.iter().flat_map(|t| &t.columns) {
        if let Some((name, values)) = enum_of(&column.ty) {
            out.entry(name).or_insert(values);
        }
    }
    out
}

fn enum_of(ty: &ColumnType) -> Option<(String, Vec<String>)> {
    match ty {
        ColumnType::Enum {
            name: Some(name),
            values,
        } => Some((name.clone(), values.clone())),
        ColumnType::Array(inner) => enum_of(inner),
        _ => None,
    }
}

/// Whether `op` creates, drops or retypes a column of a named enum type, by its own
/// definitions or the current ones in `schema`.
fn touches_enums(op: &Op, schema: &Schema) -> bool {
    let is_enum = |c: &crate::schema::Column| enum_of(&c.ty).is_some();
    let table_has = |s: &Option<String>, name: &str| {
        schema
            .table(s.as_deref(), name)
            .is_some_and(|t| t.columns.iter().any(is_enum))
    };
    let column_is = |s: &Option<String>, table: &str, column: &str| {
        schema
            .table(s.as_deref(), table)
            .and_then(|t| t.column(column))
            .is_some_and(is_enum)
    };
    match op {
        Op::CreateTable(c) => c.table.columns.iter().any(is_enum),
        Op::DropTable(d) => {
            table_has(&d.schema, &d.table)
                || d.definition
                    .as_ref()
                    .is_some_and(|t| t.columns.iter().any(is_enum))
        }
        Op::AddColumn(a) => is_enum(&a.column),
        Op::DropColumn(d) => {
            column_is(&d.schema, &d.table, &d.column) || d.definition.as_ref().is_some_and(is_enum)
        }
        Op::AlterColumn(a) => {
            a.ty.is_some()
                && (a.ty.as_ref().is_some_and(|t| enum_of(t).is_some())
                    || a.existing_type
                        .as_ref()
                        .is_some_and(|t| enum_of(t).is_some())
                    || column_is(&a.schema, &a.table, &a.column))
        }
        _ => false,
    }
}

/// The named enums an op's own columns use.
fn enums_named_by(op: &Op) -> Vec<(String, Vec<String>)> {
    let types: Vec<&ColumnType> = match op {
        Op::CreateTable(c) => c.table.columns.iter().map(|c| &c.ty).collect(),
        Op::AddColumn(a) => vec![&a.column.ty],
        Op::AlterColumn(a) => a.ty.iter().collect(),
        _ => Vec::new(),
    };
    types.into_iter().filter_map(enum_of).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_key_names_fit_an_identifier() {
        assert_eq!(default_pkey_name("users"), "users_pkey");
        let long = "t".repeat(70);
        assert_eq!(default_pkey_name(&long), format!("{}_pkey", "t".repeat(58)));
        // Never inside a character: `é` is two bytes across the cut.
        let accented = format!("{}é", "t".repeat(57));
        assert_eq!(
            default_pkey_name(&accented),
            format!("{}_pkey", "t".repeat(57))
        );
    }
    use crate::ops::{AddColumn, CreateTable, DropColumn};

    fn mood(values: &[&str]) -> ColumnType {
        ColumnType::Enum {
            name: Some("mood".into()),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn users() -> Table {
        Table {
            columns: vec![
                Column::primary("id", ColumnType::Integer),
                Column::new("mood", mood(&["happy", "sad"])),
                Column {
                    comment: Some("it's".into()),
                    ..Column::new("at", ColumnType::DateTime { timezone: true })
                },
            ],
            ..Table::new("users")
        }
    }

    fn sql(out: &[Statement]) -> Vec<&str> {
        out.iter().map(|s| s.sql.as_str()).collect()
    }

    #[test]
    fn create_table_creates_enum_type_first_and_comments_after() {
        let op = Op::CreateTable(CreateTable { table: users() });
        let out = PostgresDialect
            .render(&op, &Schema::default())
            .expect("renders");
        assert_eq!(
            sql(&out),
            [
                "CREATE TYPE \"mood\" AS ENUM ('happy', 'sad')",
                "CREATE TABLE \"users\" (\n\t\"id\" SERIAL NOT NULL,\n\t\"mood\" \"mood\",\n\t\
                 \"at\" TIMESTAMP WITH TIME ZONE,\n\tPRIMARY KEY (\"id\")\n)",
                "COMMENT ON COLUMN \"users\".\"at\" IS 'it''s'",
            ]
        );
    }

    #[test]
    fn enum_types_follow_their_last_column() {
        let schema = Schema {
            tables: vec![users()],
        };
        let add = Op::AddColumn(AddColumn {
            table: "users".into(),
            schema: None,
            column: Column::new("other", mood(&["happy", "sad"])),
        });
        let out = PostgresDialect.render(&add, &schema).expect("renders");
        assert_eq!(
            sql(&out),
            ["ALTER TABLE \"users\" ADD COLUMN \"other\" \"mood\""]
        );
        let drop = Op::DropColumn(DropColumn {
            table: "users".into(),
            schema: None,
            column: "mood".into(),
            definition: None,
        });
        let out = PostgresDialect.render(&drop, &schema).expect("renders");
        assert_eq!(
            sql(&out),
            [
                "ALTER TABLE \"users\" DROP COLUMN \"mood\"",
                "DROP TYPE \"mood\""
            ]
        );
    }

    #[test]
    fn enum_values_are_added_or_the_type_replaced() {
        let schema = Schema {
            tables: vec![users()],
        };
        let grow = Op::AlterColumn(AlterColumn {
            table: "users".into(),
            column: "mood".into(),
            ty: Some(mood(&["angry", "happy", "meh", "sad"])),
            ..AlterColumn::default()
        });
        let out = PostgresDialect.render(&grow, &schema).expect("renders");
        assert!(out.iter().all(|s| !s.transactional));
        assert_eq!(
            sql(&out),
            [
                "ALTER TYPE \"mood\" ADD VALUE IF NOT EXISTS 'angry' BEFORE 'happy'",
                "ALTER TYPE \"mood\" ADD VALUE IF NOT EXISTS 'meh' AFTER 'happy'",
            ]
        );
        let shrink = Op::AlterColumn(AlterColumn {
            table: "users".into(),
            column: "mood".into(),
            ty: Some(mood(&["happy"])),
            ..AlterColumn::default()
        });
        let out = PostgresDialect.render(&shrink, &schema).expect("renders");
        assert_eq!(
            sql(&out),
            [
                "ALTER TYPE \"mood\" RENAME TO \"mood_old\"",
                "CREATE TYPE \"mood\" AS ENUM ('happy')",
                "ALTER TABLE \"users\" ALTER COLUMN \"mood\" TYPE \"mood\" USING \"mood\"::text::\"mood\"",
                "DROP TYPE \"mood_old\"",
            ]
        );
    }

    #[test]
    fn alter_column_orders_its_statements() {
        let mut table = users();
        table.columns.push(Column {
            server_default: Some("'a'".into()),
            ..Column::new("code", ColumnType::String(Some(5)))
        });
        let schema = Schema {
            tables: vec![table],
        };
        let op = Op::AlterColumn(AlterColumn {
            table: "users".into(),
            column: "code".into(),
            ty: Some(ColumnType::Text),
            nullable: Some(false),
            comment: Some(None),
            new_name: Some("label".into()),
            ..AlterColumn::default()
        });
        let out = PostgresDialect.render(&op, &schema).expect("renders");
        assert_eq!(
            sql(&out),
            [
                "ALTER TABLE \"users\" ALTER COLUMN \"code\" DROP DEFAULT",
                "ALTER TABLE \"users\" ALTER COLUMN \"code\" TYPE TEXT USING \"code\"::TEXT",
                "ALTER TABLE \"users\" ALTER COLUMN \"code\" SET NOT NULL",
                "ALTER TABLE \"users\" ALTER COLUMN \"code\" SET DEFAULT 'a'",
                "COMMENT ON COLUMN \"users\".\"code\" IS NULL",
                "ALTER TABLE \"users\" RENAME COLUMN \"code\" TO \"label\"",
            ]
        );
    }

    #[test]
    fn unnamed_enums_are_refused() {
        let err = PostgresDialect
            .type_sql(&ColumnType::Enum {
                name: None,
                values: vec!["a".into()],
            })
            .expect_err("needs a name");
        assert!(err.to_string().contains("give the enum a name"), "{err}");
        assert_eq!(
            PostgresDialect
                .type_sql(&ColumnType::Array(Box::new(ColumnType::Integer)))
                .expect("renders"),
            "INTEGER[]"
        );
    }
}
