//! The MySQL / MariaDB dialect.
//!
//! Input: an [`Op`] and the database's current [`Schema`]. Output: MySQL DDL that runs on
//! MySQL 8.0.19+ and MariaDB 10.5+. Types follow SQLAlchemy's MySQL compiler (`BOOL`,
//! `DATETIME`, inline `ENUM('a', 'b')`, `CHAR(36)` for UUIDs); comments are inline
//! (`COMMENT '...'`, table option `COMMENT=`), auto-increment keys `AUTO_INCREMENT`.
//! `alter_column` restates the whole column (`MODIFY` / `CHANGE`), so it needs the
//! column's current type and nullability: from the op's `existing_*` keys, else from
//! `schema`; it refuses, naming the column, when neither has them. A default-only change
//! uses `ALTER COLUMN ... SET/DROP DEFAULT`, a rename-only change `RENAME COLUMN`.
//! Refuses `varchar` without a length (like SQLAlchemy), arrays and partial indexes.
//! MySQL DDL is not transactional: every statement commits.

use super::ddl::{self, table_ref};
use super::{Capabilities, Dialect, DialectError, Statement, autoincrements};
use crate::db::Backend;
use crate::ops::{AlterColumn, Op};
use crate::schema::{Column, ColumnType, Index, Schema, Table};

/// The built-in MySQL / MariaDB dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct MysqlDialect;

impl Dialect for MysqlDialect {
    fn name(&self) -> &str {
        "mysql"
    }

    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transactional_ddl: false,
            alter_column: true,
            comments: true,
            partial_indexes: false,
            named_enums: false,
            arrays: false,
            check_constraints: true,
        }
    }

    fn max_identifier_length(&self) -> Option<usize> {
        Some(64)
    }

    fn quote_ident(&self, name: &str) -> String {
        ddl::quote_with(name, '`')
    }

    fn type_sql(&self, ty: &ColumnType) -> Result<String, DialectError> {
        let unsupported = |reason: &str| DialectError::UnsupportedType {
            dialect: self.name().into(),
            ty: ty.to_string(),
            reason: reason.into(),
        };
        Ok(match ty {
            ColumnType::Integer => "INTEGER".into(),
            ColumnType::BigInteger => "BIGINT".into(),
            ColumnType::SmallInteger => "SMALLINT".into(),
            ColumnType::Boolean => "BOOL".into(),
            ColumnType::String(Some(n)) | ColumnType::Unicode(Some(n)) => format!("VARCHAR({n})"),
            ColumnType::String(None) | ColumnType::Unicode(None) => {
                return Err(unsupported(
                    "MySQL needs a length for VARCHAR: use `varchar(255)` or `text`",
                ));
            }
            ColumnType::Text => "TEXT".into(),
            ColumnType::Numeric(Some((p, s))) => format!("NUMERIC({p}, {s})"),
            ColumnType::Numeric(None) => "NUMERIC".into(),
            ColumnType::Float => "FLOAT".into(),
            ColumnType::Date => "DATE".into(),
            // SQLAlchemy stores intervals as a datetime offset from the epoch on MySQL.
            ColumnType::DateTime { .. } | ColumnType::Interval => "DATETIME".into(),
            ColumnType::Timestamp { .. } => "TIMESTAMP".into(),
            ColumnType::Time => "TIME".into(),
            ColumnType::LargeBinary => "BLOB".into(),
            ColumnType::Json => "JSON".into(),
            // SQLAlchemy's `Uuid` without a native type: 32 hex digits.
            ColumnType::Uuid => "CHAR(32)".into(),
            ColumnType::Enum { values, .. } => {
                let values: Vec<String> = values.iter().map(|v| self.literal(v)).collect();
                format!("ENUM({})", values.join(", "))
            }
            ColumnType::Array(_) => {
                return Err(unsupported("MySQL has no array types; use `json`"));
            }
            ColumnType::Custom(text) => text.clone(),
            ColumnType::Variant { .. } => self.type_sql(ty.for_dialect(self.name()))?,
        })
    }

    fn text_expr(&self, expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }

    fn literal(&self, text: &str) -> String {
        ddl::string_literal(text, true)
    }

    fn types_equivalent(&self, a: &ColumnType, b: &ColumnType) -> bool {
        // `NUMERIC` is `DECIMAL(10, 0)` on MySQL.
        let norm = |t: &ColumnType| match t {
            ColumnType::Numeric(None) => ColumnType::Numeric(Some((10, 0))),
            other => other.clone(),
        };
        match (self.type_sql(&norm(a)), self.type_sql(&norm(b))) {
            (Ok(x), Ok(y)) => super::normalize_type_text(&x) == super::normalize_type_text(&y),
            _ => a == b,
        }
    }

    fn render(&self, op: &Op, schema: &Schema) -> Result<Vec<Statement>, DialectError> {
        let op = &*op.for_dialect(self.name());
        if !op.applies_to(self.name()) {
            return Ok(Vec::new());
        }
        let op = &*op.with_db_identifiers(self.max_identifier_length());
        let schema = &*schema.for_dialect(self.name());
        let t = |s: &Option<String>, name: &str| table_ref(self, s.as_deref(), name);
        let one = |sql: String| Ok(vec![Statement::new(sql)]);
        match op {
            Op::CreateTable(c) => self.create_table(&c.table),
            Op::DropTable(d) => one(format!("DROP TABLE {}", t(&d.schema, &d.table))),
            Op::RenameTable(r) => one(format!(
                "ALTER TABLE {} RENAME TO {}",
                t(&r.schema, &r.table),
                self.quote_ident(&r.new_name)
            )),
            Op::AlterTable(a) => match &a.comment {
                Some(comment) => one(format!(
                    "ALTER TABLE {} COMMENT = {}",
                    t(&a.schema, &a.table),
                    self.literal(comment.as_deref().unwrap_or(""))
                )),
                None => Ok(Vec::new()),
            },
            // MySQL names every primary key `PRIMARY`; a given name is ignored. An
            // `AUTO_INCREMENT` column must be a key, so it is switched in the same
            // statement as the key it belongs to.
            Op::CreatePrimaryKey(c) => {
                let columns: Vec<String> = c.columns.iter().map(|c| self.quote_ident(c)).collect();
                let mut clauses = vec![format!("ADD PRIMARY KEY ({})", columns.join(", "))];
                if let Some(table) = schema.table(c.schema.as_deref(), &c.table) {
                    let mut after = table.clone();
                    for column in &mut after.columns {
                        column.primary_key = c.columns.contains(&column.name);
                    }
                    after.primary_key = Some(crate::schema::PrimaryKey {
                        name: c.name.clone(),
                        columns: c.columns.clone(),
                    });
                    for column in &after.columns {
                        if c.columns.contains(&column.name) && autoincrements(&after, column) {
                            let def = self.column_def(column, true, true)?;
                            clauses.push(format!("MODIFY COLUMN {def}"));
                        }
                    }
                }
                one(format!(
                    "ALTER TABLE {} {}",
                    t(&c.schema, &c.table),
                    clauses.join(", ")
                ))
            }
            Op::DropPrimaryKey(d) => {
                let mut clauses = Vec::new();
                if let Some(table) = schema.table(d.schema.as_deref(), &d.table) {
                    for column in &table.columns {
                        if table.primary_key_columns().contains(&column.name.as_str())
                            && autoincrements(table, column)
                        {
                            let def = self.column_def(column, true, false)?;
                            clauses.push(format!("MODIFY COLUMN {def}"));
                        }
                    }
                }
                clauses.push("DROP PRIMARY KEY".to_owned());
                one(format!(
                    "ALTER TABLE {} {}",
                    t(&d.schema, &d.table),
                    clauses.join(", ")
                ))
            }
            Op::AddColumn(a) => {
                let mut table = schema
                    .table(a.schema.as_deref(), &a.table)
                    .cloned()
                    .unwrap_or_else(|| Table::new(a.table.clone()));
                table.columns.push(a.column.clone());
                let mut def = self.table_column_def(&table, &a.column)?;
                if a.column.primary_key {
                    def.push_str(" PRIMARY KEY");
                }
                if a.column.unique {
                    def.push_str(" UNIQUE");
                }
                one(format!(
                    "ALTER TABLE {} ADD COLUMN {def}",
                    t(&a.schema, &a.table)
                ))
            }
            Op::DropColumn(d) => {
                let table_sql = t(&d.schema, &d.table);
                let mut out = match schema.table(d.schema.as_deref(), &d.table) {
                    Some(table) => self.drop_dependents(table, &table_sql, &d.column),
                    None => Vec::new(),
                };
                out.push(Statement::new(format!(
                    "ALTER TABLE {table_sql} DROP COLUMN {}",
                    self.quote_ident(&d.column)
                )));
                Ok(out)
            }
            Op::AlterColumn(a) => self.alter_column(a, schema),
            Op::CreateIndex(c) => Ok(vec![self.create_index(
                op,
                c.schema.as_deref(),
                &c.index,
            )?]),
            Op::DropIndex(d) => one(format!(
                "DROP INDEX {} ON {}",
                self.quote_ident(&d.name),
                t(&d.schema, &d.table)
            )),
            Op::CreateUnique(c) => one(format!(
                "ALTER TABLE {} ADD {}",
                t(&c.schema, &c.table),
                ddl::unique_clause(self, &c.unique)
            )),
            Op::DropUnique(d) => one(format!(
                "ALTER TABLE {} DROP INDEX {}",
                t(&d.schema, &d.table),
                self.quote_ident(&d.name)
            )),
            Op::CreateForeignKey(c) => {
                let index = schema
                    .table(c.schema.as_deref(), &c.table)
                    .and_then(|table| index_for_innodb_name(table, &c.foreign_key))
                    .map(|name| format!("ADD {}, ", self.fk_index_clause(&name, &c.foreign_key)))
                    .unwrap_or_default();
                one(format!(
                    "ALTER TABLE {} {index}ADD {}",
                    t(&c.schema, &c.table),
                    ddl::fk_clause(self, &c.foreign_key)
                ))
            }
            Op::DropForeignKey(d) => {
                let table_sql = t(&d.schema, &d.table);
                let mut out = vec![Statement::new(format!(
                    "ALTER TABLE {table_sql} DROP FOREIGN KEY {}",
                    self.quote_ident(&d.name)
                ))];
                let table = schema.table(d.schema.as_deref(), &d.table);
                if let Some(index) = table.and_then(|t| innodb_fk_index(t, &d.name)) {
                    out.push(Statement::new(format!(
                        "ALTER TABLE {table_sql} DROP INDEX {}",
                        self.quote_ident(&index)
                    )));
                }
                Ok(out)
            }
            Op::CreateCheck(c) => one(format!(
                "ALTER TABLE {} ADD {}",
                t(&c.schema, &c.table),
                ddl::check_clause(self, &c.check)
            )),
            // `DROP CHECK` is MySQL-only; `DROP CONSTRAINT` works on MySQL 8.0.19+ and MariaDB.
            Op::DropCheck(d) => one(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                t(&d.schema, &d.table),
                self.quote_ident(&d.name)
            )),
            Op::Sql(s) => Ok(ddl::sql_op(self, s, true)),
        }
    }

    fn lock_sql(&self, key: &str) -> Option<String> {
        // Lock names are limited to 64 characters; wait up to a day.
        Some(format!(
            "SELECT GET_LOCK({}, 86400)",
            self.literal(&lock_name(key))
        ))
    }

    fn unlock_sql(&self, key: &str) -> Option<String> {
        Some(format!(
            "SELECT RELEASE_LOCK({})",
            self.literal(&lock_name(key))
        ))
    }
}

/// The index InnoDB created for foreign key `name` of `table`, which outlives the
/// constraint: when no other index, unique or the primary key starts with the key's
/// columns, InnoDB made one, named after the constraint, or after its first column when
/// the constraint name is InnoDB's own `<table>_ibfk_<n>` (InnoDB names it after the
/// constraint when such a name is given explicitly, so [`MysqlDialect`] creates those
/// foreign keys with their index spelled out: see [`index_for_innodb_name`]).
fn innodb_fk_index(table: &Table, name: &str) -> Option<String> {
    let fk = table
        .foreign_keys
        .iter()
        .find(|f| f.name.as_deref() == Some(name))?;
    if covered(table, &fk.columns, Some(name)) {
        return None;
    }
    if is_innodb_name(table, name) {
        fk.columns.first().cloned()
    } else {
        Some(name.to_owned())
    }
}

/// True when an index of `table` other than the one of foreign key `except` starts
/// with `columns`: the primary key, an index, a unique, or another foreign key's.
fn covered(table: &Table, columns: &[String], except: Option<&str>) -> bool {
    let starts_with = |of: &[String]| of.starts_with(columns);
    let pk: Vec<String> = table
        .primary_key_columns()
        .into_iter()
        .map(str::to_owned)
        .collect();
    starts_with(&pk)
        || table.has_index_leading_with(columns)
        || table.foreign_keys.iter().any(|other| {
            // Another foreign key over the same columns shares the one index.
            other.name.as_deref() != except && starts_with(&other.columns)
        })
}

/// `<table>_ibfk_<n>`: the name InnoDB gives an unnamed foreign key.
fn is_innodb_name(table: &Table, name: &str) -> bool {
    name.strip_prefix(&format!("{}_ibfk_", table.name))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// The index to spell out when creating `fk` on `table` (as it is before the foreign
/// key): given an InnoDB-style name, InnoDB would name its own index after the
/// constraint, unlike the unnamed original, and dropping the key later could not find
/// it. `None` when another index serves the key or the name is the models' own.
fn index_for_innodb_name(table: &Table, fk: &crate::schema::ForeignKey) -> Option<String> {
    let name = fk.name.as_deref()?;
    if !is_innodb_name(table, name) || covered(table, &fk.columns, Some(name)) {
        return None;
    }
    fk.columns.first().cloned()
}

fn lock_name(key: &str) -> String {
    key.chars().take(64).collect()
}

impl MysqlDialect {
    /// What must go before dropping `column`: MySQL refuses to drop a column in a
    /// foreign key or check, and shrinks multi-column indexes instead of dropping them
    /// (PostgreSQL and the replayed schema drop them).
    fn drop_dependents(&self, table: &Table, table_sql: &str, column: &str) -> Vec<Statement> {
        use crate::introspect::sqltext::mentions_identifier;
        let uses = |entries: &[String]| {
            entries
                .iter()
                .any(|e| e == column || (Index::is_expression(e) && mentions_identifier(e, column)))
        };
        let mut out = Vec::new();
        let mut drop = |what: &str, name: &str| {
            out.push(Statement::new(format!(
                "ALTER TABLE {table_sql} DROP {what} {}",
                self.quote_ident(name)
            )));
        };
        for fk in &table.foreign_keys {
            if let Some(name) = fk.name.as_deref().filter(|_| uses(&fk.columns)) {
                drop("FOREIGN KEY", name);
            }
        }
        for index in table
            .indexes
            .iter()
            .filter(|i| i.columns.len() > 1 && uses(&i.columns))
        {
            drop("INDEX", &index.name);
        }
        for unique in &table.uniques {
            if let Some(name) = unique
                .name
                .as_deref()
                .filter(|_| unique.columns.len() > 1 && uses(&unique.columns))
            {
                drop("INDEX", name);
            }
        }
        for check in &table.checks {
            if let Some(name) = check
                .name
                .as_deref()
                .filter(|_| mentions_identifier(&check.sqltext, column))
            {
                drop("CONSTRAINT", name);
            }
        }
        out
    }

    /// `` `name` TYPE [NOT NULL] [DEFAULT x] [AUTO_INCREMENT] [COMMENT 'x'] ``.
    fn column_def(
        &self,
        column: &Column,
        not_null: bool,
        auto: bool,
    ) -> Result<String, DialectError> {
        let mut def = format!(
            "{} {}",
            self.quote_ident(&column.name),
            self.type_sql(&column.ty)?
        );
        if not_null {
            def.push_str(" NOT NULL");
        } else if matches!(column.ty, ColumnType::Timestamp { .. }) {
            // Without `explicit_defaults_for_timestamp` a TIMESTAMP column is NOT NULL
            // unless it says otherwise (SQLAlchemy says it too).
            def.push_str(" NULL");
        }
        if let Some(default) = &column.server_default {
            def.push_str(&format!(" DEFAULT {default}"));
        }
        if auto {
            def.push_str(" AUTO_INCREMENT");
        }
        if let Some(comment) = &column.comment {
            def.push_str(&format!(" COMMENT {}", self.literal(comment)));
        }
        Ok(def)
    }

    /// [`MysqlDialect::column_def`] for a column of `table`.
    fn table_column_def(&self, table: &Table, column: &Column) -> Result<String, DialectError> {
        let in_pk = table.primary_key_columns().contains(&column.name.as_str());
        self.column_def(
            column,
            !column.nullable || in_pk,
            autoincrements(table, column),
        )
    }

    /// `` INDEX `name` (`a`, `b`) `` over the columns of `fk`.
    fn fk_index_clause(&self, name: &str, fk: &crate::schema::ForeignKey) -> String {
        let columns: Vec<String> = fk.columns.iter().map(|c| self.quote_ident(c)).collect();
        format!("INDEX {} ({})", self.quote_ident(name), columns.join(", "))
    }

    fn create_table(&self, table: &Table) -> Result<Vec<Statement>, DialectError> {
        let mut defs = table
            .columns
            .iter()
            .map(|c| self.table_column_def(table, c))
            .collect::<Result<Vec<_>, _>>()?;
        for fk in &table.foreign_keys {
            if let Some(name) = index_for_innodb_name(table, fk) {
                defs.push(self.fk_index_clause(&name, fk));
            }
        }
        let suffix = table
            .comment
            .as_ref()
            .map(|c| format!(" COMMENT={}", self.literal(c)))
            .unwrap_or_default();
        let mut out = vec![Statement::new(ddl::create_table(
            self, table, defs, false, &suffix,
        ))];
        let op = Op::CreateTable(crate::ops::CreateTable {
            table: table.clone(),
        });
        for index in &table.indexes {
            let mut index = index.clone();
            if index.table.is_empty() {
                index.table.clone_from(&table.name);
            }
            out.push(self.create_index(&op, table.schema.as_deref(), &index)?);
        }
        Ok(out)
    }

    /// `CREATE [UNIQUE] INDEX`; expressions are functional key parts `((expr))`.
    fn create_index(
        &self,
        op: &Op,
        schema: Option<&str>,
        index: &Index,
    ) -> Result<Statement, DialectError> {
        if index.where_.is_some() {
            return Err(DialectError::Unsupported {
                dialect: self.name().into(),
                op: op.describe(),
                reason: format!(
                    "MySQL has no partial indexes (index `{}` has a `where`)",
                    index.name
                ),
            });
        }
        let entries: Vec<String> = index
            .columns
            .iter()
            .map(|c| {
                if Index::is_expression(c) {
                    format!("({c})")
                } else {
                    self.quote_ident(c)
                }
            })
            .collect();
        Ok(Statement::new(format!(
            "CREATE {}INDEX {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            self.quote_ident(&index.name),
            table_ref(self, schema, &index.table),
            entries.join(", ")
        )))
    }

    fn alter_column(
        &self,
        a: &AlterColumn,
        schema: &Schema,
    ) -> Result<Vec<Statement>, DialectError> {
        let table_sql = table_ref(self, a.schema.as_deref(), &a.table);
        let col = self.quote_ident(&a.column);
        let new_name = a.new_name.as_ref().filter(|n| **n != a.column);
        let restates = a.ty.is_some() || a.nullable.is_some() || a.comment.is_some();
        if !restates {
            let mut out = Vec::new();
            match &a.server_default {
                Some(Some(default)) => out.push(Statement::new(format!(
                    "ALTER TABLE {table_sql} ALTER COLUMN {col} SET DEFAULT {default}"
                ))),
                Some(None) => out.push(Statement::new(format!(
                    "ALTER TABLE {table_sql} ALTER COLUMN {col} DROP DEFAULT"
                ))),
                None => {}
            }
            if let Some(new_name) = new_name {
                out.push(Statement::new(format!(
                    "ALTER TABLE {table_sql} RENAME COLUMN {col} TO {}",
                    self.quote_ident(new_name)
                )));
            }
            return Ok(out);
        }
        let table = schema.table(a.schema.as_deref(), &a.table);
        let current = table.and_then(|t| t.column(&a.column));
        let missing = |what: &'static str| DialectError::MissingExisting {
            dialect: self.name().into(),
            table: crate::schema::qualified(a.schema.as_deref(), &a.table),
            column: a.column.clone(),
            what,
        };
        let ty =
            a.ty.clone()
                .or_else(|| a.existing_type.clone())
                .or_else(|| current.map(|c| c.ty.clone()))
                .ok_or_else(|| missing("type"))?;
        let nullable = a
            .nullable
            .or(a.existing_nullable)
            .or(current.map(|c| c.nullable))
            .ok_or_else(|| missing("nullable"))?;
        let pick = |new: &Option<Option<String>>,
                    existing: &Option<Option<String>>,
                    current: Option<&Option<String>>| {
            new.clone()
                .or_else(|| existing.clone())
                .or_else(|| current.cloned())
                .flatten()
        };
        let column = Column {
            name: new_name.cloned().unwrap_or_else(|| a.column.clone()),
            ty,
            nullable,
            primary_key: current.is_some_and(|c| c.primary_key),
            autoincrement: current.and_then(|c| c.autoincrement),
            server_default: pick(
                &a.server_default,
                &a.existing_server_default,
                current.map(|c| &c.server_default),
            ),
            comment: pick(&a.comment, &a.existing_comment, current.map(|c| &c.comment)),
            unique: false,
        };
        // `AUTO_INCREMENT` is kept when the column had it.
        let keeps_auto = match (table, current) {
            (Some(t), Some(c)) => autoincrements(t, c),
            _ => false,
        };
        let def = self.column_def(&column, !column.nullable || keeps_auto, keeps_auto)?;
        let sql = match new_name {
            Some(_) => format!("ALTER TABLE {table_sql} CHANGE COLUMN {col} {def}"),
            None => format!("ALTER TABLE {table_sql} MODIFY COLUMN {def}"),
        };
        Ok(vec![Statement::new(sql)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{CreateIndex, CreateTable};

    fn table() -> Table {
        Table {
            columns: vec![
                Column::primary("id", ColumnType::Integer),
                Column {
                    comment: Some("Mood's".into()),
                    server_default: Some("'ok'".into()),
                    ..Column::new(
                        "mood",
                        ColumnType::Enum {
                            name: Some("mood".into()),
                            values: vec!["ok".into(), "it's".into()],
                        },
                    )
                },
                Column::new("flag", ColumnType::Boolean).not_null(),
            ],
            comment: Some("T".into()),
            ..Table::new("t")
        }
    }

    #[test]
    fn an_auto_increment_key_moves_with_its_flag() {
        use crate::ops::{CreatePrimaryKey, DropPrimaryKey};
        let schema = Schema {
            tables: vec![table()],
        };
        let drop = Op::DropPrimaryKey(DropPrimaryKey {
            table: "t".into(),
            schema: None,
            name: None,
            columns: vec!["id".into()],
        });
        let out = MysqlDialect.render(&drop, &schema).expect("renders");
        assert_eq!(
            out[0].sql,
            "ALTER TABLE `t` MODIFY COLUMN `id` INTEGER NOT NULL, DROP PRIMARY KEY"
        );
        let mut keyless = schema.clone();
        crate::dialect::replay::apply(&mut keyless, &drop).expect("replays");
        let create = |columns: &[&str]| {
            Op::CreatePrimaryKey(CreatePrimaryKey {
                table: "t".into(),
                schema: None,
                name: None,
                columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            })
        };
        let out = MysqlDialect
            .render(&create(&["id"]), &keyless)
            .expect("renders");
        assert_eq!(
            out[0].sql,
            "ALTER TABLE `t` ADD PRIMARY KEY (`id`), \
             MODIFY COLUMN `id` INTEGER NOT NULL AUTO_INCREMENT"
        );
        // A two-column key is not SQLAlchemy's auto-increment one.
        let out = MysqlDialect
            .render(&create(&["id", "flag"]), &keyless)
            .expect("renders");
        assert_eq!(out[0].sql, "ALTER TABLE `t` ADD PRIMARY KEY (`id`, `flag`)");
    }

    #[test]
    fn a_foreign_key_with_an_innodb_name_spells_out_its_index() {
        use crate::ops::CreateForeignKey;
        use crate::schema::ForeignKey;
        let fk = |name: &str| {
            Op::CreateForeignKey(CreateForeignKey {
                table: "t".into(),
                schema: None,
                foreign_key: ForeignKey {
                    name: Some(name.into()),
                    columns: vec!["flag".into()],
                    ref_table: "u".into(),
                    ref_columns: vec!["id".into()],
                    ..ForeignKey::default()
                },
            })
        };
        let schema = Schema {
            tables: vec![table()],
        };
        let out = MysqlDialect
            .render(&fk("t_ibfk_1"), &schema)
            .expect("renders");
        assert_eq!(
            out[0].sql,
            "ALTER TABLE `t` ADD INDEX `flag` (`flag`), \
             ADD CONSTRAINT `t_ibfk_1` FOREIGN KEY (`flag`) REFERENCES `u` (`id`)"
        );
        let out = MysqlDialect
            .render(&fk("fk_t_flag"), &schema)
            .expect("renders");
        assert!(!out[0].sql.contains("INDEX"), "{}", out[0].sql);
    }

    #[test]
    fn create_table_inlines_enums_and_comments() {
        let op = Op::CreateTable(CreateTable { table: table() });
        let out = MysqlDialect
            .render(&op, &Schema::default())
            .expect("renders");
        assert_eq!(
            out[0].sql,
            "CREATE TABLE `t` (\n\t`id` INTEGER NOT NULL AUTO_INCREMENT,\n\t\
             `mood` ENUM('ok', 'it''s') DEFAULT 'ok' COMMENT 'Mood''s',\n\t\
             `flag` BOOL NOT NULL,\n\tPRIMARY KEY (`id`)\n) COMMENT='T'"
        );
    }

    #[test]
    fn alter_column_restates_the_column() {
        let schema = Schema {
            tables: vec![table()],
        };
        let op = Op::AlterColumn(AlterColumn {
            table: "t".into(),
            column: "mood".into(),
            nullable: Some(false),
            new_name: Some("feeling".into()),
            ..AlterColumn::default()
        });
        let out = MysqlDialect.render(&op, &schema).expect("renders");
        assert_eq!(
            out[0].sql,
            "ALTER TABLE `t` CHANGE COLUMN `mood` `feeling` ENUM('ok', 'it''s') NOT NULL \
             DEFAULT 'ok' COMMENT 'Mood''s'"
        );
        let id = Op::AlterColumn(AlterColumn {
            table: "t".into(),
            column: "id".into(),
            ty: Some(ColumnType::BigInteger),
            ..AlterColumn::default()
        });
        let out = MysqlDialect.render(&id, &schema).expect("renders");
        assert_eq!(
            out[0].sql,
            "ALTER TABLE `t` MODIFY COLUMN `id` BIGINT NOT NULL AUTO_INCREMENT"
        );
        let unknown = Op::AlterColumn(AlterColumn {
            table: "other".into(),
            column: "x".into(),
            nullable: Some(true),
            ..AlterColumn::default()
        });
        let err = MysqlDialect
            .render(&unknown, &schema)
            .expect_err("needs existing type");
        assert_eq!(
            err.to_string(),
            "`alter_column` on `other.x` needs the column's current type on mysql: give \
             `existing_type` in the op"
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let err = MysqlDialect
            .type_sql(&ColumnType::String(None))
            .expect_err("needs a length");
        assert!(err.to_string().contains("use `varchar(255)`"), "{err}");
        let op = Op::CreateIndex(CreateIndex {
            schema: None,
            index: Index {
                name: "ix".into(),
                table: "t".into(),
                columns: vec!["flag".into()],
                where_: Some("flag".into()),
                ..Index::default()
            },
        });
        let err = MysqlDialect
            .render(&op, &Schema::default())
            .expect_err("no partial indexes");
        assert!(err.to_string().contains("no partial indexes"), "{err}");
        assert_eq!(MysqlDialect.literal("a\\'b"), "'a\\\\''b'");
        assert!(MysqlDialect.types_equivalent(
            &ColumnType::Numeric(None),
            &ColumnType::Numeric(Some((10, 0)))
        ));
    }
}
