//! The `sqlalchemy` backend: SQLAlchemy, SQLModel and Flask-SQLAlchemy models read
//! statically, without a Python interpreter.
//!
//! Input: the project's `.py` files (model candidates already read by the walker), and
//! the units a cache can still vouch for. Output: the tables the models define and
//! diagnostics. Parsing uses `ruff_python_parser` (Astral's maintained parser behind
//! ruff: complete Python 3.12+ grammar, ~100 MB/s, error recovery with exact
//! locations), not regexes. Nothing is imported or executed: what cannot be evaluated
//! becomes a diagnostic.
//!
//! Every model candidate is one unit, evaluated on its own (in parallel) with a fresh
//! evaluator that records which modules it read; the units are then merged, so a
//! unit whose files are unchanged can come from the cache and the result is the same.

mod builtins;
mod eval;
mod exec;
mod model;
mod naming;
mod pins;
mod project;
pub mod roots;
mod types;
pub mod unit;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

pub use model::Found;
pub use pins::StaticValues;
pub use project::{Input, SourceRoots};
pub use unit::UnitOutput;

use crate::diagnostic::Diagnostic;

/// A model candidate's unit after discovery.
#[derive(Debug)]
pub struct Unit {
    /// The candidate's relative path.
    pub rel: PathBuf,
    /// The modules it read (relative paths, or absolute ones for library files, with
    /// their sha256; itself included) when it was evaluated now; `None` when it came
    /// from the cache.
    pub deps: Option<Vec<(PathBuf, String)>>,
    pub output: UnitOutput,
}

/// What [`discover`] found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub found: Vec<Found>,
    pub diagnostics: Vec<Diagnostic>,
    /// One per model candidate, in path order.
    pub units: Vec<Unit>,
}

/// Reads the models of `inputs`; `reused` holds units (by relative path) whose inputs
/// are known to be unchanged: they are not evaluated again.
pub fn discover(
    inputs: Vec<Input>,
    roots: SourceRoots,
    static_values: &StaticValues,
    mut reused: HashMap<PathBuf, UnitOutput>,
) -> Outcome {
    let project = project::Project::with_roots(inputs, roots, static_values);
    let candidates: Vec<usize> = (0..project.modules.count())
        .filter(|&m| project.modules[m].candidate)
        .collect();
    let mut slots: Vec<Option<Unit>> = candidates
        .iter()
        .map(|&m| {
            let rel = project.modules[m].rel.clone();
            reused.remove(&rel).map(|output| Unit {
                rel,
                deps: None,
                output,
            })
        })
        .collect();
    let todo: Vec<(usize, usize)> = candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| slots[*i].is_none())
        .map(|(i, &m)| (i, m))
        .collect();
    let done = Mutex::new(Vec::with_capacity(todo.len()));
    super::par_for_each(&todo, |&(slot, m)| {
        let ev = eval::Evaluator::new(&project);
        let output = model::Builder::new(&ev).run_unit(m);
        let deps = ev
            .touched()
            .into_iter()
            .chain([m])
            .map(|d| {
                let module = &project.modules[d];
                (module.rel.clone(), module.sha256().to_owned())
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let unit = Unit {
            rel: project.modules[m].rel.clone(),
            deps: Some(deps),
            output,
        };
        done.lock().expect("unit lock poisoned").push((slot, unit));
    });
    for (slot, unit) in done.into_inner().expect("unit lock poisoned") {
        slots[slot] = Some(unit);
    }
    let units: Vec<Unit> = slots.into_iter().flatten().collect();
    let outputs: Vec<&UnitOutput> = units.iter().map(|u| &u.output).collect();
    let (found, diagnostics) = unit::merge(&outputs);
    Outcome {
        found,
        diagnostics,
        units,
    }
}
