//! One module per command (or family of commands); `dispatch` routes to them.

mod autogenerate;
mod clean;
mod completions;
mod config;
mod discover;
mod graph;
mod makemigrations;
mod migrate;
pub(super) mod plugins;
mod project;
mod revisions;
mod startproject;
mod status;

use serde_json::{Value, json};

use super::args::{Command, PluginsAction};
use super::{Context, Failure, Outcome};
use crate::signals::CommandRun;

/// Runs `command`; the caller has sent its start signal and sends the end signal.
pub fn dispatch(
    command: &Command,
    ctx: &Context<'_>,
    run: &CommandRun,
) -> Result<Outcome, Failure> {
    match command {
        Command::Startproject { name } => startproject::run(ctx, name),
        Command::Config => config::run(ctx),
        Command::Completions { shell } => completions::run(*shell),
        Command::Makemigrations(a) if a.empty => makemigrations::empty(ctx, a),
        Command::Makemigrations(a) => autogenerate::makemigrations(ctx, run, a),
        Command::Merge {
            revisions,
            message,
            branch_label,
        } => makemigrations::merge(ctx, revisions, message.as_deref(), branch_label.as_deref()),
        Command::Squash { from, to, message } => {
            makemigrations::squash(ctx, from, to, message.as_deref())
        }
        Command::Migrate(a) => migrate::migrate(ctx, run, a),
        Command::Rollback(a) => migrate::rollback(ctx, run, a),
        Command::Repair(a) => migrate::repair(ctx, a),
        Command::Stamp {
            revisions,
            purge,
            sql,
        } => migrate::stamp(ctx, revisions, *purge, *sql),
        Command::Fresh(a) => migrate::fresh(ctx, run, a),
        Command::Reset(a) => migrate::reset(ctx, run, a),
        Command::Status => status::status(ctx),
        Command::Check {
            pending_only,
            drift_only,
        } => autogenerate::check(ctx, run, *pending_only, *drift_only),
        Command::Validate { repair, force } => status::validate(ctx, *repair, *force),
        Command::Current { verbose } => revisions::current(ctx, *verbose),
        Command::Heads { verbose } => revisions::heads(ctx, *verbose),
        Command::Branches => revisions::branches(ctx),
        Command::History {
            range,
            verbose,
            graph,
        } => revisions::history(ctx, range.as_deref(), *verbose, *graph),
        Command::Show {
            revision,
            sql,
            dialect,
        } => revisions::show(ctx, revision, *sql, *dialect),
        Command::List {
            pending_only,
            applied_only,
        } => revisions::list(ctx, *pending_only, *applied_only),
        Command::Graph => graph::run(ctx),
        Command::Clean { cache_only } => clean::run(ctx, *cache_only),
        Command::Discover { backend, no_cache } => discover::run(ctx, run, backend, *no_cache),
        Command::Plugins { action } => plugins::run(ctx, action),
    }
}

/// The command's arguments as JSON, for signal payloads.
pub fn arguments(command: &Command) -> Value {
    match command {
        Command::Startproject { name } => json!({ "name": name }),
        Command::Makemigrations(a) => json!({
            "message": a.message, "empty": a.empty, "head": a.head,
            "branch_label": a.branch_label, "rename": a.rename,
            "no_rename": a.no_rename,
        }),
        Command::Migrate(a) => json!({ "target": a.target, "sql": a.sql, "dry_run": a.dry_run }),
        Command::Rollback(a) => json!({ "target": a.target, "sql": a.sql, "dry_run": a.dry_run }),
        Command::Repair(a) => json!({ "mark_applied": a.mark_applied, "rerun": a.rerun }),
        Command::Stamp {
            revisions,
            purge,
            sql,
        } => json!({ "revisions": revisions, "purge": purge, "sql": sql }),
        Command::Merge {
            revisions,
            message,
            branch_label,
        } => json!({ "revisions": revisions, "message": message, "branch_label": branch_label }),
        Command::Squash { from, to, message } => {
            json!({ "from": from, "to": to, "message": message })
        }
        Command::Fresh(a) | Command::Reset(a) => json!({ "confirm": a.confirm, "force": a.force }),
        Command::Current { verbose } | Command::Heads { verbose } => json!({ "verbose": verbose }),
        Command::History {
            range,
            verbose,
            graph,
        } => json!({ "range": range, "verbose": verbose, "graph": graph }),
        Command::Show { revision, sql, .. } => json!({ "revision": revision, "sql": sql }),
        Command::List {
            pending_only,
            applied_only,
        } => json!({ "pending_only": pending_only, "applied_only": applied_only }),
        Command::Check {
            pending_only,
            drift_only,
        } => json!({ "pending_only": pending_only, "drift_only": drift_only }),
        Command::Clean { cache_only } => json!({ "cache_only": cache_only }),
        Command::Plugins { action } => match action {
            PluginsAction::List => json!({ "action": "list" }),
            PluginsAction::Check => json!({ "action": "check" }),
            PluginsAction::Install { plugin } => json!({ "action": "install", "plugin": plugin }),
            PluginsAction::Inspect { plugin } => json!({ "action": "inspect", "plugin": plugin }),
        },
        Command::Completions { shell } => json!({ "shell": shell.to_string() }),
        Command::Discover { backend, no_cache } => {
            json!({ "backend": backend, "no_cache": no_cache })
        }
        Command::Validate { repair, force } => json!({ "repair": repair, "force": force }),
        Command::Status | Command::Branches | Command::Graph | Command::Config => json!({}),
    }
}
