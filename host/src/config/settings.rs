//! The typed [`Settings`] built from the merged raw values.
//!
//! Input: the effective raw value of every key (see `value.rs`) and the parsed plugins.
//! Output: [`Settings`], plus the values derived from other keys (the database URL built
//! from its parts, the engine named by DATABASE_URL…) so the `config` listing shows what
//! is really used. It refuses unknown engines, URL schemes and log levels, and a dialect
//! plugin without DATABASE_URL.

use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use super::database::{self, DEFAULT_SQLITE_NAME, Engine, Parts};
use super::plugins::PluginConfig;
use super::secret::{RedactedUrl, Secret};
use super::value::Slots;
use super::{Error, Origin};
use crate::diagnostic::Diagnostic;

/// Everything a command needs to know, resolved from all layers.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Absolute project root; relative paths in the settings are relative to it.
    pub project_root: PathBuf,
    pub general: General,
    pub database: Database,
    pub migration: Migration,
    pub logging: Logging,
    pub discovery: Discovery,
    pub plugins: Vec<PluginConfig>,
}

/// `[general]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct General {
    pub debug: bool,
    pub environment: String,
    pub project_name: String,
}

/// `[database]`, effective: when DATABASE_URL is given, the parts are read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Database {
    pub engine: Engine,
    pub host: String,
    /// `None` for SQLite.
    pub port: Option<u16>,
    pub user: String,
    pub password: Secret,
    /// Database name; for SQLite the file path as configured (or taken from the URL).
    pub name: Option<String>,
    /// The URL to connect with, in the form the drivers accept.
    pub url: RedactedUrl,
    /// Whether DATABASE_URL was set (rather than built from the parts).
    pub url_given: bool,
    pub echo: bool,
}

/// `[migration]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// Relative to the project root (or absolute).
    pub dir: PathBuf,
    /// Relative to [`Migration::dir`] (or absolute).
    pub versions_path: PathBuf,
    pub compare_type: bool,
    pub compare_server_default: bool,
    /// `MIGRATION_TIMEZONE`: the zone `created_at` of new revisions is written in.
    pub timezone: super::Timezone,
    pub version_table: String,
    /// Tables autogenerate compares (empty: all) and never touches.
    pub include_tables: Vec<String>,
    pub exclude_tables: Vec<String>,
    /// How long `migrate` waits for another run's lock.
    pub lock_timeout_secs: u64,
    /// Each revision commits on its own (true), or the whole run is one transaction.
    pub transaction_per_migration: bool,
}

/// `[logging]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logging {
    pub level: LogLevel,
    pub format: LogFormat,
    /// Relative to the project root (or absolute).
    pub file: Option<PathBuf>,
}

/// A Python logging level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Critical,
}

impl LogLevel {
    /// Parses a Python level name (any case; `WARN` and `FATAL` too) or number (10…50).
    pub fn parse(value: &str) -> Option<LogLevel> {
        match value.trim().to_ascii_uppercase().as_str() {
            "DEBUG" | "10" => Some(LogLevel::Debug),
            "INFO" | "20" => Some(LogLevel::Info),
            "WARNING" | "WARN" | "30" => Some(LogLevel::Warning),
            "ERROR" | "40" => Some(LogLevel::Error),
            "CRITICAL" | "FATAL" | "50" => Some(LogLevel::Critical),
            _ => None,
        }
    }

    /// The Python name, e.g. `WARNING`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }

    /// The closest `tracing` level (`CRITICAL` is `ERROR`).
    pub fn tracing_level(self) -> tracing::Level {
        match self {
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warning => tracing::Level::WARN,
            LogLevel::Error | LogLevel::Critical => tracing::Level::ERROR,
        }
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LogLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How log lines are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFormat {
    /// A Python `logging` format string, e.g. `%(levelname)s: %(message)s`.
    Python(String),
    /// One JSON object per line.
    Json,
}

impl Serialize for LogFormat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            LogFormat::Python(f) => serializer.serialize_str(f),
            LogFormat::Json => serializer.serialize_str("json"),
        }
    }
}

/// `[discovery]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    pub auto_discover: bool,
    /// As configured; empty means the project root (see [`Settings::discovery_paths`]).
    pub paths: Vec<PathBuf>,
    pub exclude: Vec<String>,
    /// `SOURCE_ROOTS`: folders (relative to the project root) imports resolve in.
    pub source_roots: Vec<PathBuf>,
    /// `STATIC_VALUES`: `module.NAME=<literal>` entries static discovery takes as given.
    pub static_values: Vec<String>,
    pub backends: Vec<String>,
    /// Interpreter for the `sqlalchemy-import` backend, when configured.
    pub python: Option<PathBuf>,
}

impl Settings {
    /// The URL to connect with (the password is masked unless exposed).
    pub fn database_url(&self) -> &RedactedUrl {
        &self.database.url
    }

    /// The SQL dialect.
    pub fn engine(&self) -> &Engine {
        &self.database.engine
    }

    /// A configured path made absolute against the project root.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        database::clean(&self.project_root.join(path))
    }

    /// The migrations folder, absolute.
    pub fn migrations_dir(&self) -> PathBuf {
        self.resolve(&self.migration.dir)
    }

    /// The folder holding revision files, absolute.
    ///
    /// MIGRATION_VERSIONS_PATH is relative to MIGRATION_DIR; a value that already starts
    /// with MIGRATION_DIR (`migrations/versions`, as some projects of the Python
    /// original spell it) is taken relative to the project root instead.
    pub fn versions_dir(&self) -> PathBuf {
        let versions = &self.migration.versions_path;
        let dir = &self.migration.dir;
        if versions.is_relative() && versions.starts_with(dir) && versions != dir {
            return self.resolve(versions);
        }
        database::clean(&self.migrations_dir().join(versions))
    }

    /// The folders to discover models in, absolute (the project root when none is set).
    pub fn discovery_paths(&self) -> Vec<PathBuf> {
        if self.discovery.paths.is_empty() {
            vec![self.project_root.clone()]
        } else {
            self.discovery
                .paths
                .iter()
                .map(|p| self.resolve(p))
                .collect()
        }
    }

    /// The log file, absolute.
    pub fn logging_file(&self) -> Option<PathBuf> {
        self.logging.file.as_deref().map(|p| self.resolve(p))
    }
}

/// A value shown by the `config` listing instead of the raw one, because it is derived.
#[derive(Debug, Clone)]
pub(crate) struct Derived {
    pub key: &'static str,
    pub value: String,
    pub origin: Origin,
}

/// Builds [`Settings`] from the merged values.
pub(crate) fn build(
    project_root: &Path,
    slots: &Slots,
    plugins: Vec<PluginConfig>,
    warnings: &mut Vec<Diagnostic>,
) -> Result<(Settings, Vec<Derived>), Error> {
    let mut derived = Vec::new();
    let project_name = match slots.string("PROJECT_NAME")? {
        Some(name) => name,
        None => {
            let name = project_root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "project".to_owned());
            derived.push(Derived {
                key: "PROJECT_NAME",
                value: name.clone(),
                origin: Origin::Default,
            });
            name
        }
    };
    let general = General {
        debug: slots.bool("DEBUG")?,
        environment: slots.string("ENVIRONMENT")?.unwrap_or_default(),
        project_name,
    };
    let database = build_database(project_root, slots, warnings, &mut derived)?;
    let migration = Migration {
        dir: PathBuf::from(
            slots
                .string("MIGRATION_DIR")?
                .unwrap_or_else(|| "migrations".into()),
        ),
        versions_path: PathBuf::from(
            slots
                .string("MIGRATION_VERSIONS_PATH")?
                .unwrap_or_else(|| "versions".into()),
        ),
        compare_type: slots.bool("MIGRATION_COMPARE_TYPE")?,
        compare_server_default: slots.bool("MIGRATION_COMPARE_SERVER_DEFAULT")?,
        timezone: match slots.string("MIGRATION_TIMEZONE")? {
            None => super::Timezone::Utc,
            Some(text) => text.parse().map_err(|_| {
                let mut expected = "`UTC`, an IANA time zone such as `Europe/Berlin`, or an \
                                    offset such as `+02:00`"
                    .to_owned();
                if let Some(name) = super::Timezone::closest_name(&text) {
                    expected.push_str(&format!(" (did you mean `{name}`?)"));
                }
                slots.invalid("MIGRATION_TIMEZONE", &expected)
            })?,
        },
        version_table: slots
            .string("MIGRATION_VERSION_TABLE")?
            .unwrap_or_else(|| "alembic_version".into()),
        include_tables: slots.list("MIGRATION_INCLUDE_TABLES")?,
        exclude_tables: slots.list("MIGRATION_EXCLUDE_TABLES")?,
        lock_timeout_secs: {
            let text = slots
                .string("MIGRATION_LOCK_TIMEOUT")?
                .unwrap_or_else(|| "60".into());
            text.trim()
                .parse::<u64>()
                .map_err(|_| slots.invalid("MIGRATION_LOCK_TIMEOUT", "a whole number of seconds"))?
        },
        transaction_per_migration: slots.bool("MIGRATION_TRANSACTION_PER_MIGRATION")?,
    };
    let level_text = slots
        .string("LOGGING_LEVEL")?
        .unwrap_or_else(|| "WARNING".into());
    let level = LogLevel::parse(&level_text).ok_or_else(|| {
        slots.invalid(
            "LOGGING_LEVEL",
            "one of `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`",
        )
    })?;
    let format = match slots.string("LOGGING_FORMAT")? {
        Some(f) if f.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
        Some(f) => LogFormat::Python(f),
        None => LogFormat::Python("%(levelname)s: %(message)s".into()),
    };
    let logging = Logging {
        level,
        format,
        file: slots.string("LOGGING_FILE")?.map(PathBuf::from),
    };
    let discovery = Discovery {
        auto_discover: slots.bool("AUTO_DISCOVER_MODELS")?,
        paths: slots
            .list("MODEL_DISCOVERY_PATHS")?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        exclude: slots.list("EXCLUDE_PATHS")?,
        source_roots: slots
            .list("SOURCE_ROOTS")?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        static_values: slots.list("STATIC_VALUES")?,
        backends: slots.list("BACKENDS")?,
        python: slots
            .string("PYTHON")?
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
    };
    let settings = Settings {
        project_root: project_root.to_path_buf(),
        general,
        database,
        migration,
        logging,
        discovery,
        plugins,
    };
    Ok((settings, derived))
}

fn build_database(
    project_root: &Path,
    slots: &Slots,
    warnings: &mut Vec<Diagnostic>,
    derived: &mut Vec<Derived>,
) -> Result<Database, Error> {
    let engine_text = slots
        .string("DB_ENGINE")?
        .unwrap_or_else(|| "sqlite".into());
    let engine_from = || {
        slots
            .slot("DB_ENGINE")
            .map_or("default".into(), |s| s.from())
    };
    let configured = Engine::parse(&engine_text).ok_or_else(|| Error::UnknownEngine {
        value: engine_text.clone(),
        from: engine_from(),
    })?;
    let echo = slots.bool("DATABASE_ECHO")?;

    if let Some(given) = slots.string("DATABASE_URL")? {
        let url_slot = slots
            .slot("DATABASE_URL")
            .expect("DATABASE_URL has a value, so it has a slot");
        let (engine, url, parsed) = if configured.is_wasm() {
            (configured.clone(), given.trim().to_owned(), None)
        } else {
            let (engine, url, parsed) =
                database::normalize_url(&given, project_root).map_err(|problem| {
                    Error::InvalidUrl {
                        url: RedactedUrl::new(given.clone()),
                        from: url_slot.from(),
                        reason: problem.to_string(),
                    }
                })?;
            (engine, url, Some(parsed))
        };
        let engine_set = slots
            .slot("DB_ENGINE")
            .is_some_and(|s| s.origin != Origin::Default);
        if engine_set && engine != configured {
            let slot = slots.slot("DB_ENGINE").expect("checked above");
            let mut d = Diagnostic::warning(
                "CFG004",
                format!("DB_ENGINE `{engine_text}` is ignored: DATABASE_URL is a `{engine}` URL"),
            );
            if let Origin::File(path) = &slot.origin {
                d = d.at(path, slot.location.map(|l| l.0), slot.location.map(|l| l.1));
            }
            warnings.push(d.hint("remove DB_ENGINE or make it match DATABASE_URL"));
        }
        let url = RedactedUrl::new(url);
        let parts = url_parts(&engine, url.expose(), parsed.as_ref());
        let origin = url_slot.origin.clone();
        let mut show = |key: &'static str, value: String| {
            derived.push(Derived {
                key,
                value,
                origin: origin.clone(),
            });
        };
        show("DB_ENGINE", engine.to_string());
        show("DB_HOST", parts.host.clone());
        show(
            "DB_PORT",
            parts.port.map(|p| p.to_string()).unwrap_or_default(),
        );
        show("DB_USER", parts.user.clone());
        show(
            "DB_PASS",
            if parts.password.is_empty() { "" } else { "***" }.to_owned(),
        );
        show("DB_NAME", parts.name.clone().unwrap_or_default());
        show("DATABASE_URL", url.redacted());
        return Ok(Database {
            engine,
            host: parts.host,
            port: parts.port,
            user: parts.user,
            password: Secret::new(parts.password),
            name: parts.name,
            url,
            url_given: true,
            echo,
        });
    }

    let engine = configured;
    let host = slots
        .string("DB_HOST")?
        .unwrap_or_else(|| "localhost".into());
    if engine != Engine::Sqlite && !crate::dburl::valid_host(&host) {
        return Err(slots.invalid(
            "DB_HOST",
            "a host name or an IP address (letters, digits, `-`, `.`, `_`)",
        ));
    }
    let port = slots.port("DB_PORT")?;
    let user = slots.string("DB_USER")?.unwrap_or_default();
    let password = slots.string("DB_PASS")?.unwrap_or_default();
    let name = slots.string("DB_NAME")?;
    let Some(url) = database::build_url(
        &engine,
        Parts {
            host: &host,
            port,
            user: &user,
            password: &password,
            name: name.as_deref(),
        },
        project_root,
    ) else {
        return Err(Error::MissingUrl {
            engine: engine.to_string(),
            from: engine_from(),
        });
    };
    if engine != Engine::Sqlite
        && let Err(problem) = crate::dburl::DbUrl::parse(&url)
    {
        return Err(Error::InvalidUrl {
            url: RedactedUrl::new(url),
            from: "DB_HOST, DB_PORT, DB_USER, DB_PASS and DB_NAME".to_owned(),
            reason: problem.to_string(),
        });
    }
    let url = RedactedUrl::new(url);
    let effective_port = port.or(engine.default_port());
    if port.is_none()
        && let Some(p) = effective_port
    {
        derived.push(Derived {
            key: "DB_PORT",
            value: p.to_string(),
            origin: Origin::Default,
        });
    }
    if engine == Engine::Sqlite && name.is_none() {
        derived.push(Derived {
            key: "DB_NAME",
            value: DEFAULT_SQLITE_NAME.to_owned(),
            origin: Origin::Default,
        });
    }
    derived.push(Derived {
        key: "DATABASE_URL",
        value: url.redacted(),
        origin: Origin::Default,
    });
    Ok(Database {
        engine,
        host,
        port: effective_port,
        user,
        password: Secret::new(password),
        name,
        url,
        url_given: false,
        echo,
    })
}

struct UrlParts {
    host: String,
    port: Option<u16>,
    user: String,
    password: String,
    name: Option<String>,
}

/// The parts of a normalised URL, for the effective settings and the listing.
fn url_parts(engine: &Engine, url: &str, parsed: Option<&crate::dburl::DbUrl>) -> UrlParts {
    let empty = UrlParts {
        host: String::new(),
        port: None,
        user: String::new(),
        password: String::new(),
        name: None,
    };
    if *engine == Engine::Sqlite {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        return UrlParts {
            name: Some(path.to_owned()),
            ..empty
        };
    }
    let Some(server) = parsed.and_then(|p| p.server()) else {
        // A dialect plugin's URL: its own business.
        return empty;
    };
    UrlParts {
        host: server.host.clone(),
        port: server.port.or(engine.default_port()),
        user: server.user.clone(),
        password: server.password.clone().unwrap_or_default(),
        name: server.database.clone(),
    }
}
