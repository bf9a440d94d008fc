//! Plans and applies upgrade/downgrade paths against a live database.
//!
//! Input: a [`ScriptDir`] (headers + graph), a target, an open [`Connection`] and its
//! [`Dialect`]. Output: the steps applied, reported one by one as typed [`Event`]s (the
//! CLI prints them and turns them into signals; nothing here writes to the terminal).
//!
//! Guarantees: one lock per database for the whole run ([`lock`]); the plan is computed
//! after the lock is taken, so concurrent runs apply each revision exactly once; each
//! revision, its version-table rows and its history row commit together where the
//! dialect has transactional DDL (a transaction per revision, so an interrupted run
//! keeps what it applied; with `transaction_per_migration = false`, SQLite and
//! PostgreSQL run the whole plan in one transaction, a savepoint per revision on
//! SQLite). A failing statement rolls its
//! revision back and the error names the revision, the statement, the database's
//! message and the statements already executed (which matter where DDL is not
//! transactional: MySQL). On MySQL each revision is first rendered whole, on a copy
//! of the tables it touches, and checked against the server, so an op that cannot run
//! stops it before any of its statements commit. Ops render from a view of the schema
//! read from the catalog only when one needs it (never for `sql` ops), then replayed.

pub mod interrupt;
pub mod lock;
pub mod tables;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::db::{Backend, Connection, DbError};
use crate::dialect::{self, Dialect, DialectError};
use crate::introspect::{self, IntrospectOptions};
use crate::ops::Op;
use crate::revision::file::{self as revfile, FileError};
use crate::revision::graph::{Direction, GraphError, StampStep, Step};
use crate::revision::{LoadError, ScriptDir};
use crate::schema::Schema;

pub use tables::{HISTORY_TABLE, HistoryRow, read_heads, read_history};

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("Revision {revision} is not in the versions folder")]
    MissingFile { revision: String },
    // The dialect's reason is part of the message, not a `source`: printing the chain
    // would repeat it.
    #[error("Cannot render `{op}` of revision {revision}: {cause}")]
    Render {
        revision: String,
        op: String,
        cause: Box<DialectError>,
    },
    #[error(
        "{direction} of revision {revision} failed; {}{}\n  statement: {statement}\n  database: {message}",
        outcome_note(*.whole_run, .executed, *.transactional),
        executed_note(.executed, *.transactional)
    )]
    Statement {
        revision: String,
        direction: Direction,
        statement: String,
        message: String,
        /// Statements of this revision that ran before the failing one.
        executed: Vec<String>,
        /// Whether those statements were rolled back with the revision.
        transactional: bool,
        /// Single-transaction mode: every revision of the run was rolled back.
        whole_run: bool,
    },
    #[error(
        "Revision {revision} leaves foreign keys that point nowhere; it was rolled back: {details}"
    )]
    ForeignKeys { revision: String, details: String },
    #[error("Another migration holds the lock on {target}; gave up after {seconds} s")]
    LockTimeout { target: String, seconds: u64 },
    #[error(
        "Lost the connection to {target} (the server went away){}: {cause}\n  statement: {statement}",
        .during.as_deref().map(|d| format!(" during {d}")).unwrap_or_default()
    )]
    ConnectionLost {
        target: String,
        /// `the upgrade of revision X`, when it happened inside one.
        during: Option<String>,
        statement: String,
        cause: String,
    },
    #[error(
        "Stopped by {signal} {}; {} of {planned} planned revision{} not run. The database is at {}",
        .last.as_deref().map(|l| format!("after revision {l}")).unwrap_or_else(|| "before any revision ran".to_owned()),
        .planned - .done,
        if *.planned - *.done == 1 { " was" } else { "s were" },
        if .heads.is_empty() { "base".to_owned() } else { .heads.join(", ") }
    )]
    Stopped {
        signal: &'static str,
        last: Option<String>,
        done: usize,
        planned: usize,
        heads: Vec<String>,
        goal: Goal,
    },
    #[error("Cannot take the migration lock file {}: {cause}", .path.display())]
    LockFile { path: PathBuf, cause: String },
    #[error("The version table name `{0}` is not a plain identifier (letters, digits, `_`)")]
    VersionTableName(String),
    #[error("{0}")]
    Interrupted(Box<Interrupted>),
    #[error(
        "The interrupted step changed while `repair` waited for the lock (another run resolved it); nothing was done"
    )]
    RepairChanged,
    #[error("Nothing to repair: no step of {target} was left unfinished")]
    NothingToRepair { target: String },
    #[error("The run was stopped {at} revision {revision}: {reason}; {}", stopped_note(*.whole_run, .at))]
    Aborted {
        /// `after` (the revision is applied) or `during`, `before`.
        at: &'static str,
        revision: String,
        reason: String,
        /// Single-transaction mode: every revision of the run was rolled back.
        whole_run: bool,
    },
}

/// What a stopped run left behind.
fn stopped_note(whole_run: bool, at: &str) -> &'static str {
    match (whole_run, at) {
        (true, _) => "the whole run was rolled back, nothing was applied",
        (false, "after") => "the later revisions were not applied",
        (false, _) => "it and the later revisions were not applied",
    }
}

/// A step recorded as started in the history table and never finished: the process was
/// killed or the server stopped while it ran. Where the database commits DDL at once
/// (MySQL, MariaDB) part of it may be in the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Interrupted {
    pub revision: String,
    /// `upgrade` or `downgrade`.
    pub direction: String,
    pub started_at: String,
    /// Ops known to have finished (the first `ops_done` of `ops`).
    pub ops_done: usize,
    /// The step's ops, described; empty when its file cannot be read.
    pub ops: Vec<String>,
    /// Why `ops` is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_problem: Option<String>,
}

impl Interrupted {
    /// One line per op: whether it finished, may have partly run, or did not run.
    pub fn op_lines(&self) -> Vec<String> {
        self.ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let state = match i.cmp(&self.ops_done) {
                    std::cmp::Ordering::Less => "finished",
                    std::cmp::Ordering::Equal => "may have run, wholly or in part",
                    std::cmp::Ordering::Greater => "did not run",
                };
                format!("op {} of {}: {op} ({state})", i + 1, self.ops.len())
            })
            .collect()
    }

    /// What is known in one sentence.
    pub fn progress(&self) -> String {
        if let Some(problem) = &self.file_problem {
            return format!(
                "{} of its ops were recorded as finished; its file cannot be read: {problem}",
                self.ops_done
            );
        }
        let n = self.ops.len();
        if self.ops_done >= n {
            return format!(
                "all {n} of its ops finished; only its version-table change is missing"
            );
        }
        let span = |a: usize, b: usize| {
            if a == b {
                format!("op {a}")
            } else {
                format!("ops {a}-{b}")
            }
        };
        let mut s = String::new();
        if self.ops_done > 0 {
            s.push_str(&format!("{} finished; ", span(1, self.ops_done)));
        }
        s.push_str(&format!(
            "op {} (`{}`) may have run, wholly or in part",
            self.ops_done + 1,
            self.ops[self.ops_done]
        ));
        if self.ops_done + 1 < n {
            s.push_str(&format!("; {} did not run", span(self.ops_done + 2, n)));
        }
        s
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "The {} of revision {} started on {} and did not finish (the process was killed, or the server stopped or lost the connection): {}",
            self.direction,
            self.revision,
            self.started_at,
            self.progress()
        )?;
        for line in self.op_lines() {
            write!(f, "\n  {line}")?;
        }
        Ok(())
    }
}

/// A new checksum for an applied revision whose file changed (`validate --repair`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecksumFix {
    pub revision: String,
    /// The checksum recorded when it was applied.
    pub old: String,
    pub checksum: String,
    pub ops_checksum: String,
}

/// How `repair` resolves an interrupted step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairAction {
    /// Record the step as finished (version table and history) without running ops:
    /// every op is in the database (checked by the user, or finished by hand).
    MarkApplied,
    /// Run the ops not recorded as finished, then record the step as finished.
    Rerun,
}

/// What became of the failed revision: rolled back, or (statements the database
/// commits at once having run) partly applied, the version table not moved.
fn outcome_note(whole_run: bool, executed: &[String], transactional: bool) -> &'static str {
    if !transactional && !executed.is_empty() {
        "it was partly applied and is not recorded as applied"
    } else if whole_run {
        "the whole run was rolled back (one transaction)"
    } else {
        "the revision was rolled back"
    }
}

fn executed_note(executed: &[String], transactional: bool) -> String {
    if executed.is_empty() || transactional {
        String::new()
    } else {
        let mut s = "\n  these statements of it had already run and were NOT rolled back (DDL the database commits at once, or statements run outside the transaction):"
            .to_owned();
        for stmt in executed {
            s.push_str("\n    ");
            s.push_str(stmt);
            s.push(';');
        }
        s
    }
}

impl Error {
    /// Whether the database (not the user's input) is at fault: exit code 3.
    pub fn is_database(&self) -> bool {
        matches!(
            self,
            Error::Db(_)
                | Error::Statement { .. }
                | Error::ForeignKeys { .. }
                | Error::LockTimeout { .. }
                | Error::LockFile { .. }
                | Error::ConnectionLost { .. }
                | Error::Stopped { .. }
                | Error::Interrupted(_)
        )
    }
}

/// What the runner reports while it works.
#[derive(Debug)]
pub enum Event<'a> {
    /// The lock is held and the plan is known.
    Planned {
        steps: &'a [Step],
        heads: &'a [String],
    },
    /// A revision starts.
    RevisionStarted {
        step: &'a Step,
        message: Option<&'a str>,
    },
    /// One statement ran.
    StatementDone { revision: &'a str, sql: &'a str },
    /// A revision and its version rows are committed. From every event, `Err(reason)`
    /// stops the run there (the revisions after it are not applied).
    RevisionApplied {
        step: &'a Step,
        duration: Duration,
        checksum: &'a str,
        heads: &'a [String],
    },
}

/// A planned step's file, read before the run writes anything.
struct LoadedStep {
    checksum: String,
    ops_checksum: String,
    message: Option<String>,
    ops: Vec<Op>,
}

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub version_table: String,
    pub lock_timeout: Duration,
    /// Commit each revision on its own (true) or the whole run at once (false; not on
    /// MySQL, which commits DDL immediately).
    pub transaction_per_migration: bool,
    /// Shown in lock messages (`postgresql at host:5432/db`), never with a password.
    pub target: String,
}

impl RunOptions {
    pub fn new(version_table: &str, target: &str) -> Result<Self, Error> {
        if !tables::is_plain_identifier(version_table) {
            return Err(Error::VersionTableName(version_table.to_owned()));
        }
        Ok(RunOptions {
            version_table: version_table.to_owned(),
            lock_timeout: Duration::from_secs(60),
            transaction_per_migration: true,
            target: target.to_owned(),
        })
    }
}

/// Which way to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    Upgrade,
    Downgrade,
}

/// What a run did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    pub applied: Vec<String>,
    pub heads_before: Vec<String>,
    pub heads_after: Vec<String>,
}

/// Applies plans on one connection.
pub struct Runner<'a> {
    pub conn: Connection,
    dialect: Box<dyn Dialect>,
    scripts: &'a ScriptDir,
    opts: RunOptions,
    /// How many statements of the current revision are committed for good (those up
    /// to its last statement run outside the transaction).
    committed: usize,
    /// The schema view no longer matches the database (nothing read yet, a `sql` op
    /// ran, an op did not replay, a revision was rolled back): read again before the
    /// next op that renders from it. Runs of `sql` ops never read the catalog.
    schema_stale: bool,
    /// Whether the MySQL server is MariaDB, once asked.
    mariadb: Option<bool>,
}

impl<'a> Runner<'a> {
    /// A runner rendering with the built-in dialect of the connection's database.
    pub fn new(conn: Connection, scripts: &'a ScriptDir, opts: RunOptions) -> Self {
        let dialect = dialect::for_backend(conn.backend());
        Runner::with_dialect(conn, dialect, scripts, opts)
    }

    /// A runner rendering with `dialect` (a dialect plugin speaking the
    /// connection's protocol, or a built-in one).
    pub fn with_dialect(
        conn: Connection,
        dialect: Box<dyn Dialect>,
        scripts: &'a ScriptDir,
        opts: RunOptions,
    ) -> Self {
        Runner {
            conn,
            dialect,
            scripts,
            opts,
            committed: 0,
            schema_stale: true,
            mariadb: None,
        }
    }

    fn introspect_options(&self) -> IntrospectOptions {
        IntrospectOptions::excluding([self.opts.version_table.clone(), HISTORY_TABLE.to_owned()])
    }

    /// Upgrades or downgrades to `target` (any spec the graph resolves), under the lock.
    pub async fn run(
        &mut self,
        goal: Goal,
        target: &str,
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), String>,
    ) -> Result<Summary, Error> {
        let single = self.single_transaction();
        let lock = self.lock(single).await?;
        let mut result = Ok(Summary::default());
        if single && self.conn.backend() == Backend::Postgres {
            result = self
                .conn
                .execute("BEGIN")
                .await
                .map(|_| Summary::default())
                .map_err(Error::Db);
        }
        if result.is_ok() {
            result = self.run_locked(goal, target, on_event).await;
        }
        if single && self.conn.backend() == Backend::Postgres {
            let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
            if let Err(e) = self.conn.execute(end).await
                && result.is_ok()
            {
                result = Err(Error::Db(e));
            }
        }
        let commit = !(single && result.is_err());
        let released = lock::release(&mut self.conn, lock, commit).await;
        let summary = result.map_err(|e| match e {
            Error::Db(DbError::ConnectionLost { statement, cause }) => Error::ConnectionLost {
                target: self.opts.target.clone(),
                during: None,
                statement,
                cause,
            },
            other => other,
        })?;
        released?;
        Ok(summary)
    }

    /// Whether the whole run is one transaction (never on MySQL: DDL commits at once).
    fn single_transaction(&self) -> bool {
        !self.opts.transaction_per_migration && self.conn.backend() != Backend::Mysql
    }

    async fn ensure_tables(&mut self) -> Result<(), Error> {
        tables::ensure(
            &mut self.conn,
            self.dialect.as_ref(),
            &self.opts.version_table,
        )
        .await
        .map_err(|e| match e {
            tables::TableError::Db(d) => Error::Db(d),
            tables::TableError::Dialect(source) => Error::Render {
                revision: "-".to_owned(),
                op: format!("create table {HISTORY_TABLE}"),
                cause: Box::new(source),
            },
        })
    }

    async fn run_locked(
        &mut self,
        goal: Goal,
        target: &str,
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), String>,
    ) -> Result<Summary, Error> {
        if let Some(found) = self.find_interrupted().await? {
            return Err(Error::Interrupted(Box::new(found)));
        }
        let heads_before = read_heads(&mut self.conn, &self.opts.version_table).await?;
        let graph = &self.scripts.graph;
        let steps = match goal {
            Goal::Upgrade => graph.plan_upgrade(&heads_before, target)?,
            Goal::Downgrade => graph.plan_downgrade(&heads_before, target)?,
        };
        // Every file of the plan is parsed before anything is written, so a typo in the
        // last revision cannot leave the first ones applied.
        let mut bodies = Vec::with_capacity(steps.len());
        for step in &steps {
            bodies.push(self.load_step(step)?);
        }
        let whole_run = self.single_transaction();
        on_event(Event::Planned {
            steps: &steps,
            heads: &heads_before,
        })
        .map_err(|reason| Error::Aborted {
            at: "before",
            revision: steps
                .first()
                .map(|s| s.revision.clone())
                .unwrap_or_default(),
            reason,
            whole_run,
        })?;
        let mut summary = Summary {
            heads_before: heads_before.clone(),
            heads_after: heads_before,
            applied: Vec::new(),
        };
        if steps.is_empty() {
            return Ok(summary);
        }
        self.ensure_tables().await?;
        // Read when the first op that renders from it comes.
        let mut schema = Schema::default();
        self.schema_stale = true;
        let planned = steps.len();
        for (step, loaded) in steps.iter().zip(bodies) {
            if let Some(signal) = interrupt::requested() {
                return Err(Error::Stopped {
                    signal,
                    last: summary.applied.last().cloned(),
                    done: summary.applied.len(),
                    planned,
                    heads: summary.heads_after.clone(),
                    goal,
                });
            }
            self.apply_step(
                step,
                loaded,
                None,
                &mut schema,
                &mut summary.heads_after,
                on_event,
            )
            .await?;
            summary.applied.push(step.revision.clone());
        }
        Ok(summary)
    }

    /// Reads and parses the file of `step`: its checksum and the ops to run.
    fn load_step(&self, step: &Step) -> Result<LoadedStep, Error> {
        let header = self
            .scripts
            .file(&step.revision)
            .ok_or_else(|| Error::MissingFile {
                revision: step.revision.clone(),
            })?;
        let (bytes, body) = read_body(&header.path)?;
        Ok(LoadedStep {
            checksum: revfile::checksum(&bytes),
            ops_checksum: revfile::ops_checksum(&body),
            message: header.message.clone(),
            ops: match step.direction {
                Direction::Up => body.upgrade,
                Direction::Down => body.downgrade,
            },
        })
    }

    async fn refresh_schema(&mut self, schema: &mut Schema) -> Result<(), Error> {
        let options = self.introspect_options();
        *schema = introspect::introspect(&mut self.conn, &options)
            .await
            .map_err(|e| DbError::Connect {
                target: self.opts.target.clone(),
                cause: format!("cannot read the schema: {e}"),
            })?;
        self.schema_stale = false;
        tracing::debug!(tables = schema.tables.len(), "Schema read for rendering");
        Ok(())
    }

    /// MySQL commits each DDL statement at once, so a revision that fails halfway stays
    /// half applied. Every op of it is rendered first, on a copy of the tables the ops
    /// touch, and checked against what the server is (MariaDB has no expression
    /// indexes): an op that cannot run stops the revision before any statement does.
    async fn preflight(
        &mut self,
        step: &Step,
        ops: &[Op],
        schema: &mut Schema,
    ) -> Result<(), Error> {
        if self.conn.backend() != Backend::Mysql || ops.is_empty() {
            return Ok(());
        }
        if self.schema_stale && ops.iter().any(|op| !matches!(op, Op::Sql(_))) {
            self.refresh_schema(schema).await?;
        }
        let mut copy = Schema::default();
        for op in ops {
            for table in dialect::context::context(op, schema) {
                if copy.table(table.schema.as_deref(), &table.name).is_none() {
                    copy.tables.push(table.clone());
                }
            }
        }
        let mariadb = match self.mariadb {
            Some(known) => known,
            None => *self.mariadb.insert(self.conn.is_mariadb().await?),
        };
        // After a `sql` op the copy may miss what the SQL did: later ops are rendered
        // for real, from the schema read again, and only checked against the server.
        let mut copy_is_exact = true;
        for op in ops {
            let failed = |cause: DialectError| Error::Render {
                revision: step.revision.clone(),
                op: op.describe(),
                cause: Box::new(cause),
            };
            if mariadb && let Some(expression) = op.indexed_expression() {
                return Err(failed(DialectError::ServerCannot {
                    server: "MariaDB".to_owned(),
                    reason: format!(
                        "it has no expression indexes (`{expression}`; MySQL 8.0.13+ has): \
                         index a generated column instead"
                    ),
                }));
            }
            if matches!(op, Op::Sql(_)) {
                copy_is_exact = false;
            }
            if copy_is_exact {
                self.dialect.render(op, &copy).map_err(failed)?;
                copy_is_exact = dialect::replay::apply(&mut copy, op).is_ok();
            }
        }
        Ok(())
    }

    /// Runs the ops of `step` (`resume: None`: all of them, recording the step as
    /// started first; `Some(k)`: those after the first `k`, of a step recorded as
    /// started already) and records it as finished with its version-table change.
    async fn apply_step(
        &mut self,
        step: &Step,
        loaded: LoadedStep,
        resume: Option<usize>,
        schema: &mut Schema,
        heads: &mut Vec<String>,
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), String>,
    ) -> Result<(), Error> {
        let LoadedStep {
            checksum,
            ops_checksum,
            message,
            ops,
        } = loaded;
        let whole_run = self.single_transaction();
        let stopped = |at: &'static str| {
            move |reason| Error::Aborted {
                at,
                revision: step.revision.clone(),
                reason,
                whole_run,
            }
        };
        on_event(Event::RevisionStarted {
            step,
            message: message.as_deref(),
        })
        .map_err(stopped("before"))?;
        let started = Instant::now();
        let backend = self.conn.backend();
        let skip = resume.unwrap_or(0);
        let ops = &ops[skip.min(ops.len())..];
        self.preflight(step, ops, schema).await?;
        self.begin_step().await?;
        self.committed = 0;
        let mut executed: Vec<String> = Vec::new();
        // The started row is in the step's transaction: where DDL is transactional it
        // never outlives a crash; on MySQL the first DDL statement commits it before
        // it runs, so a crash inside the revision leaves it for `status` and `repair`.
        let mut outcome = Ok(());
        if resume.is_none() {
            let sql = tables::history_start_sql(
                self.dialect.as_ref(),
                &step.revision,
                &step.direction.to_string(),
                Some(&checksum),
                Some(&ops_checksum),
            );
            outcome = self.conn.execute(&sql).await.map(|_| ()).map_err(Error::Db);
        }
        if outcome.is_ok() {
            outcome = self
                .run_ops(step, ops, skip, schema, &mut executed, on_event)
                .await;
        }
        let outcome = match outcome {
            Ok(()) => self.finish_step(step, started).await,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            self.abort_step().await;
            if backend == Backend::Mysql || (self.committed > 0 && !self.single_transaction()) {
                // Statements committed at once: the started row may be committed too.
                // It goes; a revision left half-applied gets a `-failed` row `status`
                // reports until the revision is applied or stamped. When the server is
                // gone this fails and the started row stays, for `status` and `repair`.
                let mut batch = vec![tables::history_forget_started_sql(
                    self.dialect.as_ref(),
                    &step.revision,
                )];
                if !executed.is_empty() || resume.is_some() {
                    let direction = format!("{}-failed", step.direction);
                    let duration_ms =
                        u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    batch.push(tables::history_insert_sql(
                        self.dialect.as_ref(),
                        &step.revision,
                        &direction,
                        Some(&checksum),
                        duration_ms,
                    ));
                }
                let _ = self
                    .conn
                    .execute(&format!("BEGIN; {}; COMMIT", batch.join("; ")))
                    .await;
            }
            // The schema view may hold ops that were rolled back.
            self.schema_stale = true;
            // Statements before one run outside the transaction were committed then.
            let committed = std::mem::take(&mut self.committed);
            if committed > 0 {
                executed.truncate(committed);
            }
            return Err(match e {
                Error::Db(DbError::ConnectionLost { statement, cause }) => Error::ConnectionLost {
                    target: self.opts.target.clone(),
                    during: Some(format!(
                        "the {} of revision {}",
                        step.direction, step.revision
                    )),
                    statement,
                    cause,
                },
                Error::Db(DbError::Statement { statement, message }) => Error::Statement {
                    revision: step.revision.clone(),
                    direction: step.direction,
                    statement,
                    message,
                    executed,
                    transactional: backend != Backend::Mysql && committed == 0,
                    whole_run: self.single_transaction(),
                },
                other => other,
            });
        }
        crate::revision::graph::apply_version_changes(heads, &step.version_changes)?;
        heads.sort();
        // The revision is committed; a stop here keeps the later ones from running.
        on_event(Event::RevisionApplied {
            step,
            duration: started.elapsed(),
            checksum: &checksum,
            heads,
        })
        .map_err(stopped("after"))
    }

    async fn run_ops(
        &mut self,
        step: &Step,
        ops: &[Op],
        skip: usize,
        schema: &mut Schema,
        executed: &mut Vec<String>,
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), String>,
    ) -> Result<(), Error> {
        for (i, op) in ops.iter().enumerate() {
            if self.schema_stale && !matches!(op, Op::Sql(_)) {
                self.refresh_schema(schema).await?;
            }
            let statements = self
                .dialect
                .render(op, schema)
                .map_err(|source| Error::Render {
                    revision: step.revision.clone(),
                    op: op.describe(),
                    cause: Box::new(source),
                })?;
            for stmt in &statements {
                if !stmt.transactional && self.conn.backend() == Backend::Postgres {
                    // e.g. CREATE INDEX CONCURRENTLY: commit, run alone, reopen.
                    if self.single_transaction() {
                        // As Alembic's `autocommit_block` does: the run's transaction
                        // ends here, with every revision before this one committed.
                        tracing::warn!(
                            revision = %step.revision,
                            statement = %stmt.sql,
                            "A statement that cannot run in a transaction commits the run's \
                             transaction so far (MIGRATION_TRANSACTION_PER_MIGRATION = false)"
                        );
                    }
                    self.conn.execute("COMMIT").await?;
                    self.committed = executed.len();
                    self.conn.execute(&stmt.sql).await?;
                    executed.push(stmt.sql.clone());
                    self.committed = executed.len();
                    self.conn.execute("BEGIN").await?;
                } else {
                    self.conn.execute(&stmt.sql).await?;
                    executed.push(stmt.sql.clone());
                }
                on_event(Event::StatementDone {
                    revision: &step.revision,
                    sql: &stmt.sql,
                })
                .map_err(|reason| Error::Aborted {
                    at: "during",
                    revision: step.revision.clone(),
                    reason,
                    whole_run: self.single_transaction(),
                })?;
            }
            let replayed = match op {
                Op::Sql(_) => false,
                _ => dialect::replay::apply(schema, op).is_ok(),
            };
            if !replayed {
                self.schema_stale = true;
            }
            if self.conn.backend() == Backend::Mysql && i + 1 < ops.len() {
                // DDL committed at once: record how far the revision got, so after a
                // crash `status` can say which op may have partly run.
                self.conn
                    .execute(&tables::history_progress_sql(
                        self.dialect.as_ref(),
                        &step.revision,
                        skip + i + 1,
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    async fn begin_step(&mut self) -> Result<(), Error> {
        let sql = match self.conn.backend() {
            Backend::Sqlite if self.single_transaction() => "SAVEPOINT sqlalembic_step",
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres if self.single_transaction() => return Ok(()),
            Backend::Postgres | Backend::Mysql => "BEGIN",
        };
        self.conn.execute(sql).await?;
        Ok(())
    }

    async fn finish_step(&mut self, step: &Step, started: Instant) -> Result<(), Error> {
        if self.conn.backend() == Backend::Sqlite {
            let problems = self.conn.query_text("PRAGMA foreign_key_check").await?;
            if !problems.is_empty() {
                let details = problems
                    .iter()
                    .take(5)
                    .map(|r| {
                        let col = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                        format!("row {} of `{}` -> `{}`", col(1), col(0), col(2))
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(Error::ForeignKeys {
                    revision: step.revision.clone(),
                    details,
                });
            }
        }
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let batch = self.finish_batch(step, duration_ms);
        match self.conn.backend() {
            // DDL ended the transaction `begin_step` opened: the version rows and the
            // history row get one of their own, sent as one batch, so neither moves
            // alone (a connection that drops mid-batch rolls it back).
            Backend::Mysql => {
                self.conn
                    .execute(&format!("BEGIN; {batch}; COMMIT"))
                    .await?;
            }
            Backend::Sqlite if self.single_transaction() => {
                self.conn
                    .execute(&format!("{batch}; RELEASE sqlalembic_step"))
                    .await?;
            }
            Backend::Sqlite => {
                self.conn.execute(&format!("{batch}; COMMIT")).await?;
            }
            Backend::Postgres if self.single_transaction() => {
                self.conn.execute(&batch).await?;
            }
            Backend::Postgres => {
                self.conn.execute(&format!("{batch}; COMMIT")).await?;
            }
        }
        Ok(())
    }

    /// The version-table changes of `step` and the update marking its history row
    /// finished, as one batch of statements.
    fn finish_batch(&self, step: &Step, duration_ms: u64) -> String {
        let mut batch: Vec<String> = step
            .version_changes
            .iter()
            .map(|change| {
                tables::version_change_sql(self.dialect.as_ref(), &self.opts.version_table, change)
            })
            .collect();
        batch.push(tables::history_finish_sql(
            self.dialect.as_ref(),
            &step.revision,
            duration_ms,
        ));
        batch.join("; ")
    }

    /// The oldest step recorded as started and never finished, described.
    pub async fn find_interrupted(&mut self) -> Result<Option<Interrupted>, Error> {
        let started = tables::read_started(&mut self.conn).await?;
        Ok(started.first().map(|row| self.describe_interrupted(row)))
    }

    fn describe_interrupted(&self, row: &HistoryRow) -> Interrupted {
        describe_interrupted(self.scripts, row)
    }

    /// Takes the run's lock on the target (`single_transaction`: the run is one
    /// transaction, which the lock must not end).
    async fn lock(&mut self, single_transaction: bool) -> Result<lock::Lock, Error> {
        lock::acquire(
            &mut self.conn,
            &self.opts.version_table,
            self.opts.lock_timeout,
            &self.opts.target,
            single_transaction,
        )
        .await
    }

    /// Records new file checksums of applied revisions (`validate --repair`), under
    /// the lock, in one transaction: each fix replaces the checksum `old` of the
    /// upgrades of its revision.
    pub async fn repair_checksums(&mut self, fixes: &[ChecksumFix]) -> Result<(), Error> {
        let lock = self.lock(false).await?;
        let result = async {
            self.ensure_tables().await?;
            let batch: Vec<String> = fixes
                .iter()
                .map(|f| {
                    tables::history_checksum_update_sql(
                        self.dialect.as_ref(),
                        &f.revision,
                        &f.old,
                        &f.checksum,
                        &f.ops_checksum,
                    )
                })
                .collect();
            let begin = match self.conn.backend() {
                Backend::Sqlite => "BEGIN IMMEDIATE",
                Backend::Postgres | Backend::Mysql => "BEGIN",
            };
            self.conn
                .execute(&format!("{begin}; {}; COMMIT", batch.join("; ")))
                .await?;
            Ok::<_, Error>(())
        }
        .await;
        let released = lock::release(&mut self.conn, lock, true).await;
        result?;
        released?;
        Ok(())
    }

    /// Resolves the interrupted step `expected` (as [`Runner::find_interrupted`]
    /// described it), under the lock. Refuses when it changed meanwhile.
    pub async fn repair(
        &mut self,
        expected: &Interrupted,
        action: RepairAction,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Summary, Error> {
        let lock = self.lock(false).await?;
        let result = self.repair_locked(expected, action, on_event).await;
        let released = lock::release(&mut self.conn, lock, true).await;
        let summary = result?;
        released?;
        Ok(summary)
    }

    async fn repair_locked(
        &mut self,
        expected: &Interrupted,
        action: RepairAction,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Summary, Error> {
        match self.find_interrupted().await? {
            Some(found) if found == *expected => {}
            _ => return Err(Error::RepairChanged),
        }
        let heads_before = read_heads(&mut self.conn, &self.opts.version_table).await?;
        let direction = if expected.direction == "downgrade" {
            Direction::Down
        } else {
            Direction::Up
        };
        let header = self
            .scripts
            .file(&expected.revision)
            .ok_or_else(|| Error::MissingFile {
                revision: expected.revision.clone(),
            })?;
        let step = Step {
            revision: expected.revision.clone(),
            direction,
            down_revisions: header.down_revisions.clone(),
            version_changes: self.scripts.graph.version_changes(
                &heads_before,
                &expected.revision,
                direction,
            )?,
        };
        let mut heads = heads_before.clone();
        self.ensure_tables().await?;
        match action {
            RepairAction::MarkApplied => {
                let batch = self.finish_batch(&step, 0);
                let sql = match self.conn.backend() {
                    Backend::Sqlite => format!("BEGIN IMMEDIATE; {batch}; COMMIT"),
                    Backend::Postgres | Backend::Mysql => format!("BEGIN; {batch}; COMMIT"),
                };
                self.conn.execute(&sql).await?;
                crate::revision::graph::apply_version_changes(&mut heads, &step.version_changes)?;
                heads.sort();
            }
            RepairAction::Rerun => {
                let loaded = self.load_step(&step)?;
                let mut schema = Schema::default();
                self.schema_stale = true;
                self.apply_step(
                    &step,
                    loaded,
                    Some(expected.ops_done),
                    &mut schema,
                    &mut heads,
                    &mut |event| {
                        on_event(event);
                        Ok(())
                    },
                )
                .await?;
            }
        }
        Ok(Summary {
            applied: vec![step.revision.clone()],
            heads_before,
            heads_after: heads,
        })
    }

    async fn abort_step(&mut self) {
        match self.conn.backend() {
            Backend::Sqlite if self.single_transaction() => {
                let _ = self.conn.execute("ROLLBACK TO sqlalembic_step").await;
                let _ = self.conn.execute("RELEASE sqlalembic_step").await;
            }
            Backend::Sqlite => {
                let _ = self.conn.execute("ROLLBACK").await;
            }
            // Single-transaction mode: `run` rolls the whole run back.
            Backend::Postgres if self.single_transaction() => {}
            Backend::Postgres | Backend::Mysql => {
                let _ = self.conn.execute("ROLLBACK").await;
            }
        }
    }

    /// Sets the version table to `targets` without running migrations (Alembic `stamp`).
    pub async fn stamp(&mut self, targets: &[&str], purge: bool) -> Result<Summary, Error> {
        let lock = self.lock(false).await?;
        let result = self.stamp_locked(targets, purge).await;
        let released = lock::release(&mut self.conn, lock, true).await;
        let summary = result?;
        released?;
        Ok(summary)
    }

    async fn stamp_locked(&mut self, targets: &[&str], purge: bool) -> Result<Summary, Error> {
        self.ensure_tables().await?;
        let heads_before = read_heads(&mut self.conn, &self.opts.version_table).await?;
        let steps = self
            .scripts
            .graph
            .plan_stamp(&heads_before, targets, purge)?;
        let mut heads = if purge {
            Vec::new()
        } else {
            heads_before.clone()
        };
        let begin = match self.conn.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres | Backend::Mysql => "BEGIN",
        };
        self.conn.execute(begin).await?;
        let result = self.write_stamp(&steps, purge, &mut heads).await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.conn.execute(end).await?;
        result?;
        heads.sort();
        Ok(Summary {
            applied: steps.iter().flat_map(|s| s.to.clone()).collect(),
            heads_before,
            heads_after: heads,
        })
    }

    async fn write_stamp(
        &mut self,
        steps: &[StampStep],
        purge: bool,
        heads: &mut Vec<String>,
    ) -> Result<(), Error> {
        let table = self.opts.version_table.clone();
        if purge {
            let all = format!("DELETE FROM {}", self.dialect.quote_ident(&table));
            self.conn.execute(&all).await?;
        }
        for step in steps {
            for change in &step.version_changes {
                self.conn
                    .execute(&tables::version_change_sql(
                        self.dialect.as_ref(),
                        &table,
                        change,
                    ))
                    .await?;
            }
            crate::revision::graph::apply_version_changes(heads, &step.version_changes)?;
            let (direction, revisions) = match step.direction {
                Direction::Up => ("stamp", &step.to),
                Direction::Down => ("stamp-down", &step.from),
            };
            for rev in revisions {
                self.conn
                    .execute(&tables::history_insert_sql(
                        self.dialect.as_ref(),
                        rev,
                        direction,
                        None,
                        0,
                    ))
                    .await?;
            }
        }
        Ok(())
    }
}

/// What is known of the started step `row` of history, with the ops of its file.
pub fn describe_interrupted(scripts: &ScriptDir, row: &HistoryRow) -> Interrupted {
    let direction = if row.direction == "downgrade" {
        Direction::Down
    } else {
        Direction::Up
    };
    let (ops, file_problem) = match scripts.file(&row.revision) {
        None => (Vec::new(), Some("no revision file defines it".to_owned())),
        Some(header) => match read_body(&header.path) {
            Ok((_, body)) => {
                let ops = match direction {
                    Direction::Up => body.upgrade,
                    Direction::Down => body.downgrade,
                };
                (ops.iter().map(Op::describe).collect(), None)
            }
            Err(e) => (Vec::new(), Some(e.to_string())),
        },
    };
    Interrupted {
        revision: row.revision.clone(),
        direction: row.direction.clone(),
        started_at: row.applied_at.clone(),
        ops_done: usize::try_from(row.ops_done.unwrap_or(0)).unwrap_or(usize::MAX),
        ops,
        file_problem,
    }
}

fn read_body(path: &PathBuf) -> Result<(Vec<u8>, revfile::RevisionBody), Error> {
    let bytes = std::fs::read(path).map_err(|source| FileError::Io {
        path: path.clone(),
        source,
    })?;
    let kind = revfile::RevisionKind::from_path(path).unwrap_or(revfile::RevisionKind::Toml);
    let text = String::from_utf8_lossy(&bytes);
    let (_, body) = revfile::parse_str(path, kind, &text)?;
    Ok((bytes, body))
}

/// Renders a plan as a SQL script without connecting (offline `--sql` mode).
///
/// The schema the ops apply to is rebuilt by replaying every revision from base to
/// `from_heads`, so ops that need an existing definition (a SQLite rebuild, a MySQL
/// `MODIFY`) render as they would online.
pub fn render_script(
    scripts: &ScriptDir,
    dialect: &dyn Dialect,
    version_table: &str,
    from_heads: &[String],
    goal: Goal,
    target: &str,
) -> Result<String, Error> {
    if !tables::is_plain_identifier(version_table) {
        return Err(Error::VersionTableName(version_table.to_owned()));
    }
    let graph = &scripts.graph;
    let mut schema = Schema::default();
    for head in from_heads {
        for step in graph.plan_upgrade(&[], head)? {
            for op in load_ops(scripts, &step)? {
                let _ = dialect::replay::apply(&mut schema, &op);
            }
        }
    }
    let steps = match goal {
        Goal::Upgrade => graph.plan_upgrade(from_heads, target)?,
        Goal::Downgrade => graph.plan_downgrade(from_heads, target)?,
    };
    let transactional = dialect.capabilities().transactional_ddl;
    let mut out = String::new();
    if from_heads.is_empty() && goal == Goal::Upgrade {
        out.push_str(&dialect.create_version_table(version_table));
        out.push_str(";\n\n");
    }
    for step in &steps {
        let message = scripts
            .file(&step.revision)
            .and_then(|f| f.message.clone())
            .unwrap_or_default();
        let from = step.from_revisions().join(", ");
        let to = step.to_revisions().join(", ");
        out.push_str(&format!(
            "-- Running {} {} -> {}{}\n",
            step.direction,
            if from.is_empty() { "<base>" } else { &from },
            if to.is_empty() { "<base>" } else { &to },
            if message.is_empty() {
                String::new()
            } else {
                format!(", {message}")
            }
        ));
        if transactional {
            out.push_str("BEGIN;\n");
        }
        for op in load_ops(scripts, step)? {
            let statements = dialect
                .render(&op, &schema)
                .map_err(|source| Error::Render {
                    revision: step.revision.clone(),
                    op: op.describe(),
                    cause: Box::new(source),
                })?;
            for stmt in statements {
                // A statement that must run outside a transaction (CREATE INDEX
                // CONCURRENTLY) ends the revision's transaction and starts a new one.
                let alone = transactional && !stmt.transactional;
                if alone {
                    out.push_str("COMMIT;\n");
                }
                out.push_str(stmt.sql.trim_end_matches(';'));
                out.push_str(";\n");
                if alone {
                    out.push_str("BEGIN;\n");
                }
            }
            let _ = dialect::replay::apply(&mut schema, &op);
        }
        for change in &step.version_changes {
            out.push_str(&tables::version_change_sql(dialect, version_table, change));
            out.push_str(";\n");
        }
        if transactional {
            out.push_str("COMMIT;\n");
        }
        out.push('\n');
    }
    Ok(out)
}

fn load_ops(scripts: &ScriptDir, step: &Step) -> Result<Vec<Op>, Error> {
    let header = scripts
        .file(&step.revision)
        .ok_or_else(|| Error::MissingFile {
            revision: step.revision.clone(),
        })?;
    let (_, body) = read_body(&header.path)?;
    Ok(match step.direction {
        Direction::Up => body.upgrade,
        Direction::Down => body.downgrade,
    })
}

/// Renders the version-table statements of a stamp as SQL (offline `stamp --sql`).
pub fn render_stamp_script(
    scripts: &ScriptDir,
    dialect: &dyn Dialect,
    version_table: &str,
    from_heads: &[String],
    targets: &[&str],
    purge: bool,
) -> Result<String, Error> {
    let steps = scripts.graph.plan_stamp(from_heads, targets, purge)?;
    let mut out = String::new();
    if purge {
        out.push_str(&format!(
            "DELETE FROM {};\n",
            dialect.quote_ident(version_table)
        ));
    }
    for step in steps {
        for change in &step.version_changes {
            out.push_str(&tables::version_change_sql(dialect, version_table, change));
            out.push_str(";\n");
        }
    }
    Ok(out)
}

impl Runner<'_> {
    /// Drops every table of the database, the version and history tables included
    /// (`fresh`). Returns the names dropped.
    pub async fn drop_everything(&mut self) -> Result<Vec<String>, Error> {
        let schema = introspect::introspect(&mut self.conn, &IntrospectOptions::default())
            .await
            .map_err(|e| DbError::Connect {
                target: self.opts.target.clone(),
                cause: format!("cannot read the schema: {e}"),
            })?;
        let names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
        let backend = self.conn.backend();
        if backend == Backend::Mysql {
            self.conn.execute("SET FOREIGN_KEY_CHECKS = 0").await?;
        }
        for name in &names {
            let quoted = self.dialect.quote_ident(name);
            let sql = match backend {
                Backend::Postgres => format!("DROP TABLE IF EXISTS {quoted} CASCADE"),
                _ => format!("DROP TABLE IF EXISTS {quoted}"),
            };
            self.conn.execute(&sql).await?;
        }
        if backend == Backend::Mysql {
            self.conn.execute("SET FOREIGN_KEY_CHECKS = 1").await?;
        }
        Ok(names)
    }
}
