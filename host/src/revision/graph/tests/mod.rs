//! Tests of the revision graph: ports of Alembic's `tests/test_revision.py` and
//! `tests/test_version_traversal.py` (one module per Alembic test class, one test per
//! Alembic test method, same names), plus our own cases and property tests.

mod large_map;
mod own;
mod properties;
mod test_command;
mod test_revision;
mod test_version_traversal;

use std::collections::BTreeSet;

use super::*;

/// Alembic's `Revision(id, down_revision)`.
pub(super) fn rev(id: &str, down: &[&str]) -> RevisionNode {
    RevisionNode::new(id, down)
}

/// Alembic's `RevisionMap(lambda: [...])`, which must be valid.
pub(super) fn map(nodes: Vec<RevisionNode>) -> RevisionGraph {
    match RevisionGraph::new(nodes) {
        Ok(g) => g,
        Err(e) => panic!("invalid test graph: {e}"),
    }
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub(super) fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Options for `assert_iteration`, defaulting like Alembic's `_assert_iteration`
/// (inclusive=True).
#[derive(Clone, Copy)]
pub(super) struct It {
    pub inclusive: bool,
    pub implicit_base: bool,
    pub select_for_downgrade: bool,
}

pub(super) const IT: It = It {
    inclusive: true,
    implicit_base: false,
    select_for_downgrade: false,
};

/// Alembic's `DownIterateTest._assert_iteration`: the exact order, which must also
/// respect every `down_revision`/dependency edge.
pub(super) fn assert_iteration(
    g: &RevisionGraph,
    upper: impl Into<RevSpec>,
    lower: impl Into<RevSpec>,
    expected: &[&str],
    it: It,
) {
    let result = iterate(g, upper, lower, it).unwrap_or_else(|e| panic!("iteration failed: {e}"));
    assert_conforms_partial_ordering(g, &result);
    assert_eq!(result, strings(expected));
}

pub(super) fn iterate(
    g: &RevisionGraph,
    upper: impl Into<RevSpec>,
    lower: impl Into<RevSpec>,
    it: It,
) -> Result<Vec<String>, GraphError> {
    let r = g.iterate_revisions(
        &upper.into(),
        &lower.into(),
        IterateOptions {
            inclusive: it.inclusive,
            implicit_base: it.implicit_base,
            assert_relative_length: true,
            select_for_downgrade: it.select_for_downgrade,
        },
    )?;
    Ok(r.into_iter().map(String::from).collect())
}

/// Children come before their (normalized) parents in an iteration.
pub(super) fn assert_conforms_partial_ordering(g: &RevisionGraph, order: &[String]) {
    let pos = |id: &str| order.iter().position(|o| o == id);
    for node in g.nodes() {
        let Some(child) = pos(&node.id) else { continue };
        let ix = g.ids[&node.id];
        for &parent in &g.links[ix].norm_down {
            if let Some(p) = pos(g.id(parent)) {
                assert!(
                    child < p,
                    "{} must come before its parent {}",
                    node.id,
                    g.id(parent)
                );
            }
        }
    }
}

/// Asserts that `f` fails with a message containing `needle`.
pub(super) fn assert_err_contains<T: std::fmt::Debug>(r: Result<T, GraphError>, needle: &str) {
    match r {
        Ok(v) => panic!("expected an error containing {needle:?}, got {v:?}"),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(needle),
                "error {msg:?} does not contain {needle:?}"
            );
        }
    }
}

/// A step expectation: `up("b")` / `down("b")`.
pub(super) fn up(id: &str) -> (String, Direction) {
    (id.to_string(), Direction::Up)
}

pub(super) fn down(id: &str) -> (String, Direction) {
    (id.to_string(), Direction::Down)
}

/// Applies the planned version changes to `start`, checks they agree with a fresh
/// computation per step (Alembic decides at run time), returns the rows as a set.
pub(super) fn run_steps(g: &RevisionGraph, start: &[String], steps: &[Step]) -> BTreeSet<String> {
    let mut rows = start.to_vec();
    rows.dedup();
    for step in steps {
        let fresh = g
            .version_changes(&rows, &step.revision, step.direction)
            .unwrap_or_else(|e| panic!("version changes for {}: {e}", step.revision));
        assert_eq!(fresh, step.version_changes, "step {}", step.revision);
        apply_version_changes(&mut rows, &step.version_changes)
            .unwrap_or_else(|e| panic!("applying {}: {e}", step.revision));
    }
    let out: BTreeSet<String> = rows.iter().cloned().collect();
    assert_eq!(out.len(), rows.len(), "duplicate version rows {rows:?}");
    out
}

/// Alembic's `MigrationTest._assert_upgrade`.
pub(super) fn assert_upgrade(
    g: &RevisionGraph,
    destination: &str,
    source: &[&str],
    expected: &[(String, Direction)],
    expected_heads: &[&str],
) {
    let source = strings(source);
    let steps = g
        .plan_upgrade(&source, destination)
        .unwrap_or_else(|e| panic!("upgrade {destination}: {e}"));
    let got: Vec<(String, Direction)> = steps
        .iter()
        .map(|s| (s.revision.clone(), s.direction))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(run_steps(g, &source, &steps), set(expected_heads));
}

/// Alembic's `MigrationTest._assert_downgrade`.
pub(super) fn assert_downgrade(
    g: &RevisionGraph,
    destination: &str,
    source: &[&str],
    expected: &[(String, Direction)],
    expected_heads: &[&str],
) {
    let source = strings(source);
    let steps = g
        .plan_downgrade(&source, destination)
        .unwrap_or_else(|e| panic!("downgrade {destination}: {e}"));
    let got: Vec<(String, Direction)> = steps
        .iter()
        .map(|s| (s.revision.clone(), s.direction))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(run_steps(g, &source, &steps), set(expected_heads));
}

/// Applies stamp steps to `start` and returns the rows as a set.
pub(super) fn run_stamp(start: &[&str], steps: &[StampStep]) -> BTreeSet<String> {
    let mut rows = strings(start);
    for step in steps {
        apply_version_changes(&mut rows, &step.version_changes)
            .unwrap_or_else(|e| panic!("stamp: {e}"));
    }
    rows.into_iter().collect()
}
