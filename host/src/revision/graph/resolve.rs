//! Resolving revision arguments: symbols (`head`, `heads`, `base`), ids and unique
//! prefixes, branch labels (`label`, `label@head`, `label@rev`, `label@-1`), and relative
//! targets (`+N`, `-N`, `REV+N`, `REV-N`), with the semantics of Alembic's
//! `RevisionMap` (`get_revisions`, `get_revision`, `_revision_for_ident`, `_walk`,
//! `_parse_upgrade_target`, `_parse_downgrade_target`, `filter_for_lineage`).
//!
//! Input: a [`RevSpec`] and, for relative targets, the current database heads.
//! Output: revision indices, or `base`. Refuses unknown ids, ambiguous prefixes
//! (listing every match) and walks that leave the graph or reach a fork.

use super::spec::{RevSpec, parse_int, parse_relative};
use super::traverse::{Rel, revisions_only};
use super::{GraphError, Ix, RevisionGraph};

/// A resolved position: a revision, or `base` (below every base revision).
/// `Option<Pos>::None` is Alembic's `None`: a walk that ran off the graph, or "nothing".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pos {
    Base,
    Rev(Ix),
}

impl RevisionGraph {
    /// Resolves a target to revision ids, the way commands do: `base` is empty,
    /// `heads` is every effective head, `head` is the single head (or
    /// [`GraphError::MultipleHeadsTarget`]), `+N`/`label@+N` count up from the current
    /// heads, `-N`/`label@-N` count down from them, `REV+N`/`REV-N` count from `REV`.
    pub fn resolve(&self, spec: &str, current_heads: &[String]) -> Result<Vec<String>, GraphError> {
        let current = RevSpec::Many(current_heads.to_vec());
        let positions = match parse_relative(spec) {
            Some(rel) if rel.value > 0 => {
                self.parse_upgrade_target(&current, &RevSpec::from(spec), true)
            }
            Some(_) => self
                .parse_downgrade_target(&current, Some(spec), true)
                .map(|(_, rev)| vec![rev]),
            None => self.get_revisions(&RevSpec::from(spec)),
        }
        .map_err(|e| command_level(e, spec))?;
        let mut ids = Vec::new();
        for p in positions {
            match p {
                Some(Pos::Rev(ix)) => ids.push(self.id(ix).to_string()),
                Some(Pos::Base) => {}
                None => return Err(GraphError::WalkedTooFar),
            }
        }
        Ok(ids)
    }

    /// Resolves an argument naming at most one revision (Alembic `get_revision`, used by
    /// `show`): `None` for `base`.
    pub fn resolve_revision(&self, spec: &str) -> Result<Option<&str>, GraphError> {
        let ix = self
            .get_revision(&RevSpec::from(spec))
            .map_err(|e| command_level(e, spec))?;
        Ok(ix.map(|ix| self.id(ix)))
    }

    /// Alembic's `_resolve_revision_number`: expands `heads`, `head` and `base` and splits
    /// off the branch label.
    pub(super) fn resolve_number(
        &self,
        spec: &RevSpec,
    ) -> Result<(Vec<String>, Option<String>), GraphError> {
        let s = match spec {
            RevSpec::None => return Ok((Vec::new(), None)),
            RevSpec::Many(v) => return Ok((v.clone(), None)),
            RevSpec::One(s) => s.as_str(),
        };
        let (label, id) = match s.split_once('@') {
            Some((label, id)) => ((!label.is_empty()).then(|| label.to_string()), id),
            None => (None, s),
        };
        let ids = match id {
            "heads" => match &label {
                Some(l) => self
                    .filter_for_lineage(&self.heads, l, false)?
                    .into_iter()
                    .map(|ix| self.id(ix).to_string())
                    .collect(),
                None => self
                    .ids_of(&self.real_heads)
                    .into_iter()
                    .map(String::from)
                    .collect(),
            },
            "head" => self
                .current_head_ix(label.as_deref())?
                .map(|ix| vec![self.id(ix).to_string()])
                .unwrap_or_default(),
            "base" => Vec::new(),
            other => vec![other.to_string()],
        };
        Ok((ids, label))
    }

    /// Alembic's `get_current_head`: the single (optionally branch-filtered) head.
    pub(super) fn current_head_ix(&self, label: Option<&str>) -> Result<Option<Ix>, GraphError> {
        let heads = match label {
            Some(l) => self.filter_for_lineage(&self.heads, l, false)?,
            None => self.heads.clone(),
        };
        if heads.len() > 1 {
            return Err(GraphError::MultipleHeads {
                argument: label.map_or_else(|| "head".to_string(), |l| format!("{l}@head")),
                heads: heads.iter().map(|&ix| self.id(ix).to_string()).collect(),
            });
        }
        Ok(heads.first().copied())
    }

    /// Alembic's `get_revisions`: every revision an argument names. Elements are `None`
    /// only for `label@-N` walks that left the graph.
    pub(super) fn get_revisions(&self, spec: &RevSpec) -> Result<Vec<Option<Pos>>, GraphError> {
        if let RevSpec::Many(items) = spec {
            let mut out = Vec::new();
            for item in items {
                out.extend(self.get_revisions(&RevSpec::One(item.clone()))?);
            }
            return Ok(out);
        }
        let (ids, label) = self.resolve_number(spec)?;
        if let [only] = ids.as_slice()
            && let Some(n) = parse_int(only)
            && n < 0
        {
            // `branch@-n`: walk down from the heads carrying that label.
            let mut out = Vec::new();
            for &head in &self.real_heads {
                if label.as_deref().is_some_and(|l| !self.has_label(head, l)) {
                    continue;
                }
                out.push(self.walk(Some(Pos::Rev(head)), n, None, true)?);
            }
            return Ok(out);
        }
        ids.iter()
            .map(|id| {
                self.revision_for_ident(Some(id), label.as_deref())
                    .map(|ix| ix.map(Pos::Rev))
            })
            .collect()
    }

    /// Alembic's `get_revision`: at most one revision; `None` for `base`.
    pub(super) fn get_revision(&self, spec: &RevSpec) -> Result<Option<Ix>, GraphError> {
        let (ids, label) = self.resolve_number(spec)?;
        if ids.len() > 1 {
            return Err(GraphError::MultipleHeads {
                argument: spec.as_str().map_or_else(|| ids.join(", "), str::to_string),
                heads: ids,
            });
        }
        self.revision_for_ident(ids.first().map(String::as_str), label.as_deref())
    }

    /// Alembic's `_revision_for_ident`: exact id, label or replaced id, else a unique
    /// prefix among keys longer than three characters; checked against `check_branch`.
    pub(super) fn revision_for_ident(
        &self,
        ident: Option<&str>,
        check_branch: Option<&str>,
    ) -> Result<Option<Ix>, GraphError> {
        let check_branch = check_branch.filter(|b| !b.is_empty());
        let branch_rev = match check_branch {
            Some(b) => Some(self.resolve_branch(b)?),
            None => None,
        };
        let Some(ident) = ident else {
            return Ok(None);
        };
        let revision = match self.lookup_key(ident) {
            Some(ix) => ix,
            None => self.resolve_prefix(ident, check_branch)?,
        };
        if let (Some(branch), Some(branch_rev)) = (check_branch, branch_rev)
            && !self.shares_lineage_ix(revision, &[branch_rev], false)
        {
            return Err(GraphError::NotMemberOfBranch {
                revision: self.id(revision).to_string(),
                branch: branch.to_string(),
            });
        }
        Ok(Some(revision))
    }

    fn resolve_prefix(&self, prefix: &str, check_branch: Option<&str>) -> Result<Ix, GraphError> {
        let not_found = || GraphError::NotFound {
            identifier: prefix.to_string(),
        };
        if prefix.is_empty() {
            return Err(not_found());
        }
        // Alembic matches against every key of its map: ids, then branch labels.
        let keys = self
            .nodes
            .iter()
            .map(|n| n.id.as_str())
            .chain(self.label_names.iter().map(String::as_str))
            .chain(self.alias_names.iter().map(String::as_str));
        let mut matches: Vec<(&str, Ix)> = Vec::new();
        for key in keys {
            if key.chars().count() > 3
                && key.starts_with(prefix)
                && let Some(ix) = self.lookup_key(key)
                && !matches.iter().any(|&(_, m)| m == ix)
            {
                matches.push((key, ix));
            }
        }
        if let Some(branch) = check_branch {
            let candidates: Vec<Ix> = matches.iter().map(|&(_, ix)| ix).collect();
            let kept = self.filter_for_lineage(&candidates, branch, false)?;
            matches.retain(|(_, ix)| kept.contains(ix));
        }
        match matches.as_slice() {
            [] => Err(not_found()),
            [(_, ix)] => Ok(*ix),
            many => Err(GraphError::AmbiguousPrefix {
                prefix: prefix.to_string(),
                matches: many.iter().map(|&(key, _)| key.to_string()).collect(),
            }),
        }
    }

    /// Alembic's `_resolve_branch`: a label, id or prefix naming a branch.
    pub(super) fn resolve_branch(&self, branch: &str) -> Result<Ix, GraphError> {
        if let Some(ix) = self.lookup_key(branch) {
            return Ok(ix);
        }
        match self.revision_for_ident(Some(branch), None) {
            Ok(Some(ix)) => Ok(ix),
            Ok(None)
            | Err(GraphError::NotFound { .. })
            | Err(GraphError::AmbiguousPrefix { .. })
            | Err(GraphError::NotMemberOfBranch { .. }) => Err(GraphError::NoSuchBranch {
                branch: branch.to_string(),
            }),
            Err(other) => Err(other),
        }
    }

    /// Alembic's `filter_for_lineage`: the targets on the same line of descent as
    /// `check_against` (a label, revision, `label@head`, `heads`, ...).
    pub(super) fn filter_for_lineage(
        &self,
        targets: &[Ix],
        check_against: &str,
        include_dependencies: bool,
    ) -> Result<Vec<Ix>, GraphError> {
        let (ids, label) = self.resolve_number(&RevSpec::from(check_against))?;
        let mut shares = Vec::with_capacity(ids.len() + 1);
        for ident in label.iter().chain(ids.iter()) {
            if let Some(ix) = self.revision_for_ident(Some(ident), None)? {
                shares.push(ix);
            }
        }
        let no_filter = label.is_none() && ids.is_empty();
        Ok(targets
            .iter()
            .copied()
            .filter(|&t| no_filter || self.shares_lineage_ix(t, &shares, include_dependencies))
            .collect())
    }

    /// Alembic's `_shares_lineage`: is any of `against` an ancestor or descendant of
    /// `target` (or `target` itself)?
    pub(super) fn shares_lineage_ix(
        &self,
        target: Ix,
        against: &[Ix],
        include_dependencies: bool,
    ) -> bool {
        if against.is_empty() {
            return false;
        }
        let (up, down) = if include_dependencies {
            (Rel::AncestorsNormalized, Rel::DescendantsAll)
        } else {
            (Rel::AncestorsVersioned, Rel::DescendantsVersioned)
        };
        let ancestors = self.related(&[target], up);
        if against.iter().any(|&a| ancestors.contains(a)) {
            return true;
        }
        let descendants = self.related(&[target], down);
        against.iter().any(|&a| descendants.contains(a))
    }

    /// Alembic's `_walk`: `steps` moves up (positive) or down (negative). Up from
    /// nothing starts at the bases; down from nothing starts at the heads; down from a
    /// base reaches `base`. A fork is an error; leaving the graph gives `None` when
    /// `no_overwalk`, else the last position.
    pub(super) fn walk(
        &self,
        start: Option<Pos>,
        steps: i64,
        branch_label: Option<&str>,
        no_overwalk: bool,
    ) -> Result<Option<Pos>, GraphError> {
        let mut at = start;
        for _ in 0..steps.unsigned_abs() {
            let children: Vec<Pos> = if steps > 0 {
                let up: &[Ix] = match at {
                    Some(Pos::Rev(ix)) => &self.links[ix].next,
                    Some(Pos::Base) | None => &self.bases,
                };
                let up = match branch_label {
                    Some(label) => self.filter_for_lineage(up, label, false)?,
                    None => up.to_vec(),
                };
                up.into_iter().map(Pos::Rev).collect()
            } else {
                match at {
                    Some(Pos::Base) => Vec::new(),
                    _ => {
                        let down: &[Ix] = match at {
                            Some(Pos::Rev(ix)) => &self.links[ix].down,
                            _ => &self.heads,
                        };
                        if down.is_empty() {
                            vec![Pos::Base]
                        } else {
                            down.iter().copied().map(Pos::Rev).collect()
                        }
                    }
                }
            };
            match children.as_slice() {
                [] => return Ok(if no_overwalk { None } else { at }),
                [only] => at = Some(*only),
                many => {
                    return Err(GraphError::AmbiguousWalk {
                        from: match at {
                            Some(Pos::Rev(ix)) => self.id(ix).to_string(),
                            Some(Pos::Base) | None => "base".to_string(),
                        },
                        candidates: many
                            .iter()
                            .map(|p| match p {
                                Pos::Rev(ix) => self.id(*ix).to_string(),
                                Pos::Base => "base".to_string(),
                            })
                            .collect(),
                    });
                }
            }
        }
        Ok(at)
    }

    /// Alembic's `_parse_downgrade_target`: the branch label and the revision a
    /// downgrade target names, relative forms counting from `current`.
    pub(super) fn parse_downgrade_target(
        &self,
        current: &RevSpec,
        target: Option<&str>,
        assert_relative_length: bool,
    ) -> Result<(Option<String>, Option<Pos>), GraphError> {
        let Some(target) = target else {
            return Ok((None, None));
        };
        if let Some(rel) = parse_relative(target) {
            let label = rel.label.map(str::to_string);
            if rel.value >= 0 {
                let Some(symbol) = rel.symbol else {
                    return Err(GraphError::RelativeNotProduced {
                        relative: rel.text.to_string(),
                        count: rel.value.unsigned_abs(),
                    });
                };
                let start = self.get_revision(&RevSpec::from(symbol))?.map(Pos::Rev);
                let rev = self.walk(start, rel.value, rel.label, assert_relative_length)?;
                return match rev {
                    None => Err(GraphError::WalkedTooFar),
                    Some(rev) => Ok((label, Some(rev))),
                };
            }
            let relative_to_current = rel.symbol.is_none();
            let mut label = label;
            let symbol: String = match rel.symbol {
                Some(s) => s.to_string(),
                None => match &label {
                    Some(l) => self.current_on_branch(current, l)?.ok_or_else(|| {
                        GraphError::RelativeNotProduced {
                            relative: rel.text.to_string(),
                            count: rel.value.unsigned_abs(),
                        }
                    })?,
                    None => {
                        let current = current.to_list();
                        let Some(first) = current.first() else {
                            return Err(GraphError::RelativeNotProduced {
                                relative: rel.text.to_string(),
                                count: rel.value.unsigned_abs(),
                            });
                        };
                        let mut distinct = current.clone();
                        distinct.sort();
                        distinct.dedup();
                        if distinct.len() > 1 {
                            tracing::warn!(
                                "downgrade -1 from multiple heads is ambiguous; this usage will be disallowed in a future release"
                            );
                        }
                        // Restrict the walk to the selected branch.
                        label = Some(first.clone());
                        first.clone()
                    }
                },
            };
            let start_spec = match &label {
                None => RevSpec::from(symbol.as_str()),
                Some(l) => RevSpec::One(format!("{l}@{symbol}")),
            };
            let start = self.get_revision(&start_spec)?.map(Pos::Rev);
            return match self.walk(start, rel.value, None, assert_relative_length)? {
                Some(rev) => Ok((label, Some(rev))),
                None if relative_to_current => Err(GraphError::RelativeNotProduced {
                    relative: rel.text.to_string(),
                    count: rel.value.unsigned_abs(),
                }),
                None => Err(GraphError::WalkedTooFar),
            };
        }
        let (label, symbol) = match target.rsplit_once('@') {
            Some((label, symbol)) => ((!label.is_empty()).then(|| label.to_string()), symbol),
            None => (None, target),
        };
        let rev = self.get_revision(&RevSpec::from(symbol))?.map(Pos::Rev);
        Ok((label, rev))
    }

    /// The one current revision on `branch`, looking through the current heads and,
    /// failing that, what they imply (Alembic's `_get_all_current`).
    fn current_on_branch(
        &self,
        current: &RevSpec,
        branch: &str,
    ) -> Result<Option<String>, GraphError> {
        let current_revs = revisions_only(self.get_revisions(&RevSpec::Many(current.to_list()))?);
        let mut on_branch = self.filter_for_lineage(&current_revs, branch, false)?;
        if on_branch.is_empty() {
            let all_current = self.all_current(&current_revs);
            on_branch = self.filter_for_lineage(&all_current, branch, false)?;
        }
        on_branch.sort_unstable();
        on_branch.dedup();
        match on_branch.as_slice() {
            [] => Ok(None),
            [only] => Ok(Some(self.id(*only).to_string())),
            revisions => Err(GraphError::AmbiguousBranchCurrent {
                branch: branch.to_string(),
                revisions: revisions
                    .iter()
                    .map(|&ix| self.id(ix).to_string())
                    .collect(),
            }),
        }
    }

    /// Alembic's `_get_all_current`: the tips of everything the current revisions imply.
    fn all_current(&self, current: &[Ix]) -> Vec<Ix> {
        let implied = self.related(current, Rel::AncestorsNormalized);
        implied
            .iter()
            .filter(|&ix| {
                let descendants = self.related(&[ix], Rel::DescendantsVersioned);
                !descendants.iter().any(|d| d != ix && implied.contains(d))
            })
            .collect()
    }

    /// Alembic's `_parse_upgrade_target`: the revisions an upgrade target names,
    /// `+N` counting up from `current`.
    pub(super) fn parse_upgrade_target(
        &self,
        current: &RevSpec,
        target: &RevSpec,
        assert_relative_length: bool,
    ) -> Result<Vec<Option<Pos>>, GraphError> {
        let Some(rel) = target.as_str().and_then(parse_relative) else {
            return self.get_revisions(target);
        };
        if rel.value > 0 {
            let Some(symbol) = rel.symbol else {
                let start = self.upgrade_start(current, rel.label)?;
                return match self.walk(start, rel.value, rel.label, assert_relative_length)? {
                    None => Err(GraphError::RelativeNotProduced {
                        relative: rel.text.to_string(),
                        count: rel.value.unsigned_abs(),
                    }),
                    Some(rev) => Ok(vec![Some(rev)]),
                };
            };
            let start = self.get_revision(&RevSpec::from(symbol))?.map(Pos::Rev);
            return Ok(vec![self.walk(
                start,
                rel.value,
                rel.label,
                assert_relative_length,
            )?]);
        }
        let Some(symbol) = rel.symbol else {
            return Err(GraphError::RelativeNotProduced {
                relative: rel.value.to_string(),
                count: rel.value.unsigned_abs(),
            });
        };
        let start_spec = match rel.label {
            None => RevSpec::from(symbol),
            Some(l) => RevSpec::One(format!("{l}@{symbol}")),
        };
        let start = self.get_revision(&start_spec)?.map(Pos::Rev);
        Ok(vec![self.walk(
            start,
            rel.value,
            None,
            assert_relative_length,
        )?])
    }

    /// Where `+N` starts: the single current revision (on `label`'s branch if given).
    fn upgrade_start(
        &self,
        current: &RevSpec,
        label: Option<&str>,
    ) -> Result<Option<Pos>, GraphError> {
        let current_list = current.to_list();
        let Some(label) = label else {
            return match current_list.as_slice() {
                [] => Ok(None),
                [one] => Ok(self
                    .get_revision(&RevSpec::from(one.as_str()))?
                    .map(Pos::Rev)),
                _ => Err(GraphError::AmbiguousUpgrade {
                    current: current_list,
                }),
            };
        };
        let current_revs =
            revisions_only(self.get_revisions(&RevSpec::Many(current_list.clone()))?);
        let mut starts = self.filter_for_lineage(&current_revs, label, false)?;
        if starts.is_empty() {
            // The branch has no current head: start from the tips of what is applied on
            // it, or from base.
            let applied = self.related(&current_revs, Rel::AncestorsNormalized);
            let applied: Vec<Ix> = applied.iter().collect();
            let on_branch = self.filter_for_lineage(&applied, label, false)?;
            starts = on_branch
                .iter()
                .copied()
                .filter(|&ix| {
                    !on_branch
                        .iter()
                        .any(|&other| self.links[other].norm_down.contains(&ix))
                })
                .collect();
        }
        match starts.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(Pos::Rev(*one))),
            _ => Err(GraphError::AmbiguousUpgrade {
                current: current_list,
            }),
        }
    }
}

/// Turns the map-level "several heads" error into the command-level message.
pub(super) fn command_level(error: GraphError, argument: &str) -> GraphError {
    match error {
        GraphError::MultipleHeads { heads, .. } => GraphError::MultipleHeadsTarget {
            argument: argument.to_string(),
            heads,
        },
        other => other,
    }
}
