//! Ports of Alembic's `tests/test_version_traversal.py`: one module per test class.
//! Alembic's staging environment generates revisions in order; the graphs below list
//! them in the same order (which breaks ties in plans). Random ids (`util.rev_id()`)
//! are replaced by the revision names.

use super::*;

/// Applies single steps in order (Alembic's `HeadMaintainer.update_to_step`), checking
/// the rows after each.
fn assert_step_heads(g: &RevisionGraph, start: &[&str], steps: &[((String, Direction), &[&str])]) {
    let mut rows = strings(start);
    for ((revision, direction), expected) in steps {
        let changes = g
            .version_changes(&rows, revision, *direction)
            .unwrap_or_else(|e| panic!("{revision}: {e}"));
        apply_version_changes(&mut rows, &changes).unwrap_or_else(|e| panic!("{revision}: {e}"));
        assert_eq!(
            rows.iter().cloned().collect::<BTreeSet<_>>(),
            set(expected),
            "after {revision}"
        );
    }
}

mod revision_path_test {
    use super::*;

    const A: &str = "e6239818bb3a";
    const B: &str = "548bbb905360";
    const C: &str = "b7ea43dc85e4";
    const D: &str = "1bbe33445780";
    const E: &str = "3975fb1a0125";

    fn env() -> RevisionGraph {
        map(vec![
            rev(A, &[]),
            rev(B, &[A]),
            rev(C, &[B]),
            rev(D, &[C]),
            rev(E, &[D]),
        ])
    }

    #[test]
    fn test_downgrade_base_no_version() {
        assert_downgrade(&env(), "base", &[], &[], &[]);
    }

    #[test]
    fn test_downgrade_to_existing() {
        // #838: target already in the current heads but not itself a head.
        assert_downgrade(&env(), A, &[A], &[], &[A]);
    }

    #[test]
    fn test_downgrade_to_existing_head() {
        // #839: target already in the current heads, and a head.
        assert_downgrade(&env(), E, &[E], &[], &[E]);
    }

    #[test]
    fn test_upgrade_path() {
        let g = env();
        assert_upgrade(&g, E, &[C], &[up(D), up(E)], &[E]);
        assert_upgrade(&g, C, &[], &[up(A), up(B), up(C)], &[C]);
    }

    #[test]
    fn test_relative_upgrade_path() {
        let g = env();
        assert_upgrade(&g, "+2", &[A], &[up(B), up(C)], &[C]);
        assert_upgrade(&g, "+1", &[A], &[up(B)], &[B]);
        assert_upgrade(&g, "+3", &[B], &[up(C), up(D), up(E)], &[E]);
        assert_upgrade(&g, &format!("{B}+2"), &[A], &[up(B), up(C), up(D)], &[D]);
        assert_upgrade(&g, &format!("{D}-2"), &[A], &[up(B)], &[B]);
    }

    #[test]
    fn test_invalid_relative_upgrade_path() {
        let g = env();
        let e = g.plan_upgrade(&strings(&[B]), "-2").expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "Relative revision -2 didn't produce 2 migrations"
        );
        let e = g.plan_upgrade(&strings(&[B]), "+5").expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "Relative revision +5 didn't produce 5 migrations"
        );
    }

    #[test]
    fn test_downgrade_path() {
        let g = env();
        assert_downgrade(&g, C, &[E], &[down(E), down(D)], &[C]);
        assert_downgrade(&g, "base", &[C], &[down(C), down(B), down(A)], &[]);
    }

    #[test]
    fn test_relative_downgrade_path() {
        let g = env();
        assert_downgrade(&g, "-1", &[C], &[down(C)], &[B]);
        assert_downgrade(&g, "-3", &[E], &[down(E), down(D), down(C)], &[B]);
        assert_downgrade(&g, &format!("{A}+2"), &[D], &[down(D)], &[C]);
        assert_downgrade(
            &g,
            &format!("{C}-2"),
            &[D],
            &[down(D), down(C), down(B)],
            &[A],
        );
    }

    #[test]
    fn test_invalid_relative_downgrade_path() {
        let g = env();
        let e = g.plan_downgrade(&strings(&[B]), "-5").expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "Relative revision -5 didn't produce 5 migrations"
        );
        let e = g.plan_downgrade(&strings(&[B]), "+2").expect_err("invalid");
        assert_eq!(
            e.to_string(),
            "Relative revision +2 didn't produce 2 migrations"
        );
    }

    #[test]
    fn test_invalid_move_rev_to_none() {
        // A three-character prefix still resolves (Alembic matches any prefix against
        // ids longer than three characters).
        let e = env().plan_downgrade(&[], &B[..3]).expect_err("invalid");
        assert_eq!(
            e.to_string(),
            format!(
                "Destination {} is not a valid downgrade target from current head(s)",
                &B[..3]
            )
        );
    }

    #[test]
    fn test_invalid_move_higher_to_lower() {
        let e = env()
            .plan_downgrade(&strings(&[B]), &C[..4])
            .expect_err("invalid");
        assert_eq!(
            e.to_string(),
            format!(
                "Destination {} is not a valid downgrade target from current head(s)",
                &C[..4]
            )
        );
    }

    #[test]
    fn test_stamp_to_base() {
        let steps = env()
            .plan_stamp(&strings(&[D]), &["base"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        assert!(steps[0].branch_move);
        assert_eq!(steps[0].direction, Direction::Down);
        assert_eq!(
            steps[0].version_changes,
            vec![VersionChange::Delete(D.into())]
        );
    }
}

mod branched_path_test {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c1", &["b"]).with_branch_labels(&["c1branch"]),
            rev("d1", &["c1"]),
            rev("c2", &["b"]).with_branch_labels(&["c2branch"]),
            rev("d2", &["c2"]),
        ])
    }

    #[test]
    fn test_stamp_down_across_multiple_branch_to_branchpoint() {
        let steps = env()
            .plan_stamp(&strings(&["d1", "c2"]), &["b"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        // DELETE d1 revision, UPDATE c2 to b.
        assert_eq!(
            steps[0].version_changes,
            vec![
                VersionChange::Delete("d1".into()),
                VersionChange::Update {
                    from: "c2".into(),
                    to: "b".into()
                },
            ]
        );
        assert_eq!(run_stamp(&["d1", "c2"], &steps), set(&["b"]));
    }

    #[test]
    fn test_stamp_to_labeled_base_multiple_heads() {
        let steps = env()
            .plan_stamp(&strings(&["d1", "c2"]), &["c1branch@base"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        assert!(steps[0].branch_move);
        assert_eq!(
            steps[0].version_changes,
            vec![VersionChange::Delete("d1".into())]
        );
    }

    #[test]
    fn test_stamp_to_labeled_head_multiple_heads() {
        let steps = env()
            .plan_stamp(&strings(&["d1", "c2"]), &["c2branch@head"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        // The c1branch remains unchanged.
        assert_eq!(
            steps[0].version_changes,
            vec![VersionChange::Update {
                from: "c2".into(),
                to: "d2".into()
            }]
        );
        assert_eq!(run_stamp(&["d1", "c2"], &steps), set(&["d1", "d2"]));
    }

    #[test]
    fn test_upgrade_single_branch() {
        assert_upgrade(&env(), "d1", &["b"], &[up("c1"), up("d1")], &["d1"]);
    }

    #[test]
    fn test_upgrade_multiple_branch() {
        // From a single head to multiple heads.
        // The destination is a tuple, which only the iteration API takes.
        let g = env();
        let order = g
            .iterate_indices(
                &RevSpec::from(["d1", "d2"]),
                &RevSpec::from("a"),
                IterateOptions {
                    implicit_base: true,
                    ..IterateOptions::default()
                },
            )
            .expect("iterates");
        let source = strings(&["a"]);
        let steps = g
            .steps(&source, order.into_iter().rev(), Direction::Up)
            .expect("plans");
        let got: Vec<&str> = steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(got, vec!["b", "c2", "d2", "c1", "d1"]);
        assert_eq!(run_steps(&g, &source, &steps), set(&["d1", "d2"]));
    }

    #[test]
    fn test_downgrade_multiple_branch() {
        assert_downgrade(
            &env(),
            "a",
            &["d1", "d2"],
            &[down("d1"), down("c1"), down("d2"), down("c2"), down("b")],
            &["a"],
        );
    }

    #[test]
    fn test_relative_upgrade() {
        assert_upgrade(&env(), "c2branch@head-1", &["b"], &[up("c2")], &["c2"]);
    }

    #[test]
    fn test_relative_downgrade_baseplus2() {
        // base+2 is b, no branch label: drop everything above b.
        assert_downgrade(
            &env(),
            "base+2",
            &["d2", "d1"],
            &[down("d1"), down("c1"), down("d2"), down("c2")],
            &["b"],
        );
    }

    #[test]
    fn test_relative_downgrade_branchplus2() {
        // Only c2branch goes down, back to base+2 = b.
        assert_downgrade(
            &env(),
            "c2branch@base+2",
            &["d2", "d1"],
            &[down("d2"), down("c2")],
            &["d1"],
        );
    }

    #[test]
    fn test_relative_downgrade_branchplus3() {
        let g = env();
        assert_downgrade(&g, "c2", &["d2", "d1"], &[down("d2")], &["d1", "c2"]);
        assert_downgrade(
            &g,
            "c2branch@base+3",
            &["d2", "d1"],
            &[down("d2")],
            &["d1", "c2"],
        );
    }

    // `-1` from several heads is ambiguous (Alembic warns) and takes the first row.

    #[test]
    fn test_downgrade_once_order_right() {
        assert_downgrade(&env(), "-1", &["d2", "d1"], &[down("d2")], &["d1", "c2"]);
    }

    #[test]
    fn test_downgrade_once_order_right_unbalanced() {
        assert_downgrade(&env(), "-1", &["c2", "d1"], &[down("c2")], &["d1"]);
    }

    #[test]
    fn test_downgrade_once_order_left() {
        assert_downgrade(&env(), "-1", &["d1", "d2"], &[down("d1")], &["d2", "c1"]);
    }

    #[test]
    fn test_downgrade_once_order_left_unbalanced() {
        assert_downgrade(&env(), "-1", &["c1", "d2"], &[down("c1")], &["d2"]);
    }

    #[test]
    fn test_downgrade_once_order_left_unbalanced_labelled() {
        assert_downgrade(
            &env(),
            "c1branch@-1",
            &["d1", "d2"],
            &[down("d1")],
            &["c1", "d2"],
        );
    }

    // Alembic issue #765.

    #[test]
    fn test_downgrade_relative_order_right() {
        assert_downgrade(&env(), "d2-1", &["d2", "c1"], &[down("d2")], &["c1", "c2"]);
    }

    #[test]
    fn test_downgrade_relative_order_left() {
        assert_downgrade(&env(), "d2-1", &["c1", "d2"], &[down("d2")], &["c1", "c2"]);
    }

    #[test]
    fn test_downgrade_single_branch_c1branch() {
        assert_downgrade(&env(), "c1branch@b", &["c1", "d2"], &[down("c1")], &["d2"]);
    }

    #[test]
    fn test_downgrade_single_branch_c1branch_from_d1_head() {
        assert_downgrade(
            &env(),
            "c2branch@b",
            &["c1", "d2"],
            &[down("d2"), down("c2")],
            &["c1"],
        );
    }

    #[test]
    fn test_downgrade_single_branch_c2() {
        assert_downgrade(
            &env(),
            "c2@b",
            &["d1", "d2"],
            &[down("d2"), down("c2")],
            &["d1"],
        );
    }

    #[test]
    fn test_downgrade_single_branch_d1() {
        assert_downgrade(
            &env(),
            "d1@b",
            &["d1", "d2"],
            &[down("d1"), down("c1")],
            &["d2"],
        );
    }

    #[test]
    fn test_downgrade_relative_to_branch_head() {
        assert_downgrade(
            &env(),
            "c1branch@head-1",
            &["d1", "d2"],
            &[down("d1")],
            &["c1", "d2"],
        );
    }

    #[test]
    fn test_upgrade_other_branch_from_mergepoint() {
        // Advance c2branch by one: one past the branch point here.
        assert_upgrade(&env(), "c2branch@+1", &["c1"], &[up("c2")], &["c1", "c2"]);
    }

    #[test]
    fn test_upgrade_one_branch_of_heads() {
        assert_upgrade(
            &env(),
            "c2branch@+1",
            &["c1", "c2"],
            &[up("d2")],
            &["c1", "d2"],
        );
    }

    #[test]
    fn test_ambiguous_upgrade() {
        let e = env()
            .plan_upgrade(&strings(&["c1", "c2"]), "+1")
            .expect_err("ambiguous");
        assert_eq!(
            e.to_string(),
            "Ambiguous upgrade from multiple current revisions"
        );
    }

    #[test]
    fn test_upgrade_from_base() {
        assert_upgrade(&env(), "base+1", &[], &[up("a")], &["a"]);
    }

    #[test]
    fn test_upgrade_from_base_implicit() {
        assert_upgrade(&env(), "+1", &[], &[up("a")], &["a"]);
    }

    #[test]
    fn test_downgrade_minus1_to_base() {
        assert_downgrade(&env(), "-1", &["a"], &[down("a")], &[]);
    }

    #[test]
    fn test_downgrade_minus1_from_base() {
        let e = env()
            .plan_downgrade(&[], "-1")
            .expect_err("nothing to drop");
        assert_eq!(
            e.to_string(),
            "Relative revision -1 didn't produce 1 migrations"
        );
    }

    #[test]
    fn test_downgrade_no_effect_branched() {
        let g = env();
        assert_downgrade(&g, "c2", &["d1", "c2"], &[], &["d1", "c2"]);
        assert_downgrade(&g, "d1", &["d1", "c2"], &[], &["d1", "c2"]);
    }
}

mod branch_from_mergepoint_test {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![
            rev("a1", &[]),
            rev("b1", &["a1"]),
            rev("c1", &["b1"]),
            rev("a2", &[]),
            rev("b2", &["a2"]),
            rev("c2", &["b2"]),
            // Merge point between c1 and c2.
            rev("d1", &["c1", "c2"]),
            // c2 also continues into d2.
            rev("d2", &["c2"]),
        ])
    }

    #[test]
    fn test_mergepoint_to_only_one_side_upgrade() {
        assert_upgrade(
            &env(),
            "d1",
            &["d2", "b1"],
            &[up("c1"), up("d1")],
            &["d2", "d1"],
        );
    }

    #[test]
    fn test_mergepoint_to_only_one_side_downgrade() {
        assert_downgrade(
            &env(),
            "b1",
            &["d2", "d1"],
            &[down("d1"), down("c1")],
            &["d2", "b1"],
        );
    }
}

mod branch_from3_way_mergepoint_test {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![
            rev("a1", &[]),
            rev("b1", &["a1"]),
            rev("c1", &["b1"]),
            rev("a2", &[]),
            rev("b2", &["a2"]),
            rev("c2", &["b2"]),
            rev("a3", &[]),
            rev("b3", &["a3"]),
            rev("c3", &["b3"]),
            rev("d1", &["c1", "c2", "c3"]),
            rev("d2", &["c2"]),
            rev("d3", &["c3"]),
        ])
    }

    #[test]
    fn test_mergepoint_to_only_one_side_upgrade() {
        assert_upgrade(
            &env(),
            "d1",
            &["d3", "d2", "b1"],
            &[up("c1"), up("d1")],
            &["d3", "d2", "d1"],
        );
    }

    #[test]
    fn test_mergepoint_to_only_one_side_downgrade() {
        assert_downgrade(
            &env(),
            "b1",
            &["d3", "d2", "d1"],
            &[down("d1"), down("c1")],
            &["d3", "d2", "b1"],
        );
    }

    #[test]
    fn test_mergepoint_to_two_sides_upgrade() {
        let g = env();
        // Merges b2 and b1 into d1.
        assert_upgrade(
            &g,
            "d1",
            &["d3", "b2", "b1"],
            &[up("c2"), up("c1"), up("d1")],
            &["d3", "d1"],
        );
        // b2's line breaks out again when continued.
        assert_upgrade(&g, "d2", &["d3", "d1"], &[up("d2")], &["d3", "d2", "d1"]);
    }
}

mod twin_merge_test {
    use super::*;

    //  A -> B2 (branchpoint),
    //  B1, B2, B3 -> C1 (mergepoint)
    //  B1, B2, B3 -> C2 (mergepoint)
    //  C1 -> D1 (head), C2 -> D2 (head)
    #[test]
    fn test_upgrade() {
        let g = map(vec![
            rev("a", &[]),
            rev("b1", &["a"]),
            rev("b2", &["a"]),
            rev("b3", &["a"]),
            rev("c1", &["b1", "b2", "b3"]),
            rev("c2", &["b1", "b2", "b3"]),
            rev("d1", &["c1"]),
            rev("d2", &["c2"]),
        ]);
        assert_step_heads(
            &g,
            &["a"],
            &[
                (up("b3"), &["b3"]),
                (up("b1"), &["b1", "b3"]),
                (up("b2"), &["b1", "b2", "b3"]),
                (up("c2"), &["c2"]),
                (up("d2"), &["d2"]),
                (up("c1"), &["c1", "d2"]),
                (up("d1"), &["d1", "d2"]),
            ],
        );
    }
}

mod not_quite_twin_merge_test {
    use super::*;

    //  A -> B2 (branchpoint),
    //  B1, B2 -> C1 (mergepoint)
    //  B2, B3 -> C2 (mergepoint)
    //  C1 -> D1 (head), C2 -> D2 (head)
    #[test]
    fn test_upgrade() {
        let g = map(vec![
            rev("a", &[]),
            rev("b1", &["a"]),
            rev("b2", &["a"]),
            rev("b3", &["a"]),
            rev("c1", &["b1", "b2"]),
            rev("c2", &["b2", "b3"]),
            rev("d1", &["c1"]),
            rev("d2", &["c2"]),
        ]);
        assert_step_heads(
            &g,
            &["a"],
            &[
                (up("b2"), &["b2"]),
                (up("b3"), &["b2", "b3"]),
                (up("c2"), &["c2"]),
                (up("d2"), &["d2"]),
                (up("b1"), &["b1", "d2"]),
                (up("c1"), &["c1", "d2"]),
                (up("d1"), &["d1", "d2"]),
            ],
        );
    }
}

mod depends_on_branch_test_one {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![
            rev("a1", &[]).with_branch_labels(&["lib1"]),
            rev("b1", &["a1"]),
            rev("c1", &["b1"]),
            rev("a2", &[]),
            rev("b2", &["a2"]),
            rev("c2", &["b2"]).with_depends_on(&["c1"]),
            rev("d1", &["c1"]),
            rev("e1", &["d1"]),
            rev("f1", &["e1"]),
        ])
    }

    #[test]
    fn test_downgrade_to_dependency() {
        assert_step_heads(&env(), &["c2", "d1"], &[(down("d1"), &["c2"])]);
    }

    #[test]
    fn test_stamp_across_dependency() {
        let steps = env()
            .plan_stamp(&strings(&["e1", "c2"]), &["b1"], false)
            .expect("stamps");
        assert_eq!(run_stamp(&["e1", "c2"], &steps), set(&["b1"]));
    }
}

mod depends_on_branch_test_two {
    use super::*;

    //  a1, a2, a3 --> amerge;  b1, b2 --> bmerge;  c1, c2, c3 --> cmerge
    //  d1 (a base) depends on a3, b2, c1
    fn env() -> RevisionGraph {
        map(vec![
            rev("a1", &[]),
            rev("a2", &[]),
            rev("a3", &[]),
            rev("amerge", &["a1", "a2", "a3"]),
            rev("b1", &[]),
            rev("b2", &[]),
            rev("bmerge", &["b1", "b2"]),
            rev("c1", &[]),
            rev("c2", &[]),
            rev("c3", &[]),
            rev("cmerge", &["c1", "c2", "c3"]),
            rev("d1", &[]).with_depends_on(&["a3", "b2", "c1"]),
        ])
    }

    #[test]
    fn test_kaboom() {
        let g = env();
        // b2 is not kept, but d1 is, which implies b2.
        assert_downgrade(
            &g,
            "b2",
            &["amerge", "bmerge", "cmerge", "d1"],
            &[down("bmerge")],
            &["amerge", "b1", "cmerge", "d1"],
        );
        // b2 has to be inserted, because it was implied by d1.
        assert_downgrade(
            &g,
            "d1@base",
            &["amerge", "d1", "b1", "cmerge"],
            &[down("d1")],
            &["amerge", "b1", "b2", "cmerge"],
        );
        assert_downgrade(
            &g,
            "base",
            &["amerge", "b1", "b2", "cmerge"],
            &[
                down("amerge"),
                down("a1"),
                down("b1"),
                down("b2"),
                down("cmerge"),
                down("c1"),
                down("a2"),
                down("a3"),
                down("c2"),
                down("c3"),
            ],
            &[],
        );
    }
}

mod depends_on_branch_test_three {
    use super::*;

    // Alembic issue #377: a criss-cross of dependencies.
    #[test]
    fn test_downgrade_over_crisscross() {
        let g = map(vec![
            rev("a1", &[]),
            rev("a2", &["a1"]),
            rev("b1", &[]),
            rev("b2", &["b1"]).with_depends_on(&["a2"]),
            rev("b3", &["b2"]),
            rev("a3", &["a2"]).with_depends_on(&["b1"]),
        ]);
        // b1 stays implied by a3.
        assert_downgrade(&g, "b1", &["a3", "b2"], &[down("b2")], &["a3"]);
    }
}

mod depends_on_own_downrev_test {
    use super::*;

    // Alembic issue #843.
    fn env() -> RevisionGraph {
        map(vec![
            rev("a1", &[]),
            rev("a2", &["a1"]).with_depends_on(&["a1"]),
        ])
    }

    #[test]
    fn test_traverse() {
        assert_upgrade(&env(), "a2", &[], &[up("a1"), up("a2")], &["a2"]);
    }

    #[test]
    fn test_traverse_down() {
        assert_downgrade(&env(), "a1", &["a2"], &[down("a2")], &["a1"]);
    }
}

mod depends_on_branch_test_four {
    use super::*;

    // Alembic issue #789.
    #[test]
    fn test_dependencies_are_normalized() {
        let g = map(vec![
            rev("a1", &[]),
            rev("a2", &["a1"]),
            rev("a3", &["a2"]),
            rev("b1", &[]),
            rev("b2", &["b1"]).with_depends_on(&["a3"]),
            rev("b3", &["b2"]),
            rev("b4", &["b3"]).with_depends_on(&["a3"]),
        ]);
        // a3 is not inserted: b3 still implies it.
        assert_downgrade(&g, "b3", &["b4"], &[down("b4")], &["b3"]);
    }
}

mod depends_on_branch_test_five {
    use super::*;

    // Alembic issue #1373.
    #[test]
    fn test_downgrade_to_depends_on() {
        let g = map(vec![
            rev("a1", &[]),
            rev("b1", &[]).with_depends_on(&["a1"]),
            rev("bmerge", &["a1", "b1"]),
        ]);
        assert_upgrade(&g, "b1", &["a1"], &[up("b1")], &["b1"]);
        assert_upgrade(&g, "bmerge", &["b1"], &[up("bmerge")], &["bmerge"]);
        assert_downgrade(&g, "a1", &["bmerge"], &[down("bmerge")], &["b1"]);
        assert_downgrade(&g, "b1", &["bmerge"], &[down("bmerge")], &["b1"]);
    }
}

mod depends_on_branch_label_test {
    use super::*;

    #[test]
    fn test_upgrade_path() {
        let g = map(vec![
            rev("a1", &[]).with_branch_labels(&["lib1"]),
            rev("b1", &["a1"]),
            rev("c1", &["b1"]).with_branch_labels(&["c1lib"]),
            rev("a2", &[]),
            rev("b2", &["a2"]),
            rev("c2", &["b2"]).with_depends_on(&["c1lib"]),
            rev("d1", &["c1"]),
            rev("e1", &["d1"]),
            rev("f1", &["e1"]),
        ]);
        assert_upgrade(
            &g,
            "c2",
            &["a2"],
            &[up("a1"), up("b1"), up("c1"), up("b2"), up("c2")],
            &["c2"],
        );
    }
}

mod forest_test {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![
            rev("a1", &[]),
            rev("b1", &["a1"]),
            rev("a2", &[]),
            rev("b2", &["a2"]),
        ])
    }

    #[test]
    fn test_base_to_heads() {
        // Alembic passes the symbol `base` as the current revision.
        let g = env();
        let mut order = g
            .iterate_revisions(
                &RevSpec::from("heads"),
                &RevSpec::from("base"),
                IterateOptions {
                    implicit_base: true,
                    ..IterateOptions::default()
                },
            )
            .expect("iterates");
        order.reverse();
        assert_eq!(order, vec!["a2", "b2", "a1", "b1"]);
        assert_upgrade(
            &g,
            "heads",
            &[],
            &[up("a2"), up("b2"), up("a1"), up("b1")],
            &["b1", "b2"],
        );
    }

    #[test]
    fn test_stamp_to_heads() {
        let steps = env().plan_stamp(&[], &["heads"], false).expect("stamps");
        assert_eq!(steps.len(), 2);
        let to: BTreeSet<Vec<String>> = steps.iter().map(|s| s.to.clone()).collect();
        assert_eq!(
            to,
            [strings(&["b1"]), strings(&["b2"])].into_iter().collect()
        );
        assert_eq!(run_stamp(&[], &steps), set(&["b1", "b2"]));
    }

    #[test]
    fn test_stamp_to_heads_no_moves_needed() {
        let steps = env()
            .plan_stamp(&strings(&["b1", "b2"]), &["heads"], false)
            .expect("stamps");
        assert!(steps.is_empty());
    }
}

mod merged_path_test {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c1", &["b"]),
            rev("d1", &["c1"]),
            rev("c2", &["b"]).with_branch_labels(&["c2branch"]),
            rev("d2", &["c2"]),
            rev("e", &["d1", "d2"]),
            rev("f", &["e"]),
        ])
    }

    fn update(from: &str, to: &str) -> VersionChange {
        VersionChange::Update {
            from: from.into(),
            to: to.into(),
        }
    }

    #[test]
    fn test_stamp_down_across_merge_point_branch() {
        let steps = env()
            .plan_stamp(&strings(&["e"]), &["c2"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        // No deletes, UPDATE e to c2.
        assert_eq!(steps[0].version_changes, vec![update("e", "c2")]);
    }

    #[test]
    fn test_stamp_down_across_merge_prior_branching() {
        let steps = env()
            .plan_stamp(&strings(&["e"]), &["a"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].version_changes, vec![update("e", "a")]);
    }

    #[test]
    fn test_stamp_up_across_merge_from_single_branch() {
        let steps = env()
            .plan_stamp(&strings(&["c2"]), &["e"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].version_changes, vec![update("c2", "e")]);
    }

    #[test]
    fn test_stamp_labeled_head_across_merge_from_multiple_branch() {
        // filter_for_lineage checks d1 both against c2branch and against the head f,
        // which is the head of both d1 and d2.
        let steps = env()
            .plan_stamp(&strings(&["d1", "c2"]), &["c2branch@head"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        // DELETE d1 revision, UPDATE c2 to f.
        assert_eq!(
            steps[0].version_changes,
            vec![VersionChange::Delete("d1".into()), update("c2", "f")]
        );
    }

    #[test]
    fn test_stamp_up_across_merge_from_multiple_branch() {
        let steps = env()
            .plan_stamp(&strings(&["d1", "c2"]), &["e"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        assert_eq!(
            steps[0].version_changes,
            vec![VersionChange::Delete("d1".into()), update("c2", "e")]
        );
    }

    #[test]
    fn test_stamp_up_across_merge_prior_branching() {
        let steps = env()
            .plan_stamp(&strings(&["b"]), &["e"], false)
            .expect("stamps");
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].version_changes, vec![update("b", "e")]);
    }

    #[test]
    fn test_upgrade_across_merge_point() {
        let g = env();
        let steps = g.plan_upgrade(&strings(&["b"]), "f").expect("plans");
        let got: Vec<(String, Direction)> = steps
            .iter()
            .map(|s| (s.revision.clone(), s.direction))
            .collect();
        assert_eq!(
            got,
            vec![up("c2"), up("d2"), up("c1"), up("d1"), up("e"), up("f")]
        );
        // b->c2 updates the row; b->c1 creates a new branch; d1/d2 -> e merges
        // (DELETE d2, UPDATE d1 -> e).
        let changes: Vec<Vec<VersionChange>> =
            steps.iter().map(|s| s.version_changes.clone()).collect();
        assert_eq!(
            changes,
            vec![
                vec![update("b", "c2")],
                vec![update("c2", "d2")],
                vec![VersionChange::Insert("c1".into())],
                vec![update("c1", "d1")],
                vec![VersionChange::Delete("d2".into()), update("d1", "e")],
                vec![update("e", "f")],
            ]
        );
        assert_eq!(run_steps(&g, &strings(&["b"]), &steps), set(&["f"]));
    }

    #[test]
    fn test_downgrade_across_merge_point() {
        let g = env();
        let steps = g.plan_downgrade(&strings(&["f"]), "b").expect("plans");
        let got: Vec<(String, Direction)> = steps
            .iter()
            .map(|s| (s.revision.clone(), s.direction))
            .collect();
        assert_eq!(
            got,
            vec![
                down("f"),
                down("e"),
                down("d1"),
                down("c1"),
                down("d2"),
                down("c2")
            ]
        );
        // e -> d1 and d2 unmerges (INSERT d2, UPDATE e -> d1); c1 -> b leaves a branch
        // the other line still implies (DELETE c1); c2 -> b updates.
        let changes: Vec<Vec<VersionChange>> =
            steps.iter().map(|s| s.version_changes.clone()).collect();
        assert_eq!(
            changes,
            vec![
                vec![update("f", "e")],
                vec![VersionChange::Insert("d2".into()), update("e", "d1")],
                vec![update("d1", "c1")],
                vec![VersionChange::Delete("c1".into())],
                vec![update("d2", "c2")],
                vec![update("c2", "b")],
            ]
        );
        assert_eq!(run_steps(&g, &strings(&["f"]), &steps), set(&["b"]));
    }
}

mod branched_path_test_cross_dependencies {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![
            rev("a", &[]),
            rev("b", &["a"]),
            rev("c1", &["b"]).with_branch_labels(&["c1branch"]),
            rev("d1", &["c1"]),
            rev("c2", &["b"]).with_branch_labels(&["c2branch"]),
            rev("d2", &["c2"]).with_depends_on(&["c1"]),
        ])
    }

    #[test]
    fn test_downgrade_independent_branch() {
        // c2branch depends on c1branch, so it can go down on its own.
        assert_downgrade(
            &env(),
            "c2branch@b",
            &["d1", "d2"],
            &[down("d2"), down("c2")],
            &["d1"],
        );
    }

    #[test]
    fn test_downgrade_branch_dependency() {
        // Taking down c1branch also takes down d2, which depends on c1.
        let g = env();
        let source = strings(&["d1", "d2"]);
        let steps = g.plan_downgrade(&source, "c1branch@b").expect("plans");
        let ids: Vec<&str> = steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(
            ids.iter().copied().collect::<BTreeSet<_>>(),
            ["c1", "d1", "d2"].into_iter().collect()
        );
        let pos = |id: &str| ids.iter().position(|i| *i == id).expect("present");
        assert!(pos("d1") < pos("c1"));
        assert!(pos("d2") < pos("c1"));
        assert_eq!(run_steps(&g, &source, &steps), set(&["c2"]));
    }
}
