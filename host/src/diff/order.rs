//! Foreign-key dependency order of a set of tables.
//!
//! Input: tables to create (or drop). Output: an order in which every table comes after
//! the tables of the set it references, and the foreign keys that cannot be satisfied
//! that way because they close a cycle: the caller creates those after all tables (and
//! drops them before any). Self-references and references to tables outside the set
//! impose nothing. Ties are broken by (schema, name), so the order is deterministic.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::schema::Table;

/// The order of `tables` (indexes into it) and the deferred foreign keys as
/// `(table index, foreign-key index)`. With `split_cycles = false` (SQLite, which
/// accepts forward references in `CREATE TABLE`) nothing is deferred.
pub(super) fn creation_order(
    tables: &[&Table],
    split_cycles: bool,
) -> (Vec<usize>, Vec<(usize, usize)>) {
    let n = tables.len();
    let key = |t: &Table| (t.schema.clone(), t.name.clone());
    let index: HashMap<(Option<String>, String), usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (key(t), i))
        .collect();
    let refs = |i: usize| -> Vec<(usize, usize)> {
        tables[i]
            .foreign_keys
            .iter()
            .enumerate()
            .filter_map(|(f, fk)| {
                let target = (fk.ref_schema.clone(), fk.ref_table.clone());
                index
                    .get(&target)
                    .copied()
                    .filter(|&j| j != i)
                    .map(|j| (f, j))
            })
            .collect()
    };
    let mut waiting = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, count) in waiting.iter_mut().enumerate() {
        let deps: HashSet<usize> = refs(i).into_iter().map(|(_, j)| j).collect();
        *count = deps.len();
        for j in deps {
            dependents[j].push(i);
        }
    }
    let sort_key = |i: usize| (tables[i].schema.clone(), tables[i].name.clone(), i);
    let mut ready: BTreeSet<(Option<String>, String, usize)> =
        (0..n).filter(|&i| waiting[i] == 0).map(sort_key).collect();
    let mut by_name: Vec<usize> = (0..n).collect();
    by_name.sort_by_key(|&i| sort_key(i));
    let mut cursor = 0;
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    let mut deferred = Vec::new();
    while order.len() < n {
        let next = match ready.pop_first() {
            Some((_, _, i)) => i,
            None => {
                // A cycle: place the first remaining table and defer its references to
                // tables not placed yet.
                while placed[by_name[cursor]] {
                    cursor += 1;
                }
                let i = by_name[cursor];
                if split_cycles {
                    for (f, j) in refs(i) {
                        if !placed[j] {
                            deferred.push((i, f));
                        }
                    }
                }
                i
            }
        };
        if placed[next] {
            continue;
        }
        placed[next] = true;
        order.push(next);
        for &d in &dependents[next] {
            waiting[d] = waiting[d].saturating_sub(1);
            if waiting[d] == 0 && !placed[d] {
                ready.insert(sort_key(d));
            }
        }
    }
    (order, deferred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ColumnType, ForeignKey};

    fn table(name: &str, refs: &[&str]) -> Table {
        Table {
            columns: vec![Column::primary("id", ColumnType::Integer)],
            foreign_keys: refs
                .iter()
                .map(|r| ForeignKey {
                    columns: vec![format!("{r}_id")],
                    ref_table: (*r).to_owned(),
                    ref_columns: vec!["id".into()],
                    ..ForeignKey::default()
                })
                .collect(),
            ..Table::new(name)
        }
    }

    fn names(tables: &[&Table], order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| tables[i].name.clone()).collect()
    }

    #[test]
    fn referenced_tables_come_first() {
        let (a, b, c) = (
            table("a", &["c"]),
            table("b", &[]),
            table("c", &["b", "outside"]),
        );
        let tables = [&a, &b, &c];
        let (order, deferred) = creation_order(&tables, true);
        assert_eq!(names(&tables, &order), ["b", "c", "a"]);
        assert!(deferred.is_empty());
    }

    #[test]
    fn cycles_defer_the_closing_foreign_key() {
        let (a, b, s) = (table("a", &["b"]), table("b", &["a"]), table("s", &["s"]));
        let tables = [&b, &a, &s];
        let (order, deferred) = creation_order(&tables, true);
        assert_eq!(names(&tables, &order), ["s", "a", "b"]);
        assert_eq!(deferred, [(1, 0)], "a's key to b waits");
        let (order, deferred) = creation_order(&tables, false);
        assert_eq!(names(&tables, &order), ["s", "a", "b"]);
        assert!(deferred.is_empty());
    }
}
