//! (desired [`Schema`], actual [`Schema`]) -> the ops that turn one into the other.
//!
//! Input: the schema the models describe, the schema the database holds (introspected,
//! or replayed), the [`Dialect`] of that database and [`DiffOptions`] (which attributes
//! to compare, which drops-and-adds are renames). Output: [`Changes`]: the upgrade ops
//! in dependency order, the downgrade (each op's inverse, in reverse order), warnings
//! for destructive or locking ops with stable codes, and rename candidates.
//!
//! The differ is generic (as Atlas's is): it compares tables, columns, indexes and
//! constraints through [`normalize`], which asks the dialect how it spells types
//! ([`Dialect::type_sql`], [`Dialect::types_equivalent`]) and what it stores
//! ([`Dialect::capabilities`]), so equivalent spellings never produce a change. It
//! builds no SQL and never guesses a rename: a dropped and an added column (or table)
//! of compatible type are reported as a candidate, and become a rename only when the
//! caller says so with a [`Rename`]. What no op can express (a partial index on a
//! database without them) is reported as an [`WarningCode::Unsupported`] warning, not
//! dropped silently.
//!
//! Upgrade phases, each in (schema, table) order: renames of tables, then of columns;
//! dropped foreign keys; dropped indexes, unique and check constraints; dropped tables
//! (referencing tables first); created tables (referenced tables first, foreign keys
//! that close a cycle left for later); added, altered, then dropped columns; created
//! primary keys, indexes, unique and check constraints; created foreign keys. On
//! PostgreSQL a foreign key that references a changed primary key is dropped before it
//! and created again after it.

pub mod normalize;
mod order;
mod table;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;

use crate::db::Backend;
use crate::dialect::{Dialect, replay};
use crate::ops::{
    AlterColumn, CreateForeignKey, CreateTable, DropForeignKey, DropTable, Op, RenameTable,
};
use crate::schema::{ColumnType, Schema, Table, qualified};

/// What to compare and which drops-and-adds are renames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// Compare column types (`MIGRATION_COMPARE_TYPE`).
    pub compare_type: bool,
    /// Compare server defaults (`MIGRATION_COMPARE_SERVER_DEFAULT`).
    pub compare_server_default: bool,
    /// Tables and columns renamed since the database was last migrated.
    pub renames: Vec<Rename>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            compare_type: true,
            compare_server_default: false,
            renames: Vec::new(),
        }
    }
}

/// A table or column rename: `--rename old:new` or `--rename table.old:new`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rename {
    Table {
        schema: Option<String>,
        from: String,
        to: String,
    },
    Column {
        schema: Option<String>,
        table: String,
        from: String,
        to: String,
    },
}

impl Rename {
    /// Parses `old:new` (a table, `schema.old:new` in a schema) or `table.old:new` (a
    /// column, `schema.table.old:new` in a schema). `as_table` picks the table reading
    /// of `a.b:c` (a table `b` of schema `a`).
    pub fn parse(spec: &str, as_table: bool) -> Result<Rename, DiffError> {
        let bad = || DiffError::BadRename {
            spec: spec.to_owned(),
        };
        let (from, to) = spec.split_once(':').ok_or_else(bad)?;
        let (from, to) = (from.trim(), to.trim());
        let ok = |s: &str| !s.is_empty() && !s.contains([':', ' ', '.']);
        if !ok(to) {
            return Err(bad());
        }
        let parts: Vec<&str> = from.split('.').collect();
        if parts.iter().any(|p| !ok(p)) {
            return Err(bad());
        }
        let own = |s: &str| s.to_owned();
        Ok(match (parts.as_slice(), as_table) {
            ([old], _) => Rename::Table {
                schema: None,
                from: own(old),
                to: own(to),
            },
            ([schema, old], true) => Rename::Table {
                schema: Some(own(schema)),
                from: own(old),
                to: own(to),
            },
            ([table, old], false) => Rename::Column {
                schema: None,
                table: own(table),
                from: own(old),
                to: own(to),
            },
            ([schema, table, old], false) => Rename::Column {
                schema: Some(own(schema)),
                table: own(table),
                from: own(old),
                to: own(to),
            },
            _ => return Err(bad()),
        })
    }

    /// The `--rename` spelling.
    pub fn spec(&self) -> String {
        match self {
            Rename::Table { schema, from, to } => {
                format!("{}:{to}", qualified(schema.as_deref(), from))
            }
            Rename::Column {
                schema,
                table,
                from,
                to,
            } => format!("{}.{from}:{to}", qualified(schema.as_deref(), table)),
        }
    }
}

impl fmt::Display for Rename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rename::Table { schema, from, to } => write!(
                f,
                "table `{}` to `{to}`",
                qualified(schema.as_deref(), from)
            ),
            Rename::Column {
                schema,
                table,
                from,
                to,
            } => write!(
                f,
                "column `{}.{from}` to `{to}`",
                qualified(schema.as_deref(), table)
            ),
        }
    }
}

/// Stable codes of [`Warning`]s, for people, policies and CI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningCode {
    /// `drop_table`: the table and its rows are gone.
    DropTable,
    /// `drop_column`: the column's values are gone.
    DropColumn,
    /// `alter_column` to a type that does not hold every old value.
    NarrowType,
    /// `alter_column` to NOT NULL: fails on NULL rows, scans the table under a lock.
    SetNotNull,
    /// `add_column` NOT NULL without a server default on an existing table.
    AddNotNullWithoutDefault,
    /// A unique index or constraint on an existing table: fails on duplicates, builds
    /// the index under a lock.
    AddUnique,
    /// A dropped and an added column or table of compatible type: maybe a rename.
    RenameCandidate,
    /// A difference no op can express yet; nothing is generated for it.
    Unsupported,
    /// An op the connected server cannot run (MariaDB and expression indexes), though
    /// others of its kind can: the revision is written, `migrate` refuses it there.
    ServerCannot,
}

impl WarningCode {
    /// The code as text: `drop-table`, `narrow-type`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::DropTable => "drop-table",
            WarningCode::DropColumn => "drop-column",
            WarningCode::NarrowType => "narrow-type",
            WarningCode::SetNotNull => "set-not-null",
            WarningCode::AddNotNullWithoutDefault => "add-not-null-without-default",
            WarningCode::AddUnique => "add-unique",
            WarningCode::RenameCandidate => "rename-candidate",
            WarningCode::Unsupported => "unsupported",
            WarningCode::ServerCannot => "server-cannot",
        }
    }
}

impl fmt::Display for WarningCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A destructive or locking op, a rename candidate, or a difference no op expresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: WarningCode,
    /// The index of the op in [`Changes::upgrade`] it is about.
    pub op_index: Option<usize>,
    /// The (qualified) table.
    pub table: String,
    pub column: Option<String>,
    pub message: String,
}

/// What the differ found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Ops turning the actual schema into the desired one, in dependency order.
    pub upgrade: Vec<Op>,
    /// Ops turning it back: the inverse of each upgrade op, in reverse order.
    pub downgrade: Vec<Op>,
    /// Destructive and locking ops, rename candidates, unsupported differences.
    pub warnings: Vec<Warning>,
    /// Drops-and-adds that may be renames (also listed in `warnings`).
    pub rename_candidates: Vec<Rename>,
}

impl Changes {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.upgrade.is_empty()
    }
}

/// Failures of the differ: renames that do not fit the schemas.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    #[error(
        "`--rename {spec}` is not a rename: expected `old:new` (a table) or `table.old:new` (a column)"
    )]
    BadRename { spec: String },
    #[error("`--rename {spec}` does not fit: {reason}")]
    RenameMismatch { spec: String, reason: String },
    #[error("The op `{op}` cannot be inverted for the downgrade")]
    NotInvertible { op: String },
}

type Key = (Option<String>, String);

fn key(t: &Table) -> Key {
    (t.schema.clone(), t.name.clone())
}

/// The ops that turn `actual` into `desired` on the database of `dialect`.
pub fn diff(
    desired: &Schema,
    actual: &Schema,
    dialect: &dyn Dialect,
    options: &DiffOptions,
) -> Result<Changes, DiffError> {
    let mut upgrade = Vec::new();
    let current = apply_renames(desired, actual, options, &mut upgrade)?;

    let desired_by: HashMap<Key, &Table> = desired.tables.iter().map(|t| (key(t), t)).collect();
    let current_by: HashMap<Key, &Table> = current.tables.iter().map(|t| (key(t), t)).collect();
    let mut created: Vec<&Table> = desired
        .tables
        .iter()
        .filter(|t| !current_by.contains_key(&key(t)))
        .collect();
    let mut dropped: Vec<&Table> = current
        .tables
        .iter()
        .filter(|t| !desired_by.contains_key(&key(t)))
        .collect();
    let mut kept: Vec<(&Table, &Table)> = desired
        .tables
        .iter()
        .filter_map(|d| current_by.get(&key(d)).map(|a| (d, *a)))
        .collect();
    created.sort_by_key(|t| key(t));
    dropped.sort_by_key(|t| key(t));
    kept.sort_by_key(|(d, _)| key(d));

    let mut warnings = Vec::new();
    let mut rename_candidates = table_rename_candidates(dialect, &created, &dropped);

    let mut plans = Vec::with_capacity(kept.len());
    for (d, a) in &kept {
        let plan = table::compare(dialect, d, a, options);
        rename_candidates.extend(plan.rename_candidates.iter().cloned());
        plans.push(plan);
    }

    if dialect.backend() != Backend::Sqlite {
        reattach_foreign_keys_to_changed_keys(dialect.backend(), &kept, &mut plans);
    }

    let partial_indexes = dialect.capabilities().partial_indexes;
    for (plan, (d, _)) in plans.iter().zip(&kept) {
        for op in &plan.create_constraints {
            if let Op::CreateIndex(c) = op
                && !partial_indexes
                && d.indexes
                    .iter()
                    .any(|i| i.name == c.index.name && i.where_.is_some())
            {
                warnings.push(partial_index_dropped(d, &c.index.name, dialect));
            }
        }
    }
    // SQLite accepts references to tables that do not exist yet.
    let split_cycles = dialect.backend() != Backend::Sqlite;
    let (drop_order, drop_deferred) = order::creation_order(&dropped, split_cycles);
    let (create_order, create_deferred) = order::creation_order(&created, split_cycles);

    // Dropped foreign keys: changed ones of kept tables, cycle-closing ones of dropped tables.
    for plan in &mut plans {
        upgrade.append(&mut plan.drop_foreign_keys);
    }
    let drop_deferred: HashSet<(usize, usize)> = drop_deferred.into_iter().collect();
    let mut deferred_sorted: Vec<&(usize, usize)> = drop_deferred.iter().collect();
    deferred_sorted.sort();
    for &&(t, f) in &deferred_sorted {
        let table = dropped[t];
        let fk = &table.foreign_keys[f];
        upgrade.push(Op::DropForeignKey(DropForeignKey {
            table: table.name.clone(),
            schema: table.schema.clone(),
            name: fk
                .name
                .clone()
                .unwrap_or_else(|| format!("fk_{}_{}", table.name, fk.ref_table)),
            definition: Some(fk.clone()),
        }));
    }
    for plan in &mut plans {
        upgrade.append(&mut plan.drop_constraints);
    }
    for &t in drop_order.iter().rev() {
        let table = dropped[t];
        let mut definition = table.clone();
        let mut f = 0;
        definition.foreign_keys.retain(|_| {
            let keep = !drop_deferred.contains(&(t, f));
            f += 1;
            keep
        });
        upgrade.push(Op::DropTable(DropTable {
            table: table.name.clone(),
            schema: table.schema.clone(),
            definition: Some(definition),
        }));
    }
    let create_deferred_set: HashSet<(usize, usize)> = create_deferred.iter().copied().collect();
    for &t in &create_order {
        let mut table = created[t].clone();
        for index in &mut table.indexes {
            if index.table.is_empty() {
                index.table.clone_from(&table.name);
            }
            if !partial_indexes && index.where_.take().is_some() {
                warnings.push(partial_index_dropped(created[t], &index.name, dialect));
            }
        }
        let mut f = 0;
        table.foreign_keys.retain(|_| {
            let keep = !create_deferred_set.contains(&(t, f));
            f += 1;
            keep
        });
        upgrade.push(Op::CreateTable(CreateTable { table }));
    }
    for plan in &mut plans {
        upgrade.append(&mut plan.add_columns);
    }
    for plan in &mut plans {
        upgrade.append(&mut plan.alter_columns);
    }
    for plan in &mut plans {
        upgrade.append(&mut plan.drop_columns);
    }
    for plan in &mut plans {
        upgrade.append(&mut plan.create_constraints);
    }
    for plan in &mut plans {
        upgrade.append(&mut plan.create_foreign_keys);
    }
    let mut deferred_creates = create_deferred;
    deferred_creates.sort();
    for (t, f) in deferred_creates {
        let table = created[t];
        let mut foreign_key = table.foreign_keys[f].clone();
        if foreign_key.name.is_none() {
            foreign_key.name = Some(format!(
                "fk_{}_{}_{}",
                table.name,
                foreign_key.columns.first().map_or("", String::as_str),
                foreign_key.ref_table
            ));
        }
        upgrade.push(Op::CreateForeignKey(CreateForeignKey {
            table: table.name.clone(),
            schema: table.schema.clone(),
            foreign_key,
        }));
    }

    let mut downgrade = Vec::with_capacity(upgrade.len());
    for op in upgrade.iter().rev() {
        downgrade.push(
            op.inverse()
                .ok_or_else(|| DiffError::NotInvertible { op: op.describe() })?,
        );
    }

    let new_tables: HashSet<Key> = created.iter().map(|t| key(t)).collect();
    warnings.extend(assess(&upgrade, &new_tables));
    for rename in &rename_candidates {
        let (table, column) = match rename {
            Rename::Table { schema, from, .. } => (qualified(schema.as_deref(), from), None),
            Rename::Column {
                schema,
                table,
                from,
                ..
            } => (qualified(schema.as_deref(), table), Some(from.clone())),
        };
        warnings.push(Warning {
            code: WarningCode::RenameCandidate,
            op_index: None,
            table,
            column,
            message: format!(
                "This drops and adds what may be a rename of {rename}: if it is, run again \
                 with `--rename {}` to keep the data",
                rename.spec()
            ),
        });
    }
    for plan in plans {
        warnings.extend(plan.notes);
    }
    Ok(Changes {
        upgrade,
        downgrade,
        warnings,
        rename_candidates,
    })
}

/// Foreign keys the models keep that reference a primary key being changed: PostgreSQL
/// refuses to drop a key others depend on, and MySQL one whose index is the only one
/// covering a foreign key's referenced columns, so each such foreign key is dropped
/// before the key and created again after the new one. On MySQL a foreign key that
/// another index of the referenced table serves (its columns leading) stays. SQLite's
/// rebuild needs nothing.
fn reattach_foreign_keys_to_changed_keys(
    backend: Backend,
    kept: &[(&Table, &Table)],
    plans: &mut [table::TablePlan],
) {
    let changed: Vec<&Table> = kept
        .iter()
        .filter(|(d, a)| d.primary_key_columns() != a.primary_key_columns())
        .map(|(_, a)| *a)
        .collect();
    if changed.is_empty() {
        return;
    }
    for ((_, actual), plan) in kept.iter().zip(plans.iter_mut()) {
        for fk in &actual.foreign_keys {
            let Some(name) = &fk.name else { continue };
            let refers = changed.iter().any(|t| {
                fk.ref_table == t.name
                    && (fk.ref_schema == t.schema
                        || fk.ref_schema.is_none() && t.schema == actual.schema)
                    && !(backend == Backend::Mysql && t.has_index_leading_with(&fk.ref_columns))
            });
            let dropped = plan
                .drop_foreign_keys
                .iter()
                .any(|op| matches!(op, Op::DropForeignKey(d) if d.name == *name));
            if !refers || dropped {
                continue;
            }
            plan.drop_foreign_keys
                .push(Op::DropForeignKey(DropForeignKey {
                    table: actual.name.clone(),
                    schema: actual.schema.clone(),
                    name: name.clone(),
                    definition: Some(fk.clone()),
                }));
            plan.create_foreign_keys
                .push(Op::CreateForeignKey(CreateForeignKey {
                    table: actual.name.clone(),
                    schema: actual.schema.clone(),
                    foreign_key: fk.clone(),
                }));
        }
    }
}

/// The models' partial index `index` of `table`, created without its predicate on a
/// database that has none (SQLAlchemy ignores `postgresql_where` there too).
fn partial_index_dropped(table: &Table, index: &str, dialect: &dyn Dialect) -> Warning {
    Warning {
        code: WarningCode::Unsupported,
        op_index: None,
        table: table.qualified_name(),
        column: None,
        message: format!(
            "Index `{index}` of `{}` has a WHERE predicate, which {} cannot store: it is \
             created as a full index",
            table.qualified_name(),
            dialect.name()
        ),
    }
}

/// Applies the requested renames to a copy of `actual` (replaying the ops, so indexes,
/// constraints and foreign keys follow) and records the ops.
fn apply_renames(
    desired: &Schema,
    actual: &Schema,
    options: &DiffOptions,
    upgrade: &mut Vec<Op>,
) -> Result<Schema, DiffError> {
    if options.renames.is_empty() {
        return Ok(actual.clone());
    }
    let mut current = actual.clone();
    let mismatch = |rename: &Rename, reason: String| DiffError::RenameMismatch {
        spec: rename.spec(),
        reason,
    };
    // Tables first: column renames name the table by its new name.
    let mut ordered: Vec<&Rename> = options.renames.iter().collect();
    ordered.sort_by_key(|r| matches!(r, Rename::Column { .. }));
    for rename in ordered {
        let op = match rename {
            Rename::Table { schema, from, to } => {
                let s = schema.as_deref();
                let name = |n: &str| format!("`{}`", qualified(s, n));
                if current.table(s, from).is_none() {
                    return Err(mismatch(
                        rename,
                        format!("the database has no table {}", name(from)),
                    ));
                }
                if desired.table(s, from).is_some() {
                    return Err(mismatch(
                        rename,
                        format!("the models still define table {}", name(from)),
                    ));
                }
                if desired.table(s, to).is_none() {
                    return Err(mismatch(
                        rename,
                        format!("the models define no table {}", name(to)),
                    ));
                }
                if current.table(s, to).is_some() {
                    return Err(mismatch(
                        rename,
                        format!("the database already has a table {}", name(to)),
                    ));
                }
                Op::RenameTable(RenameTable {
                    table: from.clone(),
                    new_name: to.clone(),
                    schema: schema.clone(),
                })
            }
            Rename::Column {
                schema,
                table,
                from,
                to,
            } => {
                let s = schema.as_deref();
                let t = qualified(s, table);
                let (Some(d), Some(a)) = (desired.table(s, table), current.table(s, table)) else {
                    return Err(mismatch(
                        rename,
                        format!("table `{t}` must exist in the models and in the database"),
                    ));
                };
                if a.column(from).is_none() {
                    return Err(mismatch(
                        rename,
                        format!("the database has no column `{t}.{from}`"),
                    ));
                }
                if d.column(from).is_some() {
                    return Err(mismatch(
                        rename,
                        format!("the models still define column `{t}.{from}`"),
                    ));
                }
                if d.column(to).is_none() {
                    return Err(mismatch(
                        rename,
                        format!("the models define no column `{t}.{to}`"),
                    ));
                }
                if a.column(to).is_some() {
                    return Err(mismatch(
                        rename,
                        format!("the database already has a column `{t}.{to}`"),
                    ));
                }
                Op::AlterColumn(AlterColumn {
                    table: table.clone(),
                    schema: schema.clone(),
                    column: from.clone(),
                    new_name: Some(to.clone()),
                    ..AlterColumn::default()
                })
            }
        };
        replay::apply(&mut current, &op).map_err(|e| mismatch(rename, e.to_string()))?;
        upgrade.push(op);
    }
    Ok(current)
}

/// A dropped and a created table with the same column names and compatible types.
fn table_rename_candidates(d: &dyn Dialect, created: &[&Table], dropped: &[&Table]) -> Vec<Rename> {
    let mut out = Vec::new();
    let mut taken = HashSet::new();
    for old in dropped {
        let fits = |new: &&&Table| {
            new.schema == old.schema
                && !taken.contains(&new.name)
                && new.columns.len() == old.columns.len()
                && new.columns.iter().all(|c| {
                    old.column(&c.name).is_some_and(|o| {
                        normalize::same_type(d, &o.ty, &c.ty) || o.ty.widens_to(&c.ty)
                    })
                })
        };
        if let Some(new) = created.iter().find(fits) {
            taken.insert(new.name.clone());
            out.push(Rename::Table {
                schema: old.schema.clone(),
                from: old.name.clone(),
                to: new.name.clone(),
            });
        }
    }
    out
}

/// True when every value of `old` fits in `new`. Enums compare by values only: a
/// database without named enum types reports them unnamed.
fn widens(old: &ColumnType, new: &ColumnType) -> bool {
    match (old, new) {
        (ColumnType::Enum { values: a, .. }, ColumnType::Enum { values: b, .. }) => {
            a.iter().all(|v| b.contains(v))
        }
        (ColumnType::Array(a), ColumnType::Array(b)) => widens(a, b),
        _ => old.widens_to(new),
    }
}

/// Warnings for the destructive and locking ops of `upgrade`; `new_tables` are created
/// by it (empty, so adding to them is harmless).
pub fn assess(upgrade: &[Op], new_tables: &HashSet<(Option<String>, String)>) -> Vec<Warning> {
    let mut out = Vec::new();
    let existing = |schema: &Option<String>, table: &str| {
        !new_tables.contains(&(schema.clone(), table.to_owned()))
    };
    for (i, op) in upgrade.iter().enumerate() {
        let mut warn = |code, table: String, column: Option<String>, message: String| {
            out.push(Warning {
                code,
                op_index: Some(i),
                table,
                column,
                message,
            });
        };
        match op {
            Op::DropTable(d) => {
                let t = qualified(d.schema.as_deref(), &d.table);
                warn(
                    WarningCode::DropTable,
                    t.clone(),
                    None,
                    format!("Drops table `{t}` and every row in it"),
                );
            }
            Op::DropColumn(d) => {
                let t = qualified(d.schema.as_deref(), &d.table);
                warn(
                    WarningCode::DropColumn,
                    t.clone(),
                    Some(d.column.clone()),
                    format!("Drops column `{t}.{}` and its values", d.column),
                );
            }
            Op::AlterColumn(a) => {
                let t = qualified(a.schema.as_deref(), &a.table);
                if let (Some(new), Some(old)) = (&a.ty, &a.existing_type)
                    && !widens(old, new)
                {
                    warn(
                        WarningCode::NarrowType,
                        t.clone(),
                        Some(a.column.clone()),
                        format!(
                            "Changes `{t}.{}` from `{old}` to `{new}`, which may not hold every \
                             value: the change fails or loses data",
                            a.column
                        ),
                    );
                }
                if a.nullable == Some(false) {
                    let has_default = match &a.server_default {
                        Some(d) => d.is_some(),
                        None => a
                            .existing_server_default
                            .as_ref()
                            .is_some_and(Option::is_some),
                    };
                    warn(
                        WarningCode::SetNotNull,
                        t.clone(),
                        Some(a.column.clone()),
                        format!(
                            "Makes `{t}.{}` NOT NULL{}: fails if a row holds NULL, and scans \
                             the table under a lock",
                            a.column,
                            if has_default {
                                ""
                            } else {
                                " without a default"
                            }
                        ),
                    );
                }
            }
            Op::AddColumn(a)
                if existing(&a.schema, &a.table)
                    && !a.column.nullable
                    && a.column.server_default.is_none() =>
            {
                let t = qualified(a.schema.as_deref(), &a.table);
                warn(
                    WarningCode::AddNotNullWithoutDefault,
                    t.clone(),
                    Some(a.column.name.clone()),
                    format!(
                        "Adds NOT NULL column `{t}.{}` without a server default: fails on a \
                         table that has rows",
                        a.column.name
                    ),
                );
            }
            Op::CreateIndex(c) if c.index.unique && existing(&c.schema, &c.index.table) => {
                let t = qualified(c.schema.as_deref(), &c.index.table);
                warn(
                    WarningCode::AddUnique,
                    t.clone(),
                    None,
                    format!(
                        "Creates unique index `{}` on existing table `{t}`: fails on duplicate \
                         rows, and builds the index under a lock",
                        c.index.name
                    ),
                );
            }
            Op::CreateUnique(c) if existing(&c.schema, &c.table) => {
                let t = qualified(c.schema.as_deref(), &c.table);
                warn(
                    WarningCode::AddUnique,
                    t.clone(),
                    None,
                    format!(
                        "Adds unique constraint on `{t}` ({}): fails on duplicate rows, and \
                         builds an index under a lock",
                        c.unique.columns.join(", ")
                    ),
                );
            }
            _ => {}
        }
    }
    out
}
