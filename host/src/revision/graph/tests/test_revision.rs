//! Ports of Alembic's `tests/test_revision.py`: one module per test class.

use super::*;

const EXCLUSIVE: It = It {
    inclusive: false,
    ..IT
};

fn get_revision(g: &RevisionGraph, spec: &str) -> Result<Option<String>, GraphError> {
    Ok(g.get_revision(&RevSpec::from(spec))?
        .map(|ix| g.id(ix).to_string()))
}

fn get_revisions(g: &RevisionGraph, spec: impl Into<RevSpec>) -> Result<Vec<String>, GraphError> {
    Ok(g.get_revisions(&spec.into())?
        .into_iter()
        .map(|p| match p {
            Some(resolve::Pos::Rev(ix)) => g.id(ix).to_string(),
            Some(resolve::Pos::Base) => "base".to_string(),
            None => "None".to_string(),
        })
        .collect())
}

fn rev_of(g: &RevisionGraph, spec: &str) -> String {
    get_revision(g, spec)
        .expect("resolves")
        .expect("is a revision")
}

fn filter_for_lineage(g: &RevisionGraph, targets: &[&str], check: &str) -> Vec<String> {
    let ixs: Vec<Ix> = targets.iter().map(|t| g.ids[*t]).collect();
    g.filter_for_lineage(&ixs, check, false)
        .expect("filters")
        .into_iter()
        .map(|ix| g.id(ix).to_string())
        .collect()
}

mod api_test {
    use super::*;

    fn abc() -> RevisionGraph {
        map(vec![rev("a", &[]), rev("b", &["a"]), rev("c", &["b"])])
    }

    #[test]
    fn test_invalid_datatype() {
        // Python's non-string identifiers cannot occur in Rust; the valid forms remain.
        let g = abc();
        assert_eq!(g.get_revision(&RevSpec::from(["a"])).expect("ok"), Some(0));
        assert_eq!(rev_of(&g, "a"), "a");
    }

    #[test]
    fn test_add_revision_one_head() {
        let g = abc();
        assert_eq!(g.heads(), vec!["c"]);
        let g = map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c", &["b"]),
            rev("d", &["c"]),
        ]);
        assert_eq!(g.heads(), vec!["d"]);
    }

    #[test]
    fn test_add_revision_two_head() {
        let g = map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c1", &["b"]),
            rev("c2", &["b"]),
        ]);
        assert_eq!(g.heads(), vec!["c1", "c2"]);
        let g = map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c1", &["b"]),
            rev("c2", &["b"]),
            rev("d1", &["c1"]),
        ]);
        assert_eq!(g.heads(), vec!["c2", "d1"]);
    }

    #[test]
    fn test_get_revision_head_single() {
        assert_eq!(rev_of(&abc(), "head"), "c");
    }

    #[test]
    fn test_get_revision_base_single() {
        assert_eq!(get_revision(&abc(), "base").expect("ok"), None);
    }

    fn forked() -> RevisionGraph {
        map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c1", &["b"]),
            rev("c2", &["b"]),
        ])
    }

    #[test]
    fn test_get_revision_head_multiple() {
        assert_err_contains(
            get_revision(&forked(), "head"),
            "Multiple heads are present",
        );
    }

    #[test]
    fn test_get_revision_heads_multiple() {
        assert_err_contains(
            get_revision(&forked(), "heads"),
            "Multiple heads are present",
        );
    }

    #[test]
    fn test_get_revisions_head_multiple() {
        assert_err_contains(
            get_revisions(&forked(), "head"),
            "Multiple heads are present",
        );
    }

    #[test]
    fn test_get_revisions_heads_multiple() {
        assert_eq!(
            get_revisions(&forked(), "heads").expect("ok"),
            strings(&["c1", "c2"])
        );
    }

    #[test]
    fn test_get_revision_base_multiple() {
        let g = map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c", &[]),
            rev("d", &["c"]),
        ]);
        assert_eq!(get_revision(&g, "base").expect("ok"), None);
    }

    #[test]
    fn test_iterate_tolerates_dupe_targets() {
        let g = abc();
        // Not inclusive so should not traverse a.
        assert_eq!(
            iterate(&g, ["c", "c"], "a", EXCLUSIVE).expect("ok"),
            strings(&["c", "b"])
        );
    }
}

mod diamond_test {
    use super::*;

    #[test]
    fn test_iterate_simple_diamond() {
        let g = map(vec![
            rev("a", &[]),
            rev("b1", &["a"]),
            rev("b2", &["a"]),
            rev("c", &["b1", "b2"]),
            rev("d", &["c"]),
        ]);
        assert_iteration(&g, "d", "a", &["d", "c", "b1", "b2", "a"], IT);
    }
}

mod empty_map_test {
    use super::*;

    #[test]
    fn test_iterate() {
        let g = map(vec![]);
        assert_iteration(&g, "head", "base", &[], IT);
    }
}

mod labeled_branch_test {
    use super::*;

    fn setup() -> RevisionGraph {
        map(vec![
            rev("a", &[]).with_branch_labels(&["abranch"]),
            rev("b", &["a"]),
            rev("somelongername", &["b"]),
            rev("c", &["somelongername"]),
            rev("d", &[]),
            rev("e", &["d"]).with_branch_labels(&["ebranch"]),
            rev("someothername", &["e"]),
            rev("f", &["someothername"]),
        ])
    }

    #[test]
    fn test_dupe_branch_collection() {
        let r = RevisionGraph::new(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c", &["b"]).with_branch_labels(&["xy1"]),
            rev("d", &[]),
            rev("e", &["d"]).with_branch_labels(&["xy1"]),
            rev("f", &["e"]),
        ]);
        assert_err_contains(
            r,
            "Branch name 'xy1' in revision e already used by revision c",
        );
    }

    #[test]
    fn test_filter_for_lineage_labeled_head_across_merge() {
        let g = map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c1", &["b"]).with_branch_labels(&["c1branch"]),
            rev("c2", &["b"]),
            rev("d", &["c1", "c2"]),
        ]);
        assert_eq!(
            filter_for_lineage(&g, &["c1", "c2", "d"], "c1branch@head"),
            strings(&["c1", "c2", "d"])
        );
    }

    #[test]
    fn test_filter_for_lineage_heads() {
        assert_eq!(
            filter_for_lineage(&setup(), &["f"], "heads"),
            strings(&["f"])
        );
    }

    #[test]
    fn test_get_base_revisions_labeled() {
        let g = setup();
        assert_eq!(
            filter_for_lineage(&g, &g.bases(), "somelongername@base"),
            strings(&["a"])
        );
    }

    #[test]
    fn test_get_current_named_rev() {
        let g = setup();
        assert_eq!(rev_of(&g, "ebranch@head"), rev_of(&g, "f"));
    }

    #[test]
    fn test_get_base_revisions() {
        let g = setup();
        assert_eq!(
            filter_for_lineage(&g, &g.bases(), "base"),
            strings(&["a", "d"])
        );
    }

    #[test]
    fn test_iterate_head_to_named_base() {
        let g = setup();
        assert_iteration(
            &g,
            "heads",
            "ebranch@base",
            &["f", "someothername", "e", "d"],
            IT,
        );
        assert_iteration(
            &g,
            "heads",
            "abranch@base",
            &["c", "somelongername", "b", "a"],
            IT,
        );
    }

    #[test]
    fn test_iterate_named_head_to_base() {
        let g = setup();
        assert_iteration(
            &g,
            "ebranch@head",
            "base",
            &["f", "someothername", "e", "d"],
            IT,
        );
        assert_iteration(
            &g,
            "abranch@head",
            "base",
            &["c", "somelongername", "b", "a"],
            IT,
        );
    }

    #[test]
    fn test_iterate_named_head_to_heads() {
        assert_iteration(&setup(), "heads", "ebranch@head", &["f"], IT);
    }

    #[test]
    fn test_iterate_named_rev_to_heads() {
        assert_iteration(
            &setup(),
            "heads",
            "ebranch@d",
            &["f", "someothername", "e", "d"],
            IT,
        );
    }

    #[test]
    fn test_iterate_head_to_version_specific_base() {
        let g = setup();
        assert_iteration(&g, "heads", "e@base", &["f", "someothername", "e", "d"], IT);
        assert_iteration(
            &g,
            "heads",
            "c@base",
            &["c", "somelongername", "b", "a"],
            IT,
        );
    }

    #[test]
    fn test_iterate_to_branch_at_rev() {
        assert_iteration(
            &setup(),
            "heads",
            "ebranch@d",
            &["f", "someothername", "e", "d"],
            IT,
        );
    }

    #[test]
    fn test_branch_w_down_relative() {
        assert_iteration(
            &setup(),
            "heads",
            "ebranch@-2",
            &["f", "someothername", "e"],
            IT,
        );
    }

    #[test]
    fn test_branch_w_up_relative() {
        assert_iteration(&setup(), "ebranch@+2", "base", &["e", "d"], IT);
    }

    #[test]
    fn test_partial_id_resolve() {
        let g = setup();
        assert_eq!(rev_of(&g, "ebranch@some"), "someothername");
        assert_eq!(rev_of(&g, "abranch@some"), "somelongername");
    }

    #[test]
    fn test_partial_id_resolve_too_short() {
        assert_err_contains(
            get_revision(&setup(), "ebranch@sos"),
            "No such revision or branch 'sos'; please ensure at least four characters are present for partial revision identifier matches",
        );
    }

    #[test]
    fn test_branch_at_heads() {
        assert_eq!(rev_of(&setup(), "abranch@heads"), "c");
    }

    #[test]
    fn test_branch_at_syntax() {
        let g = setup();
        assert_eq!(rev_of(&g, "abranch@head"), "c");
        assert_eq!(get_revision(&g, "abranch@base").expect("ok"), None);
        assert_eq!(rev_of(&g, "ebranch@head"), "f");
        assert_eq!(get_revision(&g, "abranch@base").expect("ok"), None);
        assert_eq!(rev_of(&g, "ebranch@d"), "d");
    }

    #[test]
    fn test_branch_at_self() {
        assert_eq!(rev_of(&setup(), "ebranch@ebranch"), "e");
    }

    #[test]
    fn test_retrieve_branch_revision() {
        let g = setup();
        assert_eq!(rev_of(&g, "abranch"), "a");
        assert_eq!(rev_of(&g, "ebranch"), "e");
    }

    #[test]
    fn test_rev_not_in_branch() {
        let g = setup();
        assert_err_contains(
            get_revision(&g, "ebranch@b"),
            "Revision b is not a member of branch 'ebranch'",
        );
        assert_err_contains(
            get_revision(&g, "abranch@d"),
            "Revision d is not a member of branch 'abranch'",
        );
    }

    #[test]
    fn test_actually_short_rev_name() {
        assert_eq!(rev_of(&setup(), "e"), "e");
    }

    #[test]
    fn test_no_revision_exists() {
        let g = setup();
        let e = get_revision(&g, "abranch@qprstuv").expect_err("no such revision");
        assert_eq!(e.to_string(), "No such revision or branch 'qprstuv'");
        let e = get_revision(&g, "abranch@qpr").expect_err("no such revision");
        assert_eq!(
            e.to_string(),
            "No such revision or branch 'qpr'; please ensure at least four characters are present for partial revision identifier matches"
        );
    }

    #[test]
    fn test_not_actually_a_branch() {
        assert_eq!(rev_of(&setup(), "e@d"), "d");
    }

    #[test]
    fn test_not_actually_a_branch_partial_resolution() {
        assert_eq!(rev_of(&setup(), "someoth@d"), "d");
    }

    #[test]
    fn test_no_such_branch() {
        assert_err_contains(get_revision(&setup(), "x@d"), "No such branch: 'x'");
    }
}

mod long_short_branch_test {
    use super::*;

    #[test]
    fn test_iterate_full() {
        let g = map(vec![
            rev("a", &[]),
            rev("b1", &["a"]),
            rev("b2", &["a"]),
            rev("c1", &["b1"]),
            rev("d11", &["c1"]),
            rev("d12", &["c1"]),
        ]);
        assert_iteration(
            &g,
            "heads",
            "base",
            &["b2", "d11", "d12", "c1", "b1", "a"],
            IT,
        );
    }
}

mod multiple_branch_test {
    use super::*;

    fn setup() -> RevisionGraph {
        map(vec![
            rev("a", &[]),
            rev("b1", &["a"]),
            rev("b2", &["a"]),
            rev("cb1", &["b1"]),
            rev("cb2", &["b2"]),
            rev("d1cb1", &["cb1"]),
            rev("d2cb1", &["cb1"]),
            rev("d1cb2", &["cb2"]),
            rev("d2cb2", &["cb2"]),
            rev("d3cb2", &["cb2"]),
            rev("d1d2cb2", &["d1cb2", "d2cb2"]),
        ])
    }

    #[test]
    fn test_iterate_from_merge_point() {
        assert_iteration(
            &setup(),
            "d1d2cb2",
            "a",
            &["d1d2cb2", "d1cb2", "d2cb2", "cb2", "b2", "a"],
            IT,
        );
    }

    #[test]
    fn test_iterate_multiple_heads() {
        assert_iteration(
            &setup(),
            ["d2cb2", "d3cb2"],
            "a",
            &["d2cb2", "d3cb2", "cb2", "b2", "a"],
            IT,
        );
    }

    #[test]
    fn test_iterate_single_branch() {
        assert_iteration(&setup(), "d3cb2", "a", &["d3cb2", "cb2", "b2", "a"], IT);
    }

    #[test]
    fn test_iterate_single_branch_to_base() {
        assert_iteration(&setup(), "d3cb2", "base", &["d3cb2", "cb2", "b2", "a"], IT);
    }

    #[test]
    fn test_iterate_multiple_branch_to_base() {
        assert_iteration(
            &setup(),
            ["d3cb2", "cb1"],
            "base",
            &["cb1", "b1", "d3cb2", "cb2", "b2", "a"],
            IT,
        );
    }

    #[test]
    fn test_iterate_multiple_heads_single_base() {
        // d1cb1 is omitted as it is not a descendant of b2.
        assert_iteration(
            &setup(),
            ["d1cb1", "d2cb2", "d3cb2"],
            "b2",
            &["d2cb2", "d3cb2", "cb2", "b2"],
            IT,
        );
    }

    #[test]
    fn test_same_branch_wrong_direction() {
        assert_err_contains(
            iterate(&setup(), "b1", "d1cb1", IT),
            "Revision d1cb1 is not an ancestor of revision b1",
        );
    }

    #[test]
    fn test_distinct_branches() {
        assert_err_contains(
            iterate(&setup(), "d2cb2", "b1", IT),
            "Revision b1 is not an ancestor of revision d2cb2",
        );
    }

    #[test]
    fn test_wrong_direction_to_base_as_none() {
        assert_err_contains(
            iterate(&setup(), RevSpec::None, "d1cb1", IT),
            "Revision d1cb1 is not an ancestor of revision base",
        );
    }

    #[test]
    fn test_wrong_direction_to_base_as_empty() {
        assert_err_contains(
            iterate(&setup(), RevSpec::Many(vec![]), "d1cb1", IT),
            "Revision d1cb1 is not an ancestor of revision base",
        );
    }
}

mod multiple_branch_effective_head {
    use super::*;

    fn setup() -> RevisionGraph {
        map(vec![
            rev("y1", &[]).with_branch_labels(&["y"]),
            rev("x1", &[]).with_branch_labels(&["x"]),
            rev("y2", &["y1"]).with_depends_on(&["x1"]),
            rev("x2", &["x1"]),
        ])
    }

    const DOWN: It = It {
        inclusive: false,
        implicit_base: false,
        select_for_downgrade: true,
    };

    #[test]
    fn test_other_downgrade() {
        assert_iteration(&setup(), ["x2", "y2"], "x@-1", &["x2"], DOWN);
    }

    #[test]
    fn test_use_all_current() {
        assert_iteration(&setup(), ["x1", "y2"], "x@-1", &["y2", "x1"], DOWN);
    }

    #[test]
    fn test_effective_head() {
        assert_iteration(&setup(), "y2", "x@-1", &["y2", "x1"], DOWN);
    }
}

mod branch_travelling_test {
    use super::*;

    fn setup() -> RevisionGraph {
        map(vec![
            rev("a1", &[]),
            rev("a2", &["a1"]),
            rev("a3", &["a2"]),
            rev("b1", &["a3"]),
            rev("b2", &["a3"]),
            rev("cb1", &["b1"]),
            rev("cb2", &["b2"]),
            rev("db1", &["cb1"]),
            rev("db2", &["cb2"]),
            rev("e1b1", &["db1"]),
            rev("fe1b1", &["e1b1"]),
            rev("e2b1", &["db1"]),
            rev("e2b2", &["db2"]),
            rev("merge", &["e2b1", "e2b2"]),
        ])
    }

    #[test]
    fn test_iterate_one_branch_both_to_merge() {
        // At a merge point, implicit base fills in every branch feeding it.
        assert_iteration(
            &setup(),
            "merge",
            "db1",
            &["merge", "e2b1", "db1", "e2b2", "db2", "cb2", "b2"],
            It {
                implicit_base: true,
                ..IT
            },
        );
    }

    #[test]
    fn test_three_branches_end_in_single_branch() {
        assert_iteration(
            &setup(),
            ["merge", "fe1b1"],
            "a3",
            &[
                "fe1b1", "e1b1", "merge", "e2b1", "db1", "cb1", "b1", "e2b2", "db2", "cb2", "b2",
                "a3",
            ],
            IT,
        );
    }

    #[test]
    fn test_two_branches_to_root() {
        // a3 is a stop point, db1 is not (no multiple traversals on db1).
        assert_iteration(
            &setup(),
            "merge",
            "a1",
            &[
                "merge", "e2b1", "db1", "cb1", "b1", "e2b2", "db2", "cb2", "b2", "a3", "a2", "a1",
            ],
            IT,
        );
    }

    #[test]
    fn test_two_branches_end_in_branch() {
        // b1 is local to the e2b1 branch, so that is all we get.
        assert_iteration(
            &setup(),
            "merge",
            "b1",
            &["merge", "e2b1", "db1", "cb1", "b1"],
            IT,
        );
    }

    #[test]
    fn test_two_branches_end_behind_branch() {
        assert_iteration(
            &setup(),
            "merge",
            "a2",
            &[
                "merge", "e2b1", "db1", "cb1", "b1", "e2b2", "db2", "cb2", "b2", "a3", "a2",
            ],
            IT,
        );
    }

    #[test]
    fn test_three_branches_to_root() {
        // Both a3 and db1 are stop points.
        assert_iteration(
            &setup(),
            ["merge", "fe1b1"],
            "a1",
            &[
                "fe1b1", "e1b1", "merge", "e2b1", "db1", "cb1", "b1", "e2b2", "db2", "cb2", "b2",
                "a3", "a2", "a1",
            ],
            IT,
        );
    }

    #[test]
    fn test_three_branches_end_multiple_bases() {
        assert_iteration(
            &setup(),
            ["merge", "fe1b1"],
            ["cb1", "cb2"],
            &[
                "fe1b1", "e1b1", "merge", "e2b1", "db1", "cb1", "e2b2", "db2", "cb2",
            ],
            IT,
        );
    }

    #[test]
    fn test_three_branches_end_multiple_bases_exclusive() {
        assert_iteration(
            &setup(),
            ["merge", "fe1b1"],
            ["cb1", "cb2"],
            &["fe1b1", "e1b1", "merge", "e2b1", "db1", "e2b2", "db2"],
            EXCLUSIVE,
        );
    }

    #[test]
    fn test_detect_invalid_head_selection() {
        // db1 is an ancestor of fe1b1.
        assert_err_contains(
            iterate(&setup(), ["db1", "b2", "fe1b1"], RevSpec::Many(vec![]), IT),
            "Requested revision fe1b1 overlaps with other requested revisions",
        );
    }

    #[test]
    fn test_three_branches_end_multiple_bases_exclusive_blank() {
        assert_iteration(
            &setup(),
            ["e2b1", "b2", "fe1b1"],
            RevSpec::Many(vec![]),
            &[
                "b2", "fe1b1", "e1b1", "e2b1", "db1", "cb1", "b1", "a3", "a2", "a1",
            ],
            EXCLUSIVE,
        );
    }

    #[test]
    fn test_iterate_to_symbolic_base() {
        assert_iteration(
            &setup(),
            ["fe1b1"],
            "base",
            &["fe1b1", "e1b1", "db1", "cb1", "b1", "a3", "a2", "a1"],
            EXCLUSIVE,
        );
    }

    #[test]
    fn test_ancestor_nodes() {
        let g = setup();
        let got: BTreeSet<String> = g
            .ancestors(&["merge"], true)
            .expect("ok")
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(
            got,
            set(&[
                "a1", "e2b2", "e2b1", "cb2", "merge", "a3", "a2", "b1", "b2", "db1", "db2", "cb1"
            ])
        );
    }
}

mod multiple_base_test {
    use super::*;

    fn setup() -> RevisionGraph {
        map(vec![
            rev("base1", &[]),
            rev("base2", &[]),
            rev("base3", &[]),
            rev("a1a", &["base1"]),
            rev("a1b", &["base1"]),
            rev("a2", &["base2"]),
            rev("a3", &["base3"]),
            rev("b1a", &["a1a"]),
            rev("b1b", &["a1b"]),
            rev("b2", &["a2"]),
            rev("b3", &["a3"]),
            rev("c2", &["b2"]),
            rev("d2", &["c2"]),
            rev("mergeb3d2", &["b3", "d2"]),
        ])
    }

    const ALL: [&str; 14] = [
        "b1a",
        "a1a",
        "b1b",
        "a1b",
        "base1",
        "mergeb3d2",
        "b3",
        "a3",
        "base3",
        "d2",
        "c2",
        "b2",
        "a2",
        "base2",
    ];

    #[test]
    fn test_heads_to_base() {
        assert_iteration(&setup(), "heads", "base", &ALL, IT);
    }

    #[test]
    fn test_heads_to_base_exclusive() {
        assert_iteration(&setup(), "heads", "base", &ALL, EXCLUSIVE);
    }

    #[test]
    fn test_heads_to_blank() {
        assert_iteration(&setup(), "heads", RevSpec::None, &ALL, IT);
    }

    #[test]
    fn test_detect_invalid_base_selection() {
        assert_err_contains(
            iterate(&setup(), ["c2"], ["a2", "b2"], IT),
            "overlaps with other requested revisions",
        );
    }

    #[test]
    fn test_heads_to_revs_plus_implicit_base_exclusive() {
        assert_iteration(
            &setup(),
            "heads",
            ["c2"],
            &[
                "b1a",
                "a1a",
                "b1b",
                "a1b",
                "base1",
                "mergeb3d2",
                "b3",
                "a3",
                "base3",
                "d2",
            ],
            It {
                inclusive: false,
                implicit_base: true,
                select_for_downgrade: false,
            },
        );
    }

    #[test]
    fn test_heads_to_revs_base_exclusive() {
        assert_iteration(&setup(), "heads", ["c2"], &["mergeb3d2", "d2"], EXCLUSIVE);
    }

    #[test]
    fn test_heads_to_revs_plus_implicit_base_inclusive() {
        assert_iteration(
            &setup(),
            "heads",
            ["c2"],
            &[
                "b1a",
                "a1a",
                "b1b",
                "a1b",
                "base1",
                "mergeb3d2",
                "b3",
                "a3",
                "base3",
                "d2",
                "c2",
            ],
            It {
                implicit_base: true,
                ..IT
            },
        );
    }

    #[test]
    fn test_specific_path_one() {
        assert_iteration(&setup(), "b3", "base3", &["b3", "a3", "base3"], IT);
    }

    #[test]
    fn test_specific_path_two_implicit_base() {
        assert_iteration(
            &setup(),
            ["b3", "b2"],
            "base3",
            &["b2", "a2", "base2", "b3", "a3"],
            It {
                inclusive: false,
                implicit_base: true,
                select_for_downgrade: false,
            },
        );
    }
}

mod multiple_base_cross_dependency_test_one {
    use super::*;

    //  base1 -----> a1a  -> b1a
    //        +----> a1b  -> b1b
    //                        |
    //            +-----------+
    //            v
    //  base3 -> a3 -> b3
    //            ^
    //            +-----------+
    //                        |
    //  base2 -> a2 -> b2 -> c2 -> d2
    fn setup() -> RevisionGraph {
        map(vec![
            rev("base1", &[]).with_branch_labels(&["b_1"]),
            rev("a1a", &["base1"]),
            rev("a1b", &["base1"]),
            rev("b1a", &["a1a"]),
            rev("b1b", &["a1b"]).with_depends_on(&["a3"]),
            rev("base2", &[]).with_branch_labels(&["b_2"]),
            rev("a2", &["base2"]),
            rev("b2", &["a2"]),
            rev("c2", &["b2"]).with_depends_on(&["a3"]),
            rev("d2", &["c2"]),
            rev("base3", &[]).with_branch_labels(&["b_3"]),
            rev("a3", &["base3"]),
            rev("b3", &["a3"]),
        ])
    }

    const DOWN: It = It {
        select_for_downgrade: true,
        ..IT
    };

    #[test]
    fn test_what_are_the_heads() {
        assert_eq!(setup().heads(), vec!["b1a", "b1b", "d2", "b3"]);
    }

    const ALL: [&str; 13] = [
        "b1a", "a1a", "b1b", "a1b", "base1", "d2", "c2", "b2", "a2", "base2", "b3", "a3", "base3",
    ];

    #[test]
    fn test_heads_to_base() {
        assert_iteration(&setup(), "heads", "base", &ALL, IT);
    }

    #[test]
    fn test_heads_to_base_downgrade() {
        assert_iteration(&setup(), "heads", "base", &ALL, DOWN);
    }

    #[test]
    fn test_same_branch_wrong_direction() {
        assert_err_contains(
            iterate(&setup(), "b2", "d2", IT),
            "Revision d2 is not an ancestor of revision b2",
        );
    }

    #[test]
    fn test_different_branch_not_wrong_direction() {
        assert_err_contains(
            iterate(&setup(), "b3", "d2", IT),
            "Revision d2 is not an ancestor of revision b3",
        );
    }

    #[test]
    fn test_we_need_head2_upgrade() {
        // The 2 branch relies on the 3 branch.
        assert_iteration(
            &setup(),
            "b_2@head",
            "base",
            &["d2", "c2", "b2", "a2", "base2", "a3", "base3"],
            IT,
        );
    }

    #[test]
    fn test_we_need_head2_downgrade() {
        // Going down, the 3 branch need not be touched.
        assert_iteration(
            &setup(),
            "b_2@head",
            "b_2@base",
            &["d2", "c2", "b2", "a2", "base2"],
            DOWN,
        );
    }

    #[test]
    fn test_we_need_head3_upgrade() {
        assert_iteration(&setup(), "b_3@head", "base", &["b3", "a3", "base3"], IT);
    }

    #[test]
    fn test_we_need_head3_downgrade() {
        assert_iteration(&setup(), "b_3@head", "base", &["b3", "a3", "base3"], DOWN);
    }

    #[test]
    fn test_we_need_head1_upgrade() {
        assert_iteration(
            &setup(),
            "b1b@head",
            "base",
            &["b1b", "a1b", "base1", "a3", "base3"],
            IT,
        );
    }

    #[test]
    fn test_we_need_head1_downgrade() {
        assert_iteration(
            &setup(),
            "b1b@head",
            "b1b@base",
            &["b1b", "a1b", "base1"],
            DOWN,
        );
    }

    #[test]
    fn test_we_need_base2_upgrade() {
        assert_iteration(
            &setup(),
            "heads",
            "b_2@base",
            &["d2", "c2", "b2", "a2", "base2", "a3", "base3"],
            IT,
        );
    }

    #[test]
    fn test_we_need_base2_downgrade() {
        assert_iteration(
            &setup(),
            "heads",
            "b_2@base",
            &["d2", "c2", "b2", "a2", "base2"],
            DOWN,
        );
    }

    #[test]
    fn test_we_need_base3_upgrade() {
        assert_iteration(&setup(), "heads", "b_3@base", &["b3", "a3", "base3"], IT);
    }

    #[test]
    fn test_we_need_base3_downgrade() {
        // Everything depending on a3 (b1b, c2 and above) goes down first.
        assert_iteration(
            &setup(),
            "heads",
            "b_3@base",
            &["b1b", "d2", "c2", "b3", "a3", "base3"],
            DOWN,
        );
    }
}

mod multiple_base_cross_dependency_test_two {
    use super::*;

    fn setup() -> RevisionGraph {
        map(vec![
            rev("base1", &[]).with_branch_labels(&["b_1"]),
            rev("a1", &["base1"]),
            rev("b1", &["a1"]),
            rev("c1", &["b1"]),
            rev("base2", &[])
                .with_depends_on(&["b_1"])
                .with_branch_labels(&["b_2"]),
            rev("a2", &["base2"]),
            rev("b2", &["a2"]),
            rev("c2", &["b2"]),
            rev("d2", &["c2"]),
            rev("base3", &[]).with_branch_labels(&["b_3"]),
            rev("a3", &["base3"]),
            rev("b3", &["a3"]),
            rev("c3", &["b3"]).with_depends_on(&["b2"]),
            rev("d3", &["c3"]),
        ])
    }

    #[test]
    fn test_what_are_the_heads() {
        assert_eq!(setup().heads(), vec!["c1", "d2", "d3"]);
    }

    #[test]
    fn test_heads_to_base() {
        assert_iteration(
            &setup(),
            "heads",
            "base",
            &[
                "c1", "b1", "a1", "d2", "c2", "d3", "c3", "b3", "a3", "base3", "b2", "a2", "base2",
                "base1",
            ],
            IT,
        );
    }

    #[test]
    fn test_we_need_head2() {
        assert_iteration(
            &setup(),
            "b_2@head",
            "base",
            &["d2", "c2", "b2", "a2", "base2", "base1"],
            IT,
        );
    }

    #[test]
    fn test_we_need_head3() {
        assert_iteration(
            &setup(),
            "b_3@head",
            "base",
            &[
                "d3", "c3", "b3", "a3", "base3", "b2", "a2", "base2", "base1",
            ],
            IT,
        );
    }

    #[test]
    fn test_we_need_head1() {
        assert_iteration(
            &setup(),
            "b_1@head",
            "base",
            &["c1", "b1", "a1", "base1"],
            IT,
        );
    }

    #[test]
    fn test_we_need_base1() {
        assert_iteration(
            &setup(),
            "heads",
            "b_1@base",
            &["c1", "b1", "a1", "base1"],
            IT,
        );
    }

    #[test]
    fn test_we_need_base2() {
        assert_iteration(
            &setup(),
            "heads",
            "b_2@base",
            &["d2", "c2", "b2", "a2", "base2", "base1"],
            IT,
        );
    }

    #[test]
    fn test_we_need_base3() {
        assert_iteration(
            &setup(),
            "heads",
            "b_3@base",
            &[
                "d3", "c3", "b3", "a3", "base3", "b2", "a2", "base2", "base1",
            ],
            IT,
        );
    }
}

mod multiple_base_cross_dependency_test_three {
    use super::*;

    #[test]
    fn test_traverse_no_parent_but_a_dep() {
        let g = map(vec![
            rev("base1", &[]),
            rev("a1", &["base1"]),
            rev("b1", &["a1"]),
            rev("c2", &[]).with_depends_on(&["a1"]),
            rev("c3", &["c2"]),
        ]);
        assert_iteration(&g, "heads", "base", &["b1", "c3", "c2", "a1", "base1"], IT);
    }
}

mod large_map_test {
    use super::*;

    #[test]
    fn test_all() {
        let g = map(large_map::nodes());
        let revs = iterate(&g, "heads", "base", IT).expect("iterates");
        let all: BTreeSet<String> = g.nodes().iter().map(|n| n.id.clone()).collect();
        assert_eq!(revs.iter().cloned().collect::<BTreeSet<_>>(), all);
        assert_eq!(revs.len(), all.len());
        assert_conforms_partial_ordering(&g, &revs);
        for (idx, r) in revs.iter().enumerate() {
            let ancestors: BTreeSet<&str> = g
                .ancestors(&[r], true)
                .expect("ok")
                .into_iter()
                .filter(|a| a != r)
                .collect();
            let descendants: BTreeSet<&str> = g
                .descendants(&[r], true)
                .expect("ok")
                .into_iter()
                .filter(|d| d != r)
                .collect();
            assert!(ancestors.is_disjoint(&descendants));
            let remaining: BTreeSet<&str> = revs[idx + 1..].iter().map(String::as_str).collect();
            if !remaining.is_empty() {
                assert!(
                    !remaining.is_disjoint(&ancestors),
                    "{r} has no ancestor left after it"
                );
            }
        }
    }
}

mod graph_with_loop_test {
    use super::*;

    fn assert_self_loop(nodes: Vec<RevisionNode>, revision: &str) {
        let e = RevisionGraph::new(nodes).expect_err("self-loop");
        assert_eq!(
            e.to_string(),
            format!("Self-loop is detected in revisions ({revision})")
        );
        assert_eq!(
            e,
            GraphError::SelfLoop {
                revision: revision.into()
            }
        );
    }

    fn assert_dep_loop(nodes: Vec<RevisionNode>, revision: &str) {
        let e = RevisionGraph::new(nodes).expect_err("dependency self-loop");
        assert_eq!(
            e.to_string(),
            format!("Dependency self-loop is detected in revisions ({revision})")
        );
    }

    #[test]
    fn test_revision_map_solitary_loop() {
        assert_self_loop(vec![rev("a", &["a"])], "a");
    }

    #[test]
    fn test_revision_dupe_head() {
        let g = map(vec![
            rev("user_foo", &[]),
            rev("user", &["user_foo"]).with_depends_on(&["user_foo"]),
        ]);
        assert_iteration(&g, "heads", RevSpec::None, &["user", "user_foo"], IT);
        let mut all = Marks::new(2);
        all.insert(0);
        all.insert(1);
        let sorted: Vec<&str> = g
            .topological_sort(&all, &[1])
            .into_iter()
            .map(|ix| g.id(ix))
            .collect();
        assert_eq!(sorted, vec!["user", "user_foo"]);
    }

    #[test]
    fn test_revision_map_no_loop_w_overlapping_substrings() {
        let g = map(vec![rev("user_foo", &[]), rev("user", &["user_foo"])]);
        assert_iteration(&g, "heads", RevSpec::None, &["user", "user_foo"], IT);
    }

    #[test]
    fn test_revision_map_no_loop_w_overlapping_substrings_dependencies() {
        let g = map(vec![
            rev("user_foo", &[]),
            rev("user", &[]).with_depends_on(&["user_foo"]),
        ]);
        assert_iteration(&g, "heads", RevSpec::None, &["user", "user_foo"], IT);
    }

    #[test]
    fn test_revision_map_base_loop() {
        assert_self_loop(
            vec![rev("a", &["a"]), rev("b", &["a"]), rev("c", &["b"])],
            "a",
        );
    }

    #[test]
    fn test_revision_map_head_loop() {
        assert_self_loop(
            vec![rev("a", &[]), rev("b", &["a"]), rev("c", &["b", "c"])],
            "c",
        );
    }

    #[test]
    fn test_revision_map_branch_point_loop() {
        assert_self_loop(
            vec![
                rev("a", &[]),
                rev("b", &["a", "b"]),
                rev("c1", &["b"]),
                rev("c2", &["b"]),
            ],
            "b",
        );
    }

    #[test]
    fn test_revision_map_merge_point_loop() {
        assert_self_loop(
            vec![
                rev("a", &[]),
                rev("b1", &["a"]),
                rev("b2", &["a"]),
                rev("c", &["b1", "b2", "c"]),
            ],
            "c",
        );
    }

    #[test]
    fn test_revision_map_solitary_dependency_loop() {
        assert_dep_loop(vec![rev("a", &[]).with_depends_on(&["a"])], "a");
    }

    #[test]
    fn test_revision_map_base_dependency_loop() {
        assert_dep_loop(
            vec![
                rev("a", &[]).with_depends_on(&["a"]),
                rev("b", &["a"]),
                rev("c", &["b"]),
            ],
            "a",
        );
    }

    #[test]
    fn test_revision_map_head_dep_loop() {
        assert_dep_loop(
            vec![
                rev("a", &[]),
                rev("b", &["a"]),
                rev("c", &["b"]).with_depends_on(&["c"]),
            ],
            "c",
        );
    }

    #[test]
    fn test_revision_map_branch_point_dep_loop() {
        assert_dep_loop(
            vec![
                rev("a", &[]),
                rev("b", &["a"]).with_depends_on(&["b"]),
                rev("c1", &["b"]),
                rev("c2", &["b"]),
            ],
            "b",
        );
    }

    #[test]
    fn test_revision_map_merge_point_dep_loop() {
        assert_dep_loop(
            vec![
                rev("a", &[]),
                rev("b1", &["a"]),
                rev("b2", &["a"]),
                rev("c", &["b1", "b2"]).with_depends_on(&["c"]),
            ],
            "c",
        );
    }
}

mod graph_with_cycle_test {
    use super::*;

    fn assert_cycle(nodes: Vec<RevisionNode>, revisions: &[&str]) {
        match RevisionGraph::new(nodes) {
            Err(GraphError::Cycle { revisions: got }) => {
                assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), set(revisions));
            }
            other => panic!("expected a cycle, got {other:?}"),
        }
    }

    fn assert_dep_cycle(nodes: Vec<RevisionNode>, revisions: &[&str]) {
        match RevisionGraph::new(nodes) {
            Err(GraphError::DependencyCycle { revisions: got }) => {
                assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), set(revisions));
            }
            other => panic!("expected a dependency cycle, got {other:?}"),
        }
    }

    #[test]
    fn test_revision_map_simple_cycle() {
        assert_cycle(
            vec![rev("a", &["c"]), rev("b", &["a"]), rev("c", &["b"])],
            &["a", "b", "c"],
        );
    }

    #[test]
    fn test_revision_map_extra_simple_cycle() {
        assert_cycle(
            vec![
                rev("a", &["c"]),
                rev("b", &["a"]),
                rev("c", &["b"]),
                rev("d", &[]),
                rev("e", &["d"]),
            ],
            &["a", "b", "c"],
        );
    }

    #[test]
    fn test_revision_map_lower_simple_cycle() {
        assert_cycle(
            vec![
                rev("a", &["c"]),
                rev("b", &["a"]),
                rev("c", &["b"]),
                rev("d", &["c"]),
                rev("e", &["d"]),
            ],
            &["a", "b", "c", "d", "e"],
        );
    }

    #[test]
    fn test_revision_map_upper_simple_cycle() {
        assert_cycle(
            vec![
                rev("a", &[]),
                rev("b", &["a"]),
                rev("c", &["b", "e"]),
                rev("d", &["c"]),
                rev("e", &["d"]),
            ],
            &["a", "b", "c", "d", "e"],
        );
    }

    #[test]
    fn test_revision_map_simple_dep_cycle() {
        assert_dep_cycle(
            vec![
                rev("a", &[]).with_depends_on(&["c"]),
                rev("b", &["a"]),
                rev("c", &["b"]),
            ],
            &["a", "b", "c"],
        );
    }

    #[test]
    fn test_revision_map_extra_simple_dep_cycle() {
        assert_dep_cycle(
            vec![
                rev("a", &[]).with_depends_on(&["c"]),
                rev("b", &["a"]),
                rev("c", &["b"]),
                rev("d", &[]),
                rev("e", &["d"]),
            ],
            &["a", "b", "c"],
        );
    }

    #[test]
    fn test_revision_map_lower_simple_dep_cycle() {
        assert_dep_cycle(
            vec![
                rev("a", &[]).with_depends_on(&["c"]),
                rev("b", &["a"]),
                rev("c", &["b"]),
                rev("d", &["c"]),
                rev("e", &["d"]),
            ],
            &["a", "b", "c", "d", "e"],
        );
    }

    #[test]
    fn test_revision_map_upper_simple_dep_cycle() {
        assert_dep_cycle(
            vec![
                rev("a", &[]),
                rev("b", &["a"]),
                rev("c", &["b"]).with_depends_on(&["e"]),
                rev("d", &["c"]),
                rev("e", &["d"]),
            ],
            &["a", "b", "c", "d", "e"],
        );
    }
}

mod normalized_down_rev_test {
    use super::*;

    fn setup() -> RevisionGraph {
        map(vec![
            rev("a1", &[]),
            rev("a2", &["a1"]),
            rev("a3", &["a2"]),
            rev("b1", &[]),
            rev("b2", &["b1"]).with_depends_on(&["a3"]),
            rev("b3", &["b2"]),
            rev("b4", &["b3"]).with_depends_on(&["a3"]),
            rev("b5", &["b4"]).with_depends_on(&["b4"]),
        ])
    }

    fn ids(g: &RevisionGraph, v: &[Ix]) -> Vec<String> {
        v.iter().map(|&ix| g.id(ix).to_string()).collect()
    }

    #[test]
    fn test_normalized_down_revisions() {
        let g = setup();
        let b4 = g.ids["b4"];
        assert_eq!(ids(&g, &g.links[b4].all_down), strings(&["b3", "a3"]));
        // a3 is left out because ancestor b2 also depends on it.
        assert_eq!(ids(&g, &g.links[b4].norm_down), strings(&["b3"]));
    }

    #[test]
    fn test_dupe_dependency() {
        let g = setup();
        let b5 = g.ids["b5"];
        assert_eq!(ids(&g, &g.links[b5].all_down), strings(&["b4"]));
        assert_eq!(ids(&g, &g.links[b5].norm_down), strings(&["b4"]));
    }

    const DOWN: It = It {
        select_for_downgrade: true,
        ..IT
    };

    #[test]
    fn test_branch_traversal() {
        assert_iteration(&setup(), "b4", "b1@base", &["b4", "b3", "b2", "b1"], DOWN);
    }

    #[test]
    fn test_all_traversal() {
        assert_iteration(
            &setup(),
            "heads",
            "base",
            &["b5", "b4", "b3", "b2", "b1", "a3", "a2", "a1"],
            DOWN,
        );
    }

    #[test]
    fn test_partial_traversal() {
        assert_iteration(
            &setup(),
            "heads",
            "a2",
            &["b5", "b4", "b3", "b2", "a3", "a2"],
            DOWN,
        );
    }

    #[test]
    fn test_partial_traversal_implicit_base_one() {
        assert_iteration(
            &setup(),
            "heads",
            "a2",
            &["b5", "b4", "b3", "b2", "b1", "a3", "a2"],
            It {
                implicit_base: true,
                ..DOWN
            },
        );
    }

    #[test]
    fn test_partial_traversal_implicit_base_two() {
        assert_iteration(
            &setup(),
            "b5",
            ["b1"],
            &["b5", "b4", "b3", "b2", "b1", "a3", "a2", "a1"],
            It {
                implicit_base: true,
                ..IT
            },
        );
    }

    #[test]
    fn test_partial_traversal_implicit_base_three() {
        let g = map(vec![
            rev("c1", &[]),
            rev("a1", &[]),
            rev("a2", &["a1"]).with_depends_on(&["c1"]),
            rev("a3", &["a2"]).with_depends_on(&["c1"]),
            rev("b1", &[]),
            rev("b2", &["b1"]).with_depends_on(&["a3"]),
            rev("b3", &["b2"]),
            rev("b4", &["b3"]).with_depends_on(&["a3"]),
            rev("b5", &["b4"]),
        ]);
        assert_iteration(
            &g,
            "b5",
            ["b1"],
            &["b5", "b4", "b3", "b2", "b1", "a3", "a2", "a1", "c1"],
            It {
                implicit_base: true,
                ..IT
            },
        );
    }
}
