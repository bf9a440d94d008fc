//! Throwaway databases for tests, on the servers `scripts/test-db` starts.
//!
//! Each call creates a database with a unique name, so tests run in parallel without
//! seeing each other's tables. The server URLs come from `DATABASE_URL_POSTGRES` and
//! `DATABASE_URL_MYSQL`; when one is missing the test fails with the command that
//! starts the servers — it never skips silently.

use std::sync::atomic::{AtomicU32, Ordering};

use super::{Backend, Connection};
use crate::config::RedactedUrl;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The env var naming the server URL of `backend` (`None` for SQLite).
pub fn server_env(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some("DATABASE_URL_POSTGRES"),
        Backend::Mysql => Some("DATABASE_URL_MYSQL"),
    }
}

/// The server URL of `backend`, or a panic explaining how to start the servers.
pub fn server_url(backend: Backend) -> String {
    let var = server_env(backend).expect("SQLite needs no server");
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{var} is not set: start the test servers with `eval \"$(scripts/test-db)\"` \
             (or run the whole suite with `scripts/test`)"
        ),
    }
}

/// A fresh, empty database; dropped when the value is dropped (server engines).
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// Creates a new empty database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "t_{}_{}_{n}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join(format!("{name}.db"));
                TestDb {
                    backend,
                    url: format!("sqlite://{}", path.display()),
                    name,
                    _dir: Some(dir),
                }
            }
            _ => {
                let server = server_url(backend);
                let mut admin = Connection::connect(&RedactedUrl::new(server.clone()), backend)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("cannot reach the {} test server: {e}", backend.name())
                    });
                admin
                    .execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await;
                let url = with_database(&server, &name);
                TestDb {
                    backend,
                    url,
                    name,
                    _dir: None,
                }
            }
        }
    }

    pub fn redacted_url(&self) -> RedactedUrl {
        RedactedUrl::new(self.url.clone())
    }

    /// A new connection to this database.
    pub async fn connect(&self) -> Connection {
        Connection::connect(&self.redacted_url(), self.backend)
            .await
            .expect("connect to test database")
    }

    /// The database's name (server engines) or file stem (SQLite).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.backend == Backend::Sqlite {
            return;
        }
        let server = server_url(self.backend);
        let backend = self.backend;
        let sql = match backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        // Drop may run inside or outside a runtime: use a private one on a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(mut c) = Connection::connect(&RedactedUrl::new(server), backend).await
                    {
                        let _ = c.execute(&sql).await;
                        c.close().await;
                    }
                });
            }
        })
        .join();
    }
}

/// `server` with its database path replaced by `name`.
pub fn with_database(server: &str, name: &str) -> String {
    match url::Url::parse(server) {
        Ok(mut u) => {
            u.set_path(&format!("/{name}"));
            u.to_string()
        }
        Err(_) => server.to_owned(),
    }
}
