//! One table present on both sides: its columns, indexes and unique, check and
//! foreign-key constraints, compared through [`super::normalize`].
//!
//! Input: the desired and the actual definition of one table (already renamed), the
//! dialect and the options. Output: a [`TablePlan`], the ops grouped by the phase they
//! run in, each carrying what its inverse needs (`existing_*` values, dropped
//! definitions, names for constraints the models leave unnamed).

use std::collections::HashSet;

use super::normalize::{
    foreign_key_key, index_key, is_auto_name, is_auto_pk_name, normalize_default, normalize_expr,
    same_type,
};
use super::{DiffOptions, Rename, Warning};
use crate::db::Backend;
use crate::dialect::{Dialect, autoincrements};
use crate::ops::{
    AddColumn, AlterColumn, AlterTable, CreateCheck, CreateForeignKey, CreateIndex,
    CreatePrimaryKey, CreateUnique, DropCheck, DropColumn, DropForeignKey, DropIndex,
    DropPrimaryKey, DropUnique, Op,
};
use crate::schema::{CheckConstraint, Column, ForeignKey, Index, Table, UniqueConstraint};

/// The ops for one table, by phase (see [`super::diff`] for the phase order).
#[derive(Debug, Default)]
pub(super) struct TablePlan {
    pub drop_foreign_keys: Vec<Op>,
    pub drop_constraints: Vec<Op>,
    pub add_columns: Vec<Op>,
    pub alter_columns: Vec<Op>,
    pub drop_columns: Vec<Op>,
    pub create_constraints: Vec<Op>,
    pub create_foreign_keys: Vec<Op>,
    pub rename_candidates: Vec<Rename>,
    pub notes: Vec<Warning>,
}

struct Ctx<'a> {
    d: &'a dyn Dialect,
    backend: Backend,
    options: &'a DiffOptions,
    table: &'a str,
    schema: &'a Option<String>,
    max_ident: Option<usize>,
}

impl Ctx<'_> {
    /// True when the database's `actual` name is the model's `desired` one (over-long
    /// names are stored shortened).
    fn same_name(&self, desired: &str, actual: &str) -> bool {
        crate::schema::same_db_identifier(desired, actual, self.max_ident)
    }
}

/// Compares `desired` with `actual` (same name and schema).
pub(super) fn compare(
    d: &dyn Dialect,
    desired: &Table,
    actual: &Table,
    options: &DiffOptions,
) -> TablePlan {
    let cx = Ctx {
        d,
        backend: d.backend(),
        options,
        table: &desired.name,
        schema: &desired.schema,
        max_ident: d.max_identifier_length(),
    };
    let mut plan = TablePlan::default();
    let added = columns(&cx, desired, actual, &mut plan);
    primary_key(&cx, desired, actual, &mut plan);
    comment(&cx, desired, actual, &mut plan);
    indexes_and_uniques(&cx, desired, actual, &added, &mut plan);
    checks(&cx, desired, actual, &mut plan);
    foreign_keys(&cx, desired, actual, &mut plan);
    plan
}

/// Columns: add, alter, drop. Returns the names of the added columns.
fn columns(cx: &Ctx<'_>, desired: &Table, actual: &Table, plan: &mut TablePlan) -> HashSet<String> {
    let comments = cx.d.capabilities().comments;
    let desired_pk = desired.primary_key_columns();
    let mut added = HashSet::new();
    let mut dropped_columns: Vec<&Column> = Vec::new();
    for dc in &desired.columns {
        let Some(ac) = actual.column(&dc.name) else {
            added.insert(dc.name.clone());
            plan.add_columns.push(Op::AddColumn(AddColumn {
                table: cx.table.to_owned(),
                schema: cx.schema.clone(),
                column: dc.clone(),
            }));
            continue;
        };
        let mut alter = AlterColumn {
            table: cx.table.to_owned(),
            schema: cx.schema.clone(),
            column: dc.name.clone(),
            existing_type: Some(ac.ty.clone()),
            existing_nullable: Some(ac.nullable),
            existing_server_default: Some(ac.server_default.clone()),
            existing_comment: comments.then(|| ac.comment.clone()),
            ..AlterColumn::default()
        };
        if cx.options.compare_type && !same_type(cx.d, &dc.ty, &ac.ty) {
            alter.ty = Some(dc.ty.clone());
        }
        // The databases keep key columns NOT NULL; a column that leaves a changed key is
        // compared like any other (the key is dropped before the columns are altered).
        let in_pk = desired_pk.contains(&dc.name.as_str());
        if !in_pk && dc.nullable != ac.nullable {
            alter.nullable = Some(dc.nullable);
        }
        let generated = autoincrements(desired, dc) || autoincrements(actual, ac);
        if cx.options.compare_server_default && !(generated && cx.backend != Backend::Sqlite) {
            let norm = |c: &Column| {
                c.server_default
                    .as_deref()
                    .map(normalize_default)
                    .filter(|d| d != "null")
            };
            if norm(dc) != norm(ac) {
                alter.server_default = Some(dc.server_default.clone());
            }
        }
        let text = |c: &Option<String>| c.clone().filter(|c| !c.is_empty());
        if comments && text(&dc.comment) != text(&ac.comment) {
            alter.comment = Some(dc.comment.clone());
        }
        if alter.changes_anything() {
            plan.alter_columns.push(Op::AlterColumn(alter));
        }
    }
    for ac in &actual.columns {
        if desired.column(&ac.name).is_none() {
            dropped_columns.push(ac);
            plan.drop_columns.push(Op::DropColumn(DropColumn {
                table: cx.table.to_owned(),
                schema: cx.schema.clone(),
                column: ac.name.clone(),
                definition: Some(ac.clone()),
            }));
        }
    }
    // A dropped and an added column of one type may be a rename.
    let mut taken = HashSet::new();
    for old in dropped_columns {
        let candidate = desired.columns.iter().find(|c| {
            added.contains(&c.name)
                && !taken.contains(&c.name)
                && (same_type(cx.d, &old.ty, &c.ty) || old.ty.widens_to(&c.ty))
        });
        if let Some(new) = candidate {
            taken.insert(new.name.clone());
            plan.rename_candidates.push(Rename::Column {
                schema: cx.schema.clone(),
                table: cx.table.to_owned(),
                from: old.name.clone(),
                to: new.name.clone(),
            });
        }
    }
    added
}

/// A changed primary key: `drop_primary_key` (with the old columns, for the inverse)
/// with the constraints dropped before it, `create_primary_key` first among the
/// constraints created after the columns, so foreign keys that reference the new key
/// are created after it (and dropped, in the downgrade, before it).
fn primary_key(cx: &Ctx<'_>, desired: &Table, actual: &Table, plan: &mut TablePlan) {
    let (d, a) = (desired.primary_key_columns(), actual.primary_key_columns());
    if d == a {
        return;
    }
    let owned = |cols: &[&str]| cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    if !a.is_empty() {
        plan.drop_constraints
            .push(Op::DropPrimaryKey(DropPrimaryKey {
                table: cx.table.to_owned(),
                schema: cx.schema.clone(),
                // `<table>_pkey`, `PRIMARY`: the dialect finds (or makes up) those itself.
                name: actual
                    .primary_key
                    .as_ref()
                    .and_then(|p| p.name.clone())
                    .filter(|n| !is_auto_pk_name(n)),
                columns: owned(&a),
            }));
    }
    if !d.is_empty() {
        plan.create_constraints.insert(
            0,
            Op::CreatePrimaryKey(CreatePrimaryKey {
                table: cx.table.to_owned(),
                schema: cx.schema.clone(),
                name: desired
                    .primary_key
                    .as_ref()
                    .and_then(|p| p.name.clone())
                    .filter(|n| !is_auto_pk_name(n)),
                columns: owned(&d),
            }),
        );
    }
}

/// A changed table comment: `alter_table` with the old comment for the inverse.
fn comment(cx: &Ctx<'_>, desired: &Table, actual: &Table, plan: &mut TablePlan) {
    let text = |c: &Option<String>| c.clone().filter(|c| !c.is_empty());
    if cx.d.capabilities().comments && text(&desired.comment) != text(&actual.comment) {
        plan.alter_columns.push(Op::AlterTable(AlterTable {
            table: cx.table.to_owned(),
            schema: cx.schema.clone(),
            comment: Some(text(&desired.comment)),
            existing_comment: Some(text(&actual.comment)),
        }));
    }
}

/// A unique constraint, or on MySQL (which cannot tell them apart) a unique index.
#[derive(Debug, Clone)]
enum Unique {
    Constraint(UniqueConstraint),
    Index(Index),
}

impl Unique {
    fn name(&self) -> Option<&str> {
        match self {
            Unique::Constraint(u) => u.name.as_deref(),
            Unique::Index(i) => Some(&i.name),
        }
    }

    fn columns(&self) -> &[String] {
        match self {
            Unique::Constraint(u) => &u.columns,
            Unique::Index(i) => &i.columns,
        }
    }
}

/// Indexes by name; unique constraints (with `unique = true` flags, and on MySQL unique
/// indexes) by definition, names compared when both sides have a real one.
fn indexes_and_uniques(
    cx: &Ctx<'_>,
    desired: &Table,
    actual: &Table,
    added: &HashSet<String>,
    plan: &mut TablePlan,
) {
    let mysql = cx.backend == Backend::Mysql;
    let partial = cx.d.capabilities().partial_indexes;
    // PostgreSQL's CREATE TABLE folds a unique constraint on exactly the primary key's
    // columns into the primary key, so it is not there to be found again. A desired
    // one counts as present when the database's primary key has those columns and no
    // unique constraint does (one added later by ALTER TABLE does exist, and compares).
    let actual_pk = actual.primary_key_columns();
    let actual_has_unique = |columns: &[String]| {
        actual.uniques.iter().any(|u| u.columns == columns)
            || matches!(columns, [c] if actual.column(c).is_some_and(|c| c.unique))
    };
    let folded_into_pk = |columns: &[String]| {
        cx.backend == Backend::Postgres
            && !actual_pk.is_empty()
            && actual_pk
                .iter()
                .copied()
                .eq(columns.iter().map(String::as_str))
            && desired.primary_key_columns() == actual_pk
            && !actual_has_unique(columns)
    };
    let split = |t: &Table, skip_flags: &HashSet<String>, fold: bool| {
        let mut indexes: Vec<Index> = Vec::new();
        let mut uniques: Vec<Unique> = t
            .uniques
            .iter()
            .filter(|u| !(fold && folded_into_pk(&u.columns)))
            .cloned()
            .map(Unique::Constraint)
            .collect();
        for c in &t.columns {
            if c.unique
                && !skip_flags.contains(&c.name)
                && !(fold && folded_into_pk(std::slice::from_ref(&c.name)))
            {
                uniques.push(Unique::Constraint(UniqueConstraint {
                    name: None,
                    columns: vec![c.name.clone()],
                }));
            }
        }
        for i in &t.indexes {
            // The models' side (`fold`): an index of other dialects is not expected here.
            if fold && !i.applies_to(cx.d.name()) {
                continue;
            }
            let mut i = i.clone();
            if i.table.is_empty() {
                i.table.clone_from(&t.name);
            }
            if mysql && i.unique {
                uniques.push(Unique::Index(i));
            } else {
                indexes.push(i);
            }
        }
        // SQLite and PostgreSQL build one index for a `unique=True` flag and a named
        // unique constraint on the same column (MySQL builds both): the flag is no
        // constraint of its own there.
        if !mysql {
            let named: HashSet<Vec<String>> = uniques
                .iter()
                .filter(|u| u.name().is_some())
                .map(|u| u.columns().to_vec())
                .collect();
            uniques.retain(|u| u.name().is_some() || !named.contains(u.columns()));
        }
        (indexes, uniques)
    };
    // Flags of added columns come with their `add_column`.
    let (d_indexes, d_uniques) = split(desired, added, true);
    let (a_indexes, a_uniques) = split(actual, &HashSet::new(), false);

    for a in &a_indexes {
        let keep = d_indexes
            .iter()
            .find(|d| cx.same_name(&d.name, &a.name))
            .is_some_and(|d| index_key(d, partial) == index_key(a, partial));
        if !keep {
            plan.drop_constraints.push(drop_index(cx, a));
        }
    }
    for d in &d_indexes {
        let exists = a_indexes
            .iter()
            .find(|a| cx.same_name(&d.name, &a.name))
            .is_some_and(|a| index_key(d, partial) == index_key(a, partial));
        if !exists {
            plan.create_constraints.push(create_index(cx, d, partial));
        }
    }

    let (new, old) = pair(
        &d_uniques,
        &a_uniques,
        Unique::name,
        |u| format!("{:?}", u.columns()),
        |u| {
            u.name()
                .is_some_and(|n| is_auto_name(cx.backend, cx.table, n, u.columns(), "key"))
        },
        |a, b| cx.same_name(a, b),
        false,
    );
    let mut names = taken_names(desired, actual);
    for a in old {
        plan.drop_constraints.push(match &a_uniques[a] {
            Unique::Index(i) => drop_index(cx, i),
            Unique::Constraint(u) => Op::DropUnique(DropUnique {
                table: cx.table.to_owned(),
                schema: cx.schema.clone(),
                name: u.name.clone().unwrap_or_else(|| {
                    made_up_name("uq", cx.table, &u.columns, &mut names.clone())
                }),
                definition: Some(u.clone()),
            }),
        });
    }
    for d in new {
        plan.create_constraints.push(match &d_uniques[d] {
            Unique::Index(i) => create_index(cx, i, partial),
            Unique::Constraint(u) => {
                let mut unique = u.clone();
                if unique.name.is_none() {
                    unique.name = Some(made_up_name("uq", cx.table, &unique.columns, &mut names));
                }
                Op::CreateUnique(CreateUnique {
                    table: cx.table.to_owned(),
                    schema: cx.schema.clone(),
                    unique,
                })
            }
        });
    }
}

fn drop_index(cx: &Ctx<'_>, index: &Index) -> Op {
    Op::DropIndex(DropIndex {
        name: index.name.clone(),
        table: cx.table.to_owned(),
        schema: cx.schema.clone(),
        definition: Some(index.clone()),
    })
}

fn create_index(cx: &Ctx<'_>, index: &Index, partial: bool) -> Op {
    let mut index = index.clone();
    index.table = cx.table.to_owned();
    if !partial {
        index.where_ = None;
    }
    Op::CreateIndex(CreateIndex {
        schema: cx.schema.clone(),
        index,
    })
}

/// Check constraints: by name when both are named, else by normalised text.
fn checks(cx: &Ctx<'_>, desired: &Table, actual: &Table, plan: &mut TablePlan) {
    if !cx.d.capabilities().check_constraints {
        return;
    }
    let (new, old) = pair(
        &desired.checks,
        &actual.checks,
        |c| c.name.as_deref(),
        |c: &CheckConstraint| normalize_expr(&c.sqltext),
        |c| {
            c.name
                .as_deref()
                .is_some_and(|n| is_auto_name(cx.backend, cx.table, n, &[], "check"))
        },
        |a, b| cx.same_name(a, b),
        true,
    );
    let mut names = taken_names(desired, actual);
    for a in old {
        let a = &actual.checks[a];
        let first = first_identifier(&a.sqltext);
        plan.drop_constraints.push(Op::DropCheck(DropCheck {
            table: cx.table.to_owned(),
            schema: cx.schema.clone(),
            name: a
                .name
                .clone()
                .unwrap_or_else(|| made_up_name("ck", cx.table, &first, &mut names.clone())),
            definition: Some(a.clone()),
        }));
    }
    for d in new {
        let mut check = desired.checks[d].clone();
        if check.name.is_none() {
            let first = first_identifier(&check.sqltext);
            check.name = Some(made_up_name("ck", cx.table, &first, &mut names));
        }
        plan.create_constraints.push(Op::CreateCheck(CreateCheck {
            table: cx.table.to_owned(),
            schema: cx.schema.clone(),
            check,
        }));
    }
}

/// Foreign keys: by columns, target and actions; names compared when both are real.
fn foreign_keys(cx: &Ctx<'_>, desired: &Table, actual: &Table, plan: &mut TablePlan) {
    let (new, old) = pair(
        &desired.foreign_keys,
        &actual.foreign_keys,
        |f| f.name.as_deref(),
        |f: &ForeignKey| foreign_key_key(cx.backend, f),
        |f| {
            f.name
                .as_deref()
                .is_some_and(|n| is_auto_name(cx.backend, cx.table, n, &f.columns, "fkey"))
        },
        |a, b| cx.same_name(a, b),
        false,
    );
    let mut names = taken_names(desired, actual);
    for a in old {
        let a = &actual.foreign_keys[a];
        plan.drop_foreign_keys
            .push(Op::DropForeignKey(DropForeignKey {
                table: cx.table.to_owned(),
                schema: cx.schema.clone(),
                name: a
                    .name
                    .clone()
                    .unwrap_or_else(|| fk_name(cx.table, a, &mut names.clone())),
                definition: Some(a.clone()),
            }));
    }
    for d in new {
        let mut foreign_key = desired.foreign_keys[d].clone();
        if foreign_key.name.is_none() {
            foreign_key.name = Some(fk_name(cx.table, &foreign_key, &mut names));
        }
        plan.create_foreign_keys
            .push(Op::CreateForeignKey(CreateForeignKey {
                table: cx.table.to_owned(),
                schema: cx.schema.clone(),
                foreign_key,
            }));
    }
}

/// Pairs desired with actual entries. First by equal names (with `by_name_only`, equal
/// names pair whatever the definitions), then by equal keys where the names do not
/// contradict each other (one side unnamed, or the actual name made up by the database).
/// Returns the unpaired desired and actual indexes.
fn pair<T>(
    desired: &[T],
    actual: &[T],
    name: impl Fn(&T) -> Option<&str>,
    key: impl Fn(&T) -> String,
    auto_named: impl Fn(&T) -> bool,
    same_name: impl Fn(&str, &str) -> bool,
    by_name_only: bool,
) -> (Vec<usize>, Vec<usize>) {
    let d_keys: Vec<String> = desired.iter().map(&key).collect();
    let a_keys: Vec<String> = actual.iter().map(&key).collect();
    let mut d_done = vec![false; desired.len()];
    let mut a_done = vec![false; actual.len()];
    for (i, d) in desired.iter().enumerate() {
        let Some(n) = name(d) else { continue };
        if let Some(j) = (0..actual.len()).find(|&j| {
            !a_done[j]
                && name(&actual[j]).is_some_and(|a| same_name(n, a))
                && (by_name_only || a_keys[j] == d_keys[i])
        }) {
            d_done[i] = true;
            a_done[j] = true;
        }
    }
    for (i, d) in desired.iter().enumerate() {
        if d_done[i] {
            continue;
        }
        let compatible = |a: &T| match (name(d), name(a)) {
            (None, _) | (_, None) => true,
            (Some(x), Some(y)) => same_name(x, y) || auto_named(a),
        };
        if let Some(j) = (0..actual.len())
            .find(|&j| !a_done[j] && a_keys[j] == d_keys[i] && compatible(&actual[j]))
        {
            d_done[i] = true;
            a_done[j] = true;
        }
    }
    (
        (0..desired.len()).filter(|&i| !d_done[i]).collect(),
        (0..actual.len()).filter(|&j| !a_done[j]).collect(),
    )
}

/// Constraint and index names used on either side.
fn taken_names(desired: &Table, actual: &Table) -> HashSet<String> {
    let mut names = HashSet::new();
    for t in [desired, actual] {
        names.extend(t.indexes.iter().map(|i| i.name.clone()));
        names.extend(t.uniques.iter().filter_map(|u| u.name.clone()));
        names.extend(t.checks.iter().filter_map(|c| c.name.clone()));
        names.extend(t.foreign_keys.iter().filter_map(|f| f.name.clone()));
    }
    names
}

fn fk_name(table: &str, fk: &ForeignKey, names: &mut HashSet<String>) -> String {
    let mut parts = fk.columns.iter().take(1).cloned().collect::<Vec<_>>();
    parts.push(fk.ref_table.clone());
    made_up_name("fk", table, &parts, names)
}

/// A name for a constraint the models leave unnamed, so its `create_*` op can be
/// inverted: SQLAlchemy's convention (`uq_users_email`, `fk_posts_user_id_users`),
/// shortened with a hash past 60 characters (PostgreSQL keeps 63, MySQL 64) and made
/// unique within the table.
fn made_up_name(
    prefix: &str,
    table: &str,
    parts: &[String],
    names: &mut HashSet<String>,
) -> String {
    let mut base = format!("{prefix}_{table}");
    for p in parts {
        base.push('_');
        base.push_str(p);
    }
    if base.chars().count() > 60 {
        let hash = fnv1a(&base);
        base = format!("{}_{hash:08x}", base.chars().take(51).collect::<String>());
    }
    let mut name = base.clone();
    let mut n = 1;
    while names.contains(&name) {
        n += 1;
        name = format!("{base}_{n}");
    }
    names.insert(name.clone());
    name
}

fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The first identifier of an expression, for check names (`price >= 0` -> `price`).
fn first_identifier(text: &str) -> Vec<String> {
    use crate::introspect::sqltext::{TokenKind, is_bare_identifier, tokenize};
    let tokens = tokenize(text);
    tokens
        .iter()
        .enumerate()
        .find(|(k, t)| {
            matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent)
                && t.ident().is_some_and(|i| is_bare_identifier(&i))
                && !t.text.chars().all(|c| c.is_ascii_digit())
                && tokens
                    .get(k + 1)
                    .is_none_or(|n| n.kind != TokenKind::LParen)
        })
        .and_then(|(_, t)| t.ident())
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_names_are_short_and_unique() {
        let mut names = HashSet::new();
        let a = made_up_name("uq", "users", &["email".into()], &mut names);
        let b = made_up_name("uq", "users", &["email".into()], &mut names);
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("uq_users_email", "uq_users_email_2")
        );
        let long = made_up_name("fk", &"t".repeat(70), &["c".into()], &mut names);
        assert_eq!(long.chars().count(), 60);
        assert_eq!(first_identifier("(\"price\" >= 0)"), ["price"]);
        assert!(first_identifier("1 = 1").is_empty());
        assert_eq!(first_identifier("length(name) > 0"), ["name"]);
    }

    #[test]
    fn pairing_prefers_names_then_definitions() {
        let u = |name: Option<&str>, cols: &[&str]| UniqueConstraint {
            name: name.map(str::to_owned),
            columns: cols.iter().map(|c| (*c).to_owned()).collect(),
        };
        let desired = [
            u(None, &["a"]),
            u(Some("uq_b"), &["b"]),
            u(Some("uq_c"), &["c"]),
        ];
        let actual = [
            u(Some("t_a_key"), &["a"]),
            u(Some("uq_b"), &["b", "x"]),
            u(Some("other"), &["c"]),
        ];
        let (new, old) = pair(
            &desired,
            &actual,
            |u| u.name.as_deref(),
            |u| format!("{:?}", u.columns),
            |u| u.name.as_deref().is_some_and(|n| n.ends_with("_key")),
            |a, b| a == b,
            false,
        );
        assert_eq!(new, [1, 2]);
        assert_eq!(old, [1, 2]);
    }
}
