//! The revision DAG with Alembic's semantics.
//!
//! Input: one [`RevisionNode`] per migration file (id, `down_revision`s, branch labels,
//! `depends_on`, `replaces`), in the order the files were listed (Alembic lists them
//! sorted by file name; that order breaks ties when plans are sorted).
//! Output: a validated [`RevisionGraph`] that answers `heads`/`bases`, resolves targets
//! (`head`, `heads`, `base`, `+N`, `-N`, `REV+N`, `label@head`, `label@-1`, id prefixes,
//! branch labels) and plans upgrades, downgrades and stamps as ordered [`Step`]s,
//! each with the version-table rows it inserts, updates or deletes
//! (Alembic's `HeadMaintainer`: one row per current head).
//!
//! Refuses: duplicate ids, missing parents or dependencies, self-loops, cycles and
//! dependency cycles, duplicate branch labels, ids containing `@ - + :`. It reads no
//! files and touches no database.
//!
//! The semantics are ported from Alembic's `alembic/script/revision.py`,
//! `alembic/script/base.py` (`_upgrade_revs`, `_downgrade_revs`, `_stamp_revs`) and
//! `alembic/runtime/migration.py` (`HeadMaintainer`, `RevisionStep`, `StampStep`);
//! the tests port `tests/test_revision.py` and `tests/test_version_traversal.py`.
//! Two documented departures: where Alembic's result depends on Python set order
//! (which parent row a merge updates), the first parent in `down_revision` order is
//! used; and an ambiguous id prefix lists every match.
//!
//! `replaces` (squash): a revision may replace ids whose files were removed. Those ids
//! become aliases of the replacing revision everywhere an id is accepted (targets,
//! `down_revision`, `depends_on`, version-table rows), so a database stamped at a
//! replaced id stays valid and is treated as being at the replacing revision.

mod error;
mod plan;
mod resolve;
mod spec;
mod traverse;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub use error::{GraphError, PlanKind};
pub use plan::{
    Direction, StampStep, Step, VersionChange, apply_version_change, apply_version_changes,
};
pub use spec::RevSpec;
pub use traverse::IterateOptions;

use traverse::{Marks, Rel};

/// Index of a revision inside [`RevisionGraph`] (its position in input order).
type Ix = usize;

/// The header of one revision, as read from its migration file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RevisionNode {
    /// The revision id (12 hex characters for generated revisions).
    pub id: String,
    /// Parents; empty for a base, several for a merge.
    pub down_revisions: Vec<String>,
    /// Branch labels declared on this revision.
    pub branch_labels: Vec<String>,
    /// Extra parents (revision ids or branch labels) that must be applied first.
    pub depends_on: Vec<String>,
    /// Ids this revision squashes; they resolve to this revision.
    pub replaces: Vec<String>,
}

impl RevisionNode {
    /// A revision with the given parents and nothing else.
    pub fn new(id: impl Into<String>, down_revisions: &[&str]) -> Self {
        RevisionNode {
            id: id.into(),
            down_revisions: down_revisions.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Adds branch labels.
    pub fn with_branch_labels(mut self, labels: &[&str]) -> Self {
        self.branch_labels
            .extend(labels.iter().map(|s| s.to_string()));
        self
    }

    /// Adds `depends_on` entries.
    pub fn with_depends_on(mut self, deps: &[&str]) -> Self {
        self.depends_on.extend(deps.iter().map(|s| s.to_string()));
        self
    }

    /// Adds `replaces` entries.
    pub fn with_replaces(mut self, ids: &[&str]) -> Self {
        self.replaces.extend(ids.iter().map(|s| s.to_string()));
        self
    }
}

/// Per-revision data derived while building the graph.
#[derive(Debug, Clone, Default)]
struct Links {
    /// `down_revision`s (Alembic `_versioned_down_revisions`).
    down: Vec<Ix>,
    /// Resolved `depends_on` (Alembic `_resolved_dependencies`).
    deps: Vec<Ix>,
    /// `deps` minus those already implied by an ancestor (`_normalized_resolved_dependencies`).
    norm_deps: Vec<Ix>,
    /// `down` + `deps` (`_all_down_revisions`).
    all_down: Vec<Ix>,
    /// `down` + `norm_deps` (`_normalized_down_revisions`).
    norm_down: Vec<Ix>,
    /// Children through `down_revision` (`nextrev`).
    next: Vec<Ix>,
    /// Children through `down_revision` or `depends_on` (`_all_nextrev`).
    all_next: Vec<Ix>,
    /// Branch labels, declared plus propagated (indices into `RevisionGraph::label_names`).
    labels: Vec<usize>,
}

/// A validated revision DAG. Build it with [`RevisionGraph::new`].
#[derive(Debug, Clone)]
pub struct RevisionGraph {
    nodes: Vec<RevisionNode>,
    links: Vec<Links>,
    /// Revision id -> index.
    ids: HashMap<String, Ix>,
    /// Declared branch label -> index of the declaring revision.
    labels: HashMap<String, Ix>,
    /// Every declared label, in declaration order (for partial matching and `labels`).
    label_names: Vec<String>,
    /// Replaced id -> index of the replacing revision, and the ids in declaration order.
    aliases: HashMap<String, Ix>,
    alias_names: Vec<String>,
    /// Revisions without children through `down_revision` (Alembic `heads`).
    heads: Vec<Ix>,
    /// Revisions without any children (Alembic `_real_heads`): what `heads` resolves to.
    real_heads: Vec<Ix>,
    /// Revisions without `down_revision` (Alembic `bases`).
    bases: Vec<Ix>,
    /// Revisions without `down_revision` and `depends_on` (Alembic `_real_bases`).
    real_bases: Vec<Ix>,
}

const ILLEGAL_CHARS: [char; 4] = ['@', '-', '+', ':'];

impl RevisionGraph {
    /// Builds and validates the graph. `nodes` order is the tie-breaking order of plans.
    pub fn new(nodes: Vec<RevisionNode>) -> Result<Self, GraphError> {
        for node in &nodes {
            check_node(node)?;
        }
        let mut ids = HashMap::with_capacity(nodes.len());
        for (ix, node) in nodes.iter().enumerate() {
            if ids.insert(node.id.clone(), ix).is_some() {
                return Err(GraphError::DuplicateRevision {
                    revision: node.id.clone(),
                });
            }
        }
        let mut graph = RevisionGraph {
            links: vec![Links::default(); nodes.len()],
            ids,
            labels: HashMap::new(),
            label_names: Vec::new(),
            aliases: HashMap::new(),
            alias_names: Vec::new(),
            heads: Vec::new(),
            real_heads: Vec::new(),
            bases: Vec::new(),
            real_bases: Vec::new(),
            nodes,
        };
        graph.index_labels_and_aliases()?;
        graph.link()?;
        graph.detect_cycles()?;
        graph.normalize_dependencies();
        graph.propagate_branch_labels();
        Ok(graph)
    }

    /// Registers branch labels and `replaces` aliases; both share the id namespace.
    fn index_labels_and_aliases(&mut self) -> Result<(), GraphError> {
        for (ix, node) in self.nodes.iter().enumerate() {
            for label in &node.branch_labels {
                let existing = self
                    .ids
                    .get(label)
                    .or_else(|| self.labels.get(label))
                    .copied();
                if let Some(existing) = existing {
                    return Err(GraphError::DuplicateBranchLabel {
                        label: label.clone(),
                        revision: node.id.clone(),
                        existing: self.nodes[existing].id.clone(),
                    });
                }
                self.labels.insert(label.clone(), ix);
                self.label_names.push(label.clone());
            }
        }
        for (ix, node) in self.nodes.iter().enumerate() {
            for replaced in &node.replaces {
                if self.ids.contains_key(replaced) {
                    return Err(GraphError::ReplacedRevisionPresent {
                        replaced: replaced.clone(),
                        by: node.id.clone(),
                    });
                }
                let existing = self
                    .aliases
                    .get(replaced)
                    .or_else(|| self.labels.get(replaced))
                    .copied();
                if let Some(existing) = existing {
                    return Err(GraphError::DuplicateReplacement {
                        replaced: replaced.clone(),
                        first: self.nodes[existing].id.clone(),
                        second: node.id.clone(),
                    });
                }
                self.aliases.insert(replaced.clone(), ix);
                self.alias_names.push(replaced.clone());
            }
        }
        Ok(())
    }

    /// Resolves parents and dependencies, fills children, heads and bases.
    fn link(&mut self) -> Result<(), GraphError> {
        for ix in 0..self.nodes.len() {
            let node = &self.nodes[ix];
            let mut deps = Vec::with_capacity(node.depends_on.len());
            for dep in &node.depends_on {
                match self.lookup_key(dep) {
                    Some(d) => deps.push(d),
                    None => {
                        return Err(GraphError::MissingDependency {
                            revision: node.id.clone(),
                            missing: dep.clone(),
                        });
                    }
                }
            }
            let mut down = Vec::with_capacity(node.down_revisions.len());
            for parent in &node.down_revisions {
                match self.ids.get(parent).or_else(|| self.aliases.get(parent)) {
                    Some(&p) if p == ix => {
                        return Err(GraphError::SelfLoop {
                            revision: node.id.clone(),
                        });
                    }
                    Some(&p) => push_unique(&mut down, p),
                    None => {
                        return Err(GraphError::MissingDownRevision {
                            revision: node.id.clone(),
                            missing: parent.clone(),
                        });
                    }
                }
            }
            let mut all_down = down.clone();
            for &d in &deps {
                push_unique(&mut all_down, d);
            }
            let links = &mut self.links[ix];
            links.down = down;
            links.deps = deps;
            links.all_down = all_down;
        }
        for ix in 0..self.nodes.len() {
            for k in 0..self.links[ix].all_down.len() {
                let parent = self.links[ix].all_down[k];
                self.links[parent].all_next.push(ix);
                if self.links[ix].down.contains(&parent) {
                    self.links[parent].next.push(ix);
                }
            }
        }
        for (ix, links) in self.links.iter().enumerate() {
            if links.next.is_empty() {
                self.heads.push(ix);
            }
            if links.all_next.is_empty() {
                self.real_heads.push(ix);
            }
            if links.down.is_empty() {
                self.bases.push(ix);
                if self.nodes[ix].depends_on.is_empty() {
                    self.real_bases.push(ix);
                }
            }
        }
        Ok(())
    }

    /// Alembic's `_detect_cycles`: every revision must lie between a head and a base,
    /// first along `down_revision`, then along `down_revision` + `depends_on`.
    fn detect_cycles(&self) -> Result<(), GraphError> {
        if self.nodes.is_empty() {
            return Ok(());
        }
        let all_ids = || self.nodes.iter().map(|n| n.id.clone()).collect();
        if self.heads.is_empty() || self.bases.is_empty() {
            return Err(GraphError::Cycle {
                revisions: all_ids(),
            });
        }
        let cut_off = |heads: &[Ix], up: Rel, bases: &[Ix], down: Rel| {
            let mut space = self.related(heads, up);
            space.intersect_with(&self.related(bases, down));
            let mut missing: Vec<String> = (0..self.nodes.len())
                .filter(|&ix| !space.contains(ix))
                .map(|ix| self.nodes[ix].id.clone())
                .collect();
            missing.sort();
            missing
        };
        let missing = cut_off(
            &self.heads,
            Rel::AncestorsVersioned,
            &self.bases,
            Rel::DescendantsVersioned,
        );
        if !missing.is_empty() {
            return Err(GraphError::Cycle { revisions: missing });
        }
        if self.real_heads.is_empty() || self.real_bases.is_empty() {
            return Err(GraphError::DependencyCycle {
                revisions: all_ids(),
            });
        }
        let missing = cut_off(
            &self.real_heads,
            Rel::AncestorsAll,
            &self.real_bases,
            Rel::DescendantsAll,
        );
        if !missing.is_empty() {
            return Err(GraphError::DependencyCycle { revisions: missing });
        }
        Ok(())
    }

    /// Alembic's `_normalize_depends_on`: drop dependencies that a `down_revision`
    /// ancestor already depends on, so version rows are not kept for them.
    fn normalize_dependencies(&mut self) {
        let mut declared = vec![0u32; self.nodes.len()];
        for links in &self.links {
            for &d in &links.deps {
                declared[d] += 1;
            }
        }
        for ix in 0..self.nodes.len() {
            let mut norm: Vec<Ix> = Vec::new();
            for &d in &self.links[ix].deps {
                push_unique(&mut norm, d);
            }
            // Only a dependency that some other revision also declares can be implied
            // by an ancestor; skipping the walk otherwise keeps building linear.
            if norm.iter().any(|&d| declared[d] > 1) {
                let ancestors = self.related(&[ix], Rel::AncestorsVersioned);
                for anc in ancestors.iter() {
                    if anc == ix {
                        continue;
                    }
                    norm.retain(|d| !self.links[anc].deps.contains(d));
                    if norm.is_empty() {
                        break;
                    }
                }
            }
            let mut norm_down = self.links[ix].down.clone();
            for &d in &norm {
                push_unique(&mut norm_down, d);
            }
            self.links[ix].norm_deps = norm;
            self.links[ix].norm_down = norm_down;
        }
    }

    /// Alembic's `_add_branches`: a label applies to every descendant of its revision,
    /// and, while the line below is unbranched, to its ancestors down to the first
    /// branch point or merge point.
    fn propagate_branch_labels(&mut self) {
        // `label_names` holds the declared labels in node order, so the running count
        // is each label's index.
        let mut next_label = 0;
        for ix in 0..self.nodes.len() {
            for _ in 0..self.nodes[ix].branch_labels.len() {
                insert_sorted(&mut self.links[ix].labels, next_label);
                next_label += 1;
            }
        }
        for ix in 0..self.nodes.len() {
            if self.nodes[ix].branch_labels.is_empty() {
                continue;
            }
            let labels = self.links[ix].labels.clone();
            let mut seen = Marks::new(self.nodes.len());
            let mut todo = vec![ix];
            let mut last = ix;
            while let Some(r) = todo.pop() {
                if !seen.insert(r) {
                    continue;
                }
                last = r;
                for &l in &labels {
                    insert_sorted(&mut self.links[r].labels, l);
                }
                todo.extend(self.links[r].next.iter().copied());
            }
            let mut parent = last;
            loop {
                let links = &self.links[parent];
                if links.all_next.len() > 1 || links.down.len() > 1 {
                    break;
                }
                let down = links.down.first().copied();
                for &l in &labels {
                    insert_sorted(&mut self.links[parent].labels, l);
                }
                match down {
                    Some(d) => parent = d,
                    None => break,
                }
            }
        }
    }

    /// Number of revisions.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there are no revisions.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every revision, in input order.
    pub fn nodes(&self) -> &[RevisionNode] {
        &self.nodes
    }

    /// The revision with exactly this id (or replaced id), if any.
    pub fn get(&self, id: &str) -> Option<&RevisionNode> {
        self.ids
            .get(id)
            .or_else(|| self.aliases.get(id))
            .map(|&ix| &self.nodes[ix])
    }

    /// Heads: revisions no other revision names as `down_revision` (Alembic `get_heads()`).
    pub fn heads(&self) -> Vec<&str> {
        self.ids_of(&self.heads)
    }

    /// Heads once dependencies count too (Alembic `get_heads(consider_depends_on=True)`):
    /// what `heads` resolves to and what the version table holds after `upgrade heads`.
    pub fn effective_heads(&self) -> Vec<&str> {
        self.ids_of(&self.real_heads)
    }

    /// Bases: revisions without `down_revision` (Alembic `get_bases()`).
    pub fn bases(&self) -> Vec<&str> {
        self.ids_of(&self.bases)
    }

    /// The single head, `None` without revisions, or [`GraphError::MultipleHeads`].
    pub fn current_head(&self) -> Result<Option<&str>, GraphError> {
        let head = self.current_head_ix(None)?;
        Ok(head.map(|ix| self.id(ix)))
    }

    /// Revisions with more than one child through `down_revision` (`alembic branches`).
    pub fn branch_points(&self) -> Vec<&str> {
        (0..self.nodes.len())
            .filter(|&ix| self.links[ix].next.len() > 1)
            .map(|ix| self.id(ix))
            .collect()
    }

    /// Revisions with more than one `down_revision`.
    pub fn merge_points(&self) -> Vec<&str> {
        (0..self.nodes.len())
            .filter(|&ix| self.links[ix].down.len() > 1)
            .map(|ix| self.id(ix))
            .collect()
    }

    /// Children of `id` through `down_revision`, in input order.
    pub fn children(&self, id: &str) -> Option<Vec<&str>> {
        let ix = self.lookup_key(id)?;
        Some(self.ids_of(&self.links[ix].next))
    }

    /// The `depends_on` entries of `id` that an ancestor does not already imply
    /// (Alembic `_normalized_resolved_dependencies`).
    pub fn normalized_dependencies(&self, id: &str) -> Option<Vec<&str>> {
        let ix = self.lookup_key(id)?;
        Some(self.ids_of(&self.links[ix].norm_deps))
    }

    /// Branch labels of `id`: declared on it or inherited along its line.
    pub fn branch_labels(&self, id: &str) -> Option<Vec<&str>> {
        let ix = self.lookup_key(id)?;
        Some(
            self.links[ix]
                .labels
                .iter()
                .map(|&l| self.label_names[l].as_str())
                .collect(),
        )
    }

    /// Ancestors of the given revisions (themselves included), in input order.
    /// `include_dependencies` follows `depends_on` as well as `down_revision`.
    pub fn ancestors(
        &self,
        ids: &[&str],
        include_dependencies: bool,
    ) -> Result<Vec<&str>, GraphError> {
        let starts = self.exact_indices(ids)?;
        let rel = if include_dependencies {
            Rel::AncestorsNormalized
        } else {
            Rel::AncestorsVersioned
        };
        Ok(self
            .related(&starts, rel)
            .iter()
            .map(|ix| self.id(ix))
            .collect())
    }

    /// Descendants of the given revisions (themselves included), in input order.
    pub fn descendants(
        &self,
        ids: &[&str],
        include_dependencies: bool,
    ) -> Result<Vec<&str>, GraphError> {
        let starts = self.exact_indices(ids)?;
        let rel = if include_dependencies {
            Rel::DescendantsAll
        } else {
            Rel::DescendantsVersioned
        };
        Ok(self
            .related(&starts, rel)
            .iter()
            .map(|ix| self.id(ix))
            .collect())
    }

    fn exact_indices(&self, ids: &[&str]) -> Result<Vec<Ix>, GraphError> {
        ids.iter()
            .map(|id| {
                self.lookup_key(id).ok_or_else(|| GraphError::NotFound {
                    identifier: id.to_string(),
                })
            })
            .collect()
    }

    /// Exact lookup of an id, branch label or replaced id (Alembic's `_revision_map[key]`).
    fn lookup_key(&self, key: &str) -> Option<Ix> {
        self.ids
            .get(key)
            .or_else(|| self.labels.get(key))
            .or_else(|| self.aliases.get(key))
            .copied()
    }

    fn id(&self, ix: Ix) -> &str {
        &self.nodes[ix].id
    }

    fn ids_of(&self, ixs: &[Ix]) -> Vec<&str> {
        ixs.iter().map(|&ix| self.id(ix)).collect()
    }

    fn has_label(&self, ix: Ix, label: &str) -> bool {
        self.links[ix]
            .labels
            .iter()
            .any(|&l| self.label_names[l] == label)
    }
}

fn check_node(node: &RevisionNode) -> Result<(), GraphError> {
    if node.id.is_empty() {
        return Err(GraphError::EmptyRevisionId);
    }
    if node.down_revisions.contains(&node.id) {
        return Err(GraphError::SelfLoop {
            revision: node.id.clone(),
        });
    }
    if node.depends_on.contains(&node.id) {
        return Err(GraphError::DependencySelfLoop {
            revision: node.id.clone(),
        });
    }
    let mut illegal: Vec<char> = ILLEGAL_CHARS
        .iter()
        .copied()
        .filter(|c| node.id.contains(*c))
        .collect();
    if !illegal.is_empty() {
        illegal.sort();
        return Err(GraphError::IllegalCharacters {
            revision: node.id.clone(),
            chars: illegal
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

fn push_unique(v: &mut Vec<Ix>, x: Ix) {
    if !v.contains(&x) {
        v.push(x);
    }
}

fn insert_sorted(v: &mut Vec<usize>, x: usize) {
    if let Err(pos) = v.binary_search(&x) {
        v.insert(pos, x);
    }
}
