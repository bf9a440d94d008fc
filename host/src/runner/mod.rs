//! Plans and applies upgrade/downgrade paths against a live database.
//!
//! Input: a [`ScriptDir`] (headers + graph), a target, an open [`Connection`] and its
//! [`Dialect`]. Output: the steps applied, reported one by one as typed [`Event`]s (the
//! CLI prints them and turns them into signals; nothing here writes to the terminal).
//!
//! Guarantees: one lock per database for the whole run ([`lock`]); the plan is computed
//! after the lock is taken, so concurrent runs apply each revision exactly once; each
//! revision, its version-table rows and its history row commit together where the
//! dialect has transactional DDL (SQLite: a savepoint inside the run's write
//! transaction; PostgreSQL: a transaction per revision). A failing statement rolls its
//! revision back and the error names the revision, the statement, the database's
//! message and the statements already executed (which matter where DDL is not
//! transactional: MySQL). On MySQL each revision is first rendered whole, on a copy
//! of the tables it touches, and checked against the server, so an op that cannot run
//! stops it before any of its statements commit. Ops render from a view of the schema
//! read from the catalog only when one needs it (never for `sql` ops), then replayed.

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
    #[error("The version table name `{0}` is not a plain identifier (letters, digits, `_`)")]
    VersionTableName(String),
    #[error("The run was stopped {at} revision {revision}: {reason}; {}", stopped_note(*.whole_run, .at))]
    Stopped {
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
        let lock = lock::acquire(
            &mut self.conn,
            &self.opts.version_table,
            self.opts.lock_timeout,
            &self.opts.target,
        )
        .await?;
        let single = self.single_transaction();
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
        let summary = result?;
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
        .map_err(|reason| Error::Stopped {
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
        for (step, loaded) in steps.iter().zip(bodies) {
            self.apply_step(
                step,
                loaded,
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

    async fn apply_step(
        &mut self,
        step: &Step,
        loaded: LoadedStep,
        schema: &mut Schema,
        heads: &mut Vec<String>,
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), String>,
    ) -> Result<(), Error> {
        let LoadedStep {
            checksum,
            message,
            ops,
        } = loaded;
        let whole_run = self.single_transaction();
        let stopped = |at: &'static str| {
            move |reason| Error::Stopped {
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
        self.preflight(step, &ops, schema).await?;
        self.begin_step().await?;
        self.committed = 0;
        let mut executed: Vec<String> = Vec::new();
        let outcome = self
            .run_ops(step, &ops, schema, &mut executed, on_event)
            .await;
        let outcome = match outcome {
            Ok(()) => self.finish_step(step, &checksum, started).await,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            self.abort_step().await;
            if backend == Backend::Mysql && !executed.is_empty() {
                // DDL committed at once: leave a trace `status` reports until the
                // revision is applied or stamped.
                let direction = format!("{}-failed", step.direction);
                let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let sql = tables::history_insert_sql(
                    self.dialect.as_ref(),
                    &step.revision,
                    &direction,
                    Some(&checksum),
                    duration_ms,
                );
                let _ = self.conn.execute(&sql).await;
            }
            // The schema view may hold ops that were rolled back.
            self.schema_stale = true;
            // Statements before one run outside the transaction were committed then.
            let committed = std::mem::take(&mut self.committed);
            if committed > 0 {
                executed.truncate(committed);
            }
            return Err(match e {
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
        schema: &mut Schema,
        executed: &mut Vec<String>,
        on_event: &mut dyn FnMut(Event<'_>) -> Result<(), String>,
    ) -> Result<(), Error> {
        for op in ops {
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
                .map_err(|reason| Error::Stopped {
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
        }
        Ok(())
    }

    async fn begin_step(&mut self) -> Result<(), Error> {
        let sql = match self.conn.backend() {
            Backend::Sqlite => "SAVEPOINT sqlalembic_step",
            Backend::Postgres if self.single_transaction() => return Ok(()),
            Backend::Postgres | Backend::Mysql => "BEGIN",
        };
        self.conn.execute(sql).await?;
        Ok(())
    }

    async fn finish_step(
        &mut self,
        step: &Step,
        checksum: &str,
        started: Instant,
    ) -> Result<(), Error> {
        for change in &step.version_changes {
            self.conn
                .execute(&tables::version_change_sql(
                    self.dialect.as_ref(),
                    &self.opts.version_table,
                    change,
                ))
                .await?;
        }
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
        let direction = step.direction.to_string();
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.conn
            .execute(&tables::history_insert_sql(
                self.dialect.as_ref(),
                &step.revision,
                &direction,
                Some(checksum),
                duration_ms,
            ))
            .await?;
        let sql = match self.conn.backend() {
            Backend::Sqlite => "RELEASE sqlalembic_step",
            Backend::Postgres if self.single_transaction() => return Ok(()),
            Backend::Postgres | Backend::Mysql => "COMMIT",
        };
        self.conn.execute(sql).await?;
        Ok(())
    }

    async fn abort_step(&mut self) {
        match self.conn.backend() {
            Backend::Sqlite => {
                let _ = self.conn.execute("ROLLBACK TO sqlalembic_step").await;
                let _ = self.conn.execute("RELEASE sqlalembic_step").await;
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
        let lock = lock::acquire(
            &mut self.conn,
            &self.opts.version_table,
            self.opts.lock_timeout,
            &self.opts.target,
        )
        .await?;
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
        let transactional = self.conn.backend() != Backend::Sqlite;
        if transactional {
            self.conn.execute("BEGIN").await?;
        }
        let result = self.write_stamp(&steps, purge, &mut heads).await;
        if transactional {
            let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
            self.conn.execute(end).await?;
        }
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
