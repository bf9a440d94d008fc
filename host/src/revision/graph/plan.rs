//! Upgrade, downgrade and stamp plans, and the version-table rows each step changes.
//!
//! Input: the rows of the version table (one per current head) and a target.
//! Output: ordered [`Step`]s / [`StampStep`]s, each carrying the INSERT / UPDATE /
//! DELETE of version rows Alembic's `HeadMaintainer` would run after it: a new branch
//! inserts a row, a merge deletes all but one parent row and updates the last, an
//! unmerge inserts rows and updates one, leaving a branch deletes its row. Rows that
//! hold a replaced id are matched through the replacing revision.

use std::fmt;

use serde::Serialize;

use super::error::PlanKind;
use super::resolve::{Pos, command_level};
use super::spec::RevSpec;
use super::traverse::{IterateOptions, Rel};
use super::{GraphError, Ix, RevisionGraph};

/// Which way a step moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Up,
    Down,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Up => "upgrade",
            Direction::Down => "downgrade",
        })
    }
}

/// One statement against the version table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionChange {
    /// `INSERT INTO version_table (version_num) VALUES (..)`
    Insert(String),
    /// `UPDATE version_table SET version_num = to WHERE version_num = from`
    Update { from: String, to: String },
    /// `DELETE FROM version_table WHERE version_num = ..`
    Delete(String),
}

/// One migration to run: a revision's upgrade or downgrade, then its version rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub revision: String,
    pub direction: Direction,
    /// The revision's `down_revision`s (for `upgrade a -> b` style logging).
    pub down_revisions: Vec<String>,
    /// Version-table statements to run after the migration, in order.
    pub version_changes: Vec<VersionChange>,
}

impl Step {
    /// Revisions the step moves from (Alembic `from_revisions_no_deps`).
    pub fn from_revisions(&self) -> Vec<&str> {
        match self.direction {
            Direction::Up => self.down_revisions.iter().map(String::as_str).collect(),
            Direction::Down => vec![self.revision.as_str()],
        }
    }

    /// Revisions the step moves to (Alembic `to_revisions_no_deps`).
    pub fn to_revisions(&self) -> Vec<&str> {
        match self.direction {
            Direction::Up => vec![self.revision.as_str()],
            Direction::Down => self.down_revisions.iter().map(String::as_str).collect(),
        }
    }
}

/// One stamp movement: version rows only, no migration runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StampStep {
    /// Current revisions this movement replaces (empty for a new branch).
    pub from: Vec<String>,
    /// Revisions it stamps (empty when stamping to base).
    pub to: Vec<String>,
    pub direction: Direction,
    /// A branch appears or disappears (insert or delete rather than update).
    pub branch_move: bool,
    pub version_changes: Vec<VersionChange>,
}

/// Applies one statement to `rows` the way the database would, refusing statements that
/// would not match exactly one row (Alembic's "expected to match one row").
pub fn apply_version_change(
    rows: &mut Vec<String>,
    change: &VersionChange,
) -> Result<(), GraphError> {
    match change {
        VersionChange::Insert(v) => {
            if rows.contains(v) {
                return Err(GraphError::VersionPresent { version: v.clone() });
            }
            rows.push(v.clone());
        }
        VersionChange::Delete(v) => {
            let pos = rows
                .iter()
                .position(|r| r == v)
                .ok_or_else(|| GraphError::VersionMissing { version: v.clone() })?;
            rows.remove(pos);
        }
        VersionChange::Update { from, to } => {
            if from != to && rows.contains(to) {
                return Err(GraphError::VersionPresent {
                    version: to.clone(),
                });
            }
            let pos =
                rows.iter()
                    .position(|r| r == from)
                    .ok_or_else(|| GraphError::VersionMissing {
                        version: from.clone(),
                    })?;
            rows[pos] = to.clone();
        }
    }
    Ok(())
}

/// Applies several statements in order.
pub fn apply_version_changes(
    rows: &mut Vec<String>,
    changes: &[VersionChange],
) -> Result<(), GraphError> {
    changes
        .iter()
        .try_for_each(|c| apply_version_change(rows, c))
}

/// The version table during planning: rows as stored, each with the revision it
/// resolves to (a replaced id resolves to its replacement).
struct Rows<'g> {
    graph: &'g RevisionGraph,
    rows: Vec<(String, Ix)>,
    changes: Vec<VersionChange>,
}

impl<'g> Rows<'g> {
    fn new(graph: &'g RevisionGraph, current: &[String]) -> Result<Self, GraphError> {
        let mut rows: Vec<(String, Ix)> = Vec::with_capacity(current.len());
        for raw in current {
            let ix = match graph.lookup_key(raw) {
                Some(ix) => ix,
                None => graph.revision_for_ident(Some(raw), None)?.ok_or_else(|| {
                    GraphError::NotFound {
                        identifier: raw.clone(),
                    }
                })?,
            };
            if !rows.iter().any(|(r, _)| r == raw) {
                rows.push((raw.clone(), ix));
            }
        }
        Ok(Rows {
            graph,
            rows,
            changes: Vec::new(),
        })
    }

    fn contains(&self, ix: Ix) -> bool {
        self.rows.iter().any(|&(_, r)| r == ix)
    }

    fn heads(&self) -> Vec<Ix> {
        self.rows.iter().map(|&(_, r)| r).collect()
    }

    fn missing(&self, ix: Ix) -> GraphError {
        GraphError::VersionMissing {
            version: self.graph.id(ix).to_string(),
        }
    }

    fn insert(&mut self, ix: Ix) -> Result<(), GraphError> {
        let id = self.graph.id(ix).to_string();
        if self.contains(ix) {
            return Err(GraphError::VersionPresent { version: id });
        }
        self.rows.push((id.clone(), ix));
        self.changes.push(VersionChange::Insert(id));
        Ok(())
    }

    fn delete(&mut self, ix: Ix) -> Result<(), GraphError> {
        let pos = self
            .rows
            .iter()
            .position(|&(_, r)| r == ix)
            .ok_or_else(|| self.missing(ix))?;
        let (raw, _) = self.rows.remove(pos);
        self.changes.push(VersionChange::Delete(raw));
        Ok(())
    }

    fn update(&mut self, from: Ix, to: Ix) -> Result<(), GraphError> {
        if self.contains(to) {
            return Err(GraphError::VersionPresent {
                version: self.graph.id(to).to_string(),
            });
        }
        let pos = self
            .rows
            .iter()
            .position(|&(_, r)| r == from)
            .ok_or_else(|| self.missing(from))?;
        let id = self.graph.id(to).to_string();
        let raw = std::mem::replace(&mut self.rows[pos], (id.clone(), to)).0;
        self.changes
            .push(VersionChange::Update { from: raw, to: id });
        Ok(())
    }

    fn take_changes(&mut self) -> Vec<VersionChange> {
        std::mem::take(&mut self.changes)
    }

    /// Alembic's `HeadMaintainer.update_to_step` for a `RevisionStep`.
    fn apply_revision(&mut self, rev: Ix, direction: Direction) -> Result<(), GraphError> {
        let g = self.graph;
        let links = &g.links[rev];
        let downs = &links.norm_down;
        let up = direction == Direction::Up;
        let in_heads = self.contains(rev);
        if !up && in_heads && (downs.is_empty() || self.unmerge_targets(rev).is_empty()) {
            // Leaving a branch (a base, or parents implied by other heads).
            return self.delete(rev);
        }
        if up && (downs.is_empty() || !downs.iter().any(|&d| self.contains(d))) {
            // A new branch (a base, or a revision whose parents are implied, not rows).
            return self.insert(rev);
        }
        if up && downs.len() > 1 && downs.iter().filter(|&&d| self.contains(d)).count() > 1 {
            // Merge: delete all but one parent row, update that one.
            let other_heads: Vec<Ix> = self
                .heads()
                .into_iter()
                .filter(|h| !downs.contains(h))
                .collect();
            let implied = g.related(&other_heads, Rel::AncestorsNormalized);
            let merged: Vec<Ix> = downs
                .iter()
                .copied()
                .filter(|&d| self.contains(d) && !implied.contains(d))
                .collect();
            let Some((&kept, deleted)) = merged.split_first() else {
                return Err(GraphError::AmbiguousVersionUpdate {
                    revision: g.id(rev).to_string(),
                });
            };
            for &d in deleted {
                self.delete(d)?;
            }
            return self.update(kept, rev);
        }
        if !up && in_heads && downs.len() > 1 {
            // Unmerge: insert rows for all but one parent, update this row to that one.
            let targets = self.unmerge_targets(rev);
            let Some((&kept, inserted)) = targets.split_first() else {
                return self.delete(rev);
            };
            for &i in inserted {
                self.insert(i)?;
            }
            return self.update(rev, kept);
        }
        let down = if downs.len() == 1 {
            downs[0]
        } else {
            let present: Vec<Ix> = downs
                .iter()
                .copied()
                .filter(|&d| self.contains(d))
                .collect();
            match present.as_slice() {
                [one] => *one,
                _ => {
                    return Err(GraphError::AmbiguousVersionUpdate {
                        revision: g.id(rev).to_string(),
                    });
                }
            }
        };
        if up {
            self.update(down, rev)
        } else {
            self.update(rev, down)
        }
    }

    /// Alembic's `_unmerge_to_revisions`: the parents that need a row once `rev` goes,
    /// leaving out those another head (or another parent) already implies.
    fn unmerge_targets(&self, rev: Ix) -> Vec<Ix> {
        let g = self.graph;
        let downs = &g.links[rev].norm_down;
        let other_heads: Vec<Ix> = self.heads().into_iter().filter(|&h| h != rev).collect();
        if !other_heads.is_empty() {
            let implied = g.related(&other_heads, Rel::AncestorsNormalized);
            return downs
                .iter()
                .copied()
                .filter(|&d| !implied.contains(d))
                .collect();
        }
        if downs.len() <= 1 {
            // A single parent cannot be implied by itself; skip the walk so a long
            // downgrade stays linear.
            return downs.clone();
        }
        let mut implied = super::Marks::new(g.len());
        for &d in downs {
            for a in g.related(&[d], Rel::AncestorsNormalized).iter() {
                if a != d {
                    implied.insert(a);
                }
            }
        }
        downs
            .iter()
            .copied()
            .filter(|&d| !implied.contains(d))
            .collect()
    }

    /// Alembic's `HeadMaintainer.update_to_step` for a `StampStep`.
    fn apply_stamp(
        &mut self,
        from: &[Ix],
        to: &[Ix],
        direction: Direction,
        branch_move: bool,
    ) -> Result<(), GraphError> {
        let up = direction == Direction::Up;
        if !up && branch_move {
            return match from.first() {
                Some(&f) => self.delete(f),
                None => Ok(()),
            };
        }
        let from_missing = from.iter().any(|&f| !self.contains(f));
        let to_missing = to.iter().any(|&t| !self.contains(t));
        if up && (branch_move || from_missing) && to_missing {
            return match to.first() {
                Some(&t) => self.insert(t),
                None => Ok(()),
            };
        }
        if from.len() > 1 {
            let (&last, deleted) = from.split_last().expect("len > 1");
            for &d in deleted {
                self.delete(d)?;
            }
            return match to.first() {
                Some(&t) => self.update(last, t),
                None => self.delete(last),
            };
        }
        if to.len() > 1 {
            let (&last, inserted) = to.split_last().expect("len > 1");
            for &i in inserted {
                self.insert(i)?;
            }
            return match from.first() {
                Some(&f) => self.update(f, last),
                None => self.insert(last),
            };
        }
        match (from.first(), to.first()) {
            (Some(&f), Some(&t)) => self.update(f, t),
            (Some(&f), None) => self.delete(f),
            (None, Some(&t)) => self.insert(t),
            (None, None) => Ok(()),
        }
    }
}

impl RevisionGraph {
    /// Plans `upgrade <target>` from the version-table rows `current_heads`
    /// (Alembic `_upgrade_revs`): parents before children.
    pub fn plan_upgrade(
        &self,
        current_heads: &[String],
        target: &str,
    ) -> Result<Vec<Step>, GraphError> {
        let order = self
            .iterate_indices(
                &RevSpec::from(target),
                &RevSpec::from(current_heads),
                IterateOptions {
                    implicit_base: true,
                    ..IterateOptions::default()
                },
            )
            .map_err(|e| plan_error(e, target, PlanKind::Upgrade))?;
        self.steps(current_heads, order.into_iter().rev(), Direction::Up)
    }

    /// Plans `downgrade <target>` from the version-table rows `current_heads`
    /// (Alembic `_downgrade_revs`): children before parents.
    pub fn plan_downgrade(
        &self,
        current_heads: &[String],
        target: &str,
    ) -> Result<Vec<Step>, GraphError> {
        let order = self
            .iterate_indices(
                &RevSpec::from(current_heads),
                &RevSpec::from(target),
                IterateOptions {
                    select_for_downgrade: true,
                    ..IterateOptions::default()
                },
            )
            .map_err(|e| plan_error(e, target, PlanKind::Downgrade))?;
        self.steps(current_heads, order.into_iter(), Direction::Down)
    }

    /// The version-table statements that running `revision` in `direction` needs when the
    /// table holds `rows` (what Alembic's `HeadMaintainer` decides at run time).
    pub fn version_changes(
        &self,
        rows: &[String],
        revision: &str,
        direction: Direction,
    ) -> Result<Vec<VersionChange>, GraphError> {
        let ix = self
            .lookup_key(revision)
            .ok_or_else(|| GraphError::NotFound {
                identifier: revision.to_string(),
            })?;
        let mut table = Rows::new(self, rows)?;
        table.apply_revision(ix, direction)?;
        Ok(table.take_changes())
    }

    pub(super) fn steps(
        &self,
        current_heads: &[String],
        order: impl Iterator<Item = Ix>,
        direction: Direction,
    ) -> Result<Vec<Step>, GraphError> {
        let mut table = Rows::new(self, current_heads)?;
        let mut steps = Vec::new();
        for ix in order {
            table.apply_revision(ix, direction)?;
            steps.push(Step {
                revision: self.id(ix).to_string(),
                direction,
                down_revisions: self
                    .ids_of(&self.links[ix].down)
                    .into_iter()
                    .map(String::from)
                    .collect(),
                version_changes: table.take_changes(),
            });
        }
        Ok(steps)
    }

    /// Plans `stamp <targets...>` (Alembic `_stamp_revs`): version rows only. With
    /// `purge`, plans from an empty table; the caller deletes every row first.
    pub fn plan_stamp(
        &self,
        current_heads: &[String],
        targets: &[&str],
        purge: bool,
    ) -> Result<Vec<StampStep>, GraphError> {
        let current: &[String] = if purge { &[] } else { current_heads };
        self.stamp_steps(current, targets).map_err(|e| match e {
            GraphError::MultipleHeads { heads, .. } => GraphError::StampMultipleHeads { heads },
            other => other,
        })
    }

    fn stamp_steps(
        &self,
        current: &[String],
        targets: &[&str],
    ) -> Result<Vec<StampStep>, GraphError> {
        let targets: Vec<&str> = if targets.iter().all(|t| t.is_empty()) {
            vec!["base"]
        } else {
            targets.to_vec()
        };
        let heads_revs =
            super::traverse::revisions_only(self.get_revisions(&RevSpec::from(current))?);
        let mut filtered: Vec<Ix> = Vec::new();
        for target in targets.iter().filter(|t| !t.is_empty()) {
            for ix in self.filter_for_lineage(&heads_revs, target, true)? {
                if !filtered.contains(&ix) {
                    filtered.push(ix);
                }
            }
        }
        let mut dests = self.get_revisions(&RevSpec::from(targets.as_slice()))?;
        if dests.is_empty() {
            dests.push(None);
        }
        let mut table = Rows::new(self, current)?;
        let mut steps = Vec::new();
        for dest in dests {
            let (from, to, direction, branch_move): (Vec<Ix>, Vec<Ix>, Direction, bool) = match dest
            {
                None | Some(Pos::Base) => {
                    // To base: delete every applicable head.
                    for &head in &filtered {
                        self.push_stamp(
                            &mut table,
                            &mut steps,
                            vec![head],
                            vec![],
                            Direction::Down,
                            true,
                        )?;
                    }
                    continue;
                }
                Some(Pos::Rev(d)) if filtered.contains(&d) => continue,
                Some(Pos::Rev(d)) => {
                    let descendants = self.related(&[d], Rel::DescendantsAll);
                    let ancestors = self.related(&[d], Rel::AncestorsNormalized);
                    if filtered.iter().any(|&h| descendants.contains(h)) {
                        // Heads above the target: one downward movement, like a merge.
                        (filtered.clone(), vec![d], Direction::Down, false)
                    } else if filtered.iter().any(|&h| ancestors.contains(h)) {
                        (filtered.clone(), vec![d], Direction::Up, false)
                    } else {
                        // A branch not represented yet.
                        (vec![], vec![d], Direction::Up, true)
                    }
                }
            };
            self.push_stamp(&mut table, &mut steps, from, to, direction, branch_move)?;
        }
        Ok(steps)
    }

    fn push_stamp(
        &self,
        table: &mut Rows<'_>,
        steps: &mut Vec<StampStep>,
        from: Vec<Ix>,
        to: Vec<Ix>,
        direction: Direction,
        branch_move: bool,
    ) -> Result<(), GraphError> {
        table.apply_stamp(&from, &to, direction, branch_move)?;
        let names =
            |v: &[Ix]| -> Vec<String> { v.iter().map(|&ix| self.id(ix).to_string()).collect() };
        steps.push(StampStep {
            from: names(&from),
            to: names(&to),
            direction,
            branch_move,
            version_changes: table.take_changes(),
        });
        Ok(())
    }
}

/// Command-level messages for planning errors (Alembic's `_catch_revision_errors`).
fn plan_error(error: GraphError, destination: &str, kind: PlanKind) -> GraphError {
    match error {
        GraphError::RangeNotAncestor { .. } => GraphError::InvalidDestination {
            destination: destination.to_string(),
            kind,
        },
        other => command_level(other, destination),
    }
}
