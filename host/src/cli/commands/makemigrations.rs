//! Commands that write revision files: `makemigrations --empty`, `merge`, `squash`.
//! Files are created with `create_new`: an existing file is never overwritten.

use std::path::PathBuf;

use serde_json::json;

use super::project::{Project, relative, write_new};
use super::revisions::graph_failure;
use crate::cli::args::MakemigrationsArgs;
use crate::cli::{Context, Failure, Outcome};
use crate::ops::Op;
use crate::revision::file::{self, NewRevision, RevisionKind};

/// The project's `script.toml.j2`, or the built-in one.
fn template(project: &Project<'_>) -> Result<String, Failure> {
    let path = project
        .loaded
        .settings
        .migrations_dir()
        .join("script.toml.j2");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(file::DEFAULT_TEMPLATE.to_owned()),
        Err(e) => Err(Failure::usage(format!(
            "Cannot read `{}`: {e}",
            path.display()
        ))),
    }
}

/// A revision id no file uses yet.
fn fresh_id(project: &Project<'_>) -> String {
    loop {
        let id = file::new_revision_id();
        if project.scripts.graph.get(&id).is_none() {
            return id;
        }
    }
}

/// Renders and writes `new`; returns the path.
fn write_revision(
    ctx: &Context<'_>,
    project: &Project<'_>,
    new: &NewRevision,
) -> Result<PathBuf, Failure> {
    let template = template(project)?;
    let text = file::render_new(&template, new).map_err(|e| {
        Failure::usage(format!(
            "The template `migrations/script.toml.j2` gives an invalid revision: {e}"
        ))
    })?;
    let dir = project.versions_dir();
    let path = dir.join(file::file_name(
        &new.revision,
        &new.message,
        RevisionKind::Toml,
    ));
    write_new(ctx, &path, &text)?;
    Ok(path)
}

fn check_label(project: &Project<'_>, label: &str) -> Result<(), Failure> {
    let used = project
        .scripts
        .files()
        .any(|f| f.branch_labels.iter().any(|l| l == label));
    if used {
        return Err(Failure::usage(format!(
            "The branch label `{label}` is already used"
        )));
    }
    if label.is_empty() || label.contains(['@', ':', '+', '-', ' ']) {
        return Err(Failure::usage(format!(
            "`{label}` is not a usable branch label (no `@`, `:`, `+`, `-` or spaces)"
        )));
    }
    Ok(())
}

fn report_written(ctx: &Context<'_>, path: &std::path::Path, id: &str, what: &str) {
    if ctx.printer.is_json() {
        ctx.printer
            .json(&json!({ "revision": id, "file": relative(ctx, path) }));
    } else {
        ctx.printer
            .line(format!("Created {what} {id}: {}", relative(ctx, path)));
    }
}

/// `makemigrations --empty [message] [--head REV] [--branch-label NAME]`.
pub fn empty(ctx: &Context<'_>, args: &MakemigrationsArgs) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let graph = &project.scripts.graph;
    let down_revisions = match &args.head {
        Some(spec) => graph.resolve(spec, &[]).map_err(graph_failure)?,
        None => {
            let heads = graph.heads();
            if heads.len() > 1 {
                return Err(Failure::usage(format!(
                    "Multiple heads are present ({}); please specify the head revision on which the new revision should be based, or perform a merge",
                    heads.join(", ")
                ))
                .hint("`--head <rev>` bases the revision on one head; `sqlalembic merge heads` joins them"));
            }
            heads.into_iter().map(str::to_owned).collect()
        }
    };
    if let Some(label) = &args.branch_label {
        check_label(&project, label)?;
    }
    let new = NewRevision {
        revision: fresh_id(&project),
        down_revisions,
        branch_labels: args.branch_label.iter().cloned().collect(),
        depends_on: Vec::new(),
        message: args
            .message
            .clone()
            .unwrap_or_else(|| "empty message".to_owned()),
        created_at: file::now_created_at(project.loaded.settings.migration.timezone),
        upgrade: Vec::new(),
        downgrade: Vec::new(),
        empty: true,
    };
    let path = write_revision(ctx, &project, &new)?;
    report_written(ctx, &path, &new.revision, "revision");
    Ok(Outcome::with(
        json!({ "revision": new.revision, "file": relative(ctx, &path) }),
    ))
}

/// `merge REVS|heads [-m MSG]`.
pub fn merge(
    ctx: &Context<'_>,
    revisions: &[String],
    message: Option<&str>,
    branch_label: Option<&str>,
) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let graph = &project.scripts.graph;
    let mut parents: Vec<String> = Vec::new();
    for spec in revisions {
        for id in graph.resolve(spec, &[]).map_err(graph_failure)? {
            if !parents.contains(&id) {
                parents.push(id);
            }
        }
    }
    if parents.len() < 2 {
        return Err(Failure::usage(format!(
            "A merge needs at least two revisions; `{}` gives {}",
            revisions.join(" "),
            if parents.is_empty() {
                "none".to_owned()
            } else {
                parents.join(", ")
            }
        )));
    }
    if let Some(label) = branch_label {
        check_label(&project, label)?;
    }
    let new = NewRevision {
        revision: fresh_id(&project),
        message: message.map_or_else(|| format!("merge {}", parents.join(", ")), str::to_owned),
        down_revisions: parents,
        branch_labels: branch_label.map(str::to_owned).into_iter().collect(),
        depends_on: Vec::new(),
        created_at: file::now_created_at(project.loaded.settings.migration.timezone),
        upgrade: Vec::new(),
        downgrade: Vec::new(),
        empty: false,
    };
    let path = write_revision(ctx, &project, &new)?;
    report_written(ctx, &path, &new.revision, "merge revision");
    Ok(Outcome::with(
        json!({ "revision": new.revision, "merges": new.down_revisions }),
    ))
}

/// `squash FROM TO [-m MSG]`: a linear range into one revision that `replaces` them.
pub fn squash(
    ctx: &Context<'_>,
    from: &str,
    to: &str,
    message: Option<&str>,
) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let graph = &project.scripts.graph;
    let resolve_one = |spec: &str| -> Result<String, Failure> {
        match graph.resolve(spec, &[]).map_err(graph_failure)?.as_slice() {
            [one] => Ok(one.clone()),
            other => Err(Failure::usage(format!(
                "`{spec}` must name exactly one revision, not {}",
                if other.is_empty() {
                    "base".to_owned()
                } else {
                    other.join(", ")
                }
            ))),
        }
    };
    let (first, last) = (resolve_one(from)?, resolve_one(to)?);
    // Walk down from `last` to `first` through single parents.
    let mut range = vec![last.clone()];
    let mut cur = last.clone();
    while cur != first {
        let f = project
            .scripts
            .file(&cur)
            .ok_or_else(|| Failure::usage(format!("Revision {cur} has no file")))?;
        match f.down_revisions.as_slice() {
            [one] => {
                cur = one.clone();
                range.push(cur.clone());
            }
            [] => {
                return Err(Failure::usage(format!(
                    "{first} is not an ancestor of {last}: cannot squash {from}..{to}"
                )));
            }
            _ => {
                return Err(Failure::usage(format!(
                    "{cur} is a merge: only a linear range can be squashed"
                )));
            }
        }
    }
    range.reverse();
    if range.len() < 2 {
        return Err(Failure::usage("Squashing needs at least two revisions"));
    }
    // Inner revisions must not have children outside the range.
    for id in &range[..range.len() - 1] {
        let children = graph.children(id).unwrap_or_default();
        if children.len() != 1 {
            return Err(Failure::usage(format!(
                "{id} is a branch point ({}): only a linear range can be squashed",
                children.join(", ")
            )));
        }
    }
    let mut upgrade: Vec<Op> = Vec::new();
    let mut downgrade_parts: Vec<Vec<Op>> = Vec::new();
    let mut labels = Vec::new();
    let mut depends = Vec::new();
    for id in &range {
        let header = project
            .scripts
            .file(id)
            .ok_or_else(|| Failure::usage(format!("Revision {id} has no file")))?;
        let (_, body) = file::read_full(&header.path).map_err(|e| {
            Failure::usage(format!("Revision {id} cannot be read"))
                .with_diagnostics([e.diagnostic()])
        })?;
        upgrade.extend(body.upgrade);
        downgrade_parts.push(body.downgrade);
        labels.extend(header.branch_labels.iter().cloned());
        depends.extend(
            header
                .depends_on
                .iter()
                .filter(|d| !range.contains(d))
                .cloned(),
        );
    }
    let downgrade: Vec<Op> = downgrade_parts.into_iter().rev().flatten().collect();
    let first_header = project
        .scripts
        .file(&first)
        .ok_or_else(|| Failure::usage(format!("Revision {first} has no file")))?;
    let id = fresh_id(&project);
    let new = NewRevision {
        revision: id.clone(),
        down_revisions: first_header.down_revisions.clone(),
        branch_labels: labels,
        depends_on: depends,
        message: message.map_or_else(|| format!("squash {first}..{last}"), str::to_owned),
        created_at: file::now_created_at(project.loaded.settings.migration.timezone),
        upgrade,
        downgrade,
        empty: false,
    };
    let template = template(&project)?;
    let text = file::render_new(&template, &new)
        .map_err(|e| Failure::usage(format!("Cannot render the squashed revision: {e}")))?;
    // `replaces` is a header key the template does not know: insert it after `revision`.
    let replaces = format!(
        "replaces = [{}]\n",
        range
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let text = match text.find('\n') {
        Some(i) if text[..i].starts_with("revision") => {
            format!("{}\n{replaces}{}", &text[..i], &text[i + 1..])
        }
        _ => format!("{replaces}{text}"),
    };
    let path = project
        .versions_dir()
        .join(file::file_name(&id, &new.message, RevisionKind::Toml));
    file::parse_str(&path, RevisionKind::Toml, &text)
        .map_err(|e| Failure::usage(format!("The squashed revision would not parse: {e}")))?;
    write_new(ctx, &path, &text)?;
    let mut removed = Vec::new();
    for old in &range {
        if let Some(h) = project.scripts.file(old) {
            std::fs::remove_file(&h.path).map_err(|e| {
                Failure::usage(format!("Cannot remove `{}`: {e}", relative(ctx, &h.path)))
            })?;
            removed.push(relative(ctx, &h.path));
        }
    }
    if ctx.printer.is_json() {
        ctx.printer.json(&json!({ "revision": id, "file": relative(ctx, &path), "replaces": range, "removed": removed }));
    } else {
        ctx.printer.line(format!(
            "Created {id} ({}), replacing {} revisions; removed:",
            relative(ctx, &path),
            range.len()
        ));
        for r in &removed {
            ctx.printer.line(format!("  {r}"));
        }
    }
    Ok(Outcome::with(json!({ "revision": id, "replaces": range })))
}
