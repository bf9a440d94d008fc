//! Commands that read the revision graph (and the database's heads): `heads`,
//! `branches`, `history`, `show`, `list`, `current`, `graph`.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::project::{Project, block_on, relative};
use crate::cli::{Context, Exit, Failure, Outcome};
use crate::revision::ScriptDir;
use crate::revision::graph::{GraphError, RevSpec};

/// Usage errors from the graph (unknown revision, several heads ...).
pub fn graph_failure(e: GraphError) -> Failure {
    let hint = match &e {
        // As in Alembic, `-1` from a merge point (or `+1` at a branch point) has no
        // single answer: name the way to go.
        GraphError::AmbiguousWalk { candidates, .. } => format!(
            "Name the revision to go to instead, one of: {}",
            candidates
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "`sqlalembic heads` and `sqlalembic history` list the revisions".to_owned(),
    };
    Failure::new(Exit::Usage, e).hint(hint)
}

/// `down_revision` as Alembic writes it: null, a string, or a list.
fn down_json(ids: &[String]) -> Value {
    match ids {
        [] => Value::Null,
        [one] => json!(one),
        many => json!(many),
    }
}

/// A revision as a JSON object (the shape `history --format json` documents).
pub fn revision_json(
    ctx: &Context<'_>,
    scripts: &ScriptDir,
    id: &str,
    applied: Option<&HashSet<String>>,
) -> Value {
    let Some(f) = scripts.file(id) else {
        return json!({ "revision": id });
    };
    let graph = &scripts.graph;
    let mut v = json!({
        "revision": f.revision,
        "down_revision": down_json(&f.down_revisions),
        "branch_labels": f.branch_labels,
        "depends_on": f.depends_on,
        "message": f.message,
        "file": relative(ctx, &f.path),
        "created_at": f.created_at,
        "is_head": graph.heads().contains(&id),
        "is_branch_point": graph.children(id).is_some_and(|c| c.len() > 1),
        "is_merge_point": f.down_revisions.len() > 1,
    });
    if !f.replaces.is_empty() {
        v["replaces"] = json!(f.replaces);
    }
    if let Some(applied) = applied {
        v["applied"] = json!(applied.contains(id));
    }
    v
}

/// Alembic's one-line form: `down -> rev (label) (head), message`.
pub fn revision_line(scripts: &ScriptDir, id: &str, with_down: bool, current: &[String]) -> String {
    let graph = &scripts.graph;
    let file = scripts.file(id);
    let mut s = String::new();
    if with_down {
        let downs = file
            .map(|f| f.down_revisions.join(", "))
            .unwrap_or_default();
        s.push_str(if downs.is_empty() { "<base>" } else { &downs });
        s.push_str(" -> ");
    }
    s.push_str(id);
    let labels = file.map(|f| f.branch_labels.clone()).unwrap_or_default();
    if !labels.is_empty() {
        s.push_str(&format!(" ({})", labels.join(", ")));
    }
    if graph.heads().contains(&id) {
        s.push_str(" (head)");
    }
    if graph.children(id).is_some_and(|c| c.len() > 1) {
        s.push_str(" (branchpoint)");
    }
    if file.is_some_and(|f| f.down_revisions.len() > 1) {
        s.push_str(" (mergepoint)");
    }
    if current.iter().any(|c| c == id) {
        s.push_str(" (current)");
    }
    if let Some(msg) = file.and_then(|f| f.message.as_deref())
        && with_down
    {
        s.push_str(", ");
        s.push_str(msg);
    }
    s
}

/// The verbose block Alembic prints for `--verbose`.
fn revision_block(ctx: &Context<'_>, scripts: &ScriptDir, id: &str, current: &[String]) -> String {
    let mut lines = vec![format!(
        "Rev: {}",
        revision_line(scripts, id, false, current)
    )];
    if let Some(f) = scripts.file(id) {
        let parent = if f.down_revisions.is_empty() {
            "<base>".to_owned()
        } else {
            f.down_revisions.join(", ")
        };
        lines.push(format!(
            "{}: {parent}",
            if f.down_revisions.len() > 1 {
                "Merges"
            } else {
                "Parent"
            }
        ));
        if let Some(children) = scripts.graph.children(id)
            && !children.is_empty()
        {
            lines.push(format!(
                "{}: {}",
                if children.len() > 1 {
                    "Branches into"
                } else {
                    "Child"
                },
                children.join(", ")
            ));
        }
        if !f.depends_on.is_empty() {
            lines.push(format!("Also depends on: {}", f.depends_on.join(", ")));
        }
        if !f.replaces.is_empty() {
            lines.push(format!("Replaces: {}", f.replaces.join(", ")));
        }
        lines.push(format!("Path: {}", relative(ctx, &f.path)));
        if let Some(created) = &f.created_at {
            lines.push(format!("Created: {created}"));
        }
        lines.push(String::new());
        lines.push(format!("    {}", f.message.as_deref().unwrap_or("")));
    }
    lines.join("\n")
}

/// Revisions applied to a database at `heads`: the heads and all their ancestors.
pub fn applied_set(scripts: &ScriptDir, heads: &[String]) -> HashSet<String> {
    let known: Vec<&str> = heads
        .iter()
        .map(String::as_str)
        .filter(|h| scripts.graph.get(h).is_some())
        .collect();
    scripts
        .graph
        .ancestors(&known, true)
        .map(|ids| ids.into_iter().map(str::to_owned).collect())
        .unwrap_or_default()
}

pub fn heads(ctx: &Context<'_>, verbose: bool) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let scripts = &project.scripts;
    let ids: Vec<&str> = scripts.graph.heads();
    if ctx.printer.is_json() {
        let list: Vec<Value> = ids
            .iter()
            .map(|id| revision_json(ctx, scripts, id, None))
            .collect();
        ctx.printer.json(&list);
    } else {
        for id in &ids {
            if verbose {
                ctx.printer.line(revision_block(ctx, scripts, id, &[]));
            } else {
                ctx.printer.line(revision_line(scripts, id, false, &[]));
            }
        }
    }
    Ok(Outcome::with(json!({ "heads": ids })))
}

pub fn branches(ctx: &Context<'_>) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let scripts = &project.scripts;
    let points = scripts.graph.branch_points();
    if ctx.printer.is_json() {
        let list: Vec<Value> = points
            .iter()
            .map(|id| {
                let mut v = revision_json(ctx, scripts, id, None);
                v["children"] = json!(scripts.graph.children(id).unwrap_or_default());
                v
            })
            .collect();
        ctx.printer.json(&list);
    } else {
        for id in &points {
            ctx.printer.line(revision_line(scripts, id, false, &[]));
            for child in scripts.graph.children(id).unwrap_or_default() {
                ctx.printer.line(format!(
                    "             -> {}",
                    revision_line(scripts, child, false, &[])
                ));
            }
        }
    }
    Ok(Outcome::with(json!({ "branch_points": points })))
}

pub fn current(ctx: &Context<'_>, verbose: bool) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let scripts = &project.scripts;
    let heads = block_on(project.db_heads())??;
    if ctx.printer.is_json() {
        let list: Vec<Value> = heads
            .iter()
            .map(|id| revision_json(ctx, scripts, id, None))
            .collect();
        ctx.printer
            .json(&json!({ "database": project.target(), "current": list }));
    } else {
        if verbose {
            ctx.printer
                .line(format!("Current revision(s) for {}:", project.target()));
        }
        for id in &heads {
            match scripts.graph.get(id) {
                None => {
                    ctx.printer
                        .line(format!("{id} (unknown: no revision file)"));
                    continue;
                }
                Some(node) if node.id != *id => {
                    // Replaced by a squash: the database counts as at the replacement.
                    ctx.printer.line(format!(
                        "{id} (replaced by {})",
                        revision_line(scripts, &node.id, false, &[])
                    ));
                    continue;
                }
                Some(_) => {}
            }
            if verbose {
                ctx.printer.line(revision_block(ctx, scripts, id, &[]));
            } else {
                ctx.printer.line(revision_line(scripts, id, false, &[]));
            }
        }
    }
    Ok(Outcome::with(json!({ "current": heads })))
}

/// `history [--range A:B]`: newest first.
pub fn history(
    ctx: &Context<'_>,
    range: Option<&str>,
    verbose: bool,
    draw_graph: bool,
) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let scripts = &project.scripts;
    let db_heads = block_on(project.db_heads())??;
    let (base, head) = match range {
        None => (RevSpec::None, RevSpec::One("heads".to_owned())),
        Some(r) => {
            let (a, b) = r.split_once(':').ok_or_else(|| {
                Failure::usage(format!(
                    "Invalid range `{r}`: expected `A:B` (either side may be empty)"
                ))
            })?;
            let resolve_side = |s: &str, default: RevSpec| -> RevSpec {
                match s {
                    "" => default,
                    "current" => RevSpec::Many(db_heads.clone()),
                    other => RevSpec::One(other.to_owned()),
                }
            };
            (
                resolve_side(a, RevSpec::None),
                resolve_side(b, RevSpec::One("heads".to_owned())),
            )
        }
    };
    let ids: Vec<String> = if scripts.is_empty() {
        Vec::new()
    } else {
        scripts
            .graph
            .walk_revisions(&base, &head)
            .map_err(graph_failure)?
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let applied = applied_set(scripts, &db_heads);
    if ctx.printer.is_json() {
        let list: Vec<Value> = ids
            .iter()
            .map(|id| revision_json(ctx, scripts, id, Some(&applied)))
            .collect();
        ctx.printer.json(&list);
    } else if draw_graph {
        for line in super::graph::ascii(scripts, &ids, &db_heads) {
            ctx.printer.line(line);
        }
    } else {
        for id in &ids {
            if verbose {
                ctx.printer
                    .line(revision_block(ctx, scripts, id, &db_heads));
                ctx.printer.line("");
            } else {
                ctx.printer
                    .line(revision_line(scripts, id, true, &db_heads));
            }
        }
    }
    Ok(Outcome::with(json!({ "count": ids.len() })))
}

pub fn show(
    ctx: &Context<'_>,
    spec: &str,
    sql: bool,
    dialect: Option<crate::cli::args::DialectName>,
) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let scripts = &project.scripts;
    let ids: Vec<String> = if spec == "current" {
        block_on(project.db_heads())??
    } else {
        let heads = block_on(project.db_heads())??;
        scripts.graph.resolve(spec, &heads).map_err(graph_failure)?
    };
    if ids.is_empty() {
        return Err(Failure::usage(format!(
            "`{spec}` names no revision (it is base)"
        )));
    }
    let mut out = Vec::new();
    for id in &ids {
        let file = scripts.file(id).ok_or_else(|| {
            Failure::usage(format!("Revision {id} has no file in the versions folder"))
        })?;
        let (_, body) = crate::revision::file::read_full(&file.path).map_err(|e| {
            Failure::usage(format!("Revision {id} cannot be read"))
                .with_diagnostics([e.diagnostic()])
        })?;
        let rendered = if sql {
            Some(super::migrate::render_revision_sql(&project, id, dialect)?)
        } else {
            None
        };
        if ctx.printer.is_json() {
            let mut v = revision_json(ctx, scripts, id, None);
            v["upgrade"] = json!(body.upgrade);
            v["downgrade"] = json!(body.downgrade);
            if let Some(sql) = &rendered {
                v["sql"] = json!(sql);
            }
            out.push(v);
        } else {
            ctx.printer.line(revision_block(ctx, scripts, id, &[]));
            ctx.printer.line("");
            for (name, ops) in [("upgrade", &body.upgrade), ("downgrade", &body.downgrade)] {
                ctx.printer.line(format!("{name}:"));
                if ops.is_empty() {
                    ctx.printer.line("    (nothing)");
                }
                for op in ops.iter() {
                    let flag = if op.is_destructive() {
                        "  [destructive]"
                    } else {
                        ""
                    };
                    ctx.printer.line(format!("    {}{flag}", op.describe()));
                }
            }
            if let Some(sql) = rendered {
                ctx.printer.line("");
                ctx.printer.line(sql.trim_end());
            }
        }
    }
    if ctx.printer.is_json() {
        if out.len() == 1 {
            ctx.printer.json(&out[0]);
        } else {
            ctx.printer.json(&out);
        }
    }
    Ok(Outcome::with(json!({ "revisions": ids })))
}

/// `list`: every revision base first, with its state.
pub fn list(ctx: &Context<'_>, pending_only: bool, applied_only: bool) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let scripts = &project.scripts;
    let db_heads = block_on(project.db_heads())??;
    let applied = applied_set(scripts, &db_heads);
    let mut ids: Vec<String> = if scripts.is_empty() {
        Vec::new()
    } else {
        scripts
            .graph
            .walk_revisions(&RevSpec::None, &RevSpec::One("heads".to_owned()))
            .map_err(graph_failure)?
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    ids.reverse();
    let rows: Vec<&String> = ids
        .iter()
        .filter(|id| {
            let is_applied = applied.contains(*id);
            if pending_only {
                !is_applied
            } else if applied_only {
                is_applied
            } else {
                true
            }
        })
        .collect();
    if ctx.printer.is_json() {
        let list: Vec<Value> = rows
            .iter()
            .map(|id| revision_json(ctx, scripts, id, Some(&applied)))
            .collect();
        ctx.printer.json(&list);
    } else if rows.is_empty() {
        ctx.printer.line(match (pending_only, applied_only) {
            (true, _) => "No pending migrations",
            (_, true) => "No applied migrations",
            _ => "No migrations",
        });
    } else {
        for id in &rows {
            let state = if applied.contains(*id) {
                "applied"
            } else {
                "pending"
            };
            let message = scripts
                .file(id)
                .and_then(|f| f.message.clone())
                .unwrap_or_default();
            ctx.printer.line(format!("[{state:<7}] {id}  {message}"));
        }
    }
    let pending = ids.iter().filter(|id| !applied.contains(*id)).count();
    Ok(Outcome::with(
        json!({ "pending": pending, "applied": ids.len() - pending }),
    ))
}
