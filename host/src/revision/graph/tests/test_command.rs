//! Ports of the version-table cases of Alembic's `tests/test_command.py` (stamp,
//! upgrade and downgrade classes). Alembic checks the SQL it emits; we check the same
//! statements as [`VersionChange`]s. `--sql` start revisions (`b:head`) become the rows
//! the plan starts from.

use super::*;

/// `three_rev_fixture` (a -> b -> c) plus `multi_heads_fixture` (d from b, e from d,
/// f from b).
fn multi_heads() -> RevisionGraph {
    map(vec![
        rev("a", &[]),
        rev("b", &["a"]),
        rev("c", &["b"]),
        rev("d", &["b"]),
        rev("e", &["d"]),
        rev("f", &["b"]),
    ])
}

fn three_revs() -> RevisionGraph {
    map(vec![rev("a", &[]), rev("b", &["a"]), rev("c", &["b"])])
}

/// Alembic's `_StampTest._assert_sql`: an UPDATE from `origin` (if any) to one of the
/// destinations, then one INSERT per remaining destination, nothing else.
fn assert_stamp_sql(steps: &[StampStep], origin: Option<&str>, destinations: &[&str]) {
    let mut remaining = set(destinations);
    let changes: Vec<&VersionChange> = steps.iter().flat_map(|s| &s.version_changes).collect();
    let mut changes = changes.into_iter();
    if let Some(origin) = origin {
        match changes.next() {
            Some(VersionChange::Update { from, to }) if from == origin => {
                assert!(remaining.remove(to), "unexpected update to {to}");
            }
            other => panic!("expected an update from {origin}, got {other:?}"),
        }
    }
    for change in changes {
        match change {
            VersionChange::Insert(v) => assert!(remaining.remove(v), "unexpected insert of {v}"),
            other => panic!("unexpected statement {other:?}"),
        }
    }
    assert!(remaining.is_empty(), "not stamped: {remaining:?}");
}

fn stamp(g: &RevisionGraph, current: &[&str], targets: &[&str]) -> Vec<StampStep> {
    g.plan_stamp(&strings(current), targets, false)
        .unwrap_or_else(|e| panic!("stamp {targets:?}: {e}"))
}

mod stamp_multiple_roots_test {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![
            rev("a1", &[]),
            rev("b1", &["a1"]),
            rev("c1", &["b1"]),
            rev("a2", &[]),
            rev("b2", &["a2"]),
            rev("c2", &["b2"]),
        ])
    }

    #[test]
    fn test_sql_stamp_heads() {
        assert_stamp_sql(&stamp(&env(), &[], &["heads"]), None, &["c1", "c2"]);
    }

    #[test]
    fn test_sql_stamp_single_head() {
        assert_stamp_sql(&stamp(&env(), &[], &["c1@head"]), None, &["c1"]);
    }
}

mod stamp_multiple_heads_test {
    use super::*;

    #[test]
    fn test_sql_stamp_heads() {
        assert_stamp_sql(
            &stamp(&multi_heads(), &[], &["heads"]),
            None,
            &["c", "e", "f"],
        );
    }

    #[test]
    fn test_sql_stamp_multi_rev_nonsensical() {
        // Alembic's TODO: e and f require b, yet this is allowed.
        assert_stamp_sql(
            &stamp(&multi_heads(), &[], &["a", "e", "f"]),
            None,
            &["a", "e", "f"],
        );
    }

    #[test]
    fn test_sql_stamp_multi_rev_from_multi_base_nonsensical() {
        // `base:a base:e base:f` with --sql: the start is base, an empty table.
        assert_stamp_sql(
            &stamp(&multi_heads(), &[], &["a", "e", "f"]),
            None,
            &["a", "e", "f"],
        );
    }

    #[test]
    fn test_online_stamp_multi_rev_nonsensical() {
        assert_stamp_sql(
            &stamp(&multi_heads(), &[], &["a", "e", "f"]),
            None,
            &["a", "e", "f"],
        );
    }

    #[test]
    fn test_online_stamp_multi_rev_from_real_ancestor() {
        let g = multi_heads();
        let first = stamp(&g, &[], &["a"]);
        assert_eq!(run_stamp(&[], &first), set(&["a"]));
        let steps = stamp(&g, &["a"], &["e", "f"]);
        assert_stamp_sql(&steps, Some("a"), &["e", "f"]);
        assert_eq!(run_stamp(&["a"], &steps), set(&["e", "f"]));
    }

    #[test]
    fn test_online_stamp_version_already_there() {
        let g = multi_heads();
        let rows = run_stamp(&[], &stamp(&g, &[], &["c", "e"]));
        assert_eq!(rows, set(&["c", "e"]));
        assert_stamp_sql(&stamp(&g, &["c", "e"], &["c", "e"]), None, &[]);
    }

    #[test]
    fn test_sql_stamp_multi_rev_from_multi_start() {
        let steps = stamp(&multi_heads(), &["b"], &["c", "e", "f"]);
        assert_stamp_sql(&steps, Some("b"), &["c", "e", "f"]);
        assert_eq!(run_stamp(&["b"], &steps), set(&["c", "e", "f"]));
    }

    #[test]
    fn test_sql_stamp_heads_symbolic() {
        assert_stamp_sql(
            &stamp(&multi_heads(), &["b"], &["heads"]),
            Some("b"),
            &["c", "e", "f"],
        );
    }

    #[test]
    fn test_stamp_purge() {
        let g = multi_heads();
        // The row was corrupted to `fake`; purge plans from an empty table.
        let steps = g
            .plan_stamp(&strings(&["fake"]), &["a", "e", "f"], true)
            .expect("purge ignores the current rows");
        assert_stamp_sql(&steps, None, &["a", "e", "f"]);
        assert_err_contains(g.plan_stamp(&strings(&["fake"]), &["a"], false), "'fake'");
    }
}

mod upgrade_downgrade_stamp_test {
    use super::*;

    fn changes(steps: &[Step]) -> Vec<VersionChange> {
        steps
            .iter()
            .flat_map(|s| s.version_changes.clone())
            .collect()
    }

    #[test]
    fn test_version_from_none_insert() {
        let steps = three_revs().plan_upgrade(&[], "a").expect("plans");
        assert_eq!(steps.len(), 1);
        assert_eq!(changes(&steps), vec![VersionChange::Insert("a".into())]);
    }

    #[test]
    fn test_version_from_middle_update() {
        let steps = three_revs()
            .plan_upgrade(&strings(&["b"]), "c")
            .expect("plans");
        let ids: Vec<&str> = steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ids, vec!["c"]);
        assert_eq!(
            changes(&steps),
            vec![VersionChange::Update {
                from: "b".into(),
                to: "c".into()
            }]
        );
    }

    #[test]
    fn test_version_to_none() {
        let steps = three_revs()
            .plan_downgrade(&strings(&["c"]), "base")
            .expect("plans");
        let ids: Vec<&str> = steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ids, vec!["c", "b", "a"]);
        let all = changes(&steps);
        assert!(!all.iter().any(|c| matches!(c, VersionChange::Insert(_))));
        assert_eq!(all.last(), Some(&VersionChange::Delete("a".into())));
    }

    #[test]
    fn test_sql_stamp_to_base_no_drop() {
        // Stamping to base from an empty table changes nothing (and drops nothing).
        assert!(stamp(&three_revs(), &[], &["base"]).is_empty());
    }

    #[test]
    fn test_version_to_middle() {
        let steps = three_revs()
            .plan_downgrade(&strings(&["c"]), "a")
            .expect("plans");
        let ids: Vec<&str> = steps.iter().map(|s| s.revision.as_str()).collect();
        assert_eq!(ids, vec!["c", "b"]);
        assert!(
            changes(&steps)
                .iter()
                .all(|c| matches!(c, VersionChange::Update { .. }))
        );
    }

    #[test]
    fn test_none_to_head_sql() {
        let steps = three_revs().plan_upgrade(&[], "head").expect("plans");
        let all = changes(&steps);
        assert_eq!(all.first(), Some(&VersionChange::Insert("a".into())));
        assert!(
            all.iter()
                .any(|c| matches!(c, VersionChange::Update { .. }))
        );
        assert_eq!(steps.len(), 3);
    }

    #[test]
    fn test_base_to_head_sql() {
        let g = three_revs();
        let mut order = g
            .iterate_revisions(
                &RevSpec::from("head"),
                &RevSpec::from("base"),
                IterateOptions {
                    implicit_base: true,
                    ..IterateOptions::default()
                },
            )
            .expect("iterates");
        order.reverse();
        assert_eq!(order, vec!["a", "b", "c"]);
    }

    #[test]
    fn test_sql_stamp_from_rev() {
        let steps = stamp(&three_revs(), &["a"], &["head"]);
        assert_eq!(
            steps
                .iter()
                .flat_map(|s| s.version_changes.clone())
                .collect::<Vec<_>>(),
            vec![VersionChange::Update {
                from: "a".into(),
                to: "c".into()
            }]
        );
    }

    #[test]
    fn test_sql_stamp_from_partial_rev() {
        // The start revision is given as a prefix; the runner resolves it first.
        let g = map(vec![
            rev("a1b2c3d4e5f6", &[]),
            rev("b1b2c3d4e5f6", &["a1b2c3d4e5f6"]),
            rev("c1b2c3d4e5f6", &["b1b2c3d4e5f6"]),
        ]);
        let start = g.resolve("a1b2c3d", &[]).expect("resolves");
        let steps = g.plan_stamp(&start, &["head"], false).expect("stamps");
        assert_eq!(
            steps
                .iter()
                .flat_map(|s| s.version_changes.clone())
                .collect::<Vec<_>>(),
            vec![VersionChange::Update {
                from: "a1b2c3d4e5f6".into(),
                to: "c1b2c3d4e5f6".into()
            }]
        );
    }

    #[test]
    fn test_sql_stamp_revision_as_kw() {
        assert_stamp_sql(&stamp(&three_revs(), &[], &["head"]), None, &["c"]);
    }

    #[test]
    fn test_stamp_argparser_single_rev() {
        assert_stamp_sql(&stamp(&three_revs(), &[], &["c"]), None, &["c"]);
    }

    #[test]
    fn test_stamp_argparser_multiple_rev() {
        // Alembic's TODO: conflicting heads, but both are inserted.
        assert_stamp_sql(&stamp(&three_revs(), &[], &["b", "c"]), None, &["b", "c"]);
    }
}

mod live_stamp_test {
    use super::*;

    fn env() -> RevisionGraph {
        map(vec![rev("a", &[]), rev("b", &["a"])])
    }

    #[test]
    fn test_stamp_creates_table() {
        assert_eq!(run_stamp(&[], &stamp(&env(), &[], &["head"])), set(&["b"]));
    }

    #[test]
    fn test_stamp_existing_upgrade() {
        let g = env();
        let rows = run_stamp(&[], &stamp(&g, &[], &["a"]));
        assert_eq!(rows, set(&["a"]));
        assert_eq!(run_stamp(&["a"], &stamp(&g, &["a"], &["b"])), set(&["b"]));
    }

    #[test]
    fn test_stamp_existing_downgrade() {
        let g = env();
        let steps = stamp(&g, &["b"], &["a"]);
        assert_eq!(steps[0].direction, Direction::Down);
        assert_eq!(run_stamp(&["b"], &steps), set(&["a"]));
    }

    #[test]
    fn test_stamp_version_already_there() {
        let g = env();
        assert!(stamp(&g, &["b"], &["b"]).is_empty());
    }
}
