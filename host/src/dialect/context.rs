//! The tables an op touches: what a dialect needs to see of the schema to render it.
//!
//! Input: an [`Op`] and the current [`Schema`]. Output: the tables the op names (for a
//! foreign key, the referenced table too) and, when the op uses a named enum type or
//! drops or retypes a column of one, every table with a column of that type. Dialect
//! plugins receive exactly these with each render call; the MySQL runner renders a
//! revision on a copy of them before running any of it.

use crate::ops::Op;
use crate::schema::{ColumnType, Schema, Table};

/// The tables a dialect gets with `op`: the tables it names (for a foreign key, the
/// referenced table too) and, when the op uses a named enum type or drops or
/// retypes a column of one, every table with a column of that type (so the dialect
/// can tell whether to create or drop the type). Without enums this is a lookup
/// by name: the cost of a render does not grow with the schema.
pub fn context<'a>(op: &Op, schema: &'a Schema) -> Vec<&'a Table> {
    fn fk_targets<'o>(
        fks: &'o [crate::schema::ForeignKey],
        named: &mut Vec<(Option<&'o str>, &'o str)>,
    ) {
        for fk in fks {
            named.push((fk.ref_schema.as_deref(), fk.ref_table.as_str()));
        }
    }
    let mut named: Vec<(Option<&str>, &str)> = Vec::new();
    // Named enum types the op introduces.
    let mut enums: Vec<&str> = Vec::new();
    // (table, column) whose current enum types count too; `None`: every column.
    let mut dropping: Option<(Option<&str>, &str, Option<&str>)> = None;
    match op {
        Op::CreateTable(c) => {
            named.push((c.table.schema.as_deref(), &c.table.name));
            fk_targets(&c.table.foreign_keys, &mut named);
            enums.extend(c.table.columns.iter().filter_map(|c| enum_name(&c.ty)));
        }
        Op::DropTable(d) => {
            named.push((d.schema.as_deref(), &d.table));
            dropping = Some((d.schema.as_deref(), &d.table, None));
        }
        Op::AlterTable(a) => named.push((a.schema.as_deref(), &a.table)),
        Op::CreatePrimaryKey(c) => named.push((c.schema.as_deref(), &c.table)),
        Op::DropPrimaryKey(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::RenameTable(r) => {
            named.push((r.schema.as_deref(), &r.table));
            named.push((r.schema.as_deref(), &r.new_name));
        }
        Op::AddColumn(a) => {
            named.push((a.schema.as_deref(), &a.table));
            enums.extend(enum_name(&a.column.ty));
        }
        Op::DropColumn(d) => {
            named.push((d.schema.as_deref(), &d.table));
            dropping = Some((d.schema.as_deref(), &d.table, Some(&d.column)));
        }
        Op::AlterColumn(a) => {
            named.push((a.schema.as_deref(), &a.table));
            if let Some(ty) = &a.ty {
                enums.extend(enum_name(ty));
                enums.extend(a.existing_type.as_ref().and_then(enum_name));
                dropping = Some((a.schema.as_deref(), &a.table, Some(&a.column)));
            }
        }
        Op::CreateIndex(c) => named.push((c.schema.as_deref(), &c.index.table)),
        Op::DropIndex(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::CreateUnique(c) => named.push((c.schema.as_deref(), &c.table)),
        Op::DropUnique(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::CreateForeignKey(c) => {
            named.push((c.schema.as_deref(), &c.table));
            fk_targets(std::slice::from_ref(&c.foreign_key), &mut named);
        }
        Op::DropForeignKey(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::CreateCheck(c) => named.push((c.schema.as_deref(), &c.table)),
        Op::DropCheck(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::Sql(_) => {}
    }
    if let Some((s, table, column)) = dropping
        && let Some(t) = schema.table(s, table)
    {
        enums.extend(
            t.columns
                .iter()
                .filter(|c| column.is_none_or(|name| c.name == name))
                .filter_map(|c| enum_name(&c.ty)),
        );
    }
    schema
        .tables
        .iter()
        .filter(|t| {
            named
                .iter()
                .any(|(s, n)| *n == t.name && *s == t.schema.as_deref())
                || (!enums.is_empty()
                    && t.columns
                        .iter()
                        .any(|c| enum_name(&c.ty).is_some_and(|e| enums.contains(&e))))
        })
        .collect()
}

/// The name of a named enum type (or of an array of one).
fn enum_name(ty: &ColumnType) -> Option<&str> {
    match ty {
        ColumnType::Enum { name, .. } => name.as_deref(),
        ColumnType::Array(inner) => enum_name(inner),
        _ => None,
    }
}
