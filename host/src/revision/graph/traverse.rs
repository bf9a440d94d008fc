//! Walking the graph: ancestor/descendant closures, Alembic's topological sort, and
//! the revision sets an upgrade or downgrade between two arguments covers.
//!
//! Input: resolved revision indices or [`RevSpec`] arguments. Output: revisions in the
//! order Alembic's `iterate_revisions` yields them (children before parents). Closures
//! use a bitmap over revision indices, so every walk is linear in the graph size.

use super::resolve::Pos;
use super::spec::RevSpec;
use super::{GraphError, Ix, RevisionGraph};

/// A set of revision indices; iterates in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Marks {
    bits: Vec<bool>,
}

impl Marks {
    pub fn new(len: usize) -> Self {
        Marks {
            bits: vec![false; len],
        }
    }

    /// Inserts `ix`; false when it was already present.
    pub fn insert(&mut self, ix: Ix) -> bool {
        !std::mem::replace(&mut self.bits[ix], true)
    }

    /// Removes `ix`; false when it was absent.
    pub fn remove(&mut self, ix: Ix) -> bool {
        std::mem::replace(&mut self.bits[ix], false)
    }

    pub fn contains(&self, ix: Ix) -> bool {
        self.bits[ix]
    }

    pub fn is_empty(&self) -> bool {
        !self.bits.iter().any(|&b| b)
    }

    pub fn iter(&self) -> impl Iterator<Item = Ix> + '_ {
        self.bits
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(ix, _)| ix)
    }

    pub fn union_with(&mut self, other: &Marks) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a |= *b;
        }
    }

    pub fn intersect_with(&mut self, other: &Marks) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a &= *b;
        }
    }

    pub fn subtract(&mut self, other: &Marks) {
        for (a, b) in self.bits.iter_mut().zip(&other.bits) {
            *a &= !*b;
        }
    }
}

/// Which edges a closure follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Rel {
    /// `down_revision` only (`include_dependencies=False`).
    AncestorsVersioned,
    /// `down_revision` + normalized `depends_on` (Alembic's default ancestor walk).
    AncestorsNormalized,
    /// `down_revision` + every `depends_on` (cycle detection).
    AncestorsAll,
    /// Children through `down_revision` only.
    DescendantsVersioned,
    /// Children through `down_revision` or `depends_on`.
    DescendantsAll,
}

/// Options of [`RevisionGraph::iterate_revisions`], Alembic's keyword arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IterateOptions {
    /// Also yield the lower revisions themselves.
    pub inclusive: bool,
    /// Also yield revisions on other branches (upgrade: dependencies from other bases;
    /// downgrade: wind other branches back to base).
    pub implicit_base: bool,
    /// Fail when a relative argument walks past the graph's edge.
    pub assert_relative_length: bool,
    /// Collect a downgrade (from `upper` = current heads down to `lower` = target).
    pub select_for_downgrade: bool,
}

impl Default for IterateOptions {
    fn default() -> Self {
        IterateOptions {
            inclusive: false,
            implicit_base: false,
            assert_relative_length: true,
            select_for_downgrade: false,
        }
    }
}

impl RevisionGraph {
    fn edges(&self, ix: Ix, rel: Rel) -> &[Ix] {
        let links = &self.links[ix];
        match rel {
            Rel::AncestorsVersioned => &links.down,
            Rel::AncestorsNormalized => &links.norm_down,
            Rel::AncestorsAll => &links.all_down,
            Rel::DescendantsVersioned => &links.next,
            Rel::DescendantsAll => &links.all_next,
        }
    }

    /// The closure of `starts` (included) along `rel`.
    pub(super) fn related(&self, starts: &[Ix], rel: Rel) -> Marks {
        let mut seen = Marks::new(self.nodes.len());
        let mut todo: Vec<Ix> = starts.to_vec();
        while let Some(ix) = todo.pop() {
            if seen.insert(ix) {
                todo.extend(self.edges(ix, rel).iter().copied());
            }
        }
        seen
    }

    /// [`Self::related`] with Alembic's `check=True`: fails when one start lies on
    /// another start's walk, naming the first start (in order) whose walk meets others.
    pub(super) fn related_checked(&self, starts: &[Ix], rel: Rel) -> Result<Marks, GraphError> {
        let mut seen = Marks::new(self.nodes.len());
        let mut is_start = Marks::new(self.nodes.len());
        for &s in starts {
            is_start.insert(s);
        }
        let mut popped: Vec<Ix> = Vec::new();
        for &target in starts {
            popped.clear();
            let mut todo = vec![target];
            while let Some(ix) = todo.pop() {
                popped.push(ix);
                if seen.insert(ix) {
                    todo.extend(self.edges(ix, rel).iter().copied());
                }
            }
            let mut others: Vec<Ix> = popped
                .iter()
                .copied()
                .filter(|&ix| ix != target && is_start.contains(ix))
                .collect();
            if !others.is_empty() {
                others.sort_unstable();
                others.dedup();
                return Err(GraphError::Overlap {
                    revision: self.id(target).to_string(),
                    others: others.iter().map(|&ix| self.id(ix).to_string()).collect(),
                });
            }
        }
        Ok(seen)
    }

    /// Alembic's `_topological_sort`: children before parents, depth-first along each
    /// branch, finishing every branch at its branch point before going below it; ties
    /// broken by input order.
    pub(super) fn topological_sort(&self, revisions: &Marks, heads: &[Ix]) -> Vec<Ix> {
        let mut todo = revisions.clone();
        let mut out = Vec::new();
        let mut current: Vec<Ix> = heads
            .iter()
            .copied()
            .filter(|&h| todo.contains(h))
            .collect();
        current.sort_unstable();
        current.dedup();
        loop {
            self.sort_from(&mut current, &mut todo, &mut out);
            if todo.is_empty() {
                return out;
            }
            // Alembic asserts that the heads reach every revision; when a head was
            // filtered out of the set, continue from the remaining tips instead.
            let mut tips = todo.clone();
            for ix in todo.iter() {
                for &d in &self.links[ix].norm_down {
                    tips.remove(d);
                }
            }
            current = tips.iter().collect();
            if current.is_empty() {
                // Only possible with a cycle, which `new` refuses.
                current = todo.iter().take(1).collect();
            }
        }
    }

    fn sort_from(&self, current: &mut Vec<Ix>, todo: &mut Marks, out: &mut Vec<Ix>) {
        let ancestors = |ix: Ix| self.related(&[ix], Rel::AncestorsNormalized);
        let mut ancestors_by_idx: Vec<Marks> = current.iter().map(|&h| ancestors(h)).collect();
        let mut idx = 0;
        while !current.is_empty() {
            let candidate = current[idx];
            // Another head depends on the candidate: that head goes first.
            if let Some(other) = ancestors_by_idx
                .iter()
                .enumerate()
                .position(|(j, anc)| j != idx && anc.contains(candidate))
            {
                idx = other;
                continue;
            }
            if todo.remove(candidate) {
                out.push(candidate);
            }
            let links = &self.links[candidate];
            let heads_to_add: Vec<Ix> = links
                .norm_down
                .iter()
                .copied()
                .filter(|&r| todo.contains(r) && !current.contains(&r))
                .collect();
            match heads_to_add.split_first() {
                None => {
                    current.remove(idx);
                    ancestors_by_idx.remove(idx);
                    idx = idx.saturating_sub(1);
                }
                Some((&first, rest)) => {
                    current[idx] = first;
                    if links.norm_deps.is_empty() && links.down.len() == 1 {
                        // Plain movement down a line: the ancestors are the same minus
                        // the revision just emitted.
                        ancestors_by_idx[idx].remove(candidate);
                    } else {
                        current.extend_from_slice(rest);
                        ancestors_by_idx[idx] = ancestors(first);
                        ancestors_by_idx.extend(rest.iter().map(|&h| ancestors(h)));
                    }
                }
            }
        }
    }

    /// Alembic's `RevisionMap.iterate_revisions`: the revisions between `upper` and
    /// `lower`, children first.
    pub fn iterate_revisions(
        &self,
        upper: &RevSpec,
        lower: &RevSpec,
        options: IterateOptions,
    ) -> Result<Vec<&str>, GraphError> {
        let order = self.iterate_indices(upper, lower, options)?;
        Ok(order.into_iter().map(|ix| self.id(ix)).collect())
    }

    pub(super) fn iterate_indices(
        &self,
        upper: &RevSpec,
        lower: &RevSpec,
        options: IterateOptions,
    ) -> Result<Vec<Ix>, GraphError> {
        let (revisions, heads) = if options.select_for_downgrade {
            self.collect_downgrade(upper, lower, options)?
        } else {
            self.collect_upgrade(upper, lower, options)?
        };
        Ok(self.topological_sort(&revisions, &heads))
    }

    /// Alembic's `walk_revisions(base, head)`: everything from `base` up to `head`,
    /// both included, children first (what `history` lists).
    pub fn walk_revisions(&self, base: &RevSpec, head: &RevSpec) -> Result<Vec<&str>, GraphError> {
        self.iterate_revisions(
            head,
            base,
            IterateOptions {
                inclusive: true,
                assert_relative_length: false,
                ..IterateOptions::default()
            },
        )
    }

    /// Alembic's `_collect_downgrade_revisions`: the revisions above the target that
    /// the current heads have applied.
    fn collect_downgrade(
        &self,
        upper: &RevSpec,
        lower: &RevSpec,
        options: IterateOptions,
    ) -> Result<(Marks, Vec<Ix>), GraphError> {
        let target = match lower {
            RevSpec::None => None,
            RevSpec::One(s) => Some(s.as_str()),
            RevSpec::Many(v) if v.is_empty() => None,
            RevSpec::Many(v) if v.len() == 1 => Some(v[0].as_str()),
            RevSpec::Many(v) => {
                return Err(GraphError::MultipleHeads {
                    argument: lower.to_string(),
                    heads: v.clone(),
                });
            }
        };
        let (branch_label, target_rev) =
            self.parse_downgrade_target(upper, target, options.assert_relative_length)?;
        let target_rev = match target_rev {
            Some(Pos::Rev(ix)) => Some(ix),
            Some(Pos::Base) | None => None,
        };
        let mut roots: Vec<Ix> = match target_rev {
            None => self.bases.clone(),
            Some(t) if options.inclusive => vec![t],
            Some(t) => self.links[t].next.clone(),
        };
        if let Some(label) = branch_label.as_deref()
            && roots.len() > 1
        {
            let branch = self.resolve_branch(label)?;
            let ancestors = self.related(&[branch], Rel::AncestorsVersioned);
            roots.retain(|&r| ancestors.contains(r));
            if roots.is_empty() {
                return Err(GraphError::InvalidDowngradeTarget);
            }
        }
        let heads = revisions_only(self.get_revisions(upper)?);
        let mut downgrade = self.related(&roots, Rel::DescendantsAll);
        let active = self.related(&heads, Rel::AncestorsNormalized);
        downgrade.intersect_with(&active);
        if options.implicit_base {
            let mut others = active;
            others.subtract(&self.related(&roots, Rel::AncestorsNormalized));
            downgrade.union_with(&others);
        }
        if let Some(t) = target_rev
            && downgrade.is_empty()
            && !heads.contains(&t)
        {
            return Err(GraphError::RangeNotAncestor {
                lower: "Nothing to drop".to_string(),
                upper: upper.to_string(),
            });
        }
        Ok((downgrade, heads))
    }

    /// Alembic's `_collect_upgrade_revisions`: what the targets need minus what the
    /// current revisions already have.
    fn collect_upgrade(
        &self,
        upper: &RevSpec,
        lower: &RevSpec,
        options: IterateOptions,
    ) -> Result<(Marks, Vec<Ix>), GraphError> {
        let mut targets = Vec::new();
        for target in self.parse_upgrade_target(lower, upper, options.assert_relative_length)? {
            match target {
                Some(Pos::Rev(ix)) => targets.push(ix),
                // Walking below a base: nothing to upgrade to.
                Some(Pos::Base) => {}
                None => return Err(GraphError::WalkedTooFar),
            }
        }
        // A named lower bound (`branch@...`) keeps only targets on that branch.
        if let Some(lower_str) = lower.as_str()
            && let Some((branch, _)) = lower_str.split_once('@')
        {
            let mut branch = branch.to_string();
            if let Some(branch_rev) = self.get_revision(&RevSpec::One(branch.clone()))?
                && self.id(branch_rev) == branch
            {
                // A revision id used as the branch: use its label instead.
                let labels = &self.links[branch_rev].labels;
                if labels.len() != 1 {
                    return Err(GraphError::AmbiguousBranchLabel {
                        revision: branch,
                        labels: labels
                            .iter()
                            .map(|&l| self.label_names[l].clone())
                            .collect(),
                    });
                }
                branch = self.label_names[labels[0]].clone();
            }
            targets.retain(|&t| self.has_label(t, &branch));
            targets.sort_unstable();
            targets.dedup();
        }
        let mut required = self.related_checked(&targets, Rel::AncestorsNormalized)?;
        for &t in &targets {
            required.insert(t);
        }
        let mut current = self.get_revisions(lower)?;
        if !options.implicit_base
            && current
                .iter()
                .flatten()
                .any(|p| !matches!(p, Pos::Rev(ix) if required.contains(*ix)))
        {
            return Err(GraphError::RangeNotAncestor {
                lower: lower.to_string(),
                upper: upper.to_string(),
            });
        }
        let mut lower = lower.clone();
        if matches!(current.first(), Some(None)) {
            // `lower` was relative and walked off the graph; resolve it as a downgrade
            // target instead (Alembic's special case).
            let target = lower.as_str().map(str::to_string);
            let (_, rev) = self.parse_downgrade_target(
                upper,
                target.as_deref(),
                options.assert_relative_length,
            )?;
            match rev {
                Some(Pos::Rev(ix)) => {
                    current = vec![Some(Pos::Rev(ix))];
                    lower = RevSpec::One(self.id(ix).to_string());
                }
                _ => {
                    current = Vec::new();
                    lower = RevSpec::None;
                }
            }
        }
        let current = revisions_only(current);
        let mut current_set = self.related_checked(&current, Rel::AncestorsNormalized)?;
        for &c in &current {
            current_set.insert(c);
        }
        let mut needs = required;
        needs.subtract(&current_set);
        if options.inclusive {
            for ix in revisions_only(self.get_revisions(&lower)?) {
                needs.insert(ix);
            }
        }
        if !current.is_empty() && !options.implicit_base {
            let lower_descendants = self.related_checked(&current, Rel::DescendantsVersioned)?;
            needs.intersect_with(&lower_descendants);
        }
        Ok((needs, targets))
    }
}

/// Keeps the real revisions of a resolved argument (drops `base` and walked-off ends).
pub(super) fn revisions_only(positions: Vec<Option<Pos>>) -> Vec<Ix> {
    positions
        .into_iter()
        .filter_map(|p| match p {
            Some(Pos::Rev(ix)) => Some(ix),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_set_operations() {
        let mut a = Marks::new(5);
        assert!(a.insert(1));
        assert!(!a.insert(1));
        a.insert(3);
        let mut b = Marks::new(5);
        b.insert(3);
        b.insert(4);
        let mut i = a.clone();
        i.intersect_with(&b);
        assert_eq!(i.iter().collect::<Vec<_>>(), vec![3]);
        let mut u = a.clone();
        u.union_with(&b);
        assert_eq!(u.iter().collect::<Vec<_>>(), vec![1, 3, 4]);
        a.subtract(&b);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![1]);
        assert!(a.remove(1));
        assert!(a.is_empty());
    }
}
