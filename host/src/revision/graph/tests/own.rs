//! Our own cases: validation errors, the public resolution API, `replaces`, version
//! rows for branching/merging/unmerging, and large graphs.

use super::*;

fn linear(n: usize) -> Vec<RevisionNode> {
    let ids: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "{:012x}",
                (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) % (1 << 48)
            )
        })
        .collect();
    (0..n)
        .map(|i| RevisionNode {
            id: ids[i].clone(),
            down_revisions: if i == 0 {
                vec![]
            } else {
                vec![ids[i - 1].clone()]
            },
            ..Default::default()
        })
        .collect()
}

mod validation {
    use super::*;

    #[test]
    fn duplicate_ids_are_refused() {
        let e = RevisionGraph::new(vec![rev("a", &[]), rev("b", &["a"]), rev("a", &[])])
            .expect_err("dup");
        assert_eq!(
            e,
            GraphError::DuplicateRevision {
                revision: "a".into()
            }
        );
        assert_eq!(e.to_string(), "Revision a is present more than once");
    }

    #[test]
    fn missing_parent_is_refused() {
        let e = RevisionGraph::new(vec![rev("a", &[]), rev("b", &["zz"])]).expect_err("missing");
        assert_eq!(
            e.to_string(),
            "Revision zz referenced from b is not present"
        );
    }

    #[test]
    fn missing_dependency_is_refused() {
        let e = RevisionGraph::new(vec![
            rev("a", &[]),
            rev("b", &["a"]).with_depends_on(&["nolabel"]),
        ])
        .expect_err("missing");
        assert_eq!(
            e,
            GraphError::MissingDependency {
                revision: "b".into(),
                missing: "nolabel".into()
            }
        );
    }

    #[test]
    fn reserved_characters_are_refused() {
        let e = RevisionGraph::new(vec![rev("a-b@c", &[])]).expect_err("illegal");
        assert_eq!(
            e.to_string(),
            "Character(s) '-, @' not allowed in revision identifier 'a-b@c'"
        );
    }

    #[test]
    fn a_label_equal_to_an_id_is_refused() {
        let e = RevisionGraph::new(vec![
            rev("a", &[]),
            rev("b", &["a"]).with_branch_labels(&["a"]),
        ])
        .expect_err("collision");
        assert_eq!(
            e.to_string(),
            "Branch name 'a' in revision b already used by revision a"
        );
    }

    #[test]
    fn a_dependency_cycle_through_a_label_is_refused() {
        let e = RevisionGraph::new(vec![
            rev("a", &[]),
            rev("b", &["a"]).with_depends_on(&["cl"]),
            rev("c", &["b"]).with_branch_labels(&["cl"]),
        ])
        .expect_err("cycle");
        assert!(matches!(e, GraphError::DependencyCycle { .. }), "{e:?}");
    }

    #[test]
    fn an_empty_graph_is_valid() {
        let g = map(vec![]);
        assert!(g.is_empty());
        assert_eq!(g.heads(), Vec::<&str>::new());
        assert_eq!(g.current_head().expect("ok"), None);
        assert!(g.plan_upgrade(&[], "heads").expect("ok").is_empty());
    }
}

mod resolution {
    use super::*;

    fn forked() -> RevisionGraph {
        map(vec![
            rev("ae1000000001", &[]),
            rev("ae1000000002", &["ae1000000001"]),
            rev("ae1000000003", &["ae1000000002"]).with_branch_labels(&["left"]),
            rev("ae1000000004", &["ae1000000002"]).with_branch_labels(&["right"]),
            rev("ae1000000005", &["ae1000000004"]),
        ])
    }

    #[test]
    fn head_with_several_heads_lists_them() {
        let e = forked().resolve("head", &[]).expect_err("several heads");
        assert_eq!(
            e.to_string(),
            "Multiple head revisions are present for given argument 'head'; please specify a specific target revision, '<branchname>@head' to narrow to a specific head, or 'heads' for all heads (heads: ae1000000003, ae1000000005)"
        );
        let e = forked()
            .plan_upgrade(&[], "head")
            .expect_err("several heads");
        assert!(matches!(e, GraphError::MultipleHeadsTarget { ref heads, .. } if heads.len() == 2));
        let e = forked().current_head().expect_err("several heads");
        assert!(matches!(e, GraphError::MultipleHeads { .. }));
    }

    #[test]
    fn heads_base_and_labels() {
        let g = forked();
        assert_eq!(
            g.resolve("heads", &[]).expect("ok"),
            strings(&["ae1000000003", "ae1000000005"])
        );
        assert_eq!(g.resolve("base", &[]).expect("ok"), Vec::<String>::new());
        assert_eq!(
            g.resolve("right@head", &[]).expect("ok"),
            strings(&["ae1000000005"])
        );
        assert_eq!(
            g.resolve("left", &[]).expect("ok"),
            strings(&["ae1000000003"])
        );
        let current = strings(&["ae1000000003", "ae1000000005"]);
        assert_eq!(
            g.resolve("right@-1", &current).expect("ok"),
            strings(&["ae1000000004"])
        );
        assert_err_contains(
            g.resolve("right@-1", &[]),
            "Relative revision -1 didn't produce 1 migrations",
        );
        assert_eq!(g.resolve_revision("right@base").expect("ok"), None);
    }

    #[test]
    fn an_ambiguous_prefix_lists_every_match() {
        let e = forked().resolve("ae10", &[]).expect_err("ambiguous");
        assert_eq!(
            e,
            GraphError::AmbiguousPrefix {
                prefix: "ae10".into(),
                matches: strings(&[
                    "ae1000000001",
                    "ae1000000002",
                    "ae1000000003",
                    "ae1000000004",
                    "ae1000000005"
                ]),
            }
        );
        assert_eq!(
            forked().resolve("ae1000000004", &[]).expect("ok"),
            strings(&["ae1000000004"])
        );
        assert_eq!(
            forked()
                .resolve("ae10000000049", &[])
                .expect_err("none")
                .to_string(),
            "No such revision or branch 'ae10000000049'"
        );
    }

    #[test]
    fn relative_targets_count_from_the_current_heads() {
        let g = map(linear(5));
        let ids: Vec<String> = g.nodes().iter().map(|n| n.id.clone()).collect();
        let at = |i: usize| vec![ids[i].clone()];
        assert_eq!(g.resolve("+2", &at(1)).expect("ok"), at(3));
        assert_eq!(g.resolve("-1", &at(1)).expect("ok"), at(0));
        assert_eq!(
            g.resolve("-2", &at(1)).expect("ok"),
            Vec::<String>::new(),
            "two below the second is base"
        );
        assert_eq!(g.resolve(&format!("{}+2", ids[2]), &[]).expect("ok"), at(4));
        assert_eq!(
            g.resolve(&format!("{}-2", &ids[3][..6]), &[]).expect("ok"),
            at(1)
        );
        assert_err_contains(
            g.resolve("+9", &at(1)),
            "Relative revision +9 didn't produce 9 migrations",
        );
        assert_err_contains(
            g.resolve("-1", &[]),
            "Relative revision -1 didn't produce 1 migrations",
        );
    }

    #[test]
    fn a_walk_into_a_fork_is_ambiguous() {
        let g = forked();
        let e = g.resolve("+3", &[]).expect_err("fork");
        assert_eq!(
            e.to_string(),
            "Ambiguous walk from ae1000000002: ae1000000003, ae1000000004"
        );
        assert_eq!(
            g.resolve("right@+3", &[]).expect("ok"),
            strings(&["ae1000000004"])
        );
    }

    #[test]
    fn resolution_is_deterministic() {
        let a = forked();
        let b = forked();
        for spec in ["heads", "left@head", "right@-1", "ae1000000002+1", "base"] {
            let ra = a.resolve(spec, &[]).map_err(|e| e.to_string());
            let rb = b.resolve(spec, &[]).map_err(|e| e.to_string());
            assert_eq!(ra, rb, "{spec}");
        }
    }

    #[test]
    fn accessors() {
        let g = map(vec![
            rev("a", &[]),
            rev("b1", &["a"]),
            rev("b2", &["a"]).with_branch_labels(&["two"]),
            rev("m", &["b1", "b2"]),
            rev("x", &[]).with_depends_on(&["m"]),
        ]);
        assert_eq!(g.branch_points(), vec!["a"]);
        assert_eq!(g.merge_points(), vec!["m"]);
        assert_eq!(g.heads(), vec!["m", "x"]);
        assert_eq!(g.effective_heads(), vec!["x"]);
        assert_eq!(g.bases(), vec!["a", "x"]);
        assert_eq!(g.children("a").expect("known"), vec!["b1", "b2"]);
        assert_eq!(g.branch_labels("b2").expect("known"), vec!["two"]);
        assert_eq!(g.branch_labels("m").expect("known"), vec!["two"]);
        assert_eq!(g.branch_labels("a").expect("known"), Vec::<&str>::new());
        assert_eq!(g.normalized_dependencies("x").expect("known"), vec!["m"]);
        assert_eq!(g.get("b1").map(|n| n.id.as_str()), Some("b1"));
        assert_eq!(g.len(), 5);
    }

    #[test]
    fn history_ranges() {
        let g = map(vec![
            rev("aaaa", &[]),
            rev("bbbb", &["aaaa"]),
            rev("cccc", &["bbbb"]),
        ]);
        let all = g
            .walk_revisions(&RevSpec::from("base"), &RevSpec::from("heads"))
            .expect("ok");
        assert_eq!(all, vec!["cccc", "bbbb", "aaaa"]);
        let part = g
            .walk_revisions(&RevSpec::from("bbbb"), &RevSpec::from("cccc"))
            .expect("ok");
        assert_eq!(part, vec!["cccc", "bbbb"]);
        assert_err_contains(
            g.walk_revisions(&RevSpec::from("cccc"), &RevSpec::from("aaaa")),
            "Revision cccc is not an ancestor of revision aaaa",
        );
    }
}

mod replaces {
    use super::*;

    /// r1..r3 were squashed into `sq`; `after` still names r3 as its parent.
    fn squashed() -> RevisionGraph {
        map(vec![
            rev("sq", &[]).with_replaces(&["r1", "r2", "r3"]),
            rev("after", &["r3"]),
            rev("later", &["after"]).with_depends_on(&["r2"]),
        ])
    }

    #[test]
    fn replaced_ids_resolve_to_the_replacement() {
        let g = squashed();
        assert_eq!(g.resolve("r2", &[]).expect("ok"), strings(&["sq"]));
        assert_eq!(g.get("r3").map(|n| n.id.as_str()), Some("sq"));
        assert_eq!(g.children("sq").expect("known"), vec!["after"]);
        assert_eq!(g.heads(), vec!["later"]);
    }

    #[test]
    fn a_database_stamped_at_a_replaced_id_stays_valid() {
        let g = squashed();
        let current = strings(&["r3"]);
        let steps = g.plan_upgrade(&current, "heads").expect("plans");
        let ids: Vec<&str> = steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ids, vec!["after", "later"]);
        // The row still holds the replaced id, so the first update matches it.
        assert_eq!(
            steps[0].version_changes,
            vec![VersionChange::Update {
                from: "r3".into(),
                to: "after".into()
            }]
        );
        assert_eq!(run_steps(&g, &current, &steps), set(&["later"]));
        let down = g.plan_downgrade(&current, "base").expect("plans");
        assert_eq!(down.len(), 1);
        assert_eq!(
            down[0].version_changes,
            vec![VersionChange::Delete("r3".into())]
        );
    }

    #[test]
    fn a_replaced_revision_still_present_is_refused() {
        let e = RevisionGraph::new(vec![rev("r1", &[]), rev("sq", &[]).with_replaces(&["r1"])])
            .expect_err("present");
        assert_eq!(
            e,
            GraphError::ReplacedRevisionPresent {
                replaced: "r1".into(),
                by: "sq".into()
            }
        );
    }

    #[test]
    fn two_replacements_of_one_id_are_refused() {
        let e = RevisionGraph::new(vec![
            rev("sq1", &[]).with_replaces(&["r1"]),
            rev("sq2", &["sq1"]).with_replaces(&["r1"]),
        ])
        .expect_err("twice");
        assert!(
            matches!(e, GraphError::DuplicateReplacement { .. }),
            "{e:?}"
        );
    }

    #[test]
    fn replacing_ones_own_parent_is_a_self_loop() {
        let e =
            RevisionGraph::new(vec![rev("sq", &["r1"]).with_replaces(&["r1"])]).expect_err("loop");
        assert_eq!(
            e,
            GraphError::SelfLoop {
                revision: "sq".into()
            }
        );
    }
}

mod version_rows {
    use super::*;

    fn diamond() -> RevisionGraph {
        map(vec![
            rev("a", &[]),
            rev("b1", &["a"]),
            rev("b2", &["a"]),
            rev("m", &["b1", "b2"]),
        ])
    }

    #[test]
    fn branching_inserts_and_merging_deletes_then_updates() {
        // Alembic's order for a diamond: the second branch first (see `DiamondTest`).
        let g = diamond();
        let steps = g.plan_upgrade(&[], "m").expect("plans");
        let changes: Vec<(&str, Vec<VersionChange>)> = steps
            .iter()
            .map(|s| (s.revision.as_str(), s.version_changes.clone()))
            .collect();
        assert_eq!(
            changes,
            vec![
                ("a", vec![VersionChange::Insert("a".into())]),
                (
                    "b2",
                    vec![VersionChange::Update {
                        from: "a".into(),
                        to: "b2".into()
                    }]
                ),
                ("b1", vec![VersionChange::Insert("b1".into())]),
                (
                    "m",
                    vec![
                        VersionChange::Delete("b2".into()),
                        VersionChange::Update {
                            from: "b1".into(),
                            to: "m".into()
                        }
                    ]
                ),
            ]
        );
        assert_eq!(steps[3].from_revisions(), vec!["b1", "b2"]);
        assert_eq!(steps[3].to_revisions(), vec!["m"]);
    }

    #[test]
    fn unmerging_inserts_then_updates_and_leaving_a_branch_deletes() {
        let g = diamond();
        let steps = g.plan_downgrade(&strings(&["m"]), "base").expect("plans");
        let changes: Vec<(&str, Vec<VersionChange>)> = steps
            .iter()
            .map(|s| (s.revision.as_str(), s.version_changes.clone()))
            .collect();
        assert_eq!(
            changes,
            vec![
                (
                    "m",
                    vec![
                        VersionChange::Insert("b2".into()),
                        VersionChange::Update {
                            from: "m".into(),
                            to: "b1".into()
                        }
                    ]
                ),
                // b2 still implies a, so b1's row goes.
                ("b1", vec![VersionChange::Delete("b1".into())]),
                (
                    "b2",
                    vec![VersionChange::Update {
                        from: "b2".into(),
                        to: "a".into()
                    }]
                ),
                ("a", vec![VersionChange::Delete("a".into())]),
            ]
        );
    }

    #[test]
    fn apply_version_change_refuses_rows_that_do_not_match() {
        let mut rows = strings(&["a"]);
        assert_err_contains(
            apply_version_change(&mut rows, &VersionChange::Insert("a".into())),
            "Version a is already present",
        );
        assert_err_contains(
            apply_version_change(&mut rows, &VersionChange::Delete("b".into())),
            "Version b is not present",
        );
        assert_err_contains(
            apply_version_change(
                &mut rows,
                &VersionChange::Update {
                    from: "b".into(),
                    to: "c".into(),
                },
            ),
            "Version b is not present",
        );
        apply_version_change(
            &mut rows,
            &VersionChange::Update {
                from: "a".into(),
                to: "c".into(),
            },
        )
        .expect("ok");
        assert_eq!(rows, strings(&["c"]));
    }

    #[test]
    fn stamp_with_purge_plans_from_an_empty_table() {
        let g = diamond();
        let steps = g
            .plan_stamp(&strings(&["b1", "b2"]), &["m"], true)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        assert_eq!(
            steps[0].version_changes,
            vec![VersionChange::Insert("m".into())]
        );
        let steps = g
            .plan_stamp(&strings(&["b1", "b2"]), &["m"], false)
            .expect("stamps");
        assert_eq!(run_stamp(&["b1", "b2"], &steps), set(&["m"]));
    }

    #[test]
    fn stamp_head_with_several_heads_names_them() {
        let g = map(vec![rev("a", &[]), rev("b1", &["a"]), rev("b2", &["a"])]);
        let e = g.plan_stamp(&[], &["head"], false).expect_err("several");
        assert_eq!(
            e.to_string(),
            "Multiple heads are present; please specify a single target revision (heads: b1, b2)"
        );
    }
}

mod large {
    use super::*;

    /// A 10,000-revision chain builds, plans up and plans down completely. Its speed
    /// is measured by `bench/revisions`, not here.
    #[test]
    fn a_large_chain_plans_every_step_both_ways() {
        let g = map(linear(10_000));
        assert_eq!(g.heads().len(), 1);
        let steps = g.plan_upgrade(&[], "heads").expect("plans");
        assert_eq!(steps.len(), 10_000);
        let head = strings(&[g.heads()[0]]);
        let steps = g.plan_downgrade(&head, "base").expect("plans");
        assert_eq!(steps.len(), 10_000);
    }

    #[test]
    fn a_thousand_branchy_revisions_merge_back_to_one_head() {
        // Every tenth revision starts a side branch that merges back five later, with a
        // dependency, so normalization and labels do real work.
        let mut nodes = linear(1000);
        for i in (20..990).step_by(10) {
            let side = format!("side{i:08}");
            let parent = nodes[i].id.clone();
            nodes.push(RevisionNode {
                id: side.clone(),
                down_revisions: vec![parent],
                depends_on: vec![nodes[i - 5].id.clone()],
                branch_labels: vec![format!("label{i}")],
                ..Default::default()
            });
            nodes[i + 5].down_revisions.push(side);
        }
        let g = map(nodes);
        assert_eq!(g.heads().len(), 1);
        let steps = g.plan_upgrade(&[], "heads").expect("plans");
        assert_eq!(steps.len(), 1000 + 97);
    }
}

#[test]
fn steps_serialize_for_json_output() {
    let g = map(vec![rev("a", &[]), rev("b", &["a"])]);
    let steps = g.plan_upgrade(&strings(&["a"]), "b").expect("plans");
    let json = serde_json::to_value(&steps).expect("serializes");
    assert_eq!(
        json,
        serde_json::json!([{
            "revision": "b",
            "direction": "up",
            "down_revisions": ["a"],
            "version_changes": [{"update": {"from": "a", "to": "b"}}],
        }])
    );
}
