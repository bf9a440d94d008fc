//! Dialect-neutral operations: the body of a migration and the output of the differ.
//!
//! Input: ops written in revision files (`[[upgrade]]` tables, `op = "create_table"`, ...)
//! or built by `diff`. Output: a closed [`Op`] enum that knows its inverse, whether it may
//! lose data, and a one-line summary. No SQL is built here (that is `dialect/`); `Op::Sql`
//! is the only escape hatch and is never interpreted.
//!
//! Serde uses `#[serde(tag = "op")]` with the snake_case op names and the keys of
//! revision files; every op refuses unknown keys.

mod column;
mod constraint;
mod sql;
mod table;

use serde::{Deserialize, Deserializer, Serialize};

pub use column::{AddColumn, AlterColumn, DropColumn};
pub use constraint::{
    CreateCheck, CreateForeignKey, CreateIndex, CreateUnique, DropCheck, DropForeignKey, DropIndex,
    DropUnique,
};
pub use sql::Sql;
pub use table::{
    AlterTable, CreatePrimaryKey, CreateTable, DropPrimaryKey, DropTable, RenameTable,
};

use crate::schema::qualified;

/// One dialect-neutral operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `create_table`: a whole table with its columns and constraints.
    CreateTable(CreateTable),
    /// `drop_table`, optionally with the definition it drops (for the inverse).
    DropTable(DropTable),
    /// `rename_table`.
    RenameTable(RenameTable),
    /// `alter_table`: the table comment.
    AlterTable(AlterTable),
    /// `create_primary_key`.
    CreatePrimaryKey(CreatePrimaryKey),
    /// `drop_primary_key`, optionally with the dropped columns (for the inverse).
    DropPrimaryKey(DropPrimaryKey),
    /// `add_column`.
    AddColumn(AddColumn),
    /// `drop_column`, optionally with the column's definition (for the inverse).
    DropColumn(DropColumn),
    /// `alter_column`: type, nullability, server default, comment, name.
    AlterColumn(AlterColumn),
    /// `create_index`.
    CreateIndex(CreateIndex),
    /// `drop_index`, optionally with the definition.
    DropIndex(DropIndex),
    /// `create_unique`: a unique constraint.
    CreateUnique(CreateUnique),
    /// `drop_unique`, optionally with the definition.
    DropUnique(DropUnique),
    /// `create_foreign_key`.
    CreateForeignKey(CreateForeignKey),
    /// `drop_foreign_key`, optionally with the definition.
    DropForeignKey(DropForeignKey),
    /// `create_check`: a check constraint.
    CreateCheck(CreateCheck),
    /// `drop_check`, optionally with the definition.
    DropCheck(DropCheck),
    /// `sql`: raw SQL, the only escape hatch.
    Sql(Sql),
}

/// The `op = "..."` names, in declaration order.
pub const OP_NAMES: &[&str] = &[
    "create_table",
    "drop_table",
    "rename_table",
    "alter_table",
    "create_primary_key",
    "drop_primary_key",
    "add_column",
    "drop_column",
    "alter_column",
    "create_index",
    "drop_index",
    "create_unique",
    "drop_unique",
    "create_foreign_key",
    "drop_foreign_key",
    "create_check",
    "drop_check",
    "sql",
];

impl Op {
    /// False for an op on an index that does not exist on the dialect named `dialect`
    /// ([`crate::schema::Index::applies_to`]): it renders to nothing there.
    pub fn applies_to(&self, dialect: &str) -> bool {
        match self {
            Op::CreateIndex(c) => c.index.applies_to(dialect),
            Op::DropIndex(d) => d.definition.as_ref().is_none_or(|i| i.applies_to(dialect)),
            _ => true,
        }
    }

    /// This op with every column type as the dialect named `dialect` has it
    /// ([`crate::schema::ColumnType::for_dialect`]): revisions keep the variants, each
    /// dialect renders its own type.
    pub fn for_dialect(&self, dialect: &str) -> std::borrow::Cow<'_, Op> {
        use std::borrow::Cow;
        let variant =
            |t: &Option<crate::schema::ColumnType>| t.as_ref().is_some_and(|t| t.is_variant());
        let needed = match self {
            Op::CreateTable(c) => c.table.is_dialect_specific(),
            Op::DropTable(d) => d
                .definition
                .as_ref()
                .is_some_and(crate::schema::Table::is_dialect_specific),
            Op::AddColumn(a) => a.column.ty.is_variant(),
            Op::DropColumn(d) => d.definition.as_ref().is_some_and(|c| c.ty.is_variant()),
            Op::AlterColumn(a) => variant(&a.ty) || variant(&a.existing_type),
            _ => false,
        };
        if !needed {
            return Cow::Borrowed(self);
        }
        let resolve = |t: &mut crate::schema::ColumnType| *t = t.for_dialect(dialect).clone();
        let mut op = self.clone();
        match &mut op {
            Op::CreateTable(c) => c.table = c.table.for_dialect(dialect).into_owned(),
            Op::DropTable(d) => {
                if let Some(t) = &mut d.definition {
                    *t = t.for_dialect(dialect).into_owned();
                }
            }
            Op::AddColumn(a) => resolve(&mut a.column.ty),
            Op::DropColumn(d) => {
                if let Some(c) = &mut d.definition {
                    resolve(&mut c.ty);
                }
            }
            Op::AlterColumn(a) => {
                a.ty.iter_mut().for_each(resolve);
                a.existing_type.iter_mut().for_each(resolve);
            }
            _ => {}
        }
        Cow::Owned(op)
    }

    /// This op with its constraint and index names as a database with identifiers of
    /// at most `max` characters stores them (see [`crate::schema::db_identifier`]):
    /// revisions keep the full names, each dialect renders its own form.
    pub fn with_db_identifiers(&self, max: Option<usize>) -> std::borrow::Cow<'_, Op> {
        use crate::schema::db_identifier;
        use std::borrow::Cow;
        let long = |n: &str| db_identifier(n, max) != n;
        let long_opt = |n: &Option<String>| n.as_deref().is_some_and(long);
        let needed = match self {
            Op::CreateTable(c) => matches!(c.table.with_db_identifiers(max), Cow::Owned(_)),
            Op::CreatePrimaryKey(c) => long_opt(&c.name),
            Op::DropPrimaryKey(d) => long_opt(&d.name),
            Op::CreateIndex(c) => long(&c.index.name),
            Op::DropIndex(d) => long(&d.name),
            Op::CreateUnique(c) => long_opt(&c.unique.name),
            Op::DropUnique(d) => long(&d.name),
            Op::CreateForeignKey(c) => long_opt(&c.foreign_key.name),
            Op::DropForeignKey(d) => long(&d.name),
            Op::CreateCheck(c) => long_opt(&c.check.name),
            Op::DropCheck(d) => long(&d.name),
            _ => false,
        };
        if !needed {
            return Cow::Borrowed(self);
        }
        let short = |n: &mut String| *n = db_identifier(n, max).into_owned();
        let short_opt = |n: &mut Option<String>| {
            if let Some(n) = n {
                short(n);
            }
        };
        let mut op = self.clone();
        match &mut op {
            Op::CreateTable(c) => c.table = c.table.with_db_identifiers(max).into_owned(),
            Op::CreatePrimaryKey(c) => short_opt(&mut c.name),
            Op::DropPrimaryKey(d) => short_opt(&mut d.name),
            Op::CreateIndex(c) => short(&mut c.index.name),
            Op::DropIndex(d) => short(&mut d.name),
            Op::CreateUnique(c) => short_opt(&mut c.unique.name),
            Op::DropUnique(d) => short(&mut d.name),
            Op::CreateForeignKey(c) => short_opt(&mut c.foreign_key.name),
            Op::DropForeignKey(d) => short(&mut d.name),
            Op::CreateCheck(c) => short_opt(&mut c.check.name),
            Op::DropCheck(d) => short(&mut d.name),
            _ => {}
        }
        Cow::Owned(op)
    }

    /// The `op = "..."` name.
    pub fn name(&self) -> &'static str {
        match self {
            Op::CreateTable(_) => "create_table",
            Op::DropTable(_) => "drop_table",
            Op::RenameTable(_) => "rename_table",
            Op::AlterTable(_) => "alter_table",
            Op::CreatePrimaryKey(_) => "create_primary_key",
            Op::DropPrimaryKey(_) => "drop_primary_key",
            Op::AddColumn(_) => "add_column",
            Op::DropColumn(_) => "drop_column",
            Op::AlterColumn(_) => "alter_column",
            Op::CreateIndex(_) => "create_index",
            Op::DropIndex(_) => "drop_index",
            Op::CreateUnique(_) => "create_unique",
            Op::DropUnique(_) => "drop_unique",
            Op::CreateForeignKey(_) => "create_foreign_key",
            Op::DropForeignKey(_) => "drop_foreign_key",
            Op::CreateCheck(_) => "create_check",
            Op::DropCheck(_) => "drop_check",
            Op::Sql(_) => "sql",
        }
    }

    /// Deserialises the op called `name` from a table that no longer holds the `op` key,
    /// so errors keep the deserializer's own locations. `None` for an unknown name.
    pub fn deserialize_named<'de, D: Deserializer<'de>>(
        name: &str,
        deserializer: D,
    ) -> Option<Result<Op, D::Error>> {
        let d = deserializer;
        Some(match name {
            "create_table" => CreateTable::deserialize(d).map(Op::CreateTable),
            "drop_table" => DropTable::deserialize(d).map(Op::DropTable),
            "rename_table" => RenameTable::deserialize(d).map(Op::RenameTable),
            "alter_table" => AlterTable::deserialize(d).map(Op::AlterTable),
            "create_primary_key" => CreatePrimaryKey::deserialize(d).map(Op::CreatePrimaryKey),
            "drop_primary_key" => DropPrimaryKey::deserialize(d).map(Op::DropPrimaryKey),
            "add_column" => AddColumn::deserialize(d).map(Op::AddColumn),
            "drop_column" => DropColumn::deserialize(d).map(Op::DropColumn),
            "alter_column" => AlterColumn::deserialize(d).map(Op::AlterColumn),
            "create_index" => CreateIndex::deserialize(d).map(Op::CreateIndex),
            "drop_index" => DropIndex::deserialize(d).map(Op::DropIndex),
            "create_unique" => CreateUnique::deserialize(d).map(Op::CreateUnique),
            "drop_unique" => DropUnique::deserialize(d).map(Op::DropUnique),
            "create_foreign_key" => CreateForeignKey::deserialize(d).map(Op::CreateForeignKey),
            "drop_foreign_key" => DropForeignKey::deserialize(d).map(Op::DropForeignKey),
            "create_check" => CreateCheck::deserialize(d).map(Op::CreateCheck),
            "drop_check" => DropCheck::deserialize(d).map(Op::DropCheck),
            "sql" => Sql::deserialize(d).map(Op::Sql),
            _ => return None,
        })
    }

    /// Checks what serde cannot: an `alter_column` that changes nothing, a table with
    /// two columns of the same name.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Op::AlterColumn(a) if !a.changes_anything() => Err(
                "`alter_column` changes nothing: expected `type`, `nullable`, `server_default`, \
                 `comment` or `new_name`"
                    .to_owned(),
            ),
            Op::AlterTable(a) if a.comment.is_none() => {
                Err("`alter_table` changes nothing: expected `comment`".to_owned())
            }
            Op::CreatePrimaryKey(c) if c.columns.is_empty() => {
                Err("`create_primary_key` needs at least one column in `columns`".to_owned())
            }
            Op::CreateTable(CreateTable { table })
            | Op::DropTable(DropTable {
                definition: Some(table),
                ..
            }) => {
                for (i, column) in table.columns.iter().enumerate() {
                    if table.columns[..i].iter().any(|c| c.name == column.name) {
                        return Err(format!(
                            "Duplicate column `{}` in table `{}`",
                            column.name, table.name
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The op that undoes this one.
    ///
    /// `None` when the op does not carry what its inverse needs: `drop_table`,
    /// `drop_column`, `drop_index` and the other `drop_*` ops without their definition;
    /// `create_unique`/`create_foreign_key`/`create_check` without a `name` (nothing to
    /// drop by); `alter_column` without the `existing_*` value of a changed attribute;
    /// `sql` without `down`.
    pub fn inverse(&self) -> Option<Op> {
        Some(match self {
            Op::CreateTable(CreateTable { table }) => Op::DropTable(DropTable {
                table: table.name.clone(),
                schema: table.schema.clone(),
                definition: Some(table.clone()),
            }),
            Op::DropTable(DropTable {
                table,
                schema,
                definition,
            }) => {
                let mut definition = definition.clone()?;
                definition.name.clone_from(table);
                definition.schema.clone_from(schema);
                Op::CreateTable(CreateTable { table: definition })
            }
            Op::RenameTable(r) => Op::RenameTable(RenameTable {
                table: r.new_name.clone(),
                new_name: r.table.clone(),
                schema: r.schema.clone(),
            }),
            Op::AlterTable(a) => Op::AlterTable(AlterTable {
                table: a.table.clone(),
                schema: a.schema.clone(),
                comment: Some(a.existing_comment.clone()?),
                existing_comment: a.comment.clone(),
            }),
            Op::CreatePrimaryKey(c) => Op::DropPrimaryKey(DropPrimaryKey {
                table: c.table.clone(),
                schema: c.schema.clone(),
                name: c.name.clone(),
                columns: c.columns.clone(),
            }),
            Op::DropPrimaryKey(d) if d.columns.is_empty() => return None,
            Op::DropPrimaryKey(d) => Op::CreatePrimaryKey(CreatePrimaryKey {
                table: d.table.clone(),
                schema: d.schema.clone(),
                name: d.name.clone(),
                columns: d.columns.clone(),
            }),
            Op::AddColumn(a) => Op::DropColumn(DropColumn {
                table: a.table.clone(),
                schema: a.schema.clone(),
                column: a.column.name.clone(),
                definition: Some(a.column.clone()),
            }),
            Op::DropColumn(d) => {
                let mut column = d.definition.clone()?;
                column.name.clone_from(&d.column);
                Op::AddColumn(AddColumn {
                    table: d.table.clone(),
                    schema: d.schema.clone(),
                    column,
                })
            }
            Op::AlterColumn(a) => Op::AlterColumn(a.inverse()?),
            Op::CreateIndex(c) => Op::DropIndex(DropIndex {
                name: c.index.name.clone(),
                table: c.index.table.clone(),
                schema: c.schema.clone(),
                definition: Some(c.index.clone()),
            }),
            Op::DropIndex(d) => {
                let mut index = d.definition.clone()?;
                index.name.clone_from(&d.name);
                index.table.clone_from(&d.table);
                Op::CreateIndex(CreateIndex {
                    schema: d.schema.clone(),
                    index,
                })
            }
            Op::CreateUnique(c) => Op::DropUnique(DropUnique {
                table: c.table.clone(),
                schema: c.schema.clone(),
                name: c.unique.name.clone()?,
                definition: Some(c.unique.clone()),
            }),
            Op::DropUnique(d) => {
                let mut unique = d.definition.clone()?;
                unique.name = Some(d.name.clone());
                Op::CreateUnique(CreateUnique {
                    table: d.table.clone(),
                    schema: d.schema.clone(),
                    unique,
                })
            }
            Op::CreateForeignKey(c) => Op::DropForeignKey(DropForeignKey {
                table: c.table.clone(),
                schema: c.schema.clone(),
                name: c.foreign_key.name.clone()?,
                definition: Some(c.foreign_key.clone()),
            }),
            Op::DropForeignKey(d) => {
                let mut foreign_key = d.definition.clone()?;
                foreign_key.name = Some(d.name.clone());
                Op::CreateForeignKey(CreateForeignKey {
                    table: d.table.clone(),
                    schema: d.schema.clone(),
                    foreign_key,
                })
            }
            Op::CreateCheck(c) => Op::DropCheck(DropCheck {
                table: c.table.clone(),
                schema: c.schema.clone(),
                name: c.check.name.clone()?,
                definition: Some(c.check.clone()),
            }),
            Op::DropCheck(d) => {
                let mut check = d.definition.clone()?;
                check.name = Some(d.name.clone());
                Op::CreateCheck(CreateCheck {
                    table: d.table.clone(),
                    schema: d.schema.clone(),
                    check,
                })
            }
            Op::Sql(s) => Op::Sql(Sql {
                sql: s.down.clone()?,
                dialects: Default::default(),
                // Going back up re-runs the original only when it has no variants to lose.
                down: s.dialects.is_empty().then(|| s.sql.clone()),
            }),
        })
    }

    /// True when applying the op may lose data: dropping a table or column, or changing a
    /// column's type to one that does not hold every old value (or from an unknown type).
    /// `sql` is opaque and reported as not destructive.
    pub fn is_destructive(&self) -> bool {
        match self {
            Op::DropTable(_) | Op::DropColumn(_) => true,
            Op::AlterColumn(a) => match (&a.existing_type, &a.ty) {
                (_, None) => false,
                (Some(old), Some(new)) => !old.widens_to(new),
                (None, Some(_)) => true,
            },
            _ => false,
        }
    }

    /// The first expression (not a plain column) the op indexes, if any: servers
    /// without expression indexes (MariaDB) cannot run it.
    pub fn indexed_expression(&self) -> Option<&str> {
        let indexes: Vec<&crate::schema::Index> = match self {
            Op::CreateIndex(c) => vec![&c.index],
            Op::CreateTable(c) => c.table.indexes.iter().collect(),
            _ => Vec::new(),
        };
        indexes
            .into_iter()
            .flat_map(|i| &i.columns)
            .find(|entry| crate::schema::Index::is_expression(entry))
            .map(String::as_str)
    }

    /// One-line summary for `show` and `--dry-run`, e.g. `Add column users.email varchar(255)`.
    pub fn describe(&self) -> String {
        let q = |schema: &Option<String>, name: &str| qualified(schema.as_deref(), name);
        match self {
            Op::CreateTable(CreateTable { table }) => format!(
                "Create table {} ({})",
                table.qualified_name(),
                table
                    .columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Op::DropTable(d) => format!("Drop table {}", q(&d.schema, &d.table)),
            Op::RenameTable(r) => {
                format!("Rename table {} to {}", q(&r.schema, &r.table), r.new_name)
            }
            Op::AlterTable(a) => format!(
                "Alter table {}: {}",
                q(&a.schema, &a.table),
                match &a.comment {
                    Some(Some(_)) => "comment",
                    Some(None) => "drop comment",
                    None => "nothing",
                }
            ),
            Op::CreatePrimaryKey(c) => format!(
                "Create primary key {}on {} ({})",
                name_prefix(&c.name),
                q(&c.schema, &c.table),
                c.columns.join(", ")
            ),
            Op::DropPrimaryKey(d) => format!(
                "Drop primary key {}on {}",
                name_prefix(&d.name),
                q(&d.schema, &d.table)
            ),
            Op::AddColumn(a) => format!("Add column {}.{}", q(&a.schema, &a.table), a.column),
            Op::DropColumn(d) => format!("Drop column {}.{}", q(&d.schema, &d.table), d.column),
            Op::AlterColumn(a) => {
                let mut changes = Vec::new();
                if let Some(ty) = &a.ty {
                    changes.push(format!("type {ty}"));
                }
                match a.nullable {
                    Some(true) => changes.push("NULL".to_owned()),
                    Some(false) => changes.push("NOT NULL".to_owned()),
                    None => {}
                }
                match &a.server_default {
                    Some(Some(d)) => changes.push(format!("default {d}")),
                    Some(None) => changes.push("drop default".to_owned()),
                    None => {}
                }
                match &a.comment {
                    Some(Some(_)) => changes.push("comment".to_owned()),
                    Some(None) => changes.push("drop comment".to_owned()),
                    None => {}
                }
                if let Some(new_name) = &a.new_name {
                    changes.push(format!("rename to {new_name}"));
                }
                format!(
                    "Alter column {}.{}: {}",
                    q(&a.schema, &a.table),
                    a.column,
                    changes.join(", ")
                )
            }
            Op::CreateIndex(c) => format!(
                "Create {}index {} on {} ({})",
                if c.index.unique { "unique " } else { "" },
                c.index.name,
                q(&c.schema, &c.index.table),
                c.index.columns.join(", ")
            ),
            Op::DropIndex(d) => format!("Drop index {} on {}", d.name, q(&d.schema, &d.table)),
            Op::CreateUnique(c) => format!(
                "Create unique constraint {}on {} ({})",
                name_prefix(&c.unique.name),
                q(&c.schema, &c.table),
                c.unique.columns.join(", ")
            ),
            Op::DropUnique(d) => format!(
                "Drop unique constraint {} on {}",
                d.name,
                q(&d.schema, &d.table)
            ),
            Op::CreateForeignKey(c) => format!(
                "Create foreign key {}on {} ({}) -> {}",
                name_prefix(&c.foreign_key.name),
                q(&c.schema, &c.table),
                c.foreign_key.columns.join(", "),
                c.foreign_key.references()
            ),
            Op::DropForeignKey(d) => {
                format!("Drop foreign key {} on {}", d.name, q(&d.schema, &d.table))
            }
            Op::CreateCheck(c) => format!(
                "Create check constraint {}on {} ({})",
                name_prefix(&c.check.name),
                q(&c.schema, &c.table),
                c.check.sqltext
            ),
            Op::DropCheck(d) => format!(
                "Drop check constraint {} on {}",
                d.name,
                q(&d.schema, &d.table)
            ),
            Op::Sql(s) => {
                let text = if s.sql.trim().is_empty() {
                    s.dialects.values().next().map_or("", String::as_str)
                } else {
                    &s.sql
                };
                let first = text
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("");
                let mut summary = String::from("Run SQL: ");
                if first.chars().count() > 60 {
                    summary.extend(first.chars().take(57));
                    summary.push_str("...");
                } else {
                    summary.push_str(first);
                }
                if !s.dialects.is_empty() {
                    let names: Vec<&str> = s.dialects.keys().map(String::as_str).collect();
                    summary.push_str(&format!(" (variants: {})", names.join(", ")));
                }
                summary
            }
        }
    }
}

fn name_prefix(name: &Option<String>) -> String {
    name.as_ref().map(|n| format!("{n} ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnType};

    #[derive(Debug, Deserialize, Serialize)]
    struct Doc {
        upgrade: Vec<Op>,
    }

    fn parse(text: &str) -> Vec<Op> {
        toml::from_str::<Doc>(text).expect("valid ops").upgrade
    }

    const ALL_OPS: &str = r#"
[[upgrade]]
op = "create_table"
table = "posts"
comment = "Blog posts"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "title", type = "varchar(200)", nullable = false },
  { name = "user_id", type = "integer", nullable = false },
]
foreign_keys = [{ columns = ["user_id"], references = "users(id)", ondelete = "cascade" }]
uniques = [{ name = "uq_posts_title", columns = ["title"] }]
checks = [{ name = "ck_title", sqltext = "length(title) > 0" }]
indexes = [{ name = "ix_posts_user", columns = ["user_id"] }]

[[upgrade]]
op = "drop_table"
table = "old"

[[upgrade]]
op = "rename_table"
table = "a"
new_name = "b"

[[upgrade]]
op = "add_column"
table = "users"
column = { name = "email", type = "varchar(255)", unique = true }

[[upgrade]]
op = "drop_column"
table = "users"
column = "nickname"

[[upgrade]]
op = "drop_column"
table = "users"
column = { name = "age", type = "smallint" }

[[upgrade]]
op = "alter_column"
table = "users"
column = "name"
type = "text"
nullable = false
server_default = false
existing_type = "varchar(50)"
existing_nullable = true
existing_server_default = "'x'"

[[upgrade]]
op = "create_index"
name = "ix_users_email"
table = "users"
columns = ["lower(email)"]
unique = true
where = "email IS NOT NULL"

[[upgrade]]
op = "drop_index"
name = "ix_old"
table = "users"

[[upgrade]]
op = "create_unique"
name = "uq_users_email"
table = "users"
columns = ["email"]

[[upgrade]]
op = "drop_unique"
name = "uq_old"
table = "users"

[[upgrade]]
op = "create_foreign_key"
name = "fk_posts_user"
table = "posts"
columns = ["user_id"]
references = "auth.users(id)"
onupdate = "cascade"

[[upgrade]]
op = "drop_foreign_key"
name = "fk_old"
table = "posts"

[[upgrade]]
op = "create_check"
name = "ck_age"
table = "users"
sqltext = "age >= 0"

[[upgrade]]
op = "drop_check"
name = "ck_old"
table = "users"

[[upgrade]]
op = "sql"
sql = "UPDATE posts SET title = trim(title)"
dialects = { postgresql = "UPDATE posts SET title = btrim(title)" }
down = "SELECT 1"
"#;

    #[test]
    fn every_op_parses_with_design_md_keys() {
        let ops = parse(ALL_OPS);
        let names: Vec<&str> = ops.iter().map(Op::name).collect();
        assert_eq!(
            names,
            [
                "create_table",
                "drop_table",
                "rename_table",
                "add_column",
                "drop_column",
                "drop_column",
                "alter_column",
                "create_index",
                "drop_index",
                "create_unique",
                "drop_unique",
                "create_foreign_key",
                "drop_foreign_key",
                "create_check",
                "drop_check",
                "sql"
            ]
        );
        let Op::CreateTable(CreateTable { table }) = &ops[0] else {
            panic!("create_table expected");
        };
        assert_eq!(table.columns[0], Column::primary("id", ColumnType::Integer));
        assert!(!table.columns[1].nullable);
        assert_eq!(table.foreign_keys[0].ref_table, "users");
        assert_eq!(table.indexes[0].table, "posts");
        let Op::AlterColumn(alter) = &ops[6] else {
            panic!("alter_column expected");
        };
        assert_eq!(alter.server_default, Some(None));
        assert_eq!(alter.existing_server_default, Some(Some("'x'".into())));
        let Op::Sql(sql) = &ops[15] else {
            panic!("sql expected");
        };
        assert_eq!(
            sql.for_dialect("postgresql"),
            Some("UPDATE posts SET title = btrim(title)")
        );
        assert_eq!(
            sql.for_dialect("sqlite"),
            Some("UPDATE posts SET title = trim(title)")
        );
    }

    #[test]
    fn serde_round_trips_through_toml_and_json() {
        let ops = parse(ALL_OPS);
        let text = toml::to_string(&Doc {
            upgrade: ops.clone(),
        })
        .expect("serialisable");
        assert_eq!(parse(&text), ops);
        let json = serde_json::to_string(&ops).expect("serialisable");
        assert!(
            json.starts_with(r#"[{"op":"create_table","table":"posts""#),
            "{json}"
        );
        let back: Vec<Op> = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, ops);
    }

    #[test]
    fn refuses_unknown_and_missing_fields() {
        let err =
            toml::from_str::<Doc>("[[upgrade]]\nop = \"drop_table\"\ntable = \"t\"\ncolums = []\n")
                .expect_err("unknown field");
        assert!(err.message().contains("unknown field `colums`"), "{err}");
        let err = toml::from_str::<Doc>("[[upgrade]]\nop = \"create_table\"\ntable = \"t\"\n")
            .expect_err("missing columns");
        assert_eq!(err.message(), "missing field `columns`");
        let err = toml::from_str::<Doc>("[[upgrade]]\nop = \"drop_check\"\ntable = \"t\"\n")
            .expect_err("missing name");
        assert_eq!(err.message(), "missing field `name`");
        let err = toml::from_str::<Doc>("[[upgrade]]\nop = \"sql\"\n").expect_err("missing sql");
        assert_eq!(err.message(), "missing field `sql`");
        let err = toml::from_str::<Doc>(
            "[[upgrade]]\nop = \"alter_column\"\ntable = \"t\"\ncolumn = \"c\"\nserver_default = true\n",
        )
        .expect_err("true is not a default");
        assert!(err.message().contains("`false` to remove it"), "{err}");
    }

    #[test]
    fn validate_refuses_empty_alter_and_duplicate_columns() {
        let ops = parse("[[upgrade]]\nop = \"alter_column\"\ntable = \"t\"\ncolumn = \"c\"\n");
        assert!(
            ops[0]
                .validate()
                .expect_err("no change")
                .contains("changes nothing")
        );
        let ops = parse(
            "[[upgrade]]\nop = \"create_table\"\ntable = \"t\"\ncolumns = [{ name = \"a\", type = \"int\" }, { name = \"a\", type = \"int\" }]\n",
        );
        assert_eq!(
            ops[0].validate(),
            Err("Duplicate column `a` in table `t`".to_owned())
        );
        assert!(parse(ALL_OPS).iter().all(|op| op.validate().is_ok()));
    }

    #[test]
    fn inverse_of_inverse_is_identity_when_known() {
        let ops = parse(ALL_OPS);
        let invertible = [0usize, 2, 3, 5, 6, 7, 9, 11, 13, 15];
        for (i, op) in ops.iter().enumerate() {
            match op.inverse() {
                Some(inv) => {
                    assert!(invertible.contains(&i), "{} should not invert", op.name());
                    if i != 15 {
                        assert_eq!(inv.inverse().as_ref(), Some(op), "{}", op.name());
                    }
                }
                None => assert!(!invertible.contains(&i), "{} should invert", op.name()),
            }
        }
    }

    #[test]
    fn inverse_shapes() {
        let ops = parse(ALL_OPS);
        let Some(Op::DropTable(drop)) = ops[0].inverse() else {
            panic!("drop_table expected");
        };
        assert_eq!(drop.table, "posts");
        assert!(drop.definition.is_some());
        let Some(Op::AlterColumn(back)) = ops[6].inverse() else {
            panic!("alter_column expected");
        };
        assert_eq!(back.ty, Some(ColumnType::String(Some(50))));
        assert_eq!(back.existing_type, Some(ColumnType::Text));
        assert_eq!(back.server_default, Some(Some("'x'".into())));
        assert_eq!(
            (back.nullable, back.existing_nullable),
            (Some(true), Some(false))
        );
        let Some(Op::Sql(sql)) = ops[15].inverse() else {
            panic!("sql expected");
        };
        assert_eq!(sql.sql, "SELECT 1");
        assert_eq!(sql.down, None, "variants cannot be restored");
        let rename = parse(
            "[[upgrade]]\nop = \"alter_column\"\ntable = \"t\"\ncolumn = \"a\"\nnew_name = \"b\"\n",
        );
        let Some(Op::AlterColumn(back)) = rename[0].inverse() else {
            panic!("alter_column expected");
        };
        assert_eq!(
            (back.column.as_str(), back.new_name.as_deref()),
            ("b", Some("a"))
        );
        let unnamed =
            parse("[[upgrade]]\nop = \"create_check\"\ntable = \"t\"\nsqltext = \"a > 0\"\n");
        assert_eq!(unnamed[0].inverse(), None);
        let alter_unknown = parse(
            "[[upgrade]]\nop = \"alter_column\"\ntable = \"t\"\ncolumn = \"a\"\nnullable = false\n",
        );
        assert_eq!(alter_unknown[0].inverse(), None);
    }

    #[test]
    fn destructive_ops() {
        let ops = parse(ALL_OPS);
        let destructive: Vec<&str> = ops
            .iter()
            .filter(|op| op.is_destructive())
            .map(|op| op.describe())
            .map(|d| {
                if d.starts_with("Drop table") {
                    "drop_table"
                } else if d.starts_with("Drop column") {
                    "drop_column"
                } else {
                    "other"
                }
            })
            .collect();
        assert_eq!(destructive, ["drop_table", "drop_column", "drop_column"]);
        let narrow = parse(
            "[[upgrade]]\nop = \"alter_column\"\ntable = \"t\"\ncolumn = \"a\"\ntype = \"varchar(10)\"\nexisting_type = \"varchar(20)\"\n",
        );
        assert!(narrow[0].is_destructive());
        let unknown = parse(
            "[[upgrade]]\nop = \"alter_column\"\ntable = \"t\"\ncolumn = \"a\"\ntype = \"varchar(10)\"\n",
        );
        assert!(unknown[0].is_destructive());
    }

    #[test]
    fn describe_summaries() {
        let ops = parse(ALL_OPS);
        let lines: Vec<String> = ops.iter().map(Op::describe).collect();
        assert_eq!(lines[0], "Create table posts (id, title, user_id)");
        assert_eq!(lines[3], "Add column users.email varchar(255) UNIQUE");
        assert_eq!(lines[4], "Drop column users.nickname");
        assert_eq!(
            lines[6],
            "Alter column users.name: type text, NOT NULL, drop default"
        );
        assert_eq!(
            lines[7],
            "Create unique index ix_users_email on users (lower(email))"
        );
        assert_eq!(
            lines[11],
            "Create foreign key fk_posts_user on posts (user_id) -> auth.users(id)"
        );
        assert_eq!(
            lines[15],
            "Run SQL: UPDATE posts SET title = trim(title) (variants: postgresql)"
        );
    }

    #[test]
    fn deserialize_named_matches_tagged_form() {
        let table: toml::Table =
            toml::from_str("table = \"a\"\nnew_name = \"b\"\n").expect("valid");
        let op = Op::deserialize_named("rename_table", table.clone())
            .expect("known")
            .expect("valid");
        assert_eq!(
            op,
            parse("[[upgrade]]\nop = \"rename_table\"\ntable = \"a\"\nnew_name = \"b\"\n")[0]
        );
        assert!(Op::deserialize_named("rename_tabel", table).is_none());
        assert_eq!(OP_NAMES.len(), 18);
    }

    const TABLE_OPS: &str = r#"
[[upgrade]]
op = "alter_table"
table = "users"
comment = "Registered users"
existing_comment = false

[[upgrade]]
op = "create_primary_key"
table = "users"
name = "pk_users"
columns = ["id", "lang"]

[[upgrade]]
op = "drop_primary_key"
table = "users"
columns = ["id"]

[[upgrade]]
op = "drop_primary_key"
table = "users"
"#;

    #[test]
    fn table_comment_and_primary_key_ops() {
        let ops = parse(TABLE_OPS);
        let names: Vec<&str> = ops.iter().map(Op::name).collect();
        assert_eq!(
            names,
            [
                "alter_table",
                "create_primary_key",
                "drop_primary_key",
                "drop_primary_key"
            ]
        );
        let text = toml::to_string(&Doc {
            upgrade: ops.clone(),
        })
        .expect("serialisable");
        assert_eq!(parse(&text), ops);
        let Some(Op::AlterTable(back)) = ops[0].inverse() else {
            panic!("alter_table expected");
        };
        assert_eq!(back.comment, Some(None));
        assert_eq!(back.existing_comment, Some(Some("Registered users".into())));
        for op in &ops[..3] {
            assert_eq!(op.inverse().and_then(|i| i.inverse()).as_ref(), Some(op));
        }
        assert_eq!(ops[3].inverse(), None, "columns unknown");
        let lines: Vec<String> = ops.iter().map(Op::describe).collect();
        assert_eq!(lines[0], "Alter table users: comment");
        assert_eq!(lines[1], "Create primary key pk_users on users (id, lang)");
        assert_eq!(lines[2], "Drop primary key on users");
        assert!(ops.iter().all(|op| !op.is_destructive()));
        assert!(ops.iter().all(|op| op.validate().is_ok()));
        let empty = parse("[[upgrade]]\nop = \"alter_table\"\ntable = \"t\"\n");
        assert!(empty[0].validate().is_err());
        let no_existing =
            parse("[[upgrade]]\nop = \"alter_table\"\ntable = \"t\"\ncomment = \"x\"\n");
        assert_eq!(no_existing[0].inverse(), None);
    }
}
