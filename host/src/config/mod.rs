//! Layered configuration: defaults < config file < `.env` < environment < CLI flags.
//!
//! Input: [`LoadOptions`] (project root, optional `--config` path, the environment,
//! flag values). Output: [`Loaded`]: the typed [`Settings`], the file used, warnings
//! (unknown keys and sections, as [`Diagnostic`]s) and the origin of every value for
//! `sqlalembic config`. Compatible with the Python original: the same file names,
//! sections, upper-case keys (any case accepted), flat keys and bare environment
//! variables; `SQLALEMBIC_<KEY>` variables win over bare ones. It refuses broken files
//! (with line and column), unknown engines and values of the wrong type, and never puts
//! a password into an error.
//!
//! Pieces: `keys` (the spec table), `file` (search and parsing), `env` (environment and
//! `.env`), `value` (raw values and conversion), `database` (engine and URL),
//! `plugins` (`[[plugins]]`), `settings` (the typed result), `secret` (redaction).

mod database;
mod env;
mod file;
mod keys;
mod limits;
mod plugins;
mod secret;
mod settings;
mod timezone;
mod value;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use database::{Engine, VALID_ENGINES};
pub use file::{Format, SEARCH_ORDER};
pub use keys::{ENV_PREFIX, KEYS, KeySpec, Kind, Section, lookup as lookup_key};
pub use limits::{MAX_BYTES, MAX_DEPTH};
pub(crate) use limits::{check_depth, read_bounded};

/// Parses configuration text as `format` (bounds checked first); for the fuzz targets.
#[doc(hidden)]
pub fn parse_text(
    text: &str,
    format: Format,
    shown: &Path,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    file::parse(text, format, shown)
}
pub use plugins::{
    Allow, DEFAULT_MEMORY_MB, DEFAULT_OUTPUT_KB, DEFAULT_TIMEOUT_MS, DEFAULT_WRITE_MB, OnError,
    PluginConfig,
};
pub use secret::{MASK, RedactedUrl, Secret, is_secret_key, redact_json, redact_text};
pub use settings::{
    Database, Discovery, General, LogFormat, LogLevel, Logging, Migration, Settings,
};
pub use timezone::Timezone;

use crate::diagnostic::Diagnostic;
use value::{Slot, Slots};

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "source", rename_all = "lowercase")]
pub enum Origin {
    /// The built-in default (or derived from other values).
    Default,
    /// The configuration file (path as shown to the user).
    File(PathBuf),
    /// The project's `.env` file.
    DotEnv(PathBuf),
    /// An environment variable, by name.
    Env(String),
    /// A command-line flag, by name (e.g. `--database-url`).
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) | Origin::DotEnv(path) => write!(f, "{}", path.display()),
            Origin::Env(var) => write!(f, "${var}"),
            Origin::Flag(flag) => f.write_str(flag),
        }
    }
}

/// Errors of the configuration stage. None of them contains a password.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Config file `{}` does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error(
        "Cannot tell the format of `{}`; expected a `.toml`, `.yaml`, `.yml` or `.json` file",
        path.display()
    )]
    UnknownFormat { path: PathBuf },
    #[error("Cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{col}: Invalid {format}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        /// `TOML`, `YAML` or `JSON`.
        format: &'static str,
        message: String,
    },
    #[error(
        "`{}` is {size} bytes, over the limit of {limit} bytes for configuration files; keep it to settings (move data elsewhere) or point `--config` at a smaller file",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error(
        "{}:{line}:{col}: Invalid {format}: tables and lists nest deeper than {limit} levels here; a configuration needs a few levels at most, so flatten this value",
        path.display()
    )]
    TooDeep {
        path: PathBuf,
        line: usize,
        col: usize,
        format: &'static str,
        limit: usize,
    },
    #[error("{}:{line}:{col}: Invalid `.env` syntax", path.display())]
    DotEnv {
        path: PathBuf,
        line: usize,
        col: usize,
    },
    #[error("Unknown database engine `{value}` (from {from}); expected one of {VALID_ENGINES}")]
    UnknownEngine { value: String, from: String },
    #[error("Invalid database URL `{url}` (from {from}): {reason}")]
    InvalidUrl {
        url: RedactedUrl,
        from: String,
        reason: String,
    },
    #[error("Invalid value `{value}` for `{key}` (from {from}): expected {expected}")]
    InvalidValue {
        key: String,
        /// The value as given; `***` for secrets.
        value: String,
        /// `file:line:col`, ``environment variable `X` ``, ``flag `--x` `` or `default`.
        from: String,
        expected: String,
    },
    #[error("{location}: Invalid plugin entry {index}{}: {message}", name.as_ref().map(|n| format!(" (`{n}`)")).unwrap_or_default())]
    Plugin {
        location: String,
        /// 1-based position in `[[plugins]]` (0 when the whole value is wrong).
        index: usize,
        name: Option<String>,
        message: String,
    },
    #[error("{}", problems.join("\n"))]
    Unknown {
        /// One line per unknown name: `file:line:col: ...; did you mean ...?`, or
        /// the environment variable and its closest known name.
        problems: Vec<String>,
    },
    #[error("Unknown setting `{key}` given by flag `{flag}`")]
    UnknownFlag { key: String, flag: String },
    #[error(
        "DB_ENGINE `{engine}` (from {from}) is a dialect plugin and needs DATABASE_URL to connect"
    )]
    MissingUrl { engine: String, from: String },
}

impl Error {
    /// The same error with the password of every URL in its text fields masked.
    fn redact(self) -> Error {
        let r = |s: String| redact_text(&s);
        match self {
            Error::Parse {
                path,
                line,
                col,
                format,
                message,
            } => Error::Parse {
                path,
                line,
                col,
                format,
                message: r(message),
            },
            Error::UnknownEngine { value, from } => Error::UnknownEngine {
                value: r(value),
                from,
            },
            Error::InvalidUrl { url, from, reason } => Error::InvalidUrl {
                url,
                from,
                reason: r(reason),
            },
            Error::InvalidValue {
                key,
                value,
                from,
                expected,
            } => Error::InvalidValue {
                key,
                value: r(value),
                from,
                expected,
            },
            Error::Plugin {
                location,
                index,
                name,
                message,
            } => Error::Plugin {
                location,
                index,
                name,
                message: r(message),
            },
            other => other,
        }
    }
}

/// What to load.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The project root: where the file search, `.env` and relative paths start.
    pub project_root: PathBuf,
    /// `--config PATH`: use this file (relative to the current directory) instead of
    /// searching; it must exist.
    pub config_path: Option<PathBuf>,
    /// The environment; `None` reads the process environment.
    pub env: Option<HashMap<String, String>>,
    /// Flag values, highest priority: (KEY, value, flag name such as `--database-url`).
    pub flags: Vec<(String, String, String)>,
}

impl LoadOptions {
    /// Options for `project_root` with the process environment and no flags.
    pub fn new(project_root: impl Into<PathBuf>) -> Self {
        LoadOptions {
            project_root: project_root.into(),
            ..LoadOptions::default()
        }
    }
}

/// One line of the `sqlalembic config` listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Lowercase section name (`plugins` for plugin entries).
    pub section: String,
    /// Canonical key (the plugin name for plugin entries).
    pub key: String,
    /// Effective value in environment-variable syntax; secrets shown as `***`.
    pub value: String,
    pub origin: Origin,
}

/// The result of [`load`].
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    /// The configuration file used, if any.
    pub file: Option<PathBuf>,
    /// Problems that did not stop loading (unknown keys, ignored values).
    pub warnings: Vec<Diagnostic>,
    entries: Vec<Entry>,
}

impl Loaded {
    /// Every setting with its effective value and origin, in spec-table order, then one
    /// entry per plugin.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.clone()
    }

    /// Where the effective value of `key` (any case) came from.
    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.entries
            .iter()
            .find(|e| e.section != keys::PLUGINS && e.key.eq_ignore_ascii_case(key))
            .map(|e| &e.origin)
    }
}

/// `path` relative to `root` when it is inside it.
fn shown(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// Loads the settings of a project from every layer.
pub fn load(opts: &LoadOptions) -> Result<Loaded, Error> {
    let root = std::path::absolute(&opts.project_root)
        .map(|p| database::clean(&p))
        .unwrap_or_else(|_| opts.project_root.clone());
    let real_env: env::Vars = opts
        .env
        .clone()
        .unwrap_or_else(|| std::env::vars().collect());
    let mut slots = Slots::defaults();
    let mut warnings = Vec::new();

    // 1. The file.
    let file = match &opts.config_path {
        Some(path) if path.is_file() => Some(path.clone()),
        Some(path) => return Err(Error::NotFound { path: path.clone() }),
        None => file::find(&root),
    };
    let mut plugin_list = Vec::new();
    let mut file_shown = None;
    if let Some(path) = &file {
        let path_shown = shown(&root, path);
        let layer = file::read(path, &path_shown)?;
        for v in layer.values {
            slots.set(
                v.index,
                Slot {
                    value: v.value,
                    origin: Origin::File(path_shown.clone()),
                    location: v.location,
                },
            );
        }
        warnings.extend(layer.warnings);
        if let Some(raw) = &layer.plugins {
            plugin_list = plugins::parse(raw, &layer.text, &path_shown).map_err(Error::redact)?;
        }
        file_shown = Some(path_shown);
    }

    // A variable with the tool's prefix is meant for it: one that names nothing is
    // a typo, not something to run without.
    let granted: Vec<&str> = plugin_list
        .iter()
        .flat_map(|p: &PluginConfig| p.allow.env.iter().map(String::as_str))
        .collect();
    let mut unknown = Vec::new();

    // 2. `.env`, minus what the real environment has.
    let dotenv_path = root.join(".env");
    let dotenv_shown = shown(&root, &dotenv_path);
    if let Some(dotenv) = env::read_dotenv(&dotenv_path, &dotenv_shown, &real_env)? {
        for (name, closest) in env::unknown_prefixed(&dotenv.vars, &granted) {
            let place = value::describe_location(&dotenv_shown, dotenv.locate(&name));
            let origin = format!("{place}: Unknown variable `{name}`");
            unknown.push(env::unknown_line(&origin, &name, closest.as_deref()));
        }
        for v in env::key_values(&dotenv.vars) {
            let location = dotenv.locate(&v.var);
            slots.set(
                v.index,
                Slot {
                    value: serde_json::Value::String(v.value),
                    origin: Origin::DotEnv(dotenv_shown.clone()),
                    location,
                },
            );
        }
    }

    // 3. The environment.
    for (name, closest) in env::unknown_prefixed(&real_env, &granted) {
        let origin = format!("Unknown environment variable `{name}`");
        unknown.push(env::unknown_line(&origin, &name, closest.as_deref()));
    }
    if !unknown.is_empty() {
        return Err(Error::Unknown { problems: unknown });
    }
    for v in env::key_values(&real_env) {
        slots.set(
            v.index,
            Slot {
                value: serde_json::Value::String(v.value),
                origin: Origin::Env(v.var),
                location: None,
            },
        );
    }

    // 4. Flags.
    for (key, value, flag) in &opts.flags {
        let index = keys::index_of(key).ok_or_else(|| Error::UnknownFlag {
            key: key.clone(),
            flag: flag.clone(),
        })?;
        slots.set(
            index,
            Slot {
                value: serde_json::Value::String(value.clone()),
                origin: Origin::Flag(flag.clone()),
                location: None,
            },
        );
    }

    let (settings, derived) =
        settings::build(&root, &slots, plugin_list, &mut warnings).map_err(Error::redact)?;
    let entries = entries(&slots, &derived, &settings, file_shown.as_deref());
    Ok(Loaded {
        settings,
        file,
        warnings,
        entries,
    })
}

fn entries(
    slots: &Slots,
    derived: &[settings::Derived],
    settings: &Settings,
    file: Option<&Path>,
) -> Vec<Entry> {
    let mut out: Vec<Entry> = KEYS
        .iter()
        .zip(&slots.0)
        .map(|(spec, slot)| {
            let (value, origin) = if let Some(d) = derived.iter().find(|d| d.key == spec.name) {
                (d.value.clone(), d.origin.clone())
            } else if let Some(slot) = slot {
                let shown = value::convert(spec.kind, &slot.value)
                    .map(|t| value::render(spec, &t))
                    .unwrap_or_else(|_| value::show(spec, &slot.value));
                (shown, slot.origin.clone())
            } else {
                (String::new(), Origin::Default)
            };
            Entry {
                section: spec.section.name().to_owned(),
                key: spec.name.to_owned(),
                value,
                origin,
            }
        })
        .collect();
    let file_origin = file.map_or(Origin::Default, |f| Origin::File(f.to_path_buf()));
    out.extend(settings.plugins.iter().map(|p| Entry {
        section: keys::PLUGINS.to_owned(),
        key: p.name.clone(),
        value: p.path.display().to_string(),
        origin: file_origin.clone(),
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Project {
        dir: tempfile::TempDir,
    }

    impl Project {
        fn new() -> Self {
            Project {
                dir: tempfile::tempdir().expect("tempdir"),
            }
        }

        fn root(&self) -> &Path {
            self.dir.path()
        }

        fn write(&self, name: &str, text: &str) -> &Self {
            let path = self.root().join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(path, text).expect("write");
            self
        }

        fn opts(&self, env: &[(&str, &str)]) -> LoadOptions {
            LoadOptions {
                project_root: self.root().to_path_buf(),
                config_path: None,
                env: Some(
                    env.iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
                flags: Vec::new(),
            }
        }

        fn load(&self, env: &[(&str, &str)]) -> Loaded {
            load(&self.opts(env)).expect("loads")
        }

        fn load_err(&self, env: &[(&str, &str)]) -> Error {
            load(&self.opts(env)).expect_err("fails")
        }
    }

    fn entry<'a>(loaded: &'a Loaded, key: &str) -> &'a Entry {
        loaded
            .entries
            .iter()
            .find(|e| e.key == key)
            .expect("key listed")
    }

    #[test]
    fn no_file_gives_defaults() {
        let p = Project::new();
        let l = p.load(&[]);
        let s = &l.settings;
        assert_eq!(l.file, None);
        assert!(l.warnings.is_empty());
        assert_eq!(*s.engine(), Engine::Sqlite);
        assert_eq!(
            s.database_url().expose(),
            format!("sqlite://{}", p.root().join("database.db").display())
        );
        assert_eq!(s.migrations_dir(), p.root().join("migrations"));
        assert_eq!(s.versions_dir(), p.root().join("migrations/versions"));
        assert!(s.migration.compare_type);
        assert!(!s.migration.compare_server_default);
        assert_eq!(s.migration.timezone, Timezone::Utc);
        assert_eq!(s.migration.version_table, "alembic_version");
        assert_eq!(s.logging.level, LogLevel::Warning);
        assert_eq!(
            s.logging.format,
            LogFormat::Python("%(levelname)s: %(message)s".into())
        );
        assert!(s.discovery.auto_discover);
        assert_eq!(s.discovery_paths(), [p.root().to_path_buf()]);
        assert_eq!(
            s.discovery.exclude,
            [
                ".git",
                ".venv",
                "venv",
                "__pycache__",
                "node_modules",
                "build",
                "dist"
            ]
        );
        assert_eq!(s.discovery.backends, ["sqlalchemy"]);
        assert!(s.plugins.is_empty());
        let name = p
            .root()
            .file_name()
            .expect("temp dir has a name")
            .to_string_lossy();
        assert_eq!(s.general.project_name, name);
    }

    #[test]
    fn each_format_loads_with_case_insensitive_keys() {
        let files = [
            (
                "sqlalembic.toml",
                "[Database]\ndb_engine = \"postgres\"\nDB_Host = \"h\"\n[LOGGING]\nlogging_level = \"info\"\n",
            ),
            (
                "sqlalembic.yaml",
                "Database:\n  db_engine: postgres\n  DB_Host: h\nLOGGING:\n  logging_level: info\n",
            ),
            (
                "sqlalembic.json",
                r#"{"Database": {"db_engine": "postgres", "DB_Host": "h"}, "LOGGING": {"logging_level": "info"}}"#,
            ),
        ];
        for (name, text) in files {
            let p = Project::new();
            p.write(name, text);
            let l = p.load(&[]);
            assert_eq!(l.file, Some(p.root().join(name)), "{name}");
            assert_eq!(*l.settings.engine(), Engine::Postgresql, "{name}");
            assert_eq!(
                l.settings.database_url().expose(),
                "postgresql://h:5432",
                "{name}"
            );
            assert_eq!(l.settings.logging.level, LogLevel::Info, "{name}");
            assert_eq!(
                l.origin("db_host"),
                Some(&Origin::File(PathBuf::from(name))),
                "{name}"
            );
        }
    }

    #[test]
    fn explicit_config_path_is_used_or_refused() {
        let p = Project::new();
        p.write("sqlalembic.toml", "[general]\nENVIRONMENT = \"searched\"\n");
        p.write("conf/other.yml", "general:\n  ENVIRONMENT: explicit\n");
        let mut opts = p.opts(&[]);
        opts.config_path = Some(p.root().join("conf/other.yml"));
        let l = load(&opts).expect("loads");
        assert_eq!(l.settings.general.environment, "explicit");
        assert_eq!(
            l.origin("ENVIRONMENT"),
            Some(&Origin::File(PathBuf::from("conf/other.yml")))
        );

        opts.config_path = Some(p.root().join("missing.toml"));
        let err = load(&opts).expect_err("missing");
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("does not exist"));

        p.write("conf/x.ini", "");
        opts.config_path = Some(p.root().join("conf/x.ini"));
        let err = load(&opts).expect_err("unknown format");
        assert!(matches!(err, Error::UnknownFormat { .. }), "{err}");
    }

    #[test]
    fn priority_flags_env_dotenv_file_default() {
        let p = Project::new();
        p.write(
            "sqlalembic.toml",
            "[general]\nENVIRONMENT = \"file\"\nPROJECT_NAME = \"file\"\n[database]\nDB_USER = \"file\"\nDB_HOST = \"file\"\n",
        );
        p.write(
            ".env",
            "ENVIRONMENT=dotenv\nPROJECT_NAME=dotenv\nDB_USER=dotenv\nDB_NAME=dotenv\n",
        );
        let mut opts = p.opts(&[
            ("ENVIRONMENT", "env"),
            ("SQLALEMBIC_PROJECT_NAME", "env"),
            ("DB_NAME", "env"),
        ]);
        opts.flags
            .push(("environment".into(), "flag".into(), "--environment".into()));
        let l = load(&opts).expect("loads");
        let g = &l.settings.general;
        assert_eq!(g.environment, "flag");
        assert_eq!(g.project_name, "env");
        assert_eq!(l.settings.database.user, "dotenv");
        assert_eq!(l.settings.database.host, "file");
        assert_eq!(l.settings.migration.version_table, "alembic_version");
        assert_eq!(
            l.origin("ENVIRONMENT"),
            Some(&Origin::Flag("--environment".into()))
        );
        assert_eq!(
            l.origin("PROJECT_NAME"),
            Some(&Origin::Env("SQLALEMBIC_PROJECT_NAME".into()))
        );
        assert_eq!(
            l.origin("DB_USER"),
            Some(&Origin::DotEnv(PathBuf::from(".env")))
        );
        assert_eq!(
            l.origin("DB_HOST"),
            Some(&Origin::File(PathBuf::from("sqlalembic.toml")))
        );
        assert_eq!(l.origin("MIGRATION_VERSION_TABLE"), Some(&Origin::Default));
        // DB_NAME: the real environment wins over `.env`.
        assert_eq!(l.settings.database.name.as_deref(), Some("env"));
        assert_eq!(l.origin("DB_NAME"), Some(&Origin::Env("DB_NAME".into())));
    }

    #[test]
    fn dotenv_never_overrides_a_real_variable_even_empty_or_unprefixed() {
        let p = Project::new();
        p.write("sqlalembic.toml", "[database]\nDB_HOST = \"file\"\n");
        p.write(".env", "DB_HOST=dotenv\nSQLALEMBIC_DB_USER=dotenv\n");
        // Present but empty: `.env` must not fill it; the file value stays.
        let l = p.load(&[("DB_HOST", ""), ("DB_USER", "real")]);
        assert_eq!(l.settings.database.host, "file");
        // A prefixed `.env` variable is still below the real environment layer.
        assert_eq!(l.settings.database.user, "real");
        assert_eq!(l.origin("DB_USER"), Some(&Origin::Env("DB_USER".into())));
        // The prefixed name wins over the bare one within one layer.
        let l = p.load(&[("DB_USER", "bare"), ("SQLALEMBIC_DB_USER", "prefixed")]);
        assert_eq!(l.settings.database.user, "prefixed");
    }

    #[test]
    fn flat_keys_are_accepted() {
        let p = Project::new();
        p.write(
            "config.json",
            r#"{"DB_ENGINE": "mysql", "db_user": "root", "DB_NAME": "shop", "MIGRATION_DIR": "db/migrations"}"#,
        );
        let l = p.load(&[]);
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        assert_eq!(
            l.settings.database_url().expose(),
            "mysql://root@localhost:3306/shop"
        );
        assert_eq!(l.settings.migrations_dir(), p.root().join("db/migrations"));
    }

    #[test]
    fn builds_urls_for_the_three_engines() {
        let p = Project::new();
        let l = p.load(&[("DB_NAME", "data/app.db")]);
        assert_eq!(
            l.settings.database_url().expose(),
            format!("sqlite://{}", p.root().join("data/app.db").display())
        );
        let l = p.load(&[
            ("DB_ENGINE", "pg"),
            ("DB_USER", "app"),
            ("DB_PASS", "s3:cr@t"),
            ("DB_HOST", "db"),
            ("DB_NAME", "prod"),
        ]);
        assert_eq!(
            l.settings.database_url().expose(),
            "postgresql://app:s3%3Acr%40t@db:5432/prod"
        );
        assert_eq!(
            l.settings.database_url().to_string(),
            "postgresql://app:***@db:5432/prod"
        );
        assert_eq!(l.settings.database.port, Some(5432));
        assert_eq!(entry(&l, "DB_PORT").value, "5432");
        let l = p.load(&[
            ("DB_ENGINE", "mariadb"),
            ("DB_PORT", "3307"),
            ("DB_NAME", "x"),
        ]);
        assert_eq!(
            l.settings.database_url().expose(),
            "mysql://localhost:3307/x"
        );
    }

    #[test]
    fn database_url_wins_and_names_the_engine() {
        let p = Project::new();
        p.write(
            "sqlalembic.toml",
            "[database]\nDB_ENGINE = \"mysql\"\nDB_HOST = \"ignored\"\nDB_PASS = \"partpass\"\n",
        );
        let l = p.load(&[(
            "DATABASE_URL",
            "postgresql+psycopg2://bob:urlpass@db.example:6543/shop",
        )]);
        let s = &l.settings;
        assert_eq!(*s.engine(), Engine::Postgresql);
        assert_eq!(
            s.database_url().expose(),
            "postgresql://bob:urlpass@db.example:6543/shop"
        );
        assert_eq!(s.database.host, "db.example");
        assert_eq!(s.database.port, Some(6543));
        assert_eq!(s.database.user, "bob");
        assert_eq!(s.database.password.expose(), "urlpass");
        assert_eq!(s.database.name.as_deref(), Some("shop"));
        assert_eq!(
            entry(&l, "DB_ENGINE").origin,
            Origin::Env("DATABASE_URL".into())
        );
        assert_eq!(entry(&l, "DB_PASS").value, "***");
        assert_eq!(l.warnings.len(), 1);
        assert_eq!(l.warnings[0].code, "CFG004");
        assert_eq!(l.warnings[0].line, Some(2));
    }

    #[test]
    fn relative_sqlite_url_is_relative_to_the_project() {
        let p = Project::new();
        p.write(
            "sqlalembic.yml",
            "database:\n  DATABASE_URL: sqlite:///./var/app.db\n",
        );
        let l = p.load(&[]);
        assert_eq!(*l.settings.engine(), Engine::Sqlite);
        assert_eq!(
            l.settings.database_url().expose(),
            format!("sqlite://{}", p.root().join("var/app.db").display())
        );
        let built = l.settings.database_url().expose().to_owned();
        // Our own absolute form reads back unchanged.
        let l = p.load(&[("DATABASE_URL", built.as_str())]);
        assert_eq!(l.settings.database_url().expose(), built);
    }

    #[test]
    fn unknown_engine_lists_valid_ones() {
        let p = Project::new();
        p.write("sqlalembic.toml", "[database]\nDB_ENGINE = \"oracle\"\n");
        let err = p.load_err(&[]);
        assert_eq!(
            err.to_string(),
            "Unknown database engine `oracle` (from sqlalembic.toml:2:1); expected one of `sqlite`, `postgresql`, `mysql` or `wasm:<path>`"
        );
        let p = Project::new();
        let err = p.load_err(&[("DATABASE_URL", "oracle://u:topsecret@h/db")]);
        let text = err.to_string();
        assert!(text.contains("unknown scheme `oracle`"), "{text}");
        assert!(!text.contains("topsecret"), "{text}");
    }

    #[test]
    fn wasm_engine_keeps_its_url_or_needs_one() {
        let p = Project::new();
        let l = p.load(&[
            ("DB_ENGINE", "wasm:plugins/duck.wasm"),
            ("DATABASE_URL", "duckdb:///data.duck"),
        ]);
        assert_eq!(
            *l.settings.engine(),
            Engine::Wasm(PathBuf::from("plugins/duck.wasm"))
        );
        assert_eq!(l.settings.database_url().expose(), "duckdb:///data.duck");
        let err = p.load_err(&[("DB_ENGINE", "wasm:plugins/duck.wasm")]);
        assert!(matches!(err, Error::MissingUrl { .. }), "{err}");
    }

    #[test]
    fn wrong_types_name_key_value_and_origin() {
        let p = Project::new();
        p.write("sqlalembic.toml", "[database]\nDB_PORT = \"abc\"\n");
        assert_eq!(
            p.load_err(&[]).to_string(),
            "Invalid value `abc` for `DB_PORT` (from sqlalembic.toml:2:1): expected a port number (1 to 65535)"
        );
        assert_eq!(
            p.load_err(&[("SQLALEMBIC_DEBUG", "maybe")]).to_string(),
            "Invalid value `maybe` for `DEBUG` (from environment variable `SQLALEMBIC_DEBUG`): expected a boolean (`true` or `false`)"
        );
        let p = Project::new();
        let mut opts = p.opts(&[]);
        opts.flags
            .push(("LOGGING_LEVEL".into(), "loud".into(), "--log-level".into()));
        assert_eq!(
            load(&opts).expect_err("bad level").to_string(),
            "Invalid value `loud` for `LOGGING_LEVEL` (from flag `--log-level`): expected one of `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`"
        );
        let p = Project::new();
        p.write(
            "sqlalembic.yaml",
            "migration:\n  MIGRATION_COMPARE_TYPE: [1]\n",
        );
        let text = p.load_err(&[]).to_string();
        assert!(
            text.starts_with(
                "Invalid value `[1]` for `MIGRATION_COMPARE_TYPE` (from sqlalembic.yaml:2:3)"
            ),
            "{text}"
        );
        let p = Project::new();
        p.write("sqlalembic.toml", "database = 3\n");
        assert!(
            p.load_err(&[])
                .to_string()
                .contains("expected a table of keys")
        );
    }

    /// Deeply nested files, at 2 MB and at 60 kB, in every format: refused with the
    /// file, the limit and the fix, in well under a second (a 2 MB nested YAML file
    /// took 43 minutes to parse before).
    #[test]
    fn oversized_and_deeply_nested_files_are_refused_quickly() {
        let levels = 300_000;
        let yaml_block: String = (0..200).map(|d| format!("{}k:\n", " ".repeat(d))).collect();
        let big = [
            (
                "sqlalembic.yaml",
                format!(
                    "database: {}{}",
                    "[".repeat(levels * 3),
                    "]".repeat(levels * 3)
                ),
            ),
            (
                "sqlalembic.json",
                format!(
                    "{{\"database\": {}{}}}",
                    "[".repeat(levels * 3),
                    "]".repeat(levels * 3)
                ),
            ),
            (
                "sqlalembic.toml",
                format!(
                    "[database]\nk = {}{}\n",
                    "[".repeat(levels * 3),
                    "]".repeat(levels * 3)
                ),
            ),
        ];
        for (name, text) in &big {
            assert!(text.len() > 1_800_000, "{name}: {}", text.len());
            let p = Project::new();
            p.write(name, text);
            let started = std::time::Instant::now();
            let err = p.load_err(&[]);
            assert!(
                started.elapsed().as_millis() < 500,
                "{name}: {:?}",
                started.elapsed()
            );
            assert!(matches!(err, Error::TooLarge { .. }), "{name}: {err}");
            let shown = err.to_string();
            assert!(shown.starts_with(&format!("`{name}` is ")), "{shown}");
            assert!(shown.contains("over the limit of 1048576 bytes"), "{shown}");
        }
        let small = [
            (
                "sqlalembic.yaml",
                format!("database: {}{}", "[".repeat(20_000), "]".repeat(20_000)),
                "sqlalembic.yaml:1:",
            ),
            ("sqlalembic.yaml", yaml_block, "sqlalembic.yaml:32:"),
            (
                "sqlalembic.json",
                format!(
                    "{{\"a\": {}{}}}",
                    "{\"a\": ".repeat(20_000),
                    "}".repeat(20_000)
                ),
                "sqlalembic.json:1:",
            ),
            (
                "sqlalembic.toml",
                format!("[{}]\n", vec!["a"; 20_000].join(".")),
                "sqlalembic.toml:1:",
            ),
        ];
        for (name, text, at) in &small {
            assert!(text.len() < MAX_BYTES as usize);
            let p = Project::new();
            p.write(name, text);
            let started = std::time::Instant::now();
            let err = p.load_err(&[]);
            assert!(
                started.elapsed().as_millis() < 500,
                "{name}: {:?}",
                started.elapsed()
            );
            let shown = err.to_string();
            assert!(
                matches!(
                    err,
                    Error::TooDeep {
                        limit: MAX_DEPTH,
                        ..
                    }
                ),
                "{name}: {shown}"
            );
            assert!(shown.starts_with(at), "{shown}");
            assert!(shown.contains("nest deeper than 32 levels"), "{shown}");
            assert!(shown.contains("flatten"), "{shown}");
        }
        let p = Project::new();
        p.write(".env", &"DB_HOST=x\n".repeat(120_000));
        let err = p.load_err(&[]);
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        assert!(err.to_string().starts_with("`.env` is "), "{err}");
    }

    #[test]
    fn broken_files_report_line_and_column() {
        for (name, text, prefix) in [
            (
                "sqlalembic.toml",
                "[database]\nDB_HOST = \n",
                "sqlalembic.toml:2:11: Invalid TOML: ",
            ),
            (
                "sqlalembic.yaml",
                "database:\n  DB_HOST: [a\n",
                "sqlalembic.yaml:3:1: Invalid YAML: ",
            ),
            (
                "sqlalembic.json",
                "{\"database\": {\"DB_HOST\": }}",
                "sqlalembic.json:1:26: Invalid JSON: ",
            ),
        ] {
            let p = Project::new();
            p.write(name, text);
            let err = p.load_err(&[]).to_string();
            assert!(err.starts_with(prefix), "{name}: {err}");
        }
    }

    #[test]
    fn unknown_keys_fail_the_load_with_location_and_suggestion() {
        let p = Project::new();
        p.write(
            "sqlalembic.toml",
            "[database]\nDB_HOST = \"h\"\nDB_PROT = 5432\n",
        );
        assert_eq!(
            p.load_err(&[]).to_string(),
            "sqlalembic.toml:3:1: Unknown key `DB_PROT` in `[database]`; did you mean `DB_PORT`?"
        );
        let p = Project::new();
        p.write(
            "sqlalembic.yaml",
            "database:\n  DATABSE_URL: sqlite:///x.db\n",
        );
        assert_eq!(
            p.load_err(&[]).to_string(),
            "sqlalembic.yaml:2:3: Unknown key `DATABSE_URL` in `[database]`; did you mean `DATABASE_URL`?"
        );
        let p = Project::new();
        p.write("sqlalembic.json", "{\"databse\": {\"DB_HOST\": \"h\"}}");
        let err = p.load_err(&[]).to_string();
        assert!(
            err.starts_with("sqlalembic.json:1:")
                && err.ends_with("Unknown section `[databse]`; did you mean `[database]`?"),
            "{err}"
        );
    }

    #[test]
    fn prefixed_variables_must_be_settings_but_others_are_ignored() {
        let p = Project::new();
        p.write(
            ".env",
            "SECRET_KEY=app\nSQLALEMBIC_DATABSE_URL=sqlite:///x.db\n",
        );
        assert_eq!(
            p.load_err(&[]).to_string(),
            ".env:2:1: Unknown variable `SQLALEMBIC_DATABSE_URL`: sqlalembic has no setting `DATABSE_URL`; did you mean `SQLALEMBIC_DATABASE_URL`?"
        );
        let p = Project::new();
        let err = p
            .load_err(&[("SQLALEMBIC_DB_HSOT", "h"), ("HOME_DIR", "x")])
            .to_string();
        assert_eq!(
            err,
            "Unknown environment variable `SQLALEMBIC_DB_HSOT`: sqlalembic has no setting `DB_HSOT`; did you mean `SQLALEMBIC_DB_HOST`?"
        );
        // Unrelated variables, the tool's own non-setting variables and a plugin's
        // `allow.env` names are fine.
        p.write(
            "sqlalembic.toml",
            "[[plugins]]\npath = \"n.wasm\"\nallow = { env = [\"SQLALEMBIC_WEBHOOK_URL\"] }\n",
        );
        p.load(&[
            ("DB_HSOT", "h"),
            ("SQLALEMBIC_PLUGIN_CACHE", "/tmp/c"),
            ("SQLALEMBIC_APPROVE_DESTRUCTIVE", "yes"),
            ("SQLALEMBIC_WEBHOOK_URL", "http://h/"),
            ("SQLALEMBIC_LOG", "wasmtime=debug"),
            ("SQLALEMBIC_DB_HOST", "h"),
        ]);
    }

    #[test]
    fn secrets_never_leak() {
        let p = Project::new();
        p.write(
            "sqlalembic.toml",
            "[database]\nDB_ENGINE = \"postgresql\"\nDB_USER = \"u\"\nDB_PASS = \"hunter2!\"\n",
        );
        let l = p.load(&[]);
        let s = &l.settings;
        assert_eq!(s.database.password.expose(), "hunter2!");
        let debug = format!("{:?}", l);
        assert!(!debug.contains("hunter2"), "{debug}");
        let json = serde_json::to_string(&s).expect("serializes");
        assert!(!json.contains("hunter2"), "{json}");
        let listing = serde_json::to_string(&l.entries()).expect("serializes");
        assert!(!listing.contains("hunter2"), "{listing}");
        assert_eq!(entry(&l, "DB_PASS").value, "***");
        assert_eq!(
            entry(&l, "DATABASE_URL").value,
            "postgresql://u:***@localhost:5432"
        );
        assert_eq!(
            redact_text(&format!("connect {} failed", s.database_url().expose())),
            "connect postgresql://u:***@localhost:5432 failed"
        );

        // A bad value next to the password: the error never shows it.
        p.write("sqlalembic.toml", "[database]\nDB_PASS = [\"hunter2\"]\n");
        let err = p.load_err(&[]);
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
        // A value elsewhere that happens to equal the password is not a secret:
        // masking it would tell the password.
        let err = p.load_err(&[
            ("DATABASE_URL", "postgresql://u:hunter2@h/d"),
            ("DATABASE_ECHO", "hunter2"),
        ]);
        assert_eq!(
            err.to_string(),
            "Invalid value `hunter2` for `DATABASE_ECHO` (from environment variable `DATABASE_ECHO`): expected a boolean (`true` or `false`)"
        );
        let err = p.load_err(&[("DATABASE_URL", "nope://u:hunter2@h/d")]);
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn malformed_urls_are_refused_masked_with_the_fix() {
        let p = Project::new();
        for (url, shown, reason) in [
            (
                "postgresql:/u:PW@db:5432/app",
                "postgresql:/u:***@db:5432/app",
                "a server URL needs `//` after `postgresql:`; write `postgresql://` followed by the host",
            ),
            (
                "u:PW@db:5432/app",
                "u:***@db:5432/app",
                "unknown scheme `u`",
            ),
            ("db:PW@/app", "db:***@/app", "unknown scheme `db`"),
            (
                "mysql://root:PW@:3306/app",
                "mysql://root:***@:3306/app",
                "the URL names no host",
            ),
            (
                "mysql://root:PW@h:33o6/app",
                "mysql://root:***@h:33o6/app",
                "the port is not a number from 1 to 65535",
            ),
            (
                "postgresql://u:P/W@h/app",
                "postgresql://u:***@h/app",
                "there is an `@` after the host",
            ),
            (
                "postgresql://u:PW%zz@h/app",
                "postgresql://u:***@h/app",
                "the password has a `%` that is not followed by two hex digits",
            ),
        ] {
            let err = p.load_err(&[("DATABASE_URL", url)]);
            let text = format!("{err} {err:?}");
            assert!(!text.contains("PW"), "{text}");
            let message = err.to_string();
            assert!(
                message.starts_with(&format!(
                    "Invalid database URL `{shown}` (from environment variable `DATABASE_URL`): {reason}"
                )),
                "{message}"
            );
        }
    }

    #[test]
    fn special_characters_in_the_password_are_masked_and_encoded() {
        let p = Project::new();
        let l = p.load(&[(
            "DATABASE_URL",
            "postgresql://app:it's a\"p@ss@db.example/shop?sslmode=disable",
        )]);
        let s = &l.settings;
        assert_eq!(s.database.password.expose(), "it's a\"p@ss");
        assert_eq!(s.database.host, "db.example");
        assert_eq!(
            s.database_url().expose(),
            "postgresql://app:it%27s%20a%22p%40ss@db.example/shop?sslmode=disable"
        );
        assert_eq!(
            entry(&l, "DATABASE_URL").value,
            "postgresql://app:***@db.example/shop?sslmode=disable"
        );
        // Built from the parts, with a host that would move the password elsewhere.
        let err = p.load_err(&[
            ("DB_ENGINE", "postgresql"),
            ("DB_USER", "app"),
            ("DB_PASS", "PW"),
            ("DB_HOST", "evil@db"),
        ]);
        let text = err.to_string();
        assert!(
            text.starts_with("Invalid value `evil@db` for `DB_HOST`"),
            "{text}"
        );
        assert!(!text.contains("PW"), "{text}");
    }

    #[test]
    fn plugins_table_is_loaded_and_listed() {
        let p = Project::new();
        p.write(
            "sqlalembic.toml",
            "[[plugins]]\nname = \"audit\"\npath = \"plugins/audit.wasm\"\nsignals = [\"command_finished\"]\nallow = { read = [\"migrations\"] }\nsettings = { channel = \"#deploys\" }\n",
        );
        let l = p.load(&[]);
        let plugin = &l.settings.plugins[0];
        assert_eq!(plugin.name, "audit");
        assert_eq!(plugin.allow.read, ["migrations"]);
        assert_eq!(plugin.settings["channel"], "#deploys");
        let last = l.entries().pop().expect("entries");
        assert_eq!(
            last,
            Entry {
                section: "plugins".into(),
                key: "audit".into(),
                value: "plugins/audit.wasm".into(),
                origin: Origin::File(PathBuf::from("sqlalembic.toml")),
            }
        );
    }

    #[test]
    fn entries_follow_the_spec_table_and_serialize() {
        let p = Project::new();
        let l = p.load(&[("LOGGING_FORMAT", "json")]);
        let keys: Vec<String> = l.entries().into_iter().map(|e| e.key).collect();
        let spec: Vec<&str> = KEYS.iter().map(|k| k.name).collect();
        assert_eq!(keys, spec);
        assert_eq!(l.settings.logging.format, LogFormat::Json);
        assert_eq!(
            entry(&l, "EXCLUDE_PATHS").value,
            ".git,.venv,venv,__pycache__,node_modules,build,dist"
        );
        let json = serde_json::to_value(entry(&l, "LOGGING_FORMAT")).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "section": "logging",
                "key": "LOGGING_FORMAT",
                "value": "json",
                "origin": {"kind": "env", "source": "LOGGING_FORMAT"},
            })
        );
        assert_eq!(
            serde_json::to_value(Origin::Default).expect("serializes"),
            serde_json::json!({"kind": "default"})
        );
    }

    #[test]
    fn discovery_lists_from_env_and_file() {
        let p = Project::new();
        p.write(
            "sqlalembic.toml",
            "[discovery]\nMODEL_DISCOVERY_PATHS = [\"app/models\", \"lib\"]\nEXCLUDE_PATHS = \"tests, docs\"\nBACKENDS = [\"sqlalchemy\", \"sql\"]\n",
        );
        let l = p.load(&[]);
        let d = &l.settings.discovery;
        assert_eq!(d.paths, [PathBuf::from("app/models"), PathBuf::from("lib")]);
        assert_eq!(d.exclude, ["tests", "docs"]);
        assert_eq!(d.backends, ["sqlalchemy", "sql"]);
        let l = p.load(&[
            ("MODEL_DISCOVERY_PATHS", "a:b/c"),
            ("AUTO_DISCOVER_MODELS", "no"),
        ]);
        assert_eq!(
            l.settings.discovery_paths(),
            [p.root().join("a"), p.root().join("b/c")]
        );
        assert!(!l.settings.discovery.auto_discover);
        assert_eq!(entry(&l, "MODEL_DISCOVERY_PATHS").value, "a:b/c");
    }

    #[test]
    fn versions_path_is_inside_the_migrations_dir() {
        let p = Project::new();
        let l = p.load(&[("MIGRATION_DIR", "db"), ("MIGRATION_VERSIONS_PATH", "revs")]);
        assert_eq!(l.settings.versions_dir(), p.root().join("db/revs"));
        let l = p.load(&[("MIGRATION_VERSIONS_PATH", "migrations/versions")]);
        assert_eq!(
            l.settings.versions_dir(),
            p.root().join("migrations/versions")
        );
    }

    #[test]
    fn unknown_flag_key_is_an_error() {
        let p = Project::new();
        let mut opts = p.opts(&[]);
        opts.flags
            .push(("NOPE".into(), "1".into(), "--nope".into()));
        assert!(matches!(load(&opts), Err(Error::UnknownFlag { .. })));
    }
}
