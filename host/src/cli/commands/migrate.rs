//! Commands that change the database: `migrate`, `rollback`, `stamp`, `fresh`,
//! `reset`; and offline SQL rendering (`--sql`, `show --sql`).

use std::time::Instant;

use serde_json::{Value, json};

use super::project::{Project, block_on, runner_failure};
use super::revisions::graph_failure;
use crate::cli::args::{DestructiveArgs, DialectName, MigrateArgs, RepairArgs, RollbackArgs};
use crate::cli::{Context, Exit, Failure, Outcome};
use crate::dialect;
use crate::runner::{self, Event, Goal, RepairAction, Runner};
use crate::signals::CommandRun;
use crate::signals::names::{
    ALEMBIC_COMMAND_COMPLETED, ALEMBIC_COMMAND_FAILED, ALEMBIC_COMMAND_STARTED, REVISION_APPLIED,
};

pub fn migrate(
    ctx: &Context<'_>,
    run: &CommandRun,
    args: &MigrateArgs,
) -> Result<Outcome, Failure> {
    apply(
        ctx,
        run,
        Goal::Upgrade,
        &args.target,
        args.sql.then_some(args.dialect),
        args.dry_run,
    )
}

pub fn rollback(
    ctx: &Context<'_>,
    run: &CommandRun,
    args: &RollbackArgs,
) -> Result<Outcome, Failure> {
    apply(
        ctx,
        run,
        Goal::Downgrade,
        &args.target,
        args.sql.then_some(args.dialect),
        args.dry_run,
    )
}

fn goal_name(goal: Goal) -> &'static str {
    match goal {
        Goal::Upgrade => "upgrade",
        Goal::Downgrade => "downgrade",
    }
}

/// `FROM:TO` for offline mode; `TO` alone starts from base.
fn split_range(target: &str) -> (Option<&str>, &str) {
    match target.split_once(':') {
        Some((from, to)) => (Some(from).filter(|f| !f.is_empty()), to),
        None => (None, target),
    }
}

fn apply(
    ctx: &Context<'_>,
    run: &CommandRun,
    goal: Goal,
    target: &str,
    sql: Option<Option<DialectName>>,
    dry_run: bool,
) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    if let Some(dialect) = sql {
        return offline(ctx, &project, goal, target, dialect);
    }
    if dry_run {
        return dry_run_plan(ctx, &project, goal, target);
    }
    let command = goal_name(goal);
    // The revisions this run is about to apply, so policies can judge them (the runner
    // plans again under the lock; a concurrent run can only shorten the list).
    let heads = block_on(project.db_heads())??;
    project.known_heads(&heads)?;
    let graph = &project.scripts.graph;
    let revisions: Vec<String> = match goal {
        Goal::Upgrade => graph.plan_upgrade(&heads, target),
        Goal::Downgrade => graph.plan_downgrade(&heads, target),
    }
    .map_err(graph_failure)?
    .into_iter()
    .map(|s| s.revision)
    .collect();
    let started = run.send(
        ALEMBIC_COMMAND_STARTED,
        json!({
            "operation": command, "target": target, "database": project.target(),
            "revisions": revisions,
        }),
    );
    for (handler, msg) in started.warnings() {
        ctx.printer.warn(format!("Handler `{handler}`: {msg}"));
    }
    if let Some((handler, reason)) = started.refused() {
        return Err(Failure::new(
            Exit::Denied,
            anyhow::anyhow!("`{command}` denied by policy `{handler}`: {reason}"),
        ));
    }
    let began = Instant::now();
    runner::interrupt::install();
    let result = block_on(async {
        let conn = project.connect().await?;
        let mut runner = Runner::with_dialect(
            conn,
            project.dialect()?,
            &project.scripts,
            project.run_options()?,
        );
        let mut on_event = |event: Event<'_>| report_event(ctx, run, &project, event);
        let outcome = runner.run(goal, target, &mut on_event).await;
        runner.conn.close().await;
        outcome.map_err(|e| project.runner_failure(e))
    })?;
    let summary = match result {
        Ok(summary) => summary,
        Err(failure) => {
            run.send(
                ALEMBIC_COMMAND_FAILED,
                json!({ "operation": command, "target": target, "error": format!("{:#}", failure.error) }),
            );
            return Err(failure);
        }
    };
    let elapsed_ms = began.elapsed().as_secs_f64() * 1000.0;
    run.send(
        ALEMBIC_COMMAND_COMPLETED,
        json!({
            "operation": command, "target": target, "revisions": summary.applied,
            "heads": summary.heads_after, "duration_ms": elapsed_ms,
        }),
    );
    if ctx.printer.is_json() {
        ctx.printer.json(&json!({
            "operation": command,
            "applied": summary.applied,
            "heads_before": summary.heads_before,
            "heads": summary.heads_after,
            "duration_ms": elapsed_ms,
        }));
    } else if summary.applied.is_empty() {
        ctx.printer.line(format!(
            "Nothing to {command}: the database is at {}",
            heads_text(&summary.heads_after)
        ));
    } else {
        ctx.printer.line(format!(
            "{} {} revision{} in {:.0} ms; the database is at {}",
            if goal == Goal::Upgrade {
                "Applied"
            } else {
                "Rolled back"
            },
            summary.applied.len(),
            if summary.applied.len() == 1 { "" } else { "s" },
            elapsed_ms,
            heads_text(&summary.heads_after)
        ));
    }
    Ok(Outcome::with(json!({
        "revisions": summary.applied,
        "heads": summary.heads_after,
    })))
}

fn heads_text(heads: &[String]) -> String {
    if heads.is_empty() {
        "base".to_owned()
    } else {
        heads.join(", ")
    }
}

/// Reports one runner event; `Err` stops the run: a policy, or a plugin whose
/// `on_error` is `abort`, failed on `revision_applied`.
fn report_event(
    ctx: &Context<'_>,
    run: &CommandRun,
    project: &Project<'_>,
    event: Event<'_>,
) -> Result<(), String> {
    match event {
        Event::Planned { steps, heads } => {
            tracing::info!(steps = steps.len(), heads = ?heads, "Plan ready");
        }
        Event::RevisionStarted { step, message } => {
            let from = step.from_revisions().join(", ");
            let to = step.to_revisions().join(", ");
            ctx.printer.info(format!(
                "Running {} {} -> {}{}",
                step.direction,
                if from.is_empty() { "<base>" } else { &from },
                if to.is_empty() { "<base>" } else { &to },
                message.map(|m| format!(", {m}")).unwrap_or_default()
            ));
        }
        Event::StatementDone { revision, sql } => {
            tracing::debug!(revision, sql, "Statement done");
        }
        Event::RevisionApplied {
            step,
            duration,
            checksum,
            heads,
        } => {
            let message = project
                .scripts
                .file(&step.revision)
                .and_then(|f| f.message.clone());
            let report = run.send(
                REVISION_APPLIED,
                json!({
                    "revision": step.revision,
                    "direction": step.direction.to_string(),
                    "down_revision": step.down_revisions,
                    "message": message,
                    "checksum": checksum,
                    "duration_ms": duration.as_secs_f64() * 1000.0,
                    "heads": heads,
                }),
            );
            for (handler, msg) in report.warnings() {
                ctx.printer.warn(format!("Handler `{handler}`: {msg}"));
            }
            if let Some((handler, error)) = report.policy_failed() {
                return Err(format!(
                    "`{handler}` failed on `{REVISION_APPLIED}` and must stop the run (a policy, or `on_error = \"abort\"`): {error}"
                ));
            }
        }
    }
    Ok(())
}

fn dry_run_plan(
    ctx: &Context<'_>,
    project: &Project<'_>,
    goal: Goal,
    target: &str,
) -> Result<Outcome, Failure> {
    let heads = block_on(project.db_heads())??;
    project.known_heads(&heads)?;
    let graph = &project.scripts.graph;
    let steps = match goal {
        Goal::Upgrade => graph.plan_upgrade(&heads, target),
        Goal::Downgrade => graph.plan_downgrade(&heads, target),
    }
    .map_err(graph_failure)?;
    if ctx.printer.is_json() {
        let list: Vec<Value> = steps
            .iter()
            .map(|s| {
                json!({
                    "revision": s.revision,
                    "direction": s.direction.to_string(),
                    "message": project.scripts.file(&s.revision).and_then(|f| f.message.clone()),
                })
            })
            .collect();
        ctx.printer
            .json(&json!({ "current": heads, "steps": list }));
    } else if steps.is_empty() {
        ctx.printer.line(format!(
            "Nothing to do: the database is at {}",
            heads_text(&heads)
        ));
    } else {
        ctx.printer.line(format!(
            "Would run {} step{} from {}:",
            steps.len(),
            if steps.len() == 1 { "" } else { "s" },
            heads_text(&heads)
        ));
        for s in &steps {
            let message = project
                .scripts
                .file(&s.revision)
                .and_then(|f| f.message.clone())
                .unwrap_or_default();
            ctx.printer
                .line(format!("  {} {}  {message}", s.direction, s.revision));
        }
    }
    Ok(Outcome::with(json!({ "steps": steps.len() })))
}

/// The dialect for offline rendering: `--dialect`, else the configured engine's.
fn offline_dialect(
    project: &Project<'_>,
    name: Option<DialectName>,
) -> Result<Box<dyn dialect::Dialect>, Failure> {
    match name {
        Some(n) => Ok(dialect::for_backend(n.backend())),
        None => project.dialect(),
    }
}

fn offline(
    ctx: &Context<'_>,
    project: &Project<'_>,
    goal: Goal,
    target: &str,
    dialect_name: Option<DialectName>,
) -> Result<Outcome, Failure> {
    let (from, to) = split_range(target);
    let graph = &project.scripts.graph;
    let from_heads = match from {
        Some(f) => graph.resolve(f, &[]).map_err(graph_failure)?,
        None if goal == Goal::Downgrade => {
            return Err(Failure::usage(
                "Offline downgrade needs a starting point: `rollback FROM:TO --sql`",
            ));
        }
        None => Vec::new(),
    };
    let dialect = offline_dialect(project, dialect_name)?;
    let script = runner::render_script(
        &project.scripts,
        dialect.as_ref(),
        project.version_table(),
        &from_heads,
        goal,
        to,
    )
    .map_err(runner_failure)?;
    if ctx.printer.is_json() {
        ctx.printer
            .json(&json!({ "dialect": dialect.name(), "sql": script }));
    } else {
        ctx.printer.line(script.trim_end());
    }
    Ok(Outcome::with(json!({ "offline": true })))
}

/// The upgrade SQL of one revision for the configured dialect (`show --sql`).
pub fn render_revision_sql(
    project: &Project<'_>,
    id: &str,
    dialect_name: Option<DialectName>,
) -> Result<String, Failure> {
    let downs = project
        .scripts
        .file(id)
        .map(|f| f.down_revisions.clone())
        .unwrap_or_default();
    let dialect = offline_dialect(project, dialect_name)?;
    runner::render_script(
        &project.scripts,
        dialect.as_ref(),
        project.version_table(),
        &downs,
        Goal::Upgrade,
        id,
    )
    .map_err(runner_failure)
}

pub fn stamp(
    ctx: &Context<'_>,
    revisions: &[String],
    purge: bool,
    sql: bool,
) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let targets: Vec<&str> = revisions.iter().map(String::as_str).collect();
    if sql {
        let dialect = project.dialect()?;
        let script = runner::render_stamp_script(
            &project.scripts,
            dialect.as_ref(),
            project.version_table(),
            &[],
            &targets,
            purge,
        )
        .map_err(runner_failure)?;
        ctx.printer.line(script.trim_end());
        return Ok(Outcome::with(json!({ "offline": true })));
    }
    let summary = block_on(async {
        let conn = project.connect().await?;
        let mut runner = Runner::with_dialect(
            conn,
            project.dialect()?,
            &project.scripts,
            project.run_options()?,
        );
        let result = runner.stamp(&targets, purge).await;
        runner.conn.close().await;
        result.map_err(runner_failure)
    })??;
    if ctx.printer.is_json() {
        ctx.printer
            .json(&json!({ "heads_before": summary.heads_before, "heads": summary.heads_after }));
    } else {
        ctx.printer.line(format!(
            "Stamped the database at {} (was {})",
            heads_text(&summary.heads_after),
            heads_text(&summary.heads_before)
        ));
    }
    Ok(Outcome::with(json!({ "heads": summary.heads_after })))
}

fn confirm_destructive(
    ctx: &Context<'_>,
    command: &str,
    args: &DestructiveArgs,
) -> Result<(), Failure> {
    if !args.confirm {
        return Err(Failure::usage(format!(
            "`{command}` destroys data and needs `--confirm`; nothing was done"
        )));
    }
    let env = &ctx.loaded()?.settings.general.environment;
    if env.eq_ignore_ascii_case("production") && !args.force {
        return Err(Failure::usage(format!(
            "`{command}` refuses to run when ENVIRONMENT is `production`; nothing was done"
        ))
        .hint("Add `--force` if you really mean to destroy the production database"));
    }
    Ok(())
}

/// `reset --confirm`: roll back every revision to base.
pub fn reset(
    ctx: &Context<'_>,
    run: &CommandRun,
    args: &DestructiveArgs,
) -> Result<Outcome, Failure> {
    confirm_destructive(ctx, "reset", args)?;
    apply(ctx, run, Goal::Downgrade, "base", None, false)
}

/// `fresh --confirm`: drop every table, then apply every revision.
pub fn fresh(
    ctx: &Context<'_>,
    run: &CommandRun,
    args: &DestructiveArgs,
) -> Result<Outcome, Failure> {
    confirm_destructive(ctx, "fresh", args)?;
    let project = Project::load(ctx)?;
    let dropped = block_on(async {
        let conn = project.connect().await?;
        let mut runner = Runner::with_dialect(
            conn,
            project.dialect()?,
            &project.scripts,
            project.run_options()?,
        );
        let result = runner.drop_everything().await;
        runner.conn.close().await;
        result.map_err(runner_failure)
    })??;
    ctx.printer.info(format!(
        "Dropped {} table{}",
        dropped.len(),
        if dropped.len() == 1 { "" } else { "s" }
    ));
    apply(ctx, run, Goal::Upgrade, "heads", None, false)
}

/// `repair`: shows the step a crash left unfinished and the two ways out; with
/// `--mark-applied` or `--rerun`, says what it will do, then does it under the lock.
pub fn repair(ctx: &Context<'_>, args: &RepairArgs) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let action = match (args.mark_applied, args.rerun) {
        (true, _) => Some(RepairAction::MarkApplied),
        (_, true) => Some(RepairAction::Rerun),
        _ => None,
    };
    let printer = ctx.printer;
    let result = block_on(async {
        let conn = project.connect().await?;
        let mut runner = Runner::with_dialect(
            conn,
            project.dialect()?,
            &project.scripts,
            project.run_options()?,
        );
        let outcome = async {
            let found = runner.find_interrupted().await?;
            let (found, action) = match (found, action) {
                (Some(found), Some(action)) => (found, action),
                (None, Some(_)) => {
                    return Err(runner::Error::NothingToRepair {
                        target: project.target(),
                    });
                }
                (found, None) => return Ok((found, None)),
            };
            let plan = match action {
                RepairAction::MarkApplied => format!(
                    "Will record the {} of {} as finished (version table and history) without running any of its ops",
                    found.direction, found.revision
                ),
                RepairAction::Rerun => {
                    let n = found.ops.len();
                    if found.ops_done >= n {
                        format!(
                            "Will run none of the ops of {} (all {n} finished) and record its {} as finished",
                            found.revision, found.direction
                        )
                    } else {
                        format!(
                            "Will run ops {}-{n} of the {} of {} ({} finished), then record it as finished",
                            found.ops_done + 1,
                            found.direction,
                            found.revision,
                            match found.ops_done {
                                0 => "none".to_owned(),
                                k => format!("the first {k}"),
                            }
                        )
                    }
                }
            };
            printer.line(plan);
            let mut on_event = |_: Event<'_>| {};
            let summary = runner.repair(&found, action, &mut on_event).await?;
            Ok((Some(found), Some(summary)))
        }
        .await;
        runner.conn.close().await;
        outcome.map_err(|e| project.runner_failure(e))
    })??;
    let (found, summary) = result;
    let Some(found) = found else {
        if printer.is_json() {
            printer.json(&json!({ "interrupted": null }));
        } else {
            printer.line(format!(
                "Nothing to repair: no step of {} was left unfinished",
                project.target()
            ));
        }
        return Ok(Outcome::with(json!({ "interrupted": null })));
    };
    match summary {
        None => {
            if printer.is_json() {
                printer.json(&json!({ "interrupted": found }));
            } else {
                printer.line(found.to_string());
                printer.line(
                    "Nothing was changed. Check the database (a statement of the interrupted run may still be finishing on the server; `repair` waits for that session's lock), then:",
                );
                printer.line(format!(
                    "  sqlalembic repair --mark-applied   every op of it is in the database: record the {} as finished",
                    found.direction
                ));
                printer.line(
                    "  sqlalembic repair --rerun          run the ops not recorded as finished (undo first what the op that may have partly run did)",
                );
            }
            let mut outcome = Outcome::with(json!({ "interrupted": found.revision }));
            outcome.exit = Exit::Found;
            Ok(outcome)
        }
        Some(summary) => {
            if printer.is_json() {
                printer.json(&json!({
                    "repaired": found, "heads_before": summary.heads_before,
                    "heads": summary.heads_after,
                }));
            } else {
                printer.line(format!(
                    "Repaired {}: the database is at {}",
                    found.revision,
                    heads_text(&summary.heads_after)
                ));
            }
            Ok(Outcome::with(json!({ "heads": summary.heads_after })))
        }
    }
}
