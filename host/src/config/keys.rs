//! The table of known configuration keys.
//!
//! Input: nothing; this is data. Output: [`KEYS`], one [`KeySpec`] per setting, in the
//! order `sqlalembic config` lists them, plus case-insensitive lookups and "did you mean"
//! suggestions. Parsing (file, `.env`, environment, flags), provenance and the listing
//! are all driven from this table, so adding a setting is one row here plus one field in
//! `settings.rs`. It refuses nothing itself: values are checked in `value.rs`.

use std::fmt;

use serde::Serialize;

/// A `[section]` of the configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    General,
    Database,
    Migration,
    Logging,
    Discovery,
}

impl Section {
    /// Every section, in listing order.
    pub const ALL: [Section; 5] = [
        Section::General,
        Section::Database,
        Section::Migration,
        Section::Logging,
        Section::Discovery,
    ];

    /// The lowercase name used in files (`[database]`).
    pub fn name(self) -> &'static str {
        match self {
            Section::General => "general",
            Section::Database => "database",
            Section::Migration => "migration",
            Section::Logging => "logging",
            Section::Discovery => "discovery",
        }
    }

    /// Looks a section up by name, ignoring case.
    pub fn from_name(name: &str) -> Option<Section> {
        Section::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a key's raw value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off` in strings).
    Bool,
    /// A TCP port, 1 to 65535.
    Port,
    /// Any scalar, kept as text.
    Str,
    /// Like [`Kind::Str`], but never shown: DB_PASS.
    Secret,
    /// A database URL; its password is never shown.
    Url,
    /// A list: an array in files, or a string split on this separator.
    List(char),
}

/// One known setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    pub section: Section,
    /// Canonical upper-case name, which is also the bare environment variable.
    pub name: &'static str,
    pub kind: Kind,
    /// Default in environment-variable syntax; `None` when it is derived from other keys.
    pub default: Option<&'static str>,
    /// One line for `sqlalembic config --help`-style listings.
    pub doc: &'static str,
}

impl KeySpec {
    /// The prefixed environment variable, e.g. `SQLALEMBIC_DB_HOST`.
    pub fn prefixed_env(&self) -> String {
        format!("{ENV_PREFIX}{}", self.name)
    }

    /// Whether the value must never be shown.
    pub fn is_secret(&self) -> bool {
        matches!(self.kind, Kind::Secret)
    }
}

/// Prefix of the namespaced environment variables, which win over the bare names.
pub const ENV_PREFIX: &str = "SQLALEMBIC_";

/// The name of the `[[plugins]]` array of tables.
pub const PLUGINS: &str = "plugins";

const fn key(
    section: Section,
    name: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    doc: &'static str,
) -> KeySpec {
    KeySpec {
        section,
        name,
        kind,
        default,
        doc,
    }
}

use Kind::*;
use Section::*;

/// Every known key, in listing order.
pub static KEYS: &[KeySpec] = &[
    key(General, "DEBUG", Bool, Some("false"), "Debug mode"),
    key(
        General,
        "ENVIRONMENT",
        Str,
        Some("development"),
        "Deployment environment name",
    ),
    key(
        General,
        "PROJECT_NAME",
        Str,
        None,
        "Project name (default: the project folder's name)",
    ),
    key(
        Database,
        "DB_ENGINE",
        Str,
        Some("sqlite"),
        "`sqlite`, `postgresql`, `mysql` or `wasm:<path>`",
    ),
    key(Database, "DB_HOST", Str, Some("localhost"), "Database host"),
    key(
        Database,
        "DB_PORT",
        Port,
        None,
        "Database port (default: 5432 for PostgreSQL, 3306 for MySQL)",
    ),
    key(Database, "DB_USER", Str, None, "Database user"),
    key(Database, "DB_PASS", Secret, None, "Database password"),
    key(
        Database,
        "DB_NAME",
        Str,
        None,
        "Database name; for SQLite a path relative to the project (default `database.db`)",
    ),
    key(
        Database,
        "DATABASE_URL",
        Url,
        None,
        "Full database URL; wins over the DB_* parts",
    ),
    key(
        Database,
        "DATABASE_ECHO",
        Bool,
        Some("false"),
        "Log every SQL statement",
    ),
    key(
        Migration,
        "MIGRATION_DIR",
        Str,
        Some("migrations"),
        "Migrations folder, relative to the project",
    ),
    key(
        Migration,
        "MIGRATION_VERSIONS_PATH",
        Str,
        Some("versions"),
        "Revision files folder, relative to MIGRATION_DIR",
    ),
    key(
        Migration,
        "MIGRATION_COMPARE_TYPE",
        Bool,
        Some("true"),
        "Compare column types when autogenerating",
    ),
    key(
        Migration,
        "MIGRATION_COMPARE_SERVER_DEFAULT",
        Bool,
        Some("false"),
        "Compare server defaults when autogenerating",
    ),
    key(
        Migration,
        "MIGRATION_TIMEZONE",
        Str,
        Some("UTC"),
        "Time zone of revision timestamps",
    ),
    key(
        Migration,
        "MIGRATION_VERSION_TABLE",
        Str,
        Some("alembic_version"),
        "Table holding the current heads",
    ),
    key(
        Migration,
        "MIGRATION_INCLUDE_TABLES",
        List(','),
        Some(""),
        "Only these tables (names or globs, `,`-separated) are compared by autogenerate",
    ),
    key(
        Migration,
        "MIGRATION_EXCLUDE_TABLES",
        List(','),
        Some(""),
        "Tables (names or globs) autogenerate never reads, creates or drops",
    ),
    key(
        Migration,
        "MIGRATION_LOCK_TIMEOUT",
        Str,
        Some("60"),
        "Seconds to wait for another migration's lock",
    ),
    key(
        Migration,
        "MIGRATION_TRANSACTION_PER_MIGRATION",
        Bool,
        Some("true"),
        "Commit each revision on its own; false wraps the whole run in one transaction",
    ),
    key(
        Logging,
        "LOGGING_LEVEL",
        Str,
        Some("WARNING"),
        "DEBUG, INFO, WARNING, ERROR or CRITICAL",
    ),
    key(
        Logging,
        "LOGGING_FORMAT",
        Str,
        Some("%(levelname)s: %(message)s"),
        "Python `%(...)s` format string, or `json`",
    ),
    key(
        Logging,
        "LOGGING_FILE",
        Str,
        None,
        "Also write the log to this file",
    ),
    key(
        Discovery,
        "AUTO_DISCOVER_MODELS",
        Bool,
        Some("true"),
        "Discover models automatically",
    ),
    key(
        Discovery,
        "MODEL_DISCOVERY_PATHS",
        List(':'),
        Some(""),
        "Folders to search (`:`-separated; default: the project root)",
    ),
    key(
        Discovery,
        "EXCLUDE_PATHS",
        List(','),
        Some(".git,.venv,venv,__pycache__,node_modules,build,dist"),
        "Folders never searched (`,`-separated)",
    ),
    key(
        Discovery,
        "SOURCE_ROOTS",
        List(':'),
        Some(""),
        "Extra folders imports resolve in (`:`-separated; the project root, `src/` and `pyproject.toml` roots always)",
    ),
    key(
        Discovery,
        "STATIC_VALUES",
        List(';'),
        Some(""),
        "Module-level names static discovery takes as given, `module.NAME=<Python literal>` (`;`-separated): values only known at run time",
    ),
    key(
        Discovery,
        "BACKENDS",
        List(','),
        Some("sqlalchemy"),
        "Discovery backends, in order (`,`-separated)",
    ),
    key(
        Discovery,
        "PYTHON",
        Str,
        None,
        "Interpreter for the `sqlalchemy-import` backend (default: the project's .venv, else python3)",
    ),
];

/// Index of a key in [`KEYS`], ignoring case.
pub fn index_of(name: &str) -> Option<usize> {
    KEYS.iter().position(|k| k.name.eq_ignore_ascii_case(name))
}

/// Looks a key up by name, ignoring case.
pub fn lookup(name: &str) -> Option<&'static KeySpec> {
    index_of(name).map(|i| &KEYS[i])
}

/// The known name closest to `name`, if any is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = name.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&wanted, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The known key closest to `name`.
pub fn closest_key(name: &str) -> Option<&'static str> {
    closest(name, KEYS.iter().map(|k| k.name))
}

/// The known section closest to `name` (`plugins` included).
pub fn closest_section(name: &str) -> Option<&'static str> {
    closest(
        name,
        Section::ALL
            .iter()
            .map(|s| s.name())
            .chain(std::iter::once(PLUGINS)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_upper_case_and_defaults_parse() {
        for (i, k) in KEYS.iter().enumerate() {
            assert_eq!(k.name, k.name.to_ascii_uppercase());
            assert_eq!(index_of(k.name), Some(i), "duplicate key {}", k.name);
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup("db_host").map(|k| k.name), Some("DB_HOST"));
        assert_eq!(Section::from_name("DataBase"), Some(Section::Database));
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(closest_key("DB_HSOT"), Some("DB_HOST"));
        assert_eq!(closest_key("migration_dri"), Some("MIGRATION_DIR"));
        assert_eq!(closest_key("completely_unrelated_zzz"), None);
        assert_eq!(closest_section("databse"), Some("database"));
        assert_eq!(closest_section("plugin"), Some("plugins"));
    }
}
