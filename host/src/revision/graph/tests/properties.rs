//! Property tests on random DAGs (merges, several bases, `depends_on`, labels, any
//! input order): plans are topological orders, upgrading to `heads` then downgrading to
//! `base` is the identity on the version table, and everything is deterministic.

use proptest::prelude::*;

use super::*;

/// One generated revision: parent picks, dependency picks, label flag, order key.
type Spec = (Vec<u32>, Vec<u32>, u8, u32);

/// A random valid DAG: revision `i` may only point at revisions generated before it,
/// then the list is shuffled by `key` (input order must not matter for validity).
fn build(specs: &[Spec]) -> Vec<RevisionNode> {
    let id = |i: usize| format!("{:04x}{:08x}", i, (i as u64 * 2_654_435_761) % 0xffff_ffff);
    let mut nodes: Vec<(u32, RevisionNode)> = Vec::new();
    for (i, (parents, deps, label, key)) in specs.iter().enumerate() {
        let mut node = RevisionNode {
            id: id(i),
            ..Default::default()
        };
        if i > 0 {
            for p in parents {
                let parent = id(*p as usize % i);
                if !node.down_revisions.contains(&parent) {
                    node.down_revisions.push(parent);
                }
            }
            for d in deps {
                let dep = id(*d as usize % i);
                if !node.depends_on.contains(&dep) {
                    node.depends_on.push(dep);
                }
            }
        }
        if label % 5 == 0 {
            node.branch_labels.push(format!("label{i}"));
        }
        nodes.push((*key, node));
    }
    nodes.sort_by_key(|(key, _)| *key);
    nodes.into_iter().map(|(_, n)| n).collect()
}

fn specs() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec(
        (
            prop::collection::vec(any::<u32>(), 0..3),
            prop::collection::vec(any::<u32>(), 0..2),
            any::<u8>(),
            any::<u32>(),
        ),
        1..25,
    )
}

/// Every revision of the plan comes after (upgrade) or before (downgrade) each of its
/// parents and dependencies that the plan also contains.
fn assert_topological(g: &RevisionGraph, steps: &[Step]) {
    let pos = |id: &str| steps.iter().position(|s| s.revision == id);
    for (i, step) in steps.iter().enumerate() {
        let node = g.get(&step.revision).expect("planned revisions exist");
        for parent in node.down_revisions.iter().chain(&node.depends_on) {
            let parent = g.get(parent).map_or(parent.as_str(), |n| n.id.as_str());
            if let Some(p) = pos(parent) {
                match step.direction {
                    Direction::Up => assert!(
                        p < i,
                        "{} planned before its parent {parent}",
                        step.revision
                    ),
                    Direction::Down => {
                        assert!(p > i, "{} planned after its parent {parent}", step.revision)
                    }
                }
            }
        }
    }
}

fn ids(steps: &[Step]) -> Vec<&str> {
    steps.iter().map(|s| s.revision.as_str()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn upgrade_to_heads_then_downgrade_to_base_is_the_identity(specs in specs()) {
        let g = map(build(&specs));
        let up = g.plan_upgrade(&[], "heads").expect("upgrade plans");
        assert_topological(&g, &up);
        let mut applied: Vec<&str> = ids(&up);
        applied.sort_unstable();
        let mut all: Vec<&str> = g.nodes().iter().map(|n| n.id.as_str()).collect();
        all.sort_unstable();
        prop_assert_eq!(&applied, &all, "every revision is applied exactly once");
        let rows = run_steps(&g, &[], &up);
        let heads: BTreeSet<String> = g.effective_heads().into_iter().map(String::from).collect();
        prop_assert_eq!(&rows, &heads, "one row per effective head");

        let rows: Vec<String> = rows.into_iter().collect();
        let down = g.plan_downgrade(&rows, "base").expect("downgrade plans");
        assert_topological(&g, &down);
        let mut reverted: Vec<&str> = ids(&down);
        reverted.sort_unstable();
        prop_assert_eq!(&reverted, &all, "every revision is reverted exactly once");
        prop_assert!(run_steps(&g, &rows, &down).is_empty(), "the version table ends empty");
    }

    #[test]
    fn upgrading_in_two_legs_reaches_the_same_heads(specs in specs(), pick in any::<u32>()) {
        let g = map(build(&specs));
        let middle = g.nodes()[pick as usize % g.len()].id.clone();
        let first = g.plan_upgrade(&[], &middle).expect("first leg plans");
        assert_topological(&g, &first);
        let rows: Vec<String> = run_steps(&g, &[], &first).into_iter().collect();
        let second = g.plan_upgrade(&rows, "heads").expect("second leg plans");
        assert_topological(&g, &second);
        let end = run_steps(&g, &rows, &second);
        let heads: BTreeSet<String> = g.effective_heads().into_iter().map(String::from).collect();
        prop_assert_eq!(end, heads);
        let mut both: Vec<&str> = ids(&first).into_iter().chain(ids(&second)).collect();
        both.sort_unstable();
        let before = both.len();
        both.dedup();
        prop_assert_eq!(before, both.len(), "no revision is applied twice");
        prop_assert_eq!(both.len(), g.len());
    }

    #[test]
    fn building_resolving_and_planning_are_deterministic(specs in specs(), pick in any::<u32>()) {
        let nodes = build(&specs);
        let a = map(nodes.clone());
        let b = map(nodes);
        prop_assert_eq!(a.heads(), b.heads());
        prop_assert_eq!(a.effective_heads(), b.effective_heads());
        let target = a.nodes()[pick as usize % a.len()].id.clone();
        let rows: Vec<String> = a.effective_heads().into_iter().map(String::from).collect();
        for spec in ["heads", "base", "head", "+1", "-1", target.as_str(), &target[..6]] {
            prop_assert_eq!(a.resolve(spec, &rows), b.resolve(spec, &rows), "{}", spec);
            prop_assert_eq!(a.plan_upgrade(&[], spec), b.plan_upgrade(&[], spec), "{}", spec);
            prop_assert_eq!(a.plan_downgrade(&rows, spec), b.plan_downgrade(&rows, spec), "{}", spec);
        }
        prop_assert_eq!(
            a.plan_stamp(&rows, &[target.as_str()], false),
            b.plan_stamp(&rows, &[target.as_str()], false)
        );
    }
}
