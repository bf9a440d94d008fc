//! The database engine and URL: parsing DB_ENGINE, building a URL from the DB_* parts,
//! and normalising a given DATABASE_URL.
//!
//! Input: engine names, URL strings, the project root. Output: an [`Engine`] and a URL
//! the sqlx drivers accept (`sqlite:///abs/path`, `postgresql://…`, `mysql://…`).
//! SQLAlchemy spellings are accepted (`postgresql+psycopg2://`, `mariadb://`,
//! `sqlite:///relative.db`). It refuses unknown engines and URL schemes.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde::{Serialize, Serializer};

use super::secret::percent_encode;
use crate::dburl::{DbUrl, Family, Rest, UrlError};

/// The SQL dialect to talk to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Engine {
    Sqlite,
    Postgresql,
    Mysql,
    /// A dialect plugin (a WebAssembly component), path as written (relative to the project).
    Wasm(PathBuf),
}

/// The engine names listed when an unknown one is given.
pub const VALID_ENGINES: &str = "`sqlite`, `postgresql`, `mysql` or `wasm:<path>`";

impl Engine {
    /// Parses a DB_ENGINE value: `sqlite`, `postgresql` (`postgres`, `pg`), `mysql`
    /// (`mariadb`), or `wasm:<path>`; case-insensitive.
    pub fn parse(value: &str) -> Option<Engine> {
        let value = value.trim();
        if let Some(prefix) = value.get(..5)
            && prefix.eq_ignore_ascii_case("wasm:")
        {
            let path = value[5..].trim();
            return (!path.is_empty()).then(|| Engine::Wasm(PathBuf::from(path)));
        }
        match value.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Some(Engine::Sqlite),
            "postgresql" | "postgres" | "pg" => Some(Engine::Postgresql),
            "mysql" | "mariadb" => Some(Engine::Mysql),
            _ => None,
        }
    }

    /// The engine a URL scheme names; a SQLAlchemy driver suffix (`+psycopg2`) is ignored.
    pub fn from_scheme(scheme: &str) -> Option<Engine> {
        let base = scheme.split('+').next().unwrap_or(scheme);
        match base.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Some(Engine::Sqlite),
            "postgresql" | "postgres" => Some(Engine::Postgresql),
            "mysql" | "mariadb" => Some(Engine::Mysql),
            _ => None,
        }
    }

    /// The default TCP port of a server engine.
    pub fn default_port(&self) -> Option<u16> {
        match self {
            Engine::Postgresql => Some(5432),
            Engine::Mysql => Some(3306),
            Engine::Sqlite | Engine::Wasm(_) => None,
        }
    }

    /// Whether this is a dialect plugin.
    pub fn is_wasm(&self) -> bool {
        matches!(self, Engine::Wasm(_))
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Sqlite => f.write_str("sqlite"),
            Engine::Postgresql => f.write_str("postgresql"),
            Engine::Mysql => f.write_str("mysql"),
            Engine::Wasm(path) => write!(f, "wasm:{}", path.display()),
        }
    }
}

impl Serialize for Engine {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The DB_* parts a URL is built from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Parts<'a> {
    pub host: &'a str,
    pub port: Option<u16>,
    pub user: &'a str,
    pub password: &'a str,
    pub name: Option<&'a str>,
}

/// The SQLite file used when DB_NAME is not set.
pub const DEFAULT_SQLITE_NAME: &str = "database.db";

/// Builds the URL for `engine` from its parts; `None` for a dialect plugin, which
/// needs DATABASE_URL.
pub(crate) fn build_url(engine: &Engine, parts: Parts<'_>, project_root: &Path) -> Option<String> {
    let scheme = match engine {
        Engine::Sqlite => {
            let name = parts.name.unwrap_or(DEFAULT_SQLITE_NAME);
            if name == ":memory:" {
                return Some("sqlite::memory:".to_owned());
            }
            let path = clean(&project_root.join(name));
            return Some(format!("sqlite://{}", path.display()));
        }
        Engine::Postgresql => "postgresql",
        Engine::Mysql => "mysql",
        Engine::Wasm(_) => return None,
    };
    let mut url = format!("{scheme}://");
    if !parts.user.is_empty() || !parts.password.is_empty() {
        url.push_str(&percent_encode(parts.user));
        if !parts.password.is_empty() {
            url.push(':');
            url.push_str(&percent_encode(parts.password));
        }
        url.push('@');
    }
    let host = if parts.host.is_empty() {
        "localhost"
    } else {
        parts.host
    };
    if host.contains(':') && !host.starts_with('[') {
        url.push_str(&format!("[{host}]"));
    } else {
        url.push_str(host);
    }
    if let Some(port) = parts.port.or(engine.default_port()) {
        url.push_str(&format!(":{port}"));
    }
    if let Some(name) = parts.name.filter(|n| !n.is_empty()) {
        url.push('/');
        url.push_str(&percent_encode(name));
    }
    Some(url)
}

/// Reads a DATABASE_URL strictly ([`DbUrl::parse`]): returns its engine, the URL in
/// the form the drivers accept, and its parts.
///
/// `postgres:`, `postgresql+psycopg2:` and the like become `postgresql:`, `mariadb:`
/// becomes `mysql:`, and every component is percent-encoded; a SQLite path is made
/// absolute (relative paths are relative to the project root).
pub(crate) fn normalize_url(
    url: &str,
    project_root: &Path,
) -> Result<(Engine, String, DbUrl), UrlError> {
    let parsed = DbUrl::parse(url)?;
    let (engine, normalized) = match &parsed.rest {
        Rest::Sqlite(rest) => (Engine::Sqlite, normalize_sqlite(rest, project_root)),
        Rest::Server(_) => (
            match parsed.family {
                Family::Mysql => Engine::Mysql,
                _ => Engine::Postgresql,
            },
            parsed.canonical(),
        ),
    };
    Ok((engine, normalized, parsed))
}

/// `rest` is everything after `sqlite:`.
fn normalize_sqlite(rest: &str, project_root: &Path) -> String {
    let (target, query) = match rest.split_once('?') {
        Some((t, q)) => (t, format!("?{q}")),
        None => (rest, String::new()),
    };
    let path = target.strip_prefix("//").unwrap_or(target);
    if path.is_empty() || path == ":memory:" || path == "/:memory:" {
        return format!("sqlite::memory:{query}");
    }
    let absolute = if let Some(abs) = path.strip_prefix("//") {
        // SQLAlchemy's four slashes: `sqlite:////abs/path`.
        PathBuf::from(format!("/{abs}"))
    } else if let Some(after) = path.strip_prefix('/') {
        // Three slashes: SQLAlchemy reads `sqlite:///app.db` as the relative `app.db`,
        // sqlx (and the URLs we build) read `sqlite:///srv/app.db` as absolute. Treat it
        // as absolute when its first folder exists at the filesystem root.
        let first = after.split('/').next().unwrap_or("");
        let has_folder = after.contains('/');
        if has_folder && !matches!(first, "" | "." | "..") && Path::new("/").join(first).is_dir() {
            PathBuf::from(path)
        } else {
            project_root.join(after)
        }
    } else {
        project_root.join(path)
    };
    format!("sqlite://{}{query}", clean(&absolute).display())
}

/// Removes `.` components and folds `..` lexically (no filesystem access).
pub(crate) fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>() -> Parts<'a> {
        Parts {
            host: "localhost",
            port: None,
            user: "",
            password: "",
            name: None,
        }
    }

    #[test]
    fn engine_names_and_aliases() {
        assert_eq!(Engine::parse("SQLite"), Some(Engine::Sqlite));
        assert_eq!(Engine::parse("postgres"), Some(Engine::Postgresql));
        assert_eq!(Engine::parse("pg"), Some(Engine::Postgresql));
        assert_eq!(Engine::parse("MariaDB"), Some(Engine::Mysql));
        assert_eq!(
            Engine::parse("wasm:plugins/duck.wasm"),
            Some(Engine::Wasm(PathBuf::from("plugins/duck.wasm")))
        );
        assert_eq!(Engine::parse("wasm:"), None);
        assert_eq!(Engine::parse("oracle"), None);
        assert_eq!(
            Engine::Wasm(PathBuf::from("d.wasm")).to_string(),
            "wasm:d.wasm"
        );
    }

    #[test]
    fn builds_sqlite_url_relative_to_project() {
        let root = Path::new("/proj");
        assert_eq!(
            build_url(&Engine::Sqlite, parts(), root).as_deref(),
            Some("sqlite:///proj/database.db")
        );
        let p = Parts {
            name: Some("./data/../data/app.db"),
            ..parts()
        };
        assert_eq!(
            build_url(&Engine::Sqlite, p, root).as_deref(),
            Some("sqlite:///proj/data/app.db")
        );
        let abs = Parts {
            name: Some("/var/db/x.db"),
            ..parts()
        };
        assert_eq!(
            build_url(&Engine::Sqlite, abs, root).as_deref(),
            Some("sqlite:///var/db/x.db")
        );
    }

    #[test]
    fn builds_server_urls_with_default_ports_and_encoding() {
        let root = Path::new("/proj");
        let p = Parts {
            host: "db.local",
            user: "app user",
            password: "p@ss:w/rd",
            name: Some("shop"),
            ..parts()
        };
        assert_eq!(
            build_url(&Engine::Postgresql, p, root).as_deref(),
            Some("postgresql://app%20user:p%40ss%3Aw%2Frd@db.local:5432/shop")
        );
        let m = Parts {
            user: "root",
            port: Some(3307),
            name: Some("shop"),
            ..parts()
        };
        assert_eq!(
            build_url(&Engine::Mysql, m, root).as_deref(),
            Some("mysql://root@localhost:3307/shop")
        );
        assert_eq!(
            build_url(
                &Engine::Postgresql,
                Parts {
                    host: "::1",
                    ..parts()
                },
                root
            )
            .as_deref(),
            Some("postgresql://[::1]:5432")
        );
        assert_eq!(
            build_url(&Engine::Wasm(PathBuf::from("x.wasm")), parts(), root),
            None
        );
    }

    #[test]
    fn normalizes_sqlalchemy_urls() {
        let root = Path::new("/proj");
        let n = |u: &str| {
            normalize_url(u, root)
                .map(|(e, s, _)| (e, s))
                .map_err(|e| e.problem)
        };
        assert_eq!(
            n("postgresql+psycopg2://u:p@h/db"),
            Ok((Engine::Postgresql, "postgresql://u:p@h/db".to_owned()))
        );
        assert_eq!(
            n("postgres://h/db"),
            Ok((Engine::Postgresql, "postgresql://h/db".to_owned()))
        );
        assert_eq!(
            n("mariadb+mariadbconnector://h/db"),
            Ok((Engine::Mysql, "mysql://h/db".to_owned()))
        );
        assert_eq!(
            n("mysql://u:p w@h/db"),
            Ok((Engine::Mysql, "mysql://u:p%20w@h/db".to_owned()))
        );
        assert_eq!(
            n("oracle://h/db"),
            Err("unknown scheme `oracle`".to_owned())
        );
        assert_eq!(
            n("just-a-path.db"),
            Err("it does not start with a scheme".to_owned())
        );
        assert_eq!(
            n("postgresql:/u:PW@db:5432/app"),
            Err("a server URL needs `//` after `postgresql:`".to_owned())
        );
    }

    #[test]
    fn sqlite_urls_resolve_against_the_project() {
        let root = Path::new("/proj");
        let n = |u: &str| normalize_url(u, root).map(|(_, s, _)| s).map_err(|_| ());
        assert_eq!(
            n("sqlite:///app.db").as_deref(),
            Ok("sqlite:///proj/app.db")
        );
        assert_eq!(
            n("sqlite:///./app.db").as_deref(),
            Ok("sqlite:///proj/app.db")
        );
        assert_eq!(
            n("sqlite:data/app.db").as_deref(),
            Ok("sqlite:///proj/data/app.db")
        );
        assert_eq!(
            n("sqlite://app.db?mode=rwc").as_deref(),
            Ok("sqlite:///proj/app.db?mode=rwc")
        );
        assert_eq!(
            n("sqlite:////abs/app.db").as_deref(),
            Ok("sqlite:///abs/app.db")
        );
        // `/tmp` exists at the root, so this is our own absolute form.
        assert_eq!(
            n("sqlite:///tmp/x/app.db").as_deref(),
            Ok("sqlite:///tmp/x/app.db")
        );
        assert_eq!(n("sqlite://").as_deref(), Ok("sqlite::memory:"));
        assert_eq!(n("sqlite:///:memory:").as_deref(), Ok("sqlite::memory:"));
    }
}
