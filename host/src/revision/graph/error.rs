//! Errors of the revision graph: an invalid graph (duplicates, missing parents, cycles)
//! and targets that cannot be resolved or planned.
//!
//! Messages keep Alembic's wording (so users can search for them), with two deliberate
//! improvements: an ambiguous prefix lists every matching revision, and "several heads"
//! messages list the heads.

use std::fmt;

use thiserror::Error;

/// Which command a planning error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    Upgrade,
    Downgrade,
}

impl fmt::Display for PlanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PlanKind::Upgrade => "upgrade",
            PlanKind::Downgrade => "downgrade",
        })
    }
}

/// Everything that can go wrong building, resolving or planning on a [`super::RevisionGraph`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GraphError {
    // ---- building the graph ----
    /// Two revisions share one id.
    #[error("Revision {revision} is present more than once")]
    DuplicateRevision { revision: String },

    /// A revision id is empty.
    #[error("Revision identifier is empty")]
    EmptyRevisionId,

    /// A revision id contains `@`, `-`, `+` or `:`, which the target syntax reserves.
    #[error("Character(s) '{chars}' not allowed in revision identifier '{revision}'")]
    IllegalCharacters { revision: String, chars: String },

    /// A `down_revision` names a revision that does not exist.
    #[error("Revision {missing} referenced from {revision} is not present")]
    MissingDownRevision { revision: String, missing: String },

    /// A `depends_on` entry names neither a revision nor a branch label.
    #[error("Dependency {missing} referenced from {revision} is not present")]
    MissingDependency { revision: String, missing: String },

    /// A revision lists itself as its own `down_revision`.
    #[error("Self-loop is detected in revisions ({revision})")]
    SelfLoop { revision: String },

    /// A revision lists itself in `depends_on`.
    #[error("Dependency self-loop is detected in revisions ({revision})")]
    DependencySelfLoop { revision: String },

    /// The `down_revision` links form a cycle; the revisions caught in it (or cut off by it).
    #[error("Cycle is detected in revisions ({})", .revisions.join(", "))]
    Cycle { revisions: Vec<String> },

    /// `down_revision` plus `depends_on` links form a cycle.
    #[error("Dependency cycle is detected in revisions ({})", .revisions.join(", "))]
    DependencyCycle { revisions: Vec<String> },

    /// A branch label is used twice, or equals a revision id.
    #[error("Branch name '{label}' in revision {revision} already used by revision {existing}")]
    DuplicateBranchLabel {
        label: String,
        revision: String,
        existing: String,
    },

    /// A revision `replaces` an id that is still present as a revision of its own.
    #[error(
        "Revision {replaced} is replaced by {by} but is still present; remove the replaced revision or the `replaces` entry"
    )]
    ReplacedRevisionPresent { replaced: String, by: String },

    /// Two revisions replace the same id, or a replaced id equals a branch label.
    #[error("Revision {replaced} is replaced by both {first} and {second}")]
    DuplicateReplacement {
        replaced: String,
        first: String,
        second: String,
    },

    // ---- resolving identifiers ----
    /// A symbol such as `head` resolved to several heads (Alembic's `MultipleHeads`).
    #[error("Multiple heads are present for given argument '{argument}'; {}", .heads.join(", "))]
    MultipleHeads {
        argument: String,
        heads: Vec<String>,
    },

    /// The command-level form of [`GraphError::MultipleHeads`] for a target.
    #[error(
        "Multiple head revisions are present for given argument '{argument}'; please specify a specific target revision, '<branchname>@{argument}' to narrow to a specific head, or 'heads' for all heads (heads: {})",
        .heads.join(", ")
    )]
    MultipleHeadsTarget {
        argument: String,
        heads: Vec<String>,
    },

    /// `stamp` resolved a target to several heads.
    #[error(
        "Multiple heads are present; please specify a single target revision (heads: {})",
        .heads.join(", ")
    )]
    StampMultipleHeads { heads: Vec<String> },

    /// No revision id, prefix or branch label matches.
    #[error(
        "No such revision or branch '{identifier}'{}",
        if identifier.chars().count() < 4 {
            "; please ensure at least four characters are present for partial revision identifier matches"
        } else {
            ""
        }
    )]
    NotFound { identifier: String },

    /// A prefix matches several revisions (Alembic shows three and its CLI hides them).
    #[error("Multiple revisions start with '{prefix}': {}", quote_list(.matches))]
    AmbiguousPrefix {
        prefix: String,
        matches: Vec<String>,
    },

    /// The part before `@` is neither a branch label nor a revision.
    #[error("No such branch: '{branch}'")]
    NoSuchBranch { branch: String },

    /// `branch@rev` where `rev` is not on that branch.
    #[error("Revision {revision} is not a member of branch '{branch}'")]
    NotMemberOfBranch { revision: String, branch: String },

    /// A range whose lower end is not below its upper end.
    #[error("Revision {lower} is not an ancestor of revision {upper}")]
    RangeNotAncestor { lower: String, upper: String },

    /// The command-level form of [`GraphError::RangeNotAncestor`].
    #[error("Destination {destination} is not a valid {kind} target from current head(s)")]
    InvalidDestination { destination: String, kind: PlanKind },

    /// `+N` / `-N` walked off the graph, or points the wrong way for the command.
    #[error("Relative revision {relative} didn't produce {count} migrations")]
    RelativeNotProduced { relative: String, count: u64 },

    /// `REV+N` / `REV-N` walked off the graph.
    #[error("Walked too far")]
    WalkedTooFar,

    /// A relative walk reached a branch point or merge point.
    #[error("Ambiguous walk from {from}: {}", .candidates.join(", "))]
    AmbiguousWalk {
        from: String,
        candidates: Vec<String>,
    },

    /// `+N` from several current heads without a branch label.
    #[error("Ambiguous upgrade from multiple current revisions")]
    AmbiguousUpgrade { current: Vec<String> },

    /// `branch@-N` where several current heads are on that branch.
    #[error("Ambiguous relative downgrade: current revisions {} are all on branch '{branch}'", .revisions.join(", "))]
    AmbiguousBranchCurrent {
        branch: String,
        revisions: Vec<String>,
    },

    /// A revision id used as the branch of a range carries several labels.
    #[error("Revision {revision} carries several branch labels ({}); use one of them", .labels.join(", "))]
    AmbiguousBranchLabel {
        revision: String,
        labels: Vec<String>,
    },

    /// Several requested revisions lie on one line of descent.
    #[error("Requested revision {revision} overlaps with other requested revisions {}", .others.join(", "))]
    Overlap {
        revision: String,
        others: Vec<String>,
    },

    /// `branch@rev` downgrade target that drops nothing on that branch.
    #[error("Not a valid downgrade target from current heads")]
    InvalidDowngradeTarget,

    // ---- the version table ----
    /// A step would insert a version row that is already there.
    #[error("Version {version} is already present in the version table")]
    VersionPresent { version: String },

    /// A step would delete or update a version row that is not there.
    #[error("Version {version} is not present in the version table")]
    VersionMissing { version: String },

    /// A step cannot tell which of a merge's parents to update (Alembic's assertion).
    #[error("Can't do an UPDATE for {revision} because downrevision is ambiguous")]
    AmbiguousVersionUpdate { revision: String },
}

fn quote_list(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_hints_at_four_characters_only_for_short_identifiers() {
        let short = GraphError::NotFound {
            identifier: "qpr".into(),
        };
        assert_eq!(
            short.to_string(),
            "No such revision or branch 'qpr'; please ensure at least four characters are present for partial revision identifier matches"
        );
        let long = GraphError::NotFound {
            identifier: "qprstuv".into(),
        };
        assert_eq!(long.to_string(), "No such revision or branch 'qprstuv'");
    }

    #[test]
    fn ambiguous_prefix_lists_every_match() {
        let e = GraphError::AmbiguousPrefix {
            prefix: "ae1".into(),
            matches: vec!["ae10".into(), "ae11".into(), "ae12".into(), "ae13".into()],
        };
        assert_eq!(
            e.to_string(),
            "Multiple revisions start with 'ae1': 'ae10', 'ae11', 'ae12', 'ae13'"
        );
    }
}
