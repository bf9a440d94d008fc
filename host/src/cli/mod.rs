//! The command-line interface: parses arguments, resolves settings once, sets up
//! logging, wraps every command in its signals, and maps failures to exit codes.
//!
//! Only this module writes to the terminal (through [`Printer`]). A Rust program can
//! embed the whole CLI with [`run_with`], passing the one [`Dispatcher`] its handlers
//! are connected to.

mod args;
mod commands;
mod printer;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::Parser;

pub use args::{Cli, Command, Format, GlobalArgs};
pub use printer::{Mode, Printer};

use crate::config::{self, LoadOptions, Loaded};
use crate::logging::{self, LogOptions};
use crate::signals::Dispatcher;

/// Process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// `check` (or a similar gate) found something.
    Found = 1,
    /// Bad usage or configuration, or a capability that is not there.
    Usage = 2,
    /// The database refused or could not be reached.
    Database = 3,
    /// A policy plugin denied the command.
    Denied = 4,
}

/// A command that could not do its job: what to print and which exit code to use.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub error: anyhow::Error,
    pub hints: Vec<String>,
    /// Problems in user files behind the failure, printed before it (and listed in
    /// the JSON error document).
    pub diagnostics: Vec<crate::diagnostic::Diagnostic>,
}

impl Failure {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        Failure {
            exit,
            error: error.into(),
            hints: Vec::new(),
            diagnostics: Vec::new(),
        }
    }

    pub fn usage(message: impl fmt::Display) -> Self {
        Self::new(Exit::Usage, anyhow::anyhow!("{message}"))
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn with_diagnostics(
        mut self,
        diagnostics: impl IntoIterator<Item = crate::diagnostic::Diagnostic>,
    ) -> Self {
        self.diagnostics.extend(diagnostics);
        self
    }
}

impl From<config::Error> for Failure {
    fn from(e: config::Error) -> Self {
        Failure::new(Exit::Usage, e)
    }
}

/// What a command reports when it ends without failing.
#[derive(Debug)]
pub struct Outcome {
    /// `Exit::Ok`, or `Exit::Found` for a gate that found something.
    pub exit: Exit,
    /// Summary added to the `command_finished` payload.
    pub summary: serde_json::Value,
}

impl Outcome {
    pub fn ok() -> Self {
        Outcome {
            exit: Exit::Ok,
            summary: serde_json::json!({}),
        }
    }

    pub fn with(summary: serde_json::Value) -> Self {
        Outcome {
            exit: Exit::Ok,
            summary,
        }
    }
}

/// What every command gets: resolved settings, the printer and the dispatcher.
pub struct Context<'a> {
    /// Folder the command runs in (`-C`, or the current directory).
    pub cwd: PathBuf,
    /// Settings, loaded once for the run; `None` for commands that need no project.
    pub loaded: Option<Loaded>,
    pub printer: &'a Printer,
    pub dispatcher: &'a Dispatcher,
    pub global: &'a GlobalArgs,
}

impl Context<'_> {
    /// The loaded settings; commands that need a project call this.
    pub fn loaded(&self) -> Result<&Loaded, Failure> {
        self.loaded
            .as_ref()
            .ok_or_else(|| Failure::usage("This command needs a project configuration"))
    }
}

/// Runs the CLI with the process arguments and a fresh dispatcher; returns the exit code.
pub fn run() -> i32 {
    crate::signals::quiet_handler_panics();
    let dispatcher = Dispatcher::new();
    run_with(std::env::args_os(), &dispatcher)
}

/// Runs the CLI with `args`, sending every signal through `dispatcher`.
///
/// This is the one dispatcher of the run: handlers connected to it before the call
/// receive every signal the command sends.
pub fn run_with<I, T>(args: I, dispatcher: &Dispatcher) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version on stdout (exit 0) and usage errors on stderr (exit 2).
            let _ = e.print();
            return e.exit_code();
        }
    };
    let color = printer_color(&cli);
    let mode = match cli.global.format {
        Some(Format::Json) => Mode::Json,
        _ => Mode::Text,
    };
    let mut printer = Printer::new(mode, color, cli.global.quiet);
    let code = match execute(&cli, &mut printer, dispatcher) {
        Ok(exit) => exit,
        Err(failure) => {
            report_failure(&printer, &failure);
            failure.exit
        }
    };
    code as i32
}

fn report_failure(printer: &Printer, failure: &Failure) {
    let text = format!("{:#}", failure.error);
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "error": text,
            "exit_code": failure.exit as i32,
            "hints": failure.hints,
            "diagnostics": failure.diagnostics,
        }));
    }
    for d in &failure.diagnostics {
        printer.diagnostic(d);
    }
    printer.error(text, &failure.hints);
}

fn execute(cli: &Cli, printer: &mut Printer, dispatcher: &Dispatcher) -> Result<Exit, Failure> {
    let cwd = match &cli.global.directory {
        Some(dir) => absolute(dir)?,
        None => std::env::current_dir()
            .map_err(|e| Failure::usage(format!("Cannot read the current directory: {e}")))?,
    };
    // Commands that make or describe a project from nothing need no configuration.
    let needs_project = !matches!(
        cli.command,
        Command::Startproject { .. } | Command::Completions { .. }
    );
    let loaded = if needs_project {
        Some(load_settings(cli, &cwd)?)
    } else {
        None
    };

    let log_opts = match &loaded {
        Some(l) => LogOptions {
            level: l.settings.logging.level.as_str().to_owned(),
            format: match &l.settings.logging.format {
                config::LogFormat::Python(f) => f.clone(),
                config::LogFormat::Json => "json".to_owned(),
            },
            file: l.settings.logging_file(),
            root: Some(l.settings.project_root.clone()),
            verbosity: cli.global.verbose as i8 - cli.global.quiet as i8,
            color: printer_color(cli),
            filter: log_filter(),
        },
        None => LogOptions {
            verbosity: cli.global.verbose as i8 - cli.global.quiet as i8,
            color: printer_color(cli),
            filter: log_filter(),
            ..LogOptions::default()
        },
    };
    match logging::init(&log_opts) {
        // An embedding program that runs several commands keeps the first set-up.
        Ok(()) | Err(logging::Error::AlreadyInstalled { .. }) => {}
        Err(e) => return Err(Failure::new(Exit::Usage, e)),
    }
    if let Some(l) = &loaded {
        match &l.file {
            Some(file) => tracing::info!(file = %file.display(), "Loaded configuration"),
            None => tracing::info!("No configuration file found; using defaults"),
        }
        tracing::debug!(
            engine = %l.settings.engine(),
            database = %l.settings.database_url(),
            root = %l.settings.project_root.display(),
            "Settings resolved"
        );
    }

    if let Some(l) = &loaded {
        printer.set_root(l.settings.project_root.clone());
        for warning in &l.warnings {
            printer.diagnostic(warning);
        }
    }

    // Every signal carries the settings the command runs with, so a policy judges
    // by them and not by a variable it may not see.
    dispatcher.set_context(match &loaded {
        Some(l) => signal_context(&l.settings),
        None => serde_json::Map::new(),
    });
    let printer: &Printer = printer;
    let ctx = Context {
        cwd,
        loaded,
        printer,
        dispatcher,
        global: &cli.global,
    };
    let command = cli.command.name();
    let project = ctx
        .loaded
        .as_ref()
        .map(|l| l.settings.general.project_name.clone())
        .unwrap_or_default();
    // WebAssembly plugins join the one dispatcher before the start signal;
    // `plugins` loads them itself, to report the broken ones.
    let plugins = match &ctx.loaded {
        Some(l) if !matches!(cli.command, Command::Plugins { .. }) => {
            commands::plugins::connect(l, printer, dispatcher, command)?
        }
        _ => None,
    };
    let arguments = commands::arguments(&cli.command);
    tracing::debug!(command, "Sending start signal");
    let run = match dispatcher.start_command(command, arguments, &project) {
        Ok(run) => run,
        Err(denied) => {
            return Err(Failure::new(Exit::Denied, anyhow::anyhow!("{denied}")));
        }
    };
    // Warnings from handlers on the start signal.
    // (Printed here so plugins cannot write to the terminal themselves.)
    for w in run.start_report().warnings() {
        printer.warn(format!("Handler `{}`: {}", w.0, w.1));
    }
    match commands::dispatch(&cli.command, &ctx, &run) {
        Ok(outcome) => {
            let report = run.finished(outcome.summary);
            for w in report.warnings() {
                printer.warn(format!("Handler `{}`: {}", w.0, w.1));
            }
            if let Some(failure) = commands::plugins::aborted(plugins.as_ref()) {
                return Err(failure);
            }
            Ok(outcome.exit)
        }
        Err(failure) => {
            let report = run.failed(&format!("{:#}", failure.error));
            for w in report.warnings() {
                printer.warn(format!("Handler `{}`: {}", w.0, w.1));
            }
            Err(failure)
        }
    }
}

/// `environment` and `settings` for every signal payload: the effective values,
/// whichever source (file, `.env`, environment, flag) gave them; paths relative to
/// the project root, no password.
fn signal_context(settings: &config::Settings) -> serde_json::Map<String, serde_json::Value> {
    let root = &settings.project_root;
    let relative = |path: std::path::PathBuf| -> String {
        path.strip_prefix(root)
            .map(Path::to_path_buf)
            .unwrap_or(path)
            .display()
            .to_string()
            .replace('\\', "/")
    };
    let mut context = serde_json::Map::new();
    context.insert(
        "environment".into(),
        settings.general.environment.clone().into(),
    );
    context.insert(
        "settings".into(),
        serde_json::json!({
            "environment": settings.general.environment,
            "project": settings.general.project_name,
            "debug": settings.general.debug,
            "engine": settings.engine().to_string(),
            "migrations_dir": relative(settings.migrations_dir()),
            "versions_dir": relative(settings.versions_dir()),
            "version_table": settings.migration.version_table,
        }),
    );
    context
}

/// Extra log directives for other crates, from `SQLALEMBIC_LOG` (empty counts as unset).
fn log_filter() -> Option<String> {
    std::env::var(logging::FILTER_ENV)
        .ok()
        .filter(|f| !f.trim().is_empty())
}

fn printer_color(cli: &Cli) -> bool {
    !cli.global.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn load_settings(cli: &Cli, cwd: &Path) -> Result<Loaded, Failure> {
    let config_path = cli.global.config.as_ref().map(|p| cwd.join(p));
    // The project root is where the configuration file lives, else the working folder.
    let project_root = config_path
        .as_ref()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| cwd.to_path_buf());
    let mut flags = Vec::new();
    if let Some(url) = &cli.global.database_url {
        flags.push((
            "DATABASE_URL".to_owned(),
            url.clone(),
            "--database-url".to_owned(),
        ));
    }
    let opts = LoadOptions {
        project_root,
        config_path,
        env: None,
        flags,
    };
    Ok(config::load(&opts)?)
}

fn absolute(dir: &Path) -> Result<PathBuf, Failure> {
    std::path::absolute(dir)
        .map_err(|e| Failure::usage(format!("Cannot use directory `{}`: {e}", dir.display())))
}
