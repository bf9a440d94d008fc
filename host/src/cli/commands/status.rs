//! `status`, `check` and `validate`: where the database stands against the revision
//! files, as a report (status) or a gate with exit code 1 (check, validate).
//! `validate` also reads every revision body, so a mistake in any op fails it.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;

use super::project::{Project, block_on, relative};
use super::revisions::{applied_set, graph_failure};
use crate::cli::{Context, Exit, Failure, Outcome};
use crate::revision::file;
use crate::revision::{LoadError, ScriptDir};
use crate::runner::{self, HistoryRow};

/// One problem `status` and `validate` report.
#[derive(Debug, Serialize)]
pub struct Problem {
    pub code: &'static str,
    pub revision: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

/// `validate --repair`: records the new checksum of every applied revision whose file
/// changed (a `changed-file` problem) when its ops are what was recorded, or with
/// `force` whatever they are. Refuses, changing nothing, when one cannot be accepted;
/// returns the revisions repaired.
fn repair_checksums(
    ctx: &Context<'_>,
    project: &Project<'_>,
    listed: &[Problem],
    history: &[HistoryRow],
    force: bool,
) -> Result<Vec<String>, Failure> {
    let mut fixes = Vec::new();
    let mut lines = Vec::new();
    let mut refused = Vec::new();
    for id in listed
        .iter()
        .filter(|p| p.code == "changed-file")
        .filter_map(|p| p.revision.as_ref())
    {
        let Some(row) = history
            .iter()
            .rev()
            .find(|r| r.revision == *id && r.direction == "upgrade")
        else {
            continue;
        };
        let (Some(old), Some(f)) = (&row.checksum, project.scripts.file(id)) else {
            continue;
        };
        let shown = relative(ctx, &f.path);
        let bytes = std::fs::read(&f.path)
            .map_err(|e| Failure::usage(format!("{shown} cannot be read: {e}")))?;
        let text = String::from_utf8_lossy(&bytes);
        let kind = file::RevisionKind::from_path(&f.path).unwrap_or(file::RevisionKind::Toml);
        let (_, body) =
            file::parse_str(&f.path, kind, &text).map_err(|e| Failure::usage(e.to_string()))?;
        let ops_checksum = file::ops_checksum(&body);
        let why = match &row.ops_checksum {
            Some(recorded) if *recorded == ops_checksum => "its ops are unchanged",
            Some(_) if force => "its ops changed (--force)",
            None if force => "its ops were not recorded when it was applied (--force)",
            Some(_) => {
                refused.push(format!(
                    "{id} ({shown}): its ops changed since it was applied on {}",
                    row.applied_at
                ));
                continue;
            }
            None => {
                refused.push(format!(
                    "{id} ({shown}): its ops were not recorded when it was applied on {}, so an edit of them cannot be told apart",
                    row.applied_at
                ));
                continue;
            }
        };
        lines.push(format!(
            "Recorded the new checksum of {id} ({shown}): {why}"
        ));
        fixes.push(runner::ChecksumFix {
            revision: id.clone(),
            old: old.clone(),
            checksum: file::checksum(&bytes),
            ops_checksum,
        });
    }
    if !refused.is_empty() {
        let mut f = Failure::new(
            Exit::Found,
            anyhow::anyhow!("validate --repair changed nothing: {}", refused.join("; ")),
        );
        f.hints = vec![
            "Revert the edit of the ops and put the change in a new revision; or, if the database already matches the edited file, run `sqlalembic validate --repair --force`".to_owned(),
        ];
        return Err(f);
    }
    if fixes.is_empty() {
        return Ok(Vec::new());
    }
    block_on(async {
        let conn = project.connect().await?;
        let mut runner = runner::Runner::with_dialect(
            conn,
            project.dialect()?,
            &project.scripts,
            project.run_options()?,
        );
        let result = runner.repair_checksums(&fixes).await;
        runner.conn.close().await;
        result.map_err(|e| project.runner_failure(e))
    })??;
    for line in lines {
        ctx.printer.info(line);
    }
    Ok(fixes.into_iter().map(|f| f.revision).collect())
}

/// Heads and history rows of the database (empty when it does not exist yet).
fn db_state(project: &Project<'_>) -> Result<(Vec<String>, Vec<HistoryRow>), Failure> {
    block_on(async {
        match project.connect_existing().await? {
            None => Ok((Vec::new(), Vec::new())),
            Some(mut conn) => {
                let result = async {
                    let heads = runner::read_heads(&mut conn, project.version_table()).await?;
                    let history = runner::read_history(&mut conn).await?;
                    Ok::<_, crate::db::DbError>((heads, history))
                }
                .await;
                conn.close().await;
                result.map_err(|e| Failure::new(Exit::Database, e))
            }
        }
    })?
}

/// Problems between the files and the database.
fn problems(
    ctx: &Context<'_>,
    scripts: &ScriptDir,
    db_heads: &[String],
    all_history: &[HistoryRow],
) -> Vec<Problem> {
    let mut out = Vec::new();
    // A step recorded as started and never finished: a crash inside it.
    for row in all_history.iter().filter(|r| r.is_started()) {
        let found = runner::describe_interrupted(scripts, row);
        let mut message = found.to_string();
        if found.ops_done < found.ops.len() {
            message.push_str(
                "\n    (where the database commits DDL at once, MySQL and MariaDB, what ran of it is in the database)",
            );
        }
        out.push(Problem {
            code: "interrupted",
            revision: Some(row.revision.clone()),
            message,
            hint: Some(
                "Nothing runs until it is resolved: `sqlalembic repair` shows the choices (`--mark-applied` when every op of it is in the database, `--rerun` to run the ops not recorded as finished)"
                    .to_owned(),
            ),
        });
    }
    let finished: Vec<HistoryRow> = all_history
        .iter()
        .filter(|r| !r.is_started())
        .cloned()
        .collect();
    let history = finished.as_slice();
    let heads = scripts.graph.heads();
    if heads.len() > 1 {
        out.push(Problem {
            code: "multiple-heads",
            revision: None,
            message: format!(
                "The revision graph has {} heads: {}",
                heads.len(),
                heads.join(", ")
            ),
            hint: Some(
                "Run `sqlalembic merge heads` to join them, or target one with `label@head`"
                    .to_owned(),
            ),
        });
    }
    for h in db_heads {
        if scripts.graph.get(h).is_none() {
            out.push(Problem {
                code: "unknown-revision",
                revision: Some(h.clone()),
                message: format!("The database is at {h}, which has no revision file"),
                hint: Some(format!(
                    "Restore the file of {h}, or `sqlalembic stamp` the database at a known revision"
                )),
            });
        }
    }
    // The checksum recorded when each applied revision was last upgraded.
    let applied = applied_set(scripts, db_heads);
    let mut last_up: HashMap<&str, &HistoryRow> = HashMap::new();
    for row in history.iter().filter(|r| r.direction == "upgrade") {
        last_up.insert(&row.revision, row);
    }
    let mut ids: Vec<&String> = applied.iter().collect();
    ids.sort();
    for id in ids {
        let Some(row) = last_up.get(id.as_str()) else {
            continue;
        };
        let Some(recorded) = &row.checksum else {
            continue;
        };
        let Some(f) = scripts.file(id) else { continue };
        match std::fs::read(&f.path) {
            Ok(bytes) if &file::checksum(&bytes) != recorded => out.push(Problem {
                code: "changed-file",
                revision: Some(id.clone()),
                message: format!(
                    "{} changed after it was applied on {}",
                    relative(ctx, &f.path),
                    row.applied_at
                ),
                hint: Some(
                    "Revert the edit and put the change in a new revision; the database still has the old version. If only its message or comments changed, `sqlalembic validate --repair` records the new checksum"
                        .to_owned(),
                ),
            }),
            Ok(_) => {}
            Err(e) => out.push(Problem {
                code: "unreadable-file",
                revision: Some(id.clone()),
                message: format!("{} cannot be read: {e}", relative(ctx, &f.path)),
                hint: None,
            }),
        }
    }
    // A revision whose last attempt failed half-way (MySQL commits DDL at once).
    let mut last: HashMap<&str, &HistoryRow> = HashMap::new();
    for row in history {
        last.insert(&row.revision, row);
    }
    let mut failed: Vec<&&HistoryRow> = last
        .values()
        .filter(|r| r.direction.ends_with("-failed"))
        .collect();
    failed.sort_by(|a, b| a.revision.cmp(&b.revision));
    for row in failed {
        let upgrade = row.direction.starts_with("upgrade");
        let is_applied = applied.contains(&row.revision);
        if upgrade == is_applied {
            continue; // finished since (applied, or rolled back by hand and stamped)
        }
        let rev = &row.revision;
        out.push(Problem {
            code: "partially-applied",
            revision: Some(rev.clone()),
            message: format!(
                "The {} of {rev} failed on {} after some of its statements ran; the database holds part of it",
                if upgrade { "upgrade" } else { "downgrade" },
                row.applied_at
            ),
            hint: Some(if upgrade {
                format!(
                    "Undo what ran (see the error of that run) and fix the revision, then `sqlalembic migrate`; or finish it by hand and `sqlalembic stamp {rev}`"
                )
            } else {
                format!(
                    "Restore what the downgrade removed and `sqlalembic rollback {rev}` again; or finish it by hand and `sqlalembic stamp {rev}-1`"
                )
            }),
        });
    }
    // Applied according to history but gone from the folder (and not replaced).
    let mut seen = std::collections::HashSet::new();
    for row in history {
        if row.direction == "upgrade"
            && scripts.graph.get(&row.revision).is_none()
            && seen.insert(row.revision.clone())
            && !db_heads.contains(&row.revision)
        {
            let still_applied = history
                .iter()
                .rev()
                .find(|r| r.revision == row.revision)
                .is_some_and(|r| r.direction == "upgrade");
            if still_applied {
                out.push(Problem {
                    code: "vanished-file",
                    revision: Some(row.revision.clone()),
                    message: format!("Revision {} was applied but its file is gone", row.revision),
                    hint: Some("Restore the file from version control".to_owned()),
                });
            }
        }
    }
    out
}

fn pending(project: &Project<'_>, db_heads: &[String]) -> Result<Vec<String>, Failure> {
    if project.scripts.is_empty() {
        return Ok(Vec::new());
    }
    let known: Vec<String> = db_heads
        .iter()
        .filter(|h| project.scripts.graph.get(h).is_some())
        .cloned()
        .collect();
    Ok(project
        .scripts
        .graph
        .plan_upgrade(&known, "heads")
        .map_err(graph_failure)?
        .into_iter()
        .map(|s| s.revision)
        .collect())
}

pub fn status(ctx: &Context<'_>) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let scripts = &project.scripts;
    let (db_heads, history) = db_state(&project)?;
    let pending = pending(&project, &db_heads)?;
    let mut problems = problems(ctx, scripts, &db_heads, &history);
    // A pending revision whose ops do not parse would stop `migrate` half-way through
    // the plan; its header alone parsed, so say so here.
    for id in &pending {
        if let Some(f) = scripts.file(id)
            && let Err(e) = file::read_full(&f.path)
        {
            problems.push(file_problem(ctx, &e, Some(id.clone())));
        }
    }
    let heads: Vec<&str> = scripts.graph.heads();
    let branch_points = scripts.graph.branch_points();
    let message = |id: &str| {
        scripts
            .file(id)
            .and_then(|f| f.message.clone())
            .unwrap_or_default()
    };
    if ctx.printer.is_json() {
        ctx.printer.json(&json!({
            "database": project.target(),
            "engine": project.loaded.settings.engine().to_string(),
            "versions": relative(ctx, &project.versions_dir()),
            "revisions": scripts.len(),
            "current": db_heads,
            "heads": heads,
            "pending": pending,
            "branch_points": branch_points,
            "problems": problems,
        }));
    } else {
        let p = ctx.printer;
        p.line(format!("Database:   {}", project.target()));
        p.line(format!(
            "Revisions:  {} in {}",
            scripts.len(),
            relative(ctx, &project.versions_dir())
        ));
        if db_heads.is_empty() {
            p.line("Current:    base (no revision applied)");
        } else {
            for (i, h) in db_heads.iter().enumerate() {
                let tag = if heads.contains(&h.as_str()) {
                    " (head)"
                } else {
                    ""
                };
                let about = match scripts.graph.get(h) {
                    // A revision `squash` replaced: the database counts as at its
                    // replacement.
                    Some(node) if node.id != *h => {
                        format!("(replaced by {})  {}", node.id, message(&node.id))
                    }
                    Some(_) => message(h),
                    None => "(no revision file)".to_owned(),
                };
                let line = format!(
                    "{}{h}{tag}  {about}",
                    if i == 0 {
                        "Current:    "
                    } else {
                        "            "
                    },
                );
                p.line(line.trim_end());
            }
        }
        if heads.is_empty() {
            p.line("Heads:      none (no revisions yet)");
        } else {
            p.line(format!("Heads:      {}", heads.join(", ")));
        }
        if !branch_points.is_empty() {
            p.line(format!("Branches:   {}", branch_points.join(", ")));
        }
        let unknown = db_heads.iter().any(|h| scripts.graph.get(h).is_none());
        if unknown {
            p.line("Pending:    unknown: the database is at a revision no file here defines");
        } else if pending.is_empty() {
            p.line("Pending:    none, the database is up to date");
        } else {
            p.line(format!(
                "Pending:    {} (run `sqlalembic migrate`)",
                pending.len()
            ));
            for id in pending.iter().take(10) {
                p.line(format!("            {id}  {}", message(id)));
            }
            if pending.len() > 10 {
                p.line(format!("            ... and {} more", pending.len() - 10));
            }
        }
        if problems.is_empty() {
            p.line("Problems:   none");
        } else {
            p.line(format!("Problems:   {}", problems.len()));
            for problem in &problems {
                p.line(format!("  - {}", problem.message));
                if let Some(h) = &problem.hint {
                    p.line(format!("    hint: {h}"));
                }
            }
        }
    }
    Ok(Outcome::with(json!({
        "current": db_heads, "pending": pending.len(), "problems": problems.len(),
    })))
}

/// `check`: exit 1 when migrations are pending.
pub fn check(ctx: &Context<'_>) -> Result<Outcome, Failure> {
    let pending = check_pending(ctx)?;
    if ctx.printer.is_json() {
        ctx.printer.json(&json!({ "pending": pending }));
    }
    let mut outcome = Outcome::with(json!({ "pending": pending }));
    if !pending.is_empty() {
        outcome.exit = Exit::Found;
    }
    Ok(outcome)
}

/// The pending revisions, listed for people in text mode (JSON is the caller's, so
/// `check` can print one document with the drift as well).
pub(super) fn check_pending(ctx: &Context<'_>) -> Result<Vec<String>, Failure> {
    let project = Project::load(ctx)?;
    let (db_heads, _) = db_state(&project)?;
    let pending = pending(&project, &db_heads)?;
    if ctx.printer.is_json() {
        return Ok(pending);
    }
    if pending.is_empty() {
        ctx.printer.line("No pending migrations");
    } else {
        ctx.printer.line(format!(
            "{} pending migration{}:",
            pending.len(),
            if pending.len() == 1 { "" } else { "s" }
        ));
        for id in &pending {
            let msg = project
                .scripts
                .file(id)
                .and_then(|f| f.message.clone())
                .unwrap_or_default();
            ctx.printer.line(format!("  {id}  {msg}"));
        }
    }
    Ok(pending)
}

/// A revision file that does not read, as a problem named relative to the project
/// (`path:line:col: message`); the caller lists it once.
fn file_problem(ctx: &Context<'_>, e: &file::FileError, revision: Option<String>) -> Problem {
    let d = e.diagnostic();
    let mut at = d
        .path
        .as_deref()
        .map(|p| relative(ctx, p))
        .unwrap_or_default();
    for n in [d.line, d.col].into_iter().flatten() {
        at.push_str(&format!(":{n}"));
    }
    Problem {
        code: e.code(),
        revision,
        message: if at.is_empty() {
            d.message.clone()
        } else {
            format!("{at}: {}", d.message)
        },
        hint: e.hints().into_iter().next(),
    }
}

/// `validate`: graph problems, unreadable bodies, changed or vanished files of applied
/// revisions, several heads. Exit 1 when anything is found; each problem is printed
/// once.
pub fn validate(ctx: &Context<'_>, repair: bool, force: bool) -> Result<Outcome, Failure> {
    let loaded = ctx.loaded()?;
    let dir = loaded.settings.versions_dir();
    let mut found: Vec<Problem> = Vec::new();
    match ScriptDir::load(&dir) {
        Err(LoadError::Files(errors)) => {
            for e in &errors {
                found.push(file_problem(ctx, e, None));
            }
        }
        Err(LoadError::Cycle(c)) => found.push(Problem {
            code: "graph",
            revision: None,
            message: c.describe(|p| relative(ctx, p)),
            hint: Some(
                "Point one of these revisions' `down_revision` at an earlier revision to break the cycle"
                    .to_owned(),
            ),
        }),
        Err(e @ (LoadError::Graph(_) | LoadError::MissingDir(_))) => found.push(Problem {
            code: "graph",
            revision: None,
            message: e.to_string(),
            hint: None,
        }),
        Ok(scripts) => {
            // Headers load lazily everywhere else; a CI gate reads every body too, so
            // a typo in an op is caught before any `migrate` reaches it.
            for f in scripts.files() {
                if let Err(e) = file::read_full(&f.path) {
                    found.push(file_problem(ctx, &e, Some(f.revision.clone())));
                }
            }
            let project = Project { loaded, scripts };
            let (db_heads, history) = db_state(&project)?;
            let mut listed = problems(ctx, &project.scripts, &db_heads, &history);
            if repair {
                let repaired = repair_checksums(ctx, &project, &listed, &history, force)?;
                listed.retain(|p| {
                    !(p.code == "changed-file"
                        && p.revision.as_ref().is_some_and(|r| repaired.contains(r)))
                });
            }
            found.extend(listed);
        }
    }
    if ctx.printer.is_json() {
        ctx.printer.json(&json!({ "problems": found }));
    } else if found.is_empty() {
        ctx.printer.line("No problems found");
    } else {
        for p in &found {
            ctx.printer.line(format!("{}: {}", p.code, p.message));
            if let Some(h) = &p.hint {
                ctx.printer.line(format!("  hint: {h}"));
            }
        }
    }
    let mut outcome = Outcome::with(json!({ "problems": found.len() }));
    if !found.is_empty() {
        outcome.exit = Exit::Found;
    }
    Ok(outcome)
}
