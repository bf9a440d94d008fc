//! The secrets audit: every command, successful and failing, with the most verbose
//! logging, JSON logs, a log file, `--format json` and the audit plugin, against the
//! real PostgreSQL and MariaDB servers as a user whose password has quotes, spaces, a
//! tab, a newline, `@`, `/`, `%`, `:`, `?`, `#` and non-ASCII characters; the password
//! must appear nowhere. And a malformed URL never connects anywhere.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use sqlalembic::config::RedactedUrl;
use sqlalembic::db::testing::{TestDb, server_url};
use sqlalembic::db::{Backend, Connection};
use sqlalembic::plugins::CACHE_ENV;
use sqlalembic::plugins::testing::{rust_component, shared_cache_dir};
use sqlalembic::redact::percent_encode;

use crate::harness::{Project, Run};

/// Every form of the password (raw, percent-encoded, JSON-escaped) contains this.
const CORE: &str = "Zk9Qx";
const PASSWORD: &str = "Zk9Qx'a b\t\"c@d/e%f:g?h#i&j=k\nl€ß";
/// A wrong password of the same kind.
const WRONG_CORE: &str = "Wr7Yv";
const WRONG: &str = "Wr7Yv' x\t\"y@z/%:?#\n→";
/// PostgreSQL's SCRAM clients SASLprep the password, which forbids control
/// characters: its user gets the same password without the tab and the newline.
const PASSWORD_PG: &str = "Zk9Qx'a b \"c@d/e%f:g?h#i&j=k l€ß";

/// The password of the test user on `backend`.
fn password(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => PASSWORD_PG,
        _ => PASSWORD,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn exec(url: &str, backend: Backend, sql: &[String]) {
    rt().block_on(async {
        let mut c = Connection::connect(&RedactedUrl::new(url.to_owned()), backend)
            .await
            .expect("connect as the test user");
        for s in sql {
            c.execute(s)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", s.replace(password(backend), "<pw>")));
        }
        c.close().await;
    });
}

/// `'text'` as an SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A user with [`password`] owning what it needs in a fresh database; dropped at the end.
struct SecretUser {
    backend: Backend,
    name: String,
    db: Option<TestDb>,
    host: String,
    port: u16,
}

impl SecretUser {
    fn new(backend: Backend) -> SecretUser {
        let db = rt().block_on(TestDb::new(backend));
        let server = url::Url::parse(&server_url(backend)).expect("server URL");
        let name = format!("sa_secret_{}", std::process::id());
        let pw = literal(password(backend));
        match backend {
            Backend::Postgres => {
                exec(
                    &server_url(backend),
                    backend,
                    &[
                        format!("DROP ROLE IF EXISTS {name}"),
                        format!("CREATE ROLE {name} LOGIN PASSWORD {pw}"),
                    ],
                );
                exec(
                    &db.url,
                    backend,
                    &[format!("GRANT ALL ON SCHEMA public TO {name}")],
                );
            }
            _ => {
                let mut sql = Vec::new();
                for host in ["%", "localhost"] {
                    sql.push(format!("DROP USER IF EXISTS '{name}'@'{host}'"));
                    sql.push(format!("CREATE USER '{name}'@'{host}' IDENTIFIED BY {pw}"));
                    sql.push(format!(
                        "GRANT ALL PRIVILEGES ON `{}`.* TO '{name}'@'{host}'",
                        db.name()
                    ));
                }
                exec(&server_url(backend), backend, &sql);
            }
        }
        SecretUser {
            backend,
            name,
            host: server.host_str().expect("host").to_owned(),
            port: server.port().expect("port"),
            db: Some(db),
        }
    }

    fn url_with(&self, password: &str, port: u16) -> String {
        let scheme = match self.backend {
            Backend::Postgres => "postgresql",
            _ => "mariadb+pymysql",
        };
        let db = self.db.as_ref().expect("database").name();
        format!(
            "{scheme}://{}:{}@{}:{port}/{db}",
            self.name,
            percent_encode(password),
            self.host
        )
    }

    fn url(&self) -> String {
        self.url_with(password(self.backend), self.port)
    }
}

impl Drop for SecretUser {
    fn drop(&mut self) {
        drop(self.db.take());
        let sql = match self.backend {
            Backend::Postgres => vec![format!("DROP ROLE IF EXISTS {}", self.name)],
            _ => ["%", "localhost"]
                .iter()
                .map(|h| format!("DROP USER IF EXISTS '{}'@'{h}'", self.name))
                .collect(),
        };
        let (backend, server) = (self.backend, server_url(self.backend));
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(mut c) = Connection::connect(&RedactedUrl::new(server), backend).await
                    {
                        for s in sql {
                            let _ = c.execute(&s).await;
                        }
                        c.close().await;
                    }
                });
            }
        })
        .join();
    }
}

/// Every file under `dir`, as text.
fn files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((
                path.display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            ));
        }
    }
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for core in [CORE, WRONG_CORE] {
        assert!(!text.contains(core), "{what} shows a password:\n{text}");
    }
}

/// A port on 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// One audited command: its arguments, its settings, the exit code it must have.
type AuditRun<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, i32);

fn audit(backend: Backend) {
    let user = SecretUser::new(backend);
    let p = Project::new();
    p.run(&["startproject", "."]).success();
    std::fs::create_dir_all(p.path().join("logs")).expect("mkdir logs");
    p.write(
        "sqlalembic.toml",
        &format!(
            "[logging]\nLOGGING_LEVEL = \"DEBUG\"\n\n[[plugins]]\nname = \"audit\"\npath = \"{}\"\nallow = {{ write = [\"logs\"] }}\n",
            rust_component("audit").display().to_string().replace('\\', "/")
        ),
    );
    let cache = shared_cache_dir().display().to_string();
    let url = user.url();
    let wrong = user.url_with(WRONG, user.port);
    let down = user.url_with(password(backend), closed_port());
    let port = user.port.to_string();
    let db = user.db.as_ref().expect("database").name().to_owned();
    let engine = match backend {
        Backend::Postgres => "postgresql",
        _ => "mysql",
    };
    let by_url: Vec<(&str, &str)> = vec![("DATABASE_URL", url.as_str())];
    let by_parts: Vec<(&str, &str)> = vec![
        ("DB_ENGINE", engine),
        ("DB_HOST", user.host.as_str()),
        ("DB_PORT", port.as_str()),
        ("DB_USER", user.name.as_str()),
        ("SQLALEMBIC_DB_PASS", password(backend)),
        ("DB_NAME", db.as_str()),
    ];
    let json_file: Vec<(&str, &str)> =
        vec![("LOGGING_FORMAT", "json"), ("LOGGING_FILE", "logs/run.log")];
    let pattern: Vec<(&str, &str)> = vec![(
        "LOGGING_FORMAT",
        "%(asctime)s %(name)s %(levelname)s %(funcName)s %(message)r",
    )];
    let mut runs: Vec<AuditRun> = Vec::new();
    let mut make = by_url.clone();
    make.extend(json_file.iter().copied());
    runs.push((vec!["makemigrations", "Initial schema"], make, 0));
    for logs in [&json_file, &pattern] {
        for source in [&by_url, &by_parts] {
            for (args, code) in [
                (vec!["config"], 0),
                (vec!["status"], 0),
                (vec!["migrate", "--sql"], 0),
                (vec!["migrate"], 0),
                (vec!["check"], 0),
                (vec!["current"], 0),
                (vec!["rollback"], 0),
                // A pending revision: `check` fails.
                (vec!["check"], 1),
                (vec!["migrate"], 0),
            ] {
                let mut env = source.clone();
                env.extend(logs.iter().copied());
                runs.push((args, env, code));
            }
        }
        for (failing, code) in [(&wrong, 3), (&down, 3)] {
            for args in [vec!["status"], vec!["migrate"], vec!["check"]] {
                let mut env = vec![("DATABASE_URL", failing.as_str())];
                env.extend(logs.iter().copied());
                runs.push((args, env, code));
            }
        }
        // A wrong DB_PASS.
        let mut env: Vec<(&str, &str)> = by_parts
            .iter()
            .copied()
            .filter(|(k, _)| *k != "SQLALEMBIC_DB_PASS")
            .collect();
        env.push(("DB_PASS", WRONG));
        env.extend(logs.iter().copied());
        runs.push((vec!["rollback"], env, 3));
    }
    for (args, env, code) in runs {
        let mut all = vec!["-vvv", "--format", "json"];
        all.extend(args.iter().copied());
        let mut env = env;
        env.push((CACHE_ENV, cache.as_str()));
        let run: Run = p.run_env(&all, &env);
        let what = format!("{backend:?} {args:?} {:?}", env.first());
        assert_eq!(run.code, code, "{what}: {run:#?}");
        assert_clean(&format!("{what} stdout"), &run.stdout);
        assert_clean(&format!("{what} stderr"), &run.stderr);
    }
    let mut written = Vec::new();
    files(p.path(), &mut written);
    for name in ["logs/run.log", "logs/audit.jsonl"] {
        let path = p.path().join(name).display().to_string();
        let text = written
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("{name} was not written"));
        assert!(text.lines().count() > 20, "{name} is too short:\n{text}");
    }
    for (path, text) in &written {
        assert_clean(path, text);
    }
}

#[test]
fn secrets_audit_postgres() {
    audit(Backend::Postgres);
}

#[test]
fn secrets_audit_mysql() {
    audit(Backend::Mysql);
}

/// `postgresql:/u:PW@db/app` (one slash) used to connect to the driver's default host
/// with the rest as the database name, sending the password there. It is refused before
/// anything connects, with the URL masked and the fix.
#[test]
fn a_one_slash_url_connects_nowhere() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let port = listener.local_addr().expect("addr").port().to_string();
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    for url in [
        format!("postgresql:/app:{CORE}pw@127.0.0.1:{port}/app"),
        format!("postgresql:app:{CORE}pw@127.0.0.1:{port}/app"),
        format!("mysql:/app:{CORE}pw@127.0.0.1:{port}/app"),
        format!("app:{CORE}pw@127.0.0.1:{port}/app"),
    ] {
        for command in ["migrate", "status", "config"] {
            // The PostgreSQL driver's defaults point at the listener.
            let run = p.run_env(
                &["-vvv", command],
                &[
                    ("DATABASE_URL", url.as_str()),
                    ("PGHOST", "127.0.0.1"),
                    ("PGPORT", port.as_str()),
                    ("LOGGING_FILE", "run.log"),
                ],
            );
            assert_eq!(run.code, 2, "{url} {command}: {run:#?}");
            assert_clean(&format!("{url} {command}"), &run.all());
            assert!(
                run.stderr.contains("Invalid database URL `")
                    && run.stderr.contains(":***@127.0.0.1:"),
                "{url} {command}: {run:#?}"
            );
            if url.starts_with("postgresql:") || url.starts_with("mysql:") {
                assert!(
                    run.stderr.contains("a server URL needs `//` after")
                        && run.stderr.contains("://` followed by the host"),
                    "{url} {command}: {run:#?}"
                );
            }
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    match listener.accept() {
        Ok((mut stream, _)) => {
            let mut got = Vec::new();
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = stream.read_to_end(&mut got);
            panic!(
                "the listener was reached and received {:?}",
                String::from_utf8_lossy(&got)
            );
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
    }
    assert!(!p.path().join("database.db").exists());
}
