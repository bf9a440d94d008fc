//! What the revision commands share: loading the versions folder, connecting to the
//! database, reading its heads, and turning runner errors into exit codes.

use std::path::PathBuf;

use crate::cli::{Context, Exit, Failure};
use crate::config::Loaded;
use crate::db::{self, Backend, Connection};
use crate::dialect::{self, Dialect};
use crate::plugins;
use crate::revision::{LoadError, ScriptDir};
use crate::runner::{self, RunOptions};

/// The loaded project: settings and revisions.
pub struct Project<'a> {
    pub loaded: &'a Loaded,
    pub scripts: ScriptDir,
}

impl<'a> Project<'a> {
    /// Loads the versions folder; every broken file is printed as a diagnostic.
    pub fn load(ctx: &'a Context<'_>) -> Result<Self, Failure> {
        let loaded = ctx.loaded()?;
        let dir = loaded.settings.versions_dir();
        let scripts = ScriptDir::load(&dir).map_err(|e| load_failure(ctx, e, &dir))?;
        Ok(Project { loaded, scripts })
    }

    pub fn versions_dir(&self) -> PathBuf {
        self.loaded.settings.versions_dir()
    }

    /// The wire protocol of the database: the engine's, or the one its dialect
    /// plugin speaks.
    pub fn backend(&self) -> Result<Backend, Failure> {
        match Backend::of_engine(self.loaded.settings.engine()) {
            Some(backend) => Ok(backend),
            None => Ok(self.dialect_plugin()?.backend()),
        }
    }

    /// The dialect that renders this project's migrations: the engine's built-in
    /// one, or the dialect plugin of `DB_ENGINE = "wasm:<path>"`.
    pub fn dialect(&self) -> Result<Box<dyn Dialect>, Failure> {
        match Backend::of_engine(self.loaded.settings.engine()) {
            Some(backend) => Ok(dialect::for_backend(backend)),
            None => Ok(Box::new(self.dialect_plugin()?)),
        }
    }

    /// [`runner_failure`], naming the dialect plugin that rendered a statement the
    /// database refused.
    pub fn runner_failure(&self, e: runner::Error) -> Failure {
        let refused = matches!(e, runner::Error::Statement { .. });
        let failure = runner_failure(e);
        match self.loaded.settings.engine() {
            crate::config::Engine::Wasm(path) if refused => {
                let spec =
                    plugins::component_spec(&self.loaded.settings, path, plugins::DIALECT_LIMITS);
                failure.hint(format!(
                    "The statement was rendered by dialect plugin `{}` (`{}`)",
                    spec.name,
                    path.display()
                ))
            }
            _ => failure,
        }
    }

    fn dialect_plugin(&self) -> Result<plugins::WasmDialect, Failure> {
        let engine = self.loaded.settings.engine();
        match plugins::load_dialect(&self.loaded.settings) {
            Ok(Some(d)) => Ok(d),
            Ok(None) => Err(Failure::usage(format!(
                "The database engine `{engine}` is not a dialect plugin"
            ))),
            Err(e) => Err(Failure::new(Exit::Usage, e).hint(format!(
                "`DB_ENGINE = \"{engine}\"` names a component of the `dialect` world (see sdk/README.md); build it, or fix the path"
            ))),
        }
    }

    /// `postgresql at host:5432/db` or the SQLite path: for messages, no password.
    pub fn target(&self) -> String {
        let backend = self.backend().unwrap_or(Backend::Sqlite);
        db::describe_target(self.loaded.settings.database_url(), backend)
    }

    pub fn version_table(&self) -> &str {
        &self.loaded.settings.migration.version_table
    }

    pub fn run_options(&self) -> Result<RunOptions, Failure> {
        let migration = &self.loaded.settings.migration;
        let mut opts =
            RunOptions::new(self.version_table(), &self.target()).map_err(runner_failure)?;
        opts.lock_timeout = std::time::Duration::from_secs(migration.lock_timeout_secs);
        opts.transaction_per_migration = migration.transaction_per_migration;
        Ok(opts)
    }

    /// Connects (SQLite: creates the file when missing).
    pub async fn connect(&self) -> Result<Connection, Failure> {
        let backend = self.backend()?;
        Connection::connect(self.loaded.settings.database_url(), backend)
            .await
            .map_err(|e| Failure::new(Exit::Database, e))
    }

    /// Connects only if the database exists: a SQLite file that is not there yet means
    /// nothing was applied, and reading commands must not create it.
    pub async fn connect_existing(&self) -> Result<Option<Connection>, Failure> {
        if self.backend()? == Backend::Sqlite {
            let path = db::describe_target(self.loaded.settings.database_url(), Backend::Sqlite);
            if !std::path::Path::new(&path).exists() {
                return Ok(None);
            }
        }
        self.connect().await.map(Some)
    }

    /// The database's current heads (empty for a database with no version table).
    /// Refuses a database at revisions no file here defines: nothing can be planned
    /// from them. Usually the files are missing, or the database was migrated by
    /// another tool (Alembic writes the same version table): the hints say how to
    /// restore or adopt it.
    pub fn known_heads(&self, heads: &[String]) -> Result<(), Failure> {
        let unknown: Vec<&str> = heads
            .iter()
            .filter(|h| self.scripts.graph.get(h).is_none())
            .map(String::as_str)
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let versions = relative_to_root(
            &self.loaded.settings.project_root,
            &self.loaded.settings.versions_dir(),
        );
        // The first revision is diffed against an empty database of the same kind, so
        // types are compared as this database spells them.
        let empty = match Backend::of_engine(self.loaded.settings.engine()) {
            Some(Backend::Sqlite) => "sqlite:///empty.db".to_owned(),
            _ => format!(
                "<an empty database on the {} server>",
                self.loaded.settings.engine()
            ),
        };
        Err(Failure::usage(format!(
            "The database is at {}, which no revision file in `{versions}` defines",
            unknown.join(", ")
        ))
        .hint("If its revision files are missing, restore them")
        .hint(format!(
            "To adopt a database another tool (e.g. Alembic) migrated: write the first revision \
             against an empty database (`sqlalembic --database-url {empty} makemigrations \
             init`), then mark this one as having it with `sqlalembic stamp --purge head`"
        )))
    }

    pub async fn db_heads(&self) -> Result<Vec<String>, Failure> {
        match self.connect_existing().await? {
            None => Ok(Vec::new()),
            Some(mut conn) => {
                let heads = runner::read_heads(&mut conn, self.version_table())
                    .await
                    .map_err(|e| Failure::new(Exit::Database, e));
                conn.close().await;
                heads
            }
        }
    }
}

/// `path` relative to `root` when under it, for messages.
fn relative_to_root(root: &std::path::Path, path: &std::path::Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A runtime for one command's database work.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                Exit::Database,
                anyhow::anyhow!("Cannot start the async runtime: {e}"),
            )
        })?;
    Ok(rt.block_on(future))
}

/// Exit 3 for database trouble, 2 for everything about the user's input.
pub fn runner_failure(e: runner::Error) -> Failure {
    if let runner::Error::File(f) = &e {
        // The diagnostic carries the location and hints; the error line says what it
        // means for the run.
        return Failure::usage("A revision file cannot be read; nothing was run")
            .with_diagnostics([f.diagnostic()]);
    }
    let exit = if e.is_database() {
        Exit::Database
    } else if matches!(e, runner::Error::Aborted { .. }) {
        Exit::Denied
    } else {
        Exit::Usage
    };
    let hints = runner_hints(&e);
    let mut failure = Failure::new(exit, e);
    failure.hints = hints;
    failure
}

fn runner_hints(e: &runner::Error) -> Vec<String> {
    match e {
        runner::Error::LockTimeout { .. } => vec![
            "Wait for the other `sqlalembic migrate` to finish, then run this again".to_owned(),
        ],
        runner::Error::Statement {
            transactional: false,
            executed,
            revision,
            ..
        } if !executed.is_empty() => vec![
            format!(
                "Undo the statements listed above by hand (or finish them), then run `sqlalembic stamp {revision}` if you completed the revision, or fix the revision file and run `sqlalembic migrate` again"
            ),
        ],
        runner::Error::Statement { .. } => vec![
            "Fix the revision file and run the command again; nothing of the failed revision was kept".to_owned(),
        ],
        runner::Error::Stopped { goal, .. } => vec![format!(
            "Run `sqlalembic {}` again to continue; every revision applied so far is committed",
            match goal {
                runner::Goal::Upgrade => "migrate",
                runner::Goal::Downgrade => "rollback <target>",
            }
        )],
        runner::Error::ConnectionLost { .. } => vec![
            "Check that the database server is running and reachable, then run the command again: it resumes after the last revision that committed (on MySQL/MariaDB `sqlalembic status` shows whether the revision it was in needs `sqlalembic repair`)".to_owned(),
        ],
        runner::Error::Interrupted(_) => vec![
            "Check what of it is in the database, then run `sqlalembic repair --mark-applied` if every op of it is there, or `sqlalembic repair --rerun` to run the ops not recorded as finished; `sqlalembic repair` alone shows this and changes nothing".to_owned(),
        ],
        runner::Error::Graph(_) => {
            vec!["`sqlalembic heads` and `sqlalembic history` list the revisions".to_owned()]
        }
        _ => Vec::new(),
    }
}

fn load_failure(ctx: &Context<'_>, e: LoadError, dir: &std::path::Path) -> Failure {
    match e {
        LoadError::MissingDir(_) => Failure::usage(format!(
            "The versions folder `{}` does not exist",
            relative(ctx, dir)
        ))
        .hint("Run `sqlalembic startproject` to create a project, or set MIGRATION_DIR / MIGRATION_VERSIONS_PATH"),
        LoadError::Files(errors) => Failure::usage(format!(
            "{} revision file{} cannot be read; nothing was run",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ))
        .with_diagnostics(errors.iter().map(|e| e.diagnostic())),
        LoadError::Graph(g) => Failure::usage(g)
            .hint("Fix the `down_revision` / `depends_on` lines named above; nothing was run"),
        LoadError::Cycle(c) => Failure::usage(c.describe(|p| relative(ctx, p)))
            .hint("Point one of these revisions' `down_revision` at an earlier revision (or drop the `depends_on` entry) to break the cycle; nothing was run"),
    }
}

/// Writes a new file; an existing one is never overwritten (`create_new`).
pub fn write_new(ctx: &Context<'_>, path: &std::path::Path, text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Failure::usage(format!("Cannot create `{}`: {e}", relative(ctx, path))))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Failure::usage(format!("Cannot write `{}`: {e}", relative(ctx, path))))
}

/// A path relative to the project root, for messages.
pub fn relative(ctx: &Context<'_>, path: &std::path::Path) -> String {
    let root = ctx
        .loaded
        .as_ref()
        .map(|l| l.settings.project_root.clone())
        .unwrap_or_else(|| ctx.cwd.clone());
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}
