//! `makemigrations [message]` (without `--empty`) and the model-drift part of `check`:
//! discovery -> introspection -> diff -> a revision file, or a drift report.
//!
//! `makemigrations` refuses a database that is not at the head it builds on (the ops
//! would repeat the pending revisions), never writes a file when nothing changed, asks
//! about rename candidates only on a terminal (else `--rename` or `--no-rename`
//! decide, and an undecided candidate writes nothing), lists destructive and locking
//! ops as warnings on stderr and as comments in the file, and sends them with
//! `migration_generated` (ops, warnings with their codes, file) for policy and audit
//! handlers, whose warnings are shown. `check` compares the models
//! with the database as the pending revisions will leave it (their ops replayed onto
//! the introspected schema), so an empty CI database is as good a gate as a migrated
//! one.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};

use serde_json::{Value, json};

use super::project::{Project, block_on, relative, write_new};
use super::revisions::graph_failure;
use super::status;
use crate::cli::args::MakemigrationsArgs;
use crate::cli::{Context, Exit, Failure, Outcome};
use crate::db::Backend;
use crate::diagnostic::Diagnostic;
use crate::dialect::{self, Dialect};
use crate::diff::{self, Changes, DiffOptions, Rename, Warning};
use crate::discovery::{self, Request};
use crate::introspect::{self, IntrospectOptions};
use crate::ops::Op;
use crate::revision::file::{self, NewRevision, RevisionKind};
use crate::runner::HISTORY_TABLE;
use crate::schema::{Schema, Table};
use crate::signals::CommandRun;
use crate::signals::names::{MIGRATION_GENERATED, MODELS_DISCOVERED};

/// `makemigrations [message] [--head REV] [--branch-label NAME] [--rename FROM:TO]...`.
pub fn makemigrations(
    ctx: &Context<'_>,
    run: &CommandRun,
    args: &MakemigrationsArgs,
) -> Result<Outcome, Failure> {
    let project = Project::load(ctx)?;
    let down_revisions = parents(&project, args.head.as_deref())?;
    if let Some(label) = &args.branch_label {
        check_label(&project, label)?;
    }
    let dialect = project.dialect()?;
    let desired = filtered(
        models(ctx, run, true, dialect.as_ref())?.unwrap_or_default(),
        &project,
    );
    let started = std::time::Instant::now();
    let (db_heads, actual, mariadb) = block_on(database(&project, &desired, None))??;
    tracing::info!(
        tables = actual.tables.len(),
        ms = started.elapsed().as_millis() as u64,
        "Database introspected"
    );
    project.known_heads(&db_heads)?;
    let mut wanted: Vec<&String> = down_revisions.iter().collect();
    let mut at: Vec<&String> = db_heads.iter().collect();
    wanted.sort();
    at.sort();
    if wanted != at {
        return Err(Failure::usage(format!(
            "The database is not up to date: it is at {}, the new revision builds on {}",
            list_or_base(&db_heads),
            list_or_base(&down_revisions)
        ))
        .hint("Run `sqlalembic migrate` first, then `sqlalembic makemigrations` again"));
    }

    let mut options = diff_options(&project);
    for spec in &args.rename {
        options.renames.push(parse_rename(spec, &desired, &actual)?);
    }
    let started = std::time::Instant::now();
    let mut changes = compute(&desired, &actual, dialect.as_ref(), &options)?;
    tracing::info!(
        ops = changes.upgrade.len(),
        ms = started.elapsed().as_millis() as u64,
        "Models compared with the database"
    );
    let mut declined = Vec::new();
    for spec in &args.no_rename {
        let rename = parse_rename(spec, &desired, &actual)?;
        if !changes.rename_candidates.contains(&rename) {
            return Err(Failure::usage(format!(
                "`--no-rename {spec}` matches no rename candidate of this change"
            ))
            .hint("Only a drop and an add that look like a rename need `--no-rename`"));
        }
        declined.push(rename);
    }
    if !changes.rename_candidates.is_empty() && interactive(ctx) {
        let mut accepted = false;
        for candidate in changes.rename_candidates.clone() {
            if declined.contains(&candidate) {
                continue;
            }
            if ask(&format!("Did you rename {candidate}? [y/N] ")) {
                options.renames.push(candidate);
                accepted = true;
            } else {
                declined.push(candidate);
            }
        }
        if accepted {
            changes = compute(&desired, &actual, dialect.as_ref(), &options)?;
        }
    }
    // Off a terminal an undecided candidate writes nothing: a file with the drop would
    // be in the way of the `--rename` run, and applying it loses the data.
    let undecided: Vec<&Rename> = changes
        .rename_candidates
        .iter()
        .filter(|c| !declined.contains(c))
        .collect();
    if !undecided.is_empty() {
        let what: Vec<String> = undecided.iter().map(ToString::to_string).collect();
        let rename: Vec<String> = undecided
            .iter()
            .map(|c| format!("--rename {}", c.spec()))
            .collect();
        let drop: Vec<String> = undecided
            .iter()
            .map(|c| format!("--no-rename {}", c.spec()))
            .collect();
        return Err(Failure::usage(format!(
            "No revision was written: it would drop and add what may be a rename of {}",
            what.join(", ")
        ))
        .hint(format!(
            "If it is a rename, run again with `{}` to keep the data",
            rename.join(" ")
        ))
        .hint(format!(
            "If it is not, run again with `{}` to drop and add (the data is lost)",
            drop.join(" ")
        )));
    }

    server_warnings(mariadb, &mut changes);
    if changes.is_empty() {
        report_notes(ctx, &changes.warnings);
        if ctx.printer.is_json() {
            ctx.printer.json(&json!({
                "revision": Value::Null, "operations": [], "warnings": changes.warnings,
            }));
        } else {
            ctx.printer.line("No changes detected");
        }
        return Ok(Outcome::with(
            json!({ "revision": Value::Null, "operations": 0 }),
        ));
    }

    let message = args
        .message
        .clone()
        .unwrap_or_else(|| default_message(&changes.upgrade));
    let new = NewRevision {
        revision: fresh_id(&project),
        down_revisions,
        branch_labels: args.branch_label.iter().cloned().collect(),
        depends_on: Vec::new(),
        message,
        created_at: file::now_created_at(project.loaded.settings.migration.timezone),
        upgrade: changes.upgrade.clone(),
        downgrade: changes.downgrade.clone(),
        empty: false,
    };
    let started = std::time::Instant::now();
    let text = render(&project, &new, &changes.warnings)?;
    tracing::info!(
        bytes = text.len(),
        ms = started.elapsed().as_millis() as u64,
        "Revision rendered"
    );
    let path = project.versions_dir().join(file::file_name(
        &new.revision,
        &new.message,
        RevisionKind::Toml,
    ));
    let operations: Vec<String> = changes.upgrade.iter().map(Op::describe).collect();
    report_warnings(ctx, &changes.warnings);
    // Sent before the file exists: a policy's deny keeps it from being written.
    let generated = run.send(
        MIGRATION_GENERATED,
        json!({
            "revision": new.revision,
            "down_revision": new.down_revisions,
            "message": new.message,
            "file": relative(ctx, &path),
            "operations": operations,
            "ops": changes.upgrade,
            "destructive": changes.upgrade.iter().any(Op::is_destructive),
            "warnings": changes.warnings,
        }),
    );
    for (handler, msg) in generated.warnings() {
        ctx.printer.warn(format!("Handler `{handler}`: {msg}"));
    }
    if let Some((handler, reason)) = generated.refused() {
        return Err(Failure::new(
            Exit::Denied,
            anyhow::anyhow!(
                "The new revision was denied by policy `{handler}`: {reason}; no file was written"
            ),
        ));
    }
    write_new(ctx, &path, &text)?;
    if ctx.printer.is_json() {
        ctx.printer.json(&json!({
            "revision": new.revision,
            "file": relative(ctx, &path),
            "operations": operations,
            "warnings": changes.warnings,
        }));
    } else {
        ctx.printer.line(format!(
            "Generated revision {}: {}",
            new.revision,
            relative(ctx, &path)
        ));
        for op in &operations {
            ctx.printer.line(format!("  {op}"));
        }
    }
    Ok(Outcome::with(json!({
        "revision": new.revision,
        "operations": operations.len(),
        "warnings": changes.warnings.len(),
    })))
}

/// `check [--pending-only | --drift-only]`: pending migrations (from `status`) and model
/// drift; exit 1 when either is found.
pub fn check(
    ctx: &Context<'_>,
    run: &CommandRun,
    pending_only: bool,
    drift_only: bool,
) -> Result<Outcome, Failure> {
    if pending_only {
        return status::check(ctx);
    }
    let pending = if drift_only {
        Vec::new()
    } else {
        status::check_pending(ctx)?
    };
    let mut outcome = Outcome::with(json!({ "pending": pending }));
    if !pending.is_empty() {
        outcome.exit = Exit::Found;
    }
    let project = Project::load(ctx)?;
    let dialect = project.dialect()?;
    let Some(desired) = models(ctx, run, drift_only, dialect.as_ref())? else {
        ctx.printer
            .info("No models found: model drift was not checked");
        if ctx.printer.is_json() {
            ctx.printer
                .json(&json!({ "pending": pending, "drift": null }));
        }
        return Ok(outcome);
    };
    let desired = filtered(desired, &project);
    let pending = pending_ops(&project)?;
    let (_, actual, _) = block_on(database(&project, &desired, Some(&pending)))??;
    let changes = compute(&desired, &actual, dialect.as_ref(), &diff_options(&project))?;
    let operations: Vec<String> = changes.upgrade.iter().map(Op::describe).collect();
    if ctx.printer.is_json() {
        ctx.printer.json(&json!({
            "pending": pending,
            "drift": operations,
            "ops": changes.upgrade,
            "warnings": changes.warnings,
        }));
    } else if operations.is_empty() {
        ctx.printer
            .line("No model drift: the migrations match the models");
    } else {
        ctx.printer.line(format!(
            "Model drift: {} operation{} not in any migration:",
            operations.len(),
            if operations.len() == 1 { "" } else { "s" }
        ));
        for op in &operations {
            ctx.printer.line(format!("  {op}"));
        }
        ctx.printer
            .info("hint: Run `sqlalembic makemigrations` to write them into a revision");
    }
    report_notes(ctx, &changes.warnings);
    if let Value::Object(map) = &mut outcome.summary {
        map.insert("drift".into(), json!(operations.len()));
    }
    if !operations.is_empty() {
        outcome.exit = Exit::Found;
    }
    Ok(outcome)
}

/// The revisions the new one builds on: `--head REV`, else the single head.
fn parents(project: &Project<'_>, head: Option<&str>) -> Result<Vec<String>, Failure> {
    let graph = &project.scripts.graph;
    match head {
        Some(spec) => graph.resolve(spec, &[]).map_err(graph_failure),
        None => {
            let heads = graph.heads();
            if heads.len() > 1 {
                return Err(Failure::usage(format!(
                    "Multiple heads are present ({}); please specify the head revision on which the new revision should be based, or perform a merge",
                    heads.join(", ")
                ))
                .hint("`--head <rev>` bases the revision on one head; `sqlalembic merge heads` joins them"));
            }
            Ok(heads.into_iter().map(str::to_owned).collect())
        }
    }
}

fn check_label(project: &Project<'_>, label: &str) -> Result<(), Failure> {
    if label.is_empty() || label.contains(['@', ':', '+', '-', ' ']) {
        return Err(Failure::usage(format!(
            "`{label}` is not a usable branch label (no `@`, `:`, `+`, `-` or spaces)"
        )));
    }
    let used = project
        .scripts
        .files()
        .any(|f| f.branch_labels.iter().any(|l| l == label));
    if used {
        return Err(Failure::usage(format!(
            "The branch label `{label}` is already used"
        )));
    }
    Ok(())
}

fn list_or_base(ids: &[String]) -> String {
    if ids.is_empty() {
        "base".to_owned()
    } else {
        ids.join(", ")
    }
}

/// The models, with `models_discovered` sent. `None` when there are none and
/// `required` is false (a plain `check` in a project without models).
/// One error per model column whose type `dialect` refuses (e.g. a `String()` without
/// a length on MySQL), at the table's source line.
fn unusable_types(d: &discovery::Discovery, dialect: &dyn Dialect) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (table, source) in d.schema.tables.iter().zip(&d.sources) {
        for column in &table.columns {
            if let Err(e) = dialect.type_sql(&column.ty) {
                out.push(
                    Diagnostic::error(
                        "AUT001",
                        format!("Column `{}.{}`: {e}", table.qualified_name(), column.name),
                    )
                    .at(source.file.clone(), Some(source.line), None),
                );
            }
        }
    }
    out
}

/// The project's models, refused when a column's type cannot exist on `dialect` (a
/// revision made from them would fail at `migrate`).
fn models(
    ctx: &Context<'_>,
    run: &CommandRun,
    required: bool,
    dialect: &dyn Dialect,
) -> Result<Option<Schema>, Failure> {
    let settings = &ctx.loaded()?.settings;
    let req = Request::from_settings(settings).map_err(|e| {
        Failure::new(Exit::Usage, e)
            .hint("`BACKENDS` takes `sqlalchemy`, `sqlalchemy-import`, `sql` or `wasm:<path>`")
    })?;
    match discovery::discover(&req) {
        Ok(d) => {
            for diag in &d.diagnostics {
                ctx.printer.diagnostic(diag);
            }
            let names: Vec<String> = d.schema.tables.iter().map(Table::qualified_name).collect();
            run.send(
                MODELS_DISCOVERED,
                json!({
                    "tables": names,
                    "count": names.len(),
                    "backends": req.backends.iter().map(discovery::Backend::name).collect::<Vec<_>>(),
                    "duration_ms": d.stats.elapsed_ms,
                }),
            );
            tracing::info!(
                tables = names.len(),
                ms = d.stats.elapsed_ms as u64,
                cached = d.stats.cached,
                "Models discovered"
            );
            let unusable = unusable_types(&d, dialect);
            if !unusable.is_empty() {
                let count = unusable.len();
                return Err(Failure::usage(format!(
                    "{count} model column(s) have a type {} cannot store; no migration was generated",
                    dialect.name()
                ))
                .with_diagnostics(unusable)
                .hint("Each problem above names the model's file and line"));
            }
            Ok(Some(d.schema))
        }
        Err(discovery::Error::Empty { .. }) if !required => Ok(None),
        Err(e) => {
            let diagnostics = e.diagnostics().to_vec();
            let empty = matches!(e, discovery::Error::Empty { .. });
            let summary = e.summary();
            let mut failure = Failure::new(Exit::Usage, e).with_diagnostics(diagnostics);
            if let Some(summary) = summary {
                failure = failure.hint(summary);
            }
            Err(if empty {
                failure
                    .hint("Check `MODEL_DISCOVERY_PATHS` and `EXCLUDE_PATHS` (`sqlalembic config` shows them)")
                    .hint("An empty model set is refused so that autogenerate never drops every table")
            } else {
                failure.hint(
                    "Each problem above names its file, line and column; no migration is generated until all are fixed",
                )
            })
        }
    }
}

/// `MIGRATION_COMPARE_*` as diff options.
fn diff_options(project: &Project<'_>) -> DiffOptions {
    let migration = &project.loaded.settings.migration;
    DiffOptions {
        compare_type: migration.compare_type,
        compare_server_default: migration.compare_server_default,
        renames: Vec::new(),
    }
}

fn compute(
    desired: &Schema,
    actual: &Schema,
    dialect: &dyn Dialect,
    options: &DiffOptions,
) -> Result<Changes, Failure> {
    diff::diff(desired, actual, dialect, options).map_err(|e| {
        let failure = Failure::new(Exit::Usage, e);
        failure.hint("`--rename old:new` renames a table, `--rename table.old:new` a column")
    })
}

/// A `--rename` spec; `a.b:c` is a column `b` of table `a`, unless only a table `b` of
/// schema `a` fits.
fn parse_rename(spec: &str, desired: &Schema, actual: &Schema) -> Result<Rename, Failure> {
    let usage = |e: diff::DiffError| Failure::new(Exit::Usage, e);
    let column = Rename::parse(spec, false).map_err(usage)?;
    if let Rename::Column {
        schema: None,
        table,
        to,
        ..
    } = &column
        && actual.table(None, table).is_none()
        && desired.table(Some(table), to).is_some()
    {
        return Rename::parse(spec, true).map_err(usage);
    }
    Ok(column)
}

/// The tables autogenerate looks at, in the database and in the models: all but the
/// version and history tables.
// `MIGRATION_*` include/exclude settings (globs) belong here once the configuration
// has them; introspection already applies them inside its catalog queries.
fn table_filter(project: &Project<'_>) -> IntrospectOptions {
    let migration = &project.loaded.settings.migration;
    let mut options = IntrospectOptions::excluding(
        [project.version_table().to_owned(), HISTORY_TABLE.to_owned()]
            .into_iter()
            .chain(migration.exclude_tables.iter().cloned()),
    );
    if !migration.include_tables.is_empty() {
        options.include_tables = Some(migration.include_tables.clone());
    }
    options
}

/// The models without the tables [`table_filter`] leaves out.
fn filtered(mut schema: Schema, project: &Project<'_>) -> Schema {
    let filter = table_filter(project);
    schema.tables.retain(|t| filter.wants(&t.name));
    schema
}

/// The database's heads and schema (with `pending`, the schema those ops leave
/// behind), and whether it runs on MariaDB, which the MySQL dialect alone cannot tell.
/// A SQLite file that does not exist yet is an empty database (and is not created).
async fn database(
    project: &Project<'_>,
    desired: &Schema,
    pending: Option<&[Op]>,
) -> Result<(Vec<String>, Schema, bool), Failure> {
    let Some(mut conn) = project.connect_existing().await? else {
        let mut schema = Schema::default();
        replay_pending(&mut schema, pending);
        return Ok((Vec::new(), schema, false));
    };
    let result = async {
        let heads = crate::runner::read_heads(&mut conn, project.version_table())
            .await
            .map_err(|e| Failure::new(Exit::Database, e))?;
        let mariadb = conn
            .is_mariadb()
            .await
            .map_err(|e| Failure::new(Exit::Database, e))?;
        let mut options = table_filter(project);
        let mut schema = introspect::introspect(&mut conn, &options)
            .await
            .map_err(|e| Failure::new(Exit::Database, e))?;
        // Named schemas the models use, one set of catalog queries each.
        let named: BTreeSet<&str> = desired
            .tables
            .iter()
            .filter_map(|t| t.schema.as_deref())
            .collect();
        if conn.backend() != Backend::Sqlite {
            for name in named {
                options.schema = Some(name.to_owned());
                let more = introspect::introspect(&mut conn, &options)
                    .await
                    .map_err(|e| Failure::new(Exit::Database, e))?;
                schema.tables.extend(more.tables);
            }
        }
        Ok::<_, Failure>((heads, schema, mariadb))
    }
    .await;
    conn.close().await;
    let (heads, mut schema, mariadb) = result?;
    replay_pending(&mut schema, pending);
    Ok((heads, schema, mariadb))
}

/// Warnings for ops the connected server cannot run though the dialect renders
/// them: the revision is still written (MySQL 8 runs it), and says so.
fn server_warnings(mariadb: bool, changes: &mut Changes) {
    if !mariadb {
        return;
    }
    for (i, op) in changes.upgrade.iter().enumerate() {
        if let Some(expression) = op.indexed_expression() {
            changes.warnings.push(Warning {
                code: diff::WarningCode::ServerCannot,
                op_index: Some(i),
                table: match op {
                    Op::CreateTable(c) => c.table.qualified_name(),
                    Op::CreateIndex(c) => {
                        crate::schema::qualified(c.schema.as_deref(), &c.index.table)
                    }
                    _ => String::new(),
                },
                column: None,
                message: format!(
                    "{} indexes an expression (`{expression}`), which MariaDB cannot: \
                     `migrate` refuses it on this server (MySQL 8.0.13+ runs it); index a \
                     generated column instead",
                    op.describe()
                ),
            });
        }
    }
}

fn replay_pending(schema: &mut Schema, pending: Option<&[Op]>) {
    for op in pending.unwrap_or_default() {
        // An op that does not replay (raw SQL, an object the database already lacks)
        // leaves the schema as it is; the diff then shows what is really missing.
        if let Err(e) = dialect::replay::apply(schema, op) {
            tracing::debug!(op = %op.describe(), error = %e, "Pending op does not replay");
        }
    }
}

/// The upgrade ops of the revisions not applied yet, in order.
fn pending_ops(project: &Project<'_>) -> Result<Vec<Op>, Failure> {
    if project.scripts.is_empty() {
        return Ok(Vec::new());
    }
    let db_heads = project_heads(project)?;
    let known: Vec<String> = db_heads
        .into_iter()
        .filter(|h| project.scripts.graph.get(h).is_some())
        .collect();
    let steps = project
        .scripts
        .graph
        .plan_upgrade(&known, "heads")
        .map_err(graph_failure)?;
    let mut ops = Vec::new();
    for step in steps {
        let Some(header) = project.scripts.file(&step.revision) else {
            continue;
        };
        let (_, body) = file::read_full(&header.path).map_err(|e| {
            Failure::usage(format!("Revision {} cannot be read", step.revision))
                .with_diagnostics([e.diagnostic()])
        })?;
        ops.extend(body.upgrade);
    }
    Ok(ops)
}

fn project_heads(project: &Project<'_>) -> Result<Vec<String>, Failure> {
    block_on(project.db_heads())?
}

/// True when rename candidates can be asked about.
fn interactive(ctx: &Context<'_>) -> bool {
    !ctx.printer.is_json() && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question on the terminal; anything but `y`/`yes` is no.
fn ask(question: &str) -> bool {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// `Create table users and 2 more operations`, for a revision without a message.
fn default_message(ops: &[Op]) -> String {
    let first = ops.first().map(Op::describe).unwrap_or_default();
    let first: String = first.split(" (").next().unwrap_or_default().to_owned();
    match ops.len() {
        0 | 1 => first,
        n => format!("{first} and {} more", n - 1),
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

/// The file text: the project's template (or the built-in one) with each warning as a
/// `# warning[code]: ...` comment above its op, the others above the first op.
fn render(
    project: &Project<'_>,
    new: &NewRevision,
    warnings: &[Warning],
) -> Result<String, Failure> {
    let template_path = project
        .loaded
        .settings
        .migrations_dir()
        .join("script.toml.j2");
    let template = match std::fs::read_to_string(&template_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => file::DEFAULT_TEMPLATE.to_owned(),
        Err(e) => {
            return Err(Failure::usage(format!(
                "Cannot read `{}`: {e}",
                template_path.display()
            )));
        }
    };
    let text = file::render_new(&template, new).map_err(|e| {
        Failure::usage(format!(
            "The template `script.toml.j2` gives an invalid revision: {e}"
        ))
    })?;
    // `render_new` parsed the text back; comment lines cannot change that.
    Ok(with_warning_comments(&text, warnings))
}

/// Inserts warning comments above the `[[upgrade]]` tables they are about.
fn with_warning_comments(text: &str, warnings: &[Warning]) -> String {
    if warnings.is_empty() {
        return text.to_owned();
    }
    let comment = |w: &Warning| {
        let one_line = w.message.replace('\n', " ");
        format!("# warning[{}]: {one_line}\n", w.code)
    };
    let general: String = warnings
        .iter()
        .filter(|w| w.op_index.is_none())
        .map(comment)
        .collect();
    let mut out = String::with_capacity(text.len() + 256);
    let mut op = 0;
    let mut general_done = general.is_empty();
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "[[upgrade]]" {
            if !general_done {
                out.push_str(&general);
                out.push('\n');
                general_done = true;
            }
            for w in warnings.iter().filter(|w| w.op_index == Some(op)) {
                out.push_str(&comment(w));
            }
            op += 1;
        }
        out.push_str(line);
    }
    if op == 0 {
        // A template that does not write `[[upgrade]]` lines: all warnings at the end.
        out.push('\n');
        out.extend(warnings.iter().map(comment));
    }
    out
}

/// Every warning on stderr.
fn report_warnings(ctx: &Context<'_>, warnings: &[Warning]) {
    for w in warnings {
        ctx.printer.warn(format!("[{}] {}", w.code, w.message));
    }
}

/// Warnings that are not about generated ops (unsupported differences).
fn report_notes(ctx: &Context<'_>, warnings: &[Warning]) {
    for w in warnings.iter().filter(|w| w.op_index.is_none()) {
        ctx.printer.warn(format!("[{}] {}", w.code, w.message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::WarningCode;

    fn warning(op: Option<usize>, code: WarningCode, message: &str) -> Warning {
        Warning {
            code,
            op_index: op,
            table: "t".into(),
            column: None,
            message: message.into(),
        }
    }

    #[test]
    fn warnings_become_comments_above_their_ops() {
        let text = "revision = \"a\"\n\n[[upgrade]]\nop = \"drop_table\"\n\n[[upgrade]]\nop = \"x\"\n\n[[downgrade]]\nop = \"y\"\n";
        let out = with_warning_comments(
            text,
            &[
                warning(Some(1), WarningCode::DropColumn, "Drops column `t.c`"),
                warning(None, WarningCode::RenameCandidate, "Maybe a rename"),
            ],
        );
        assert_eq!(
            out,
            "revision = \"a\"\n\n# warning[rename-candidate]: Maybe a rename\n\n[[upgrade]]\nop = \"drop_table\"\n\n# warning[drop-column]: Drops column `t.c`\n[[upgrade]]\nop = \"x\"\n\n[[downgrade]]\nop = \"y\"\n"
        );
        assert_eq!(with_warning_comments(text, &[]), text);
        let no_ops = with_warning_comments(
            "revision = \"a\"\n",
            &[warning(Some(0), WarningCode::DropTable, "x")],
        );
        assert_eq!(no_ops, "revision = \"a\"\n\n# warning[drop-table]: x\n");
    }

    #[test]
    fn default_messages_name_the_first_op() {
        let op = |name: &str| {
            Op::DropTable(crate::ops::DropTable {
                table: name.into(),
                schema: None,
                definition: None,
            })
        };
        assert_eq!(default_message(&[op("a")]), "Drop table a");
        assert_eq!(
            default_message(&[op("a"), op("b"), op("c")]),
            "Drop table a and 2 more"
        );
    }
}
