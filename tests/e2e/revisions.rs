//! The revision engine end to end on SQLite: files, graph commands, migrate/rollback,
//! stamp, merge, squash, failures, offline SQL, concurrency, signals.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sqlalembic::config::RedactedUrl;
use sqlalembic::db::testing::TestDb;
use sqlalembic::db::{Backend, Connection};
use sqlalembic::signals::{Dispatcher, HandlerMode, Signal, Verdict};

use crate::harness::Project;

/// A project with a versions folder and a fresh, empty database on `backend`.
struct Db {
    p: Project,
    db: TestDb,
}

impl std::ops::Deref for Db {
    type Target = Project;
    fn deref(&self) -> &Project {
        &self.p
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn project_on(backend: Backend) -> Db {
    let db = rt().block_on(TestDb::new(backend));
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        &format!("[database]\nDATABASE_URL = \"{}\"\n", db.url),
    );
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    Db { p, db }
}

/// A SQLite project whose database file is `app.db` in the project.
fn project() -> Project {
    let p = Project::new();
    p.write("sqlalembic.toml", "[database]\nDB_NAME = \"app.db\"\n");
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    p
}

fn rev(p: &Project, id: &str, down: Option<&str>, body: &str) -> PathBuf {
    let down = down
        .map(|d| format!("down_revision = \"{d}\"\n"))
        .unwrap_or_default();
    p.write(
        &format!("migrations/versions/{id}_rev.toml"),
        &format!("revision = \"{id}\"\n{down}message = \"rev {id}\"\n\n{body}"),
    )
}

const USERS: &str = r#"
[[upgrade]]
op = "create_table"
table = "users"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "name", type = "varchar(50)", nullable = false },
]

[[downgrade]]
op = "drop_table"
table = "users"
"#;

const POSTS: &str = r#"
[[upgrade]]
op = "create_table"
table = "posts"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "title", type = "varchar(200)", nullable = false },
  { name = "user_id", type = "integer", nullable = false },
]
foreign_keys = [{ columns = ["user_id"], references = "users(id)", ondelete = "cascade" }]

[[downgrade]]
op = "drop_table"
table = "posts"
"#;

const ADD_EMAIL: &str = r#"
[[upgrade]]
op = "add_column"
table = "users"
column = { name = "email", type = "varchar(120)" }

[[downgrade]]
op = "drop_column"
table = "users"
column = "email"
"#;

const A: &str = "aaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbb";
const C: &str = "cccccccccccc";

/// Runs `sql` against the project's SQLite database `app.db`.
fn query(p: &Project, sql: &str) -> Vec<Vec<Option<String>>> {
    let url = RedactedUrl::new(format!("sqlite://{}", p.path().join("app.db").display()));
    query_url(&url, Backend::Sqlite, sql)
}

fn query_url(url: &RedactedUrl, backend: Backend, sql: &str) -> Vec<Vec<Option<String>>> {
    rt().block_on(async {
        let mut c = Connection::connect(url, backend).await.expect("connect");
        let rows = c.query_text(sql).await.expect("query");
        c.close().await;
        rows
    })
}

fn first_column(rows: Vec<Vec<Option<String>>>) -> Vec<String> {
    let mut v: Vec<String> = rows
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect();
    v.sort();
    v
}

fn versions(p: &Project) -> Vec<String> {
    first_column(query(p, "SELECT version_num FROM alembic_version"))
}

fn tables(p: &Project) -> Vec<String> {
    first_column(query(
        p,
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    ))
}

impl Db {
    fn columns(&self, table: &str) -> Vec<String> {
        let sql = match self.db.backend {
            Backend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
            Backend::Postgres => format!(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            Backend::Mysql => format!(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
        };
        first_column(self.query(&sql))
    }

    fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        query_url(&self.db.redacted_url(), self.db.backend, sql)
    }

    fn versions(&self) -> Vec<String> {
        first_column(self.query("SELECT version_num FROM alembic_version"))
    }

    fn tables(&self) -> Vec<String> {
        let sql = match self.db.backend {
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            }
            Backend::Postgres => {
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()"
            }
            Backend::Mysql => {
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()"
            }
        };
        first_column(self.query(sql))
    }
}

/// Runs a scenario once per database: `sqlite`, `postgres`, `mysql` tests.
macro_rules! on_every_database {
    ($($name:ident),* $(,)?) => {
        $(mod $name {
            use sqlalembic::db::Backend;
            #[test]
            fn sqlite() {
                super::$name(super::project_on(Backend::Sqlite));
            }
            #[test]
            fn postgres() {
                super::$name(super::project_on(Backend::Postgres));
            }
            #[test]
            fn mysql() {
                super::$name(super::project_on(Backend::Mysql));
            }
        })*
    };
}

on_every_database!(
    validate_repair_accepts_a_message_edit_and_refuses_an_ops_edit,
    upgrade_downgrade_and_version_rows,
    branches_merge_and_unmerge,
    stamp_then_migrate,
    failing_revision_is_reported_and_rolled_back,
    concurrent_migrate_applies_each_revision_once,
    fresh_reset_and_status,
    single_transaction_mode,
    lock_timeout_names_the_holder,
);

fn upgrade_downgrade_and_version_rows(p: Db) {
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    rev(&p, C, Some(B), ADD_EMAIL);
    p.run(&["migrate", "+1"]).success();
    assert_eq!(p.versions(), [A]);
    p.run(&["migrate"]).success();
    assert_eq!(p.versions(), [C]);
    let tables = p.tables();
    for t in ["users", "posts", "alembic_version", "sqlalembic_history"] {
        assert!(tables.contains(&t.to_owned()), "{t} missing: {tables:?}");
    }
    p.query("INSERT INTO users (id, name, email) VALUES (1, 'ann', 'a@x')");
    let hist = p.query("SELECT revision, direction FROM sqlalembic_history ORDER BY id");
    assert_eq!(hist.len(), 3);
    p.run(&["rollback"]).success();
    assert_eq!(p.versions(), [B]);
    assert_eq!(
        p.query("SELECT name FROM users").len(),
        1,
        "rows survive the downgrade"
    );
    p.run(&["rollback", "base"]).success();
    assert!(p.versions().is_empty());
    assert!(!p.tables().contains(&"users".to_owned()));
    let run = p.run(&["status", "--format", "json"]);
    run.success();
    assert_eq!(run.json()["pending"].as_array().map(Vec::len), Some(3));
}

fn branches_merge_and_unmerge(p: Db) {
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), "");
    rev(&p, C, Some(A), "");
    p.run(&["migrate", B]).success();
    assert_eq!(p.versions(), [B]);
    p.run(&["migrate", "heads"]).success();
    assert_eq!(p.versions(), [B, C]);
    p.run(&["merge", "heads", "-m", "join"]).success();
    p.run(&["migrate"]).success();
    assert_eq!(p.versions().len(), 1);
    p.run(&["rollback", C]).success();
    assert_eq!(p.versions(), [B, C]);
    p.run(&["rollback", A]).success();
    assert_eq!(p.versions(), [A]);
}

fn stamp_then_migrate(p: Db) {
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    // Adopt a database whose users table exists already.
    p.run(&["migrate", A]).success();
    p.run(&["stamp", "base", "--purge"]).success();
    assert!(p.versions().is_empty());
    p.run(&["stamp", A]).success();
    p.run(&["migrate"]).success();
    assert_eq!(p.versions(), [B]);
}

fn failing_revision_is_reported_and_rolled_back(p: Db) {
    rev(&p, A, None, USERS);
    rev(
        &p,
        B,
        Some(A),
        "[[upgrade]]\nop = \"add_column\"\ntable = \"users\"\ncolumn = { name = \"age\", type = \"integer\" }\n\n[[upgrade]]\nop = \"sql\"\nsql = \"INSERT INTO no_such_table VALUES (1)\"\n",
    );
    let run = p.run(&["migrate"]);
    run.code(3);
    assert!(run.stderr.contains(B), "{run:#?}");
    assert!(
        run.stderr.contains("INSERT INTO no_such_table VALUES (1)"),
        "{run:#?}"
    );
    assert_eq!(
        p.versions(),
        [A],
        "the version table stays at the last applied revision"
    );
    if p.db.backend == Backend::Mysql {
        // DDL commits at once on MySQL: the report lists what ran, and `status` keeps
        // showing the half-applied revision with the way out.
        assert!(run.stderr.contains("NOT rolled back"), "{run:#?}");
        assert!(
            run.stderr
                .contains("failed; it was partly applied and is not recorded as applied"),
            "{run:#?}"
        );
        assert!(run.stderr.contains("age"), "{run:#?}");
        assert!(run.stderr.contains(&format!("stamp {B}")), "{run:#?}");
        let status = p.run(&["status", "--format", "json"]);
        status.success();
        let problems = status.json()["problems"].to_string();
        assert!(
            problems.contains("partially-applied") && problems.contains(B),
            "{problems}"
        );
        let status = p.run(&["status"]);
        assert!(status.stdout.contains("failed"), "{status:#?}");
        assert!(status.stdout.contains("hint: "), "{status:#?}");
    } else {
        assert!(
            !p.columns("users").contains(&"age".to_owned()),
            "add_column was rolled back"
        );
    }
}

fn concurrent_migrate_applies_each_revision_once(p: Db) {
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    rev(
        &p,
        C,
        Some(B),
        "[[upgrade]]\nop = \"sql\"\nsql = \"INSERT INTO users (id, name) VALUES (1, 'once')\"\n",
    );
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("sqlalembic"));
            cmd.current_dir(p.path())
                .env_clear()
                .env("NO_COLOR", "1")
                .args(["migrate", "head"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(p.versions(), [C]);
    assert_eq!(p.query("SELECT revision FROM sqlalembic_history").len(), 3);
    assert_eq!(p.query("SELECT name FROM users").len(), 1);
}

fn single_transaction_mode(p: Db) {
    rev(&p, A, None, USERS);
    rev(
        &p,
        B,
        Some(A),
        "[[upgrade]]\nop = \"sql\"\nsql = \"INSERT INTO no_such_table VALUES (1)\"\n",
    );
    let env = [("MIGRATION_TRANSACTION_PER_MIGRATION", "false")];
    let run = p.run_env(&["migrate"], &env);
    run.code(3);
    if p.db.backend == Backend::Mysql {
        // No transactional DDL: each revision still commits on its own.
        assert_eq!(p.versions(), [A]);
    } else {
        assert!(run.stderr.contains("whole run was rolled back"), "{run:#?}");
        assert!(
            !p.tables().contains(&"users".to_owned()),
            "{:?}",
            p.tables()
        );
        assert!(p.tables().is_empty() || p.versions().is_empty());
    }
}

/// MySQL commits DDL at once, so a revision is rendered and checked whole before any
/// of it runs: an op MariaDB cannot run (an expression index) or the dialect cannot
/// render (a VARCHAR without length) stops it with nothing applied.
#[test]
fn mysql_refuses_a_revision_it_cannot_run_before_running_any_of_it() {
    let p = project_on(Backend::Mysql);
    rev(&p, A, None, USERS);
    p.run(&["migrate"]).success();
    let add_age = "[[upgrade]]\nop = \"add_column\"\ntable = \"users\"\n\
                   column = { name = \"age\", type = \"integer\" }\n\n";
    for (second, says) in [
        (
            "[[upgrade]]\nop = \"create_index\"\nname = \"ix_users_lower_name\"\n\
             table = \"users\"\ncolumns = [\"lower(name)\"]\n",
            "MariaDB cannot run it: it has no expression indexes (`lower(name)`",
        ),
        (
            "[[upgrade]]\nop = \"add_column\"\ntable = \"users\"\n\
             column = { name = \"nick\", type = \"varchar\" }\n",
            "MySQL needs a length for VARCHAR",
        ),
    ] {
        let file = rev(&p, B, Some(A), &format!("{add_age}{second}"));
        let run = p.run(&["migrate"]);
        run.code(2);
        assert!(run.stderr.contains(says), "{run:#?}");
        assert!(
            !p.columns("users").contains(&"age".to_owned()),
            "nothing ran"
        );
        assert_eq!(p.versions(), [A]);
        std::fs::remove_file(file).expect("rm");
    }
    // What a `sql` op creates is not refused for being unknown: the ops after it are
    // rendered from the schema read again.
    rev(
        &p,
        B,
        Some(A),
        "[[upgrade]]\nop = \"sql\"\nsql = \"CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)\"\n\n\
         [[upgrade]]\nop = \"alter_column\"\ntable = \"notes\"\ncolumn = \"body\"\n\
         type = \"varchar(200)\"\n",
    );
    p.run(&["migrate"]).success();
    assert_eq!(p.versions(), [B]);
}

/// PostgreSQL's `ALTER TYPE ... ADD VALUE` cannot run inside a transaction: in
/// single-transaction mode it ends the run's transaction (as Alembic's
/// `autocommit_block` does), and the user is told so.
#[test]
fn single_transaction_mode_says_when_a_statement_commits_it() {
    let p = project_on(Backend::Postgres);
    let mood = |values: &str| {
        format!(
            "[[upgrade]]\nop = \"create_table\"\ntable = \"moods\"\ncolumns = [\n  \
             {{ name = \"id\", type = \"integer\", primary_key = true }},\n  \
             {{ name = \"m\", type = \"enum(mood, {values})\" }},\n]\n"
        )
    };
    rev(&p, A, None, &mood("'a', 'b'"));
    rev(
        &p,
        B,
        Some(A),
        "[[upgrade]]\nop = \"alter_column\"\ntable = \"moods\"\ncolumn = \"m\"\n\
         type = \"enum(mood, 'a', 'b', 'c')\"\nexisting_type = \"enum(mood, 'a', 'b')\"\n",
    );
    let env = [("MIGRATION_TRANSACTION_PER_MIGRATION", "false")];
    let run = p.run_env(&["migrate"], &env);
    run.success();
    assert!(
        run.stderr.contains(
            "commits the run's transaction so far (MIGRATION_TRANSACTION_PER_MIGRATION = false)"
        ) && run.stderr.contains("ALTER TYPE"),
        "{run:#?}"
    );
    assert_eq!(p.versions(), [B]);
    p.query("INSERT INTO moods (id, m) VALUES (1, 'c')");
}

fn lock_timeout_names_the_holder(p: Db) {
    rev(&p, A, None, USERS);
    let url = p.db.redacted_url();
    let backend = p.db.backend;
    let rt = rt();
    let mut holder = rt
        .block_on(Connection::connect(&url, backend))
        .expect("connect");
    let take = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE".to_owned(),
        Backend::Postgres => format!(
            "SELECT pg_advisory_lock({})",
            sqlalembic::runner::lock::advisory_key("alembic_version")
        ),
        Backend::Mysql => format!(
            "SELECT GET_LOCK('sqlalembic:{}:alembic_version', 0)",
            p.db.name()
        ),
    };
    // SQLite: the run's lock is a lock on the file next to the database.
    let mut lock_file = None;
    if backend == Backend::Sqlite {
        let db = p.db.url.trim_start_matches("sqlite://").to_owned();
        let file = std::fs::File::create(format!("{db}.lock")).expect("lock file");
        file.lock().expect("lock");
        lock_file = Some(file);
    } else {
        rt.block_on(holder.execute(&take)).expect("take lock");
    }
    let run = p.run_env(&["migrate"], &[("MIGRATION_LOCK_TIMEOUT", "1")]);
    drop(lock_file);
    run.code(3);
    assert!(run.stderr.contains("holds the lock"), "{run:#?}");
    rt.block_on(holder.close());
    p.run(&["migrate"]).success();
    assert_eq!(p.versions(), [A]);
}

fn fresh_reset_and_status(p: Db) {
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    p.run(&["migrate"]).success();
    p.query("INSERT INTO users (id, name) VALUES (1, 'ann')");
    p.run(&["fresh", "--confirm"]).success();
    assert_eq!(p.versions(), [B]);
    assert!(
        p.query("SELECT * FROM users").is_empty(),
        "fresh starts from empty tables"
    );
    p.run(&["reset", "--confirm"]).success();
    assert!(p.versions().is_empty());
    let run = p.run(&["status"]);
    run.success();
    assert!(run.stdout.contains("Pending:    2"), "{run:#?}");
}

#[test]
fn readme_flow_startproject_empty_revision_migrate_status() {
    let p = Project::new();
    p.run(&["startproject", "demo"]).success();
    let run = p.run(&["-C", "demo", "makemigrations", "--empty", "first step"]);
    run.success();
    assert!(run.stdout.contains("Created revision"), "{run:#?}");
    let files: Vec<_> = std::fs::read_dir(p.path().join("demo/migrations/versions"))
        .expect("versions")
        .collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].as_ref().expect("entry").path()).expect("read");
    assert!(text.contains("# op = \"create_table\""), "{text}");
    assert!(!text.contains("upgrade = []"), "{text}");
    p.run(&["-C", "demo", "migrate"]).success();
    let run = p.run(&["-C", "demo", "status"]);
    run.success();
    assert!(run.stdout.contains("(head)"), "{run:#?}");
    assert!(run.stdout.contains("up to date"), "{run:#?}");
}

#[test]
fn migrate_and_rollback_apply_ops_and_keep_alembic_rows() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    let run = p.run(&["migrate"]);
    run.success();
    assert!(run.stdout.contains("Applied 2 revisions"), "{run:#?}");
    assert_eq!(versions(&p), [B]);
    assert!(tables(&p).contains(&"posts".to_owned()));
    // History: one row per step with a sha256 checksum.
    let hist = query(
        &p,
        "SELECT revision, direction, checksum FROM sqlalembic_history ORDER BY id",
    );
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[0][0].as_deref(), Some(A));
    assert_eq!(hist[0][1].as_deref(), Some("upgrade"));
    assert_eq!(hist[0][2].as_deref().map(str::len), Some(64));

    p.run(&["rollback"]).success();
    assert_eq!(versions(&p), [A]);
    assert!(!tables(&p).contains(&"posts".to_owned()));
    p.run(&["rollback", "base"]).success();
    assert!(versions(&p).is_empty());
    assert!(!tables(&p).contains(&"users".to_owned()));
    // Already at base: nothing to do (as Alembic); one step below base is an error.
    let run = p.run(&["rollback", "base"]);
    run.success();
    assert!(run.stdout.contains("Nothing to downgrade"), "{run:#?}");
    p.run(&["rollback", "-1"]).code(2);
}

#[test]
fn relative_and_prefix_targets() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    rev(&p, C, Some(B), "");
    p.run(&["migrate", "+1"]).success();
    assert_eq!(versions(&p), [A]);
    p.run(&["migrate", "bbbb"]).success();
    assert_eq!(versions(&p), [B]);
    p.run(&["migrate", "head"]).success();
    assert_eq!(versions(&p), [C]);
    p.run(&["rollback", "-2"]).success();
    assert_eq!(versions(&p), [A]);
}

#[test]
fn ambiguous_prefix_lists_the_matches() {
    let p = project();
    rev(&p, "abcd00000001", None, "");
    rev(&p, "abcd00000002", Some("abcd00000001"), "");
    let run = p.run(&["migrate", "abcd"]);
    run.code(2);
    assert!(
        run.stderr.contains("abcd00000001") && run.stderr.contains("abcd00000002"),
        "{run:#?}"
    );
}

#[test]
fn unknown_revision_is_a_usage_error() {
    let p = project();
    rev(&p, A, None, "");
    let run = p.run(&["migrate", "ffffffffffff"]);
    run.code(2);
    assert!(run.stderr.contains("ffffffffffff"), "{run:#?}");
}

#[test]
fn a_failing_statement_leaves_the_previous_revision_and_names_everything() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(
        &p,
        B,
        Some(A),
        "[[upgrade]]\nop = \"sql\"\nsql = \"CREATE TABLE half (id INTEGER)\"\n\n[[upgrade]]\nop = \"sql\"\nsql = \"INSERT INTO no_such_table VALUES (1)\"\n",
    );
    let run = p.run(&["migrate"]);
    run.code(3);
    for needle in [B, "no_such_table", "INSERT INTO no_such_table VALUES (1)"] {
        assert!(run.stderr.contains(needle), "{needle}: {run:#?}");
    }
    assert_eq!(versions(&p), [A]);
    assert!(
        !tables(&p).contains(&"half".to_owned()),
        "the failed revision left a table"
    );
    assert!(tables(&p).contains(&"users".to_owned()));
}

#[test]
fn a_broken_file_is_refused_before_the_database_is_touched() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(
        &p,
        B,
        Some(A),
        "[[upgrade]]\nop = \"create_tabel\"\ntable = \"x\"\n",
    );
    let run = p.run(&["migrate"]);
    run.code(2);
    assert!(run.stderr.contains("bbbbbbbbbbbb_rev.toml:"), "{run:#?}");
    assert!(
        run.stderr.contains("create_table"),
        "suggests the closest op: {run:#?}"
    );
    assert!(
        !p.path().join("app.db").exists() || tables(&p).is_empty(),
        "{:?}",
        tables(&p)
    );

    let p = project();
    p.write("migrations/versions/xyz_bad.toml", "revision = \"xyz\"\n");
    let run = p.run(&["status"]);
    run.code(2);
    assert!(run.stderr.contains("xyz_bad.toml:1:"), "{run:#?}");
}

#[test]
fn several_heads_merge_and_branch_labels() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), "");
    rev(&p, C, Some(A), "");
    let run = p.run(&["migrate", "head"]);
    run.code(2);
    assert!(run.stderr.contains("Multiple head revisions"), "{run:#?}");
    assert!(run.stderr.contains(B) && run.stderr.contains(C), "{run:#?}");
    p.run(&["migrate", "heads"]).success();
    assert_eq!(versions(&p), [B, C]);
    let run = p.run(&["status", "--format", "json"]);
    run.success();
    let json = run.json();
    assert_eq!(json["current"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["pending"].as_array().map(Vec::len), Some(0));
    assert!(json["problems"].to_string().contains("multiple-heads"));

    let run = p.run(&["merge", "heads", "-m", "join"]);
    run.success();
    let run = p.run(&["heads", "--format", "json"]);
    let heads = run.json();
    assert_eq!(heads.as_array().map(Vec::len), Some(1));
    let merge_id = heads[0]["revision"].as_str().expect("id").to_owned();
    assert_eq!(heads[0]["down_revision"].as_array().map(Vec::len), Some(2));
    p.run(&["migrate"]).success();
    assert_eq!(versions(&p), [merge_id]);
    // Unmerge: back to the two heads (`-1` from a merge is an ambiguous walk, as in Alembic).
    let run = p.run(&["rollback", "-1"]);
    run.code(2);
    assert!(run.stderr.contains("Ambiguous walk"), "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "hint: Name the revision to go to instead, one of: `{B}`, `{C}`"
        )),
        "{run:#?}"
    );
    p.run(&["rollback", B]).success();
    assert_eq!(versions(&p), [B, C]);
}

#[test]
fn new_branch_from_base_with_a_label() {
    let p = project();
    rev(&p, A, None, USERS);
    let run = p.run(&[
        "makemigrations",
        "--empty",
        "--head",
        "base",
        "--branch-label",
        "reports",
        "start reports",
    ]);
    run.success();
    let run = p.run(&["heads", "--format", "json"]);
    let heads = run.json();
    assert_eq!(heads.as_array().map(Vec::len), Some(2));
    p.run(&["migrate", "reports@head"]).success();
    assert_eq!(versions(&p).len(), 1);
    assert_ne!(versions(&p), [A]);
    p.run(&["migrate", "heads"]).success();
    assert_eq!(versions(&p).len(), 2);
}

#[test]
fn stamp_and_purge() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    p.run(&["stamp", "head"]).success();
    assert_eq!(versions(&p), [B]);
    assert!(
        !tables(&p).contains(&"posts".to_owned()),
        "stamp must not run migrations"
    );
    p.run(&["stamp", A]).success();
    assert_eq!(versions(&p), [A]);
    p.run(&["stamp", "base", "--purge"]).success();
    assert!(versions(&p).is_empty());
}

#[test]
fn offline_sql_needs_no_database() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    let run = p.run(&["migrate", "--sql"]);
    run.success();
    assert!(run.stdout.contains("CREATE TABLE"), "{run:#?}");
    assert!(run.stdout.contains("posts"), "{run:#?}");
    assert!(run.stdout.contains("alembic_version"), "{run:#?}");
    assert!(!p.path().join("app.db").exists(), "--sql must not connect");
    let run = p.run(&["rollback", &format!("{B}:{A}"), "--sql"]);
    run.success();
    assert!(run.stdout.contains("DROP TABLE"), "{run:#?}");
    let run = p.run(&["show", B, "--sql"]);
    run.success();
    assert!(run.stdout.contains("CREATE TABLE"), "{run:#?}");
    // Another dialect, still without a server.
    let pg = p.run(&["migrate", "--sql", "--dialect", "postgresql"]);
    pg.success();
    assert!(pg.stdout.contains("SERIAL"), "{pg:#?}");
    assert!(pg.stdout.contains("BEGIN;"), "{pg:#?}");
    let my = p.run(&["migrate", "--sql", "--dialect", "mysql"]);
    my.success();
    assert!(my.stdout.contains("AUTO_INCREMENT"), "{my:#?}");
    assert!(
        !my.stdout.contains("BEGIN;"),
        "MySQL has no transactional DDL: {my:#?}"
    );
}

#[test]
fn dry_run_lists_steps_and_changes_nothing() {
    let p = project();
    rev(&p, A, None, USERS);
    let run = p.run(&["migrate", "--dry-run"]);
    run.success();
    assert!(run.stdout.contains(A), "{run:#?}");
    assert!(!p.path().join("app.db").exists());
}

#[test]
fn history_list_current_and_json_shapes() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    p.run(&["migrate", A]).success();
    let run = p.run(&["history", "--format", "json"]);
    run.success();
    let list = run.json();
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["revision"], B);
    assert_eq!(list[0]["down_revision"], A);
    assert_eq!(list[1]["down_revision"], serde_json::Value::Null);
    assert_eq!(list[0]["applied"], false);
    assert_eq!(list[1]["applied"], true);
    for key in ["branch_labels", "depends_on", "message", "file"] {
        assert!(list[0].get(key).is_some(), "{key}");
    }
    let run = p.run(&["history"]);
    assert!(
        run.stdout.contains(&format!("{A} -> {B} (head), rev {B}")),
        "{run:#?}"
    );
    let run = p.run(&["list", "--pending-only"]);
    assert!(
        run.stdout.contains(B) && !run.stdout.contains(&format!("] {A}")),
        "{run:#?}"
    );
    let run = p.run(&["list", "--applied-only"]);
    assert!(
        run.stdout.contains(A) && !run.stdout.contains(B),
        "{run:#?}"
    );
    let run = p.run(&["current"]);
    assert_eq!(run.stdout.trim(), A);
    let run = p.run(&["history", "--graph"]);
    assert!(run.stdout.contains("* "), "{run:#?}");
    let run = p.run(&["graph", "--format", "dot"]);
    assert!(
        run.stdout.contains(&format!("\"{A}\" -> \"{B}\"")),
        "{run:#?}"
    );
    let run = p.run(&["graph", "--format", "mermaid"]);
    assert!(run.stdout.contains(&format!("r{A} --> r{B}")), "{run:#?}");
}

#[test]
fn check_and_validate_gate() {
    let p = project();
    let path = rev(&p, A, None, USERS);
    p.run(&["check"]).code(1);
    p.run(&["migrate"]).success();
    p.run(&["check"]).success();
    p.run(&["validate"]).success();
    // Editing an applied revision is reported; CRLF alone is not an edit.
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace('\n', "\r\n")).expect("write");
    p.run(&["validate"]).success();
    std::fs::write(&path, text.replace("varchar(50)", "varchar(80)")).expect("write");
    let run = p.run(&["validate"]);
    run.code(1);
    assert!(
        run.stdout.contains("changed after it was applied"),
        "{run:#?}"
    );
}

#[test]
fn fresh_and_reset_need_confirmation_and_refuse_production() {
    let p = project();
    rev(&p, A, None, USERS);
    p.run(&["migrate"]).success();
    p.run(&["reset"]).code(2);
    p.run(&["fresh"]).code(2);
    let run = p.run_env(&["reset", "--confirm"], &[("ENVIRONMENT", "production")]);
    run.code(2);
    assert!(run.stderr.contains("production"), "{run:#?}");
    assert_eq!(versions(&p), [A]);
    p.run(&["fresh", "--confirm"]).success();
    assert_eq!(versions(&p), [A]);
    p.run(&["reset", "--confirm"]).success();
    assert!(versions(&p).is_empty());
}

#[test]
fn squash_keeps_applied_databases_valid() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    rev(&p, C, Some(B), "");
    p.run(&["migrate", B]).success();
    let run = p.run(&["squash", A, B, "-m", "initial", "--format", "json"]);
    run.success();
    let new_id = run.json()["revision"].as_str().expect("id").to_owned();
    let run = p.run(&["status", "--format", "json"]);
    run.success();
    assert_eq!(
        run.json()["pending"].as_array().map(Vec::len),
        Some(1),
        "{run:#?}"
    );
    // The database still names the replaced revision; both commands say by what.
    let current = p.run(&["current"]);
    assert_eq!(
        current.stdout.trim(),
        format!("{B} (replaced by {new_id})"),
        "{current:#?}"
    );
    let status = p.run(&["status"]);
    assert!(
        status
            .stdout
            .contains(&format!("Current:    {B}  (replaced by {new_id})  initial")),
        "{status:#?}"
    );
    p.run(&["migrate"]).success();
    assert_eq!(versions(&p), [C]);
    // A fresh database gets the squashed revision.
    std::fs::remove_file(p.path().join("app.db")).expect("rm");
    p.run(&["migrate"]).success();
    assert_eq!(versions(&p), [C]);
    let hist = query(&p, "SELECT revision FROM sqlalembic_history ORDER BY id");
    assert_eq!(hist[0][0].as_deref(), Some(new_id.as_str()));
}

#[test]
fn sqlite_alter_column_rebuilds_the_table_and_keeps_rows() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    rev(
        &p,
        C,
        Some(B),
        "[[upgrade]]\nop = \"alter_column\"\ntable = \"users\"\ncolumn = \"name\"\ntype = \"text\"\nnullable = true\nexisting_type = \"varchar(50)\"\nexisting_nullable = false\n\n[[downgrade]]\nop = \"alter_column\"\ntable = \"users\"\ncolumn = \"name\"\ntype = \"varchar(50)\"\nnullable = false\n",
    );
    p.run(&["migrate", B]).success();
    query(&p, "INSERT INTO users (id, name) VALUES (1, 'ann')");
    query(
        &p,
        "INSERT INTO posts (id, title, user_id) VALUES (1, 'hello', 1)",
    );
    p.run(&["migrate"]).success();
    let rows = query(&p, "SELECT name FROM users");
    assert_eq!(rows, vec![vec![Some("ann".to_owned())]]);
    let posts = query(&p, "SELECT title FROM posts");
    assert_eq!(posts.len(), 1, "the rebuild must not cascade into posts");
    let fk = query(&p, "PRAGMA foreign_key_list(posts)");
    assert_eq!(fk.len(), 1);
    p.run(&["rollback"]).success();
    assert_eq!(query(&p, "SELECT name FROM users").len(), 1);
}

#[test]
fn runner_signals_fire_in_order() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), POSTS);
    let dispatcher = Dispatcher::new();
    let seen = Arc::new(Mutex::new(Vec::<Signal>::new()));
    let sink = Arc::clone(&seen);
    dispatcher.connect_fn("*", "rec", HandlerMode::Observer, move |s: &Signal| {
        sink.lock().expect("lock").push(s.clone());
        Ok(Verdict::Proceed)
    });
    let args = [
        "sqlalembic",
        "-q",
        "-C",
        &p.path().display().to_string(),
        "migrate",
    ]
    .map(String::from);
    assert_eq!(sqlalembic::cli::run_with(args, &dispatcher), 0);
    let seen = seen.lock().expect("lock");
    let names: Vec<&str> = seen.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "migration_migrate_command",
            "alembic_command_started",
            "revision_applied",
            "revision_applied",
            "alembic_command_completed",
            "command_finished"
        ]
    );
    assert_eq!(seen[1].payload["revisions"], serde_json::json!([A, B]));
    assert_eq!(seen[2].payload["revision"], A);
    assert_eq!(seen[3].payload["revision"], B);
}

#[test]
fn a_policy_can_deny_the_engine_run() {
    let p = project();
    rev(&p, A, None, USERS);
    let dispatcher = Dispatcher::new();
    dispatcher.connect_fn(
        "alembic_command_started",
        "freeze",
        HandlerMode::Policy,
        |_s: &Signal| Ok(Verdict::Deny("Deploy freeze".to_owned())),
    );
    let args = [
        "sqlalembic",
        "-q",
        "-C",
        &p.path().display().to_string(),
        "migrate",
    ]
    .map(String::from);
    assert_eq!(sqlalembic::cli::run_with(args, &dispatcher), 4);
    assert!(!p.path().join("app.db").exists() || tables(&p).is_empty());
}

#[test]
fn raw_sql_revisions_apply_and_roll_back() {
    let p = project();
    rev(&p, A, None, USERS);
    p.write(
        &format!("migrations/versions/{B}_raw.sql"),
        &format!(
            "-- revision: {B}\n-- down_revision: {A}\n-- message: raw sql\n\n-- +upgrade\nCREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT DEFAULT 'a;b');\nINSERT INTO audit (note) VALUES ('it''s; here');\n\n-- +downgrade\nDROP TABLE audit;\n"
        ),
    );
    p.run(&["migrate"]).success();
    assert_eq!(versions(&p), [B]);
    let rows = query(&p, "SELECT note FROM audit");
    assert_eq!(rows, vec![vec![Some("it's; here".to_owned())]]);
    p.run(&["rollback"]).success();
    assert!(!tables(&p).contains(&"audit".to_owned()));
}

/// A trigger whose `BEGIN ... END` body holds `;` (and a `CASE ... END`) is one
/// statement, from a `.sql` revision and from a `sql` op; on MySQL also inside
/// `DELIMITER` lines. Each trigger fires on insert.
fn triggers_with_bodies_are_created_whole(p: Db) {
    let mysql = p.db.backend == Backend::Mysql;
    let (timing, setter) = if mysql {
        (
            "BEFORE",
            "SET NEW.n = CASE WHEN NEW.n IS NULL THEN 0 ELSE NEW.n + 1 END;",
        )
    } else {
        ("AFTER", "SELECT CASE WHEN NEW.n IS NULL THEN 0 ELSE 1 END;")
    };
    p.write(
        &format!("migrations/versions/{A}_trigger.sql"),
        &format!(
            "-- revision: {A}\n-- message: trigger from a sql file\n\n-- +upgrade\n\
             CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER);\n\
             CREATE TABLE audit (item_id INTEGER, note VARCHAR(40));\n\
             CREATE TRIGGER items_audit {timing} INSERT ON items FOR EACH ROW\nBEGIN\n  \
             INSERT INTO audit (item_id, note) VALUES (NEW.id, 'added; from file');\n  \
             {setter}\nEND;\n\n-- +downgrade\nDROP TRIGGER items_audit;\nDROP TABLE audit;\nDROP TABLE items;\n"
        ),
    );
    let second = if mysql {
        "DELIMITER //\nCREATE TRIGGER items_audit2 AFTER INSERT ON items FOR EACH ROW\nBEGIN\n  \
         INSERT INTO audit (item_id, note) VALUES (NEW.id, 'again; from op');\n  \
         IF NEW.n > 100 THEN INSERT INTO audit (item_id, note) VALUES (NEW.id, 'big'); END IF;\nEND//\nDELIMITER ;\n"
    } else {
        "CREATE TRIGGER items_audit2 AFTER INSERT ON items FOR EACH ROW\nBEGIN\n  \
         INSERT INTO audit (item_id, note) VALUES (NEW.id, 'again; from op');\n  \
         INSERT INTO audit (item_id, note) SELECT NEW.id, 'big' WHERE NEW.n > 100;\nEND;\n"
    };
    rev(
        &p,
        B,
        Some(A),
        &format!(
            "[[upgrade]]\nop = \"sql\"\nsql = '''\n{second}'''\n\n\
             [[downgrade]]\nop = \"sql\"\nsql = \"DROP TRIGGER items_audit2\"\n"
        ),
    );
    p.run(&["migrate"]).success();
    assert_eq!(p.versions(), [B]);
    p.query("INSERT INTO items (id, n) VALUES (1, 500)");
    let notes = first_column(p.query("SELECT note FROM audit"));
    assert_eq!(
        notes,
        ["added; from file", "again; from op", "big"],
        "both triggers fired"
    );
    if mysql {
        let n = first_column(p.query("SELECT CAST(n AS CHAR) FROM items"));
        assert_eq!(n, ["501"], "the BEFORE trigger's CASE ran");
    }
    p.run(&["rollback", "base"]).success();
    assert!(
        !p.tables().contains(&"items".to_owned()),
        "{:?}",
        p.tables()
    );
}

mod triggers_with_bodies_are_created_whole {
    use sqlalembic::db::Backend;
    #[test]
    fn sqlite() {
        super::triggers_with_bodies_are_created_whole(super::project_on(Backend::Sqlite));
    }
    #[test]
    fn mysql() {
        super::triggers_with_bodies_are_created_whole(super::project_on(Backend::Mysql));
    }
}

#[test]
fn a_bad_revision_id_is_refused_with_its_location() {
    let p = project();
    p.write(
        "migrations/versions/ab12_x.toml",
        "revision = \"ab12\"\nmessage = \"x\"\n",
    );
    let run = p.run(&["migrate"]);
    run.code(2);
    assert!(run.stderr.contains("ab12_x.toml:1:"), "{run:#?}");
    assert!(
        run.stderr.contains("12"),
        "explains the id format: {run:#?}"
    );
}

#[test]
fn missing_parent_and_cycles_name_the_revisions() {
    let p = project();
    rev(&p, B, Some(A), "");
    let run = p.run(&["heads"]);
    run.code(2);
    assert!(run.stderr.contains(A) && run.stderr.contains(B), "{run:#?}");

    // A cycle names each of its files and revisions, and not what only hangs off it.
    let p = project();
    rev(&p, A, Some(B), "");
    rev(&p, B, Some(A), "");
    rev(&p, C, Some(A), "");
    let run = p.run(&["heads"]);
    run.code(2);
    assert!(
        run.stderr.contains("Cycle is detected in revisions"),
        "{run:#?}"
    );
    for line in [
        format!("  {A}  migrations/versions/{A}_rev.toml -> {B}"),
        format!("  {B}  migrations/versions/{B}_rev.toml -> {A}"),
    ] {
        assert!(run.stderr.contains(&line), "{line}\n{run:#?}");
    }
    assert!(run.stderr.contains("these 2 files form it"), "{run:#?}");
    assert!(!run.stderr.contains(&format!("{C}_rev.toml")), "{run:#?}");
    assert!(run.stderr.contains("to break the cycle"), "{run:#?}");
    let run = p.run(&["validate"]);
    run.code(1);
    assert!(
        run.stdout
            .contains(&format!("  {B}  migrations/versions/{B}_rev.toml -> {A}")),
        "{run:#?}"
    );
}

/// A server that is down, a wrong password, a database that does not exist: one line,
/// exit 3, host:port named, password never shown.
#[test]
fn connection_problems_are_one_line_errors() {
    for backend in [Backend::Postgres, Backend::Mysql] {
        let server = sqlalembic::db::testing::server_url(backend);
        let mut url = url::Url::parse(&server).expect("url");
        let port = url.port().expect("port");
        let p = project();
        rev(&p, A, None, USERS);

        let mut down = url.clone();
        down.set_port(Some(1)).expect("port");
        let mut wrong_pw = url.clone();
        wrong_pw.set_password(Some("Wr0ng-Pw-123")).expect("pw");
        url.set_path("/no_such_database_here");
        for (case, u, needle) in [
            ("down", down.to_string(), "127.0.0.1:1".to_owned()),
            (
                "password",
                wrong_pw.to_string(),
                format!("127.0.0.1:{port}"),
            ),
            (
                "database",
                url.to_string(),
                "no_such_database_here".to_owned(),
            ),
        ] {
            let run = p.run(&["--database-url", &u, "migrate"]);
            run.code(3);
            let line = run.stderr.trim();
            assert_eq!(line.lines().count(), 1, "{backend:?} {case}: {run:#?}");
            assert!(line.contains(&needle), "{backend:?} {case}: {run:#?}");
            assert!(
                !run.all().contains("Wr0ng-Pw-123"),
                "{backend:?} {case}: {run:#?}"
            );
            assert!(
                !run.all().contains(":sqlalembic@"),
                "{backend:?} {case}: {run:#?}"
            );
        }
    }
}

/// TLS options in the URL reach the driver: `disable` connects in the clear, `require`
/// fails against the test servers (which have no certificates) with the reason.
#[test]
fn tls_options_pass_through_from_the_url() {
    for (backend, off, on) in [
        (Backend::Postgres, "sslmode=disable", "sslmode=require"),
        (Backend::Mysql, "ssl-mode=disabled", "ssl-mode=required"),
    ] {
        let server = sqlalembic::db::testing::server_url(backend);
        let p = project();
        rev(&p, A, None, "");
        let run = p.run(&["--database-url", &format!("{server}?{off}"), "current"]);
        run.success();
        let run = p.run(&["--database-url", &format!("{server}?{on}"), "current"]);
        run.code(3);
        let err = run.stderr.to_lowercase();
        assert!(
            err.contains("tls") || err.contains("ssl"),
            "{backend:?}: {run:#?}"
        );
    }
}

#[test]
fn branches_and_history_ranges() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(&p, B, Some(A), "");
    rev(&p, C, Some(A), "");
    let run = p.run(&["branches"]);
    run.success();
    assert!(
        run.stdout.contains(&format!("{A} (branchpoint)")),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains(&format!("-> {B}")) && run.stdout.contains(&format!("-> {C}")),
        "{run:#?}"
    );
    let run = p.run(&[
        "history",
        "--range",
        &format!("{A}:{B}"),
        "--format",
        "json",
    ]);
    run.success();
    let ids: Vec<String> = run
        .json()
        .as_array()
        .expect("list")
        .iter()
        .map(|v| v["revision"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, [B, A]);
    let run = p.run(&["history", "--range", "nocolon"]);
    run.code(2);
    let run = p.run(&["current", "--verbose"]);
    run.success();
    assert!(run.stdout.contains("Current revision(s)"), "{run:#?}");
    let run = p.run(&["heads", "--verbose"]);
    run.success();
    assert!(run.stdout.contains("Parent: "), "{run:#?}");
}

#[test]
fn json_errors_carry_the_diagnostics() {
    let p = project();
    p.write(
        "migrations/versions/aaaaaaaaaaaa_x.toml",
        "revision = \"aaaaaaaaaaaa\"\n\n[[upgrade]]\nop = \"add_colum\"\n",
    );
    let run = p.run(&["--format", "json", "migrate"]);
    run.code(2);
    let doc = run.json();
    let d = &doc["diagnostics"][0];
    assert_eq!(d["line"], 4, "{doc}");
    assert!(
        d["path"]
            .as_str()
            .unwrap_or_default()
            .ends_with("aaaaaaaaaaaa_x.toml"),
        "{doc}"
    );
    assert!(d["hints"].to_string().contains("add_column"), "{doc}");
}

#[test]
fn validate_reports_an_applied_revision_whose_file_vanished() {
    let p = project();
    rev(&p, A, None, USERS);
    let b = rev(&p, B, Some(A), POSTS);
    p.run(&["migrate"]).success();
    std::fs::remove_file(b).expect("rm");
    let run = p.run(&["validate"]);
    run.code(1);
    assert!(
        run.stdout.contains(B) && run.stdout.contains("no revision file"),
        "{run:#?}"
    );
    let run = p.run(&["status", "--format", "json"]);
    run.success();
    assert!(
        run.json()["problems"]
            .to_string()
            .contains("unknown-revision"),
        "{run:#?}"
    );
}

#[test]
fn validate_reads_every_body_and_names_the_mistake() {
    let p = project();
    rev(&p, A, None, USERS);
    p.run(&["migrate"]).success();
    rev(
        &p,
        B,
        Some(A),
        "[[upgrade]]\nop = \"add_colum\"\ntable = \"users\"\ncolumn = { name = \"x\", type = \"integer\" }\n",
    );
    // Headers are fine, so the graph commands still work ...
    p.run(&["heads"]).success();
    // ... and the gate reads the body, naming the file (relative), line and column.
    let run = p.run(&["validate"]);
    run.code(1);
    let at = format!("migrations/versions/{B}_rev.toml:6:6");
    assert!(
        run.stdout
            .contains(&format!("REV011: {at}: Unknown op `add_colum`")),
        "{run:#?}"
    );
    // Printed once, not once as a diagnostic and again in the list.
    assert_eq!(
        run.all().matches("Unknown op `add_colum`").count(),
        1,
        "{run:#?}"
    );
    let run = p.run(&["--format", "json", "validate"]);
    run.code(1);
    assert_eq!(run.json()["problems"][0]["revision"], B, "{run:#?}");
    assert_eq!(
        run.all().matches("Unknown op `add_colum`").count(),
        1,
        "{run:#?}"
    );
    // `status` lists the pending file that does not parse as a problem.
    let run = p.run(&["status"]);
    run.success();
    assert!(run.stdout.contains("Problems:   1\n"), "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("  - {at}: Unknown op `add_colum`")),
        "{run:#?}"
    );
    let run = p.run(&["--format", "json", "status"]);
    assert_eq!(run.json()["problems"][0]["code"], "REV011", "{run:#?}");
    // Nothing ran: the database stays at A.
    let run = p.run(&["migrate"]);
    run.code(2);
    assert!(run.stderr.starts_with(&at), "{run:#?}");
    assert_eq!(
        p.run(&["current"]).stdout.split_whitespace().next(),
        Some(A)
    );
}

/// Data migrations (`sql` ops only) never read the catalog; the first op that renders
/// from the schema after one reads it once, and sees what the SQL did.
#[test]
fn sql_ops_read_the_schema_only_when_a_later_op_needs_it() {
    let p = project();
    rev(&p, A, None, USERS);
    rev(
        &p,
        B,
        Some(A),
        "[[upgrade]]\nop = \"sql\"\nsql = \"INSERT INTO users (id, name) VALUES (1, 'ann')\"\n\n\
         [[upgrade]]\nop = \"sql\"\nsql = \"CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT)\"\n\n\
         [[upgrade]]\nop = \"sql\"\nsql = \"INSERT INTO audit (id, what) VALUES (1, 'x')\"\n",
    );
    // A column drop rebuilds `audit` on SQLite: it needs the table the SQL created.
    rev(
        &p,
        C,
        Some(B),
        "[[upgrade]]\nop = \"drop_column\"\ntable = \"audit\"\ncolumn = \"what\"\n",
    );
    let reads = |run: &crate::harness::Run| run.stderr.matches("Schema read for rendering").count();
    let run = p.run(&["-vv", "migrate", "+1"]);
    run.success();
    assert_eq!(
        reads(&run),
        1,
        "create_table renders from the schema: {run:#?}"
    );
    let run = p.run(&["-vv", "migrate", "+1"]);
    run.success();
    assert_eq!(reads(&run), 0, "three sql ops: {run:#?}");
    let run = p.run(&["-vv", "migrate"]);
    run.success();
    assert_eq!(reads(&run), 1, "{run:#?}");
    assert_eq!(versions(&p), [C]);
}

#[test]
fn clean_removes_caches_and_nothing_else() {
    let p = project();
    rev(&p, A, None, USERS);
    p.run(&["migrate"]).success();
    p.write(".sqlalembic/cache/discovery/x.json", "{}");
    p.write(".sqlalembic/state.json", "{}");
    p.run(&["clean", "--cache-only"]).success();
    assert!(!p.path().join(".sqlalembic/cache").exists());
    assert!(p.path().join(".sqlalembic/state.json").exists());
    p.run(&["clean"]).success();
    assert!(!p.path().join(".sqlalembic").exists());
    assert!(
        p.path().join("app.db").exists(),
        "the database is never touched"
    );
    assert!(
        p.path()
            .join(format!("migrations/versions/{A}_rev.toml"))
            .exists()
    );
    let run = p.run(&["clean"]);
    run.success();
    assert!(run.stdout.contains("Nothing to clean"), "{run:#?}");
}

/// `validate --repair`: an applied revision whose message (or comments) changed gets
/// its new checksum recorded; one whose ops changed is refused unless `--force`, and
/// so is a row written before ops were recorded.
fn validate_repair_accepts_a_message_edit_and_refuses_an_ops_edit(p: Db) {
    let a = rev(&p, A, None, USERS);
    let b = rev(&p, B, Some(A), POSTS);
    p.run(&["migrate"]).success();
    p.run(&["validate"]).success();
    let checksum_of = |id: &str| {
        first_column(p.query(&format!(
            "SELECT checksum FROM sqlalembic_history WHERE revision = '{id}' AND direction = 'upgrade'"
        )))
    };
    let before_b = checksum_of(B);

    // A message and a comment edited: validate fails, --repair accepts it.
    let text = std::fs::read_to_string(&a).expect("read");
    let edited = text.replace(
        &format!("message = \"rev {A}\""),
        "message = \"create users\"\n# reviewed",
    );
    assert_ne!(edited, text);
    std::fs::write(&a, &edited).expect("write");
    let run = p.run(&["validate"]);
    run.code(1);
    assert!(run.stdout.contains("validate --repair"), "{run:#?}");
    let run = p.run(&["validate", "--repair"]);
    run.success();
    assert!(
        run.stderr
            .contains(&format!("Recorded the new checksum of {A}"))
            && run.stderr.contains("its ops are unchanged"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("No problems found"), "{run:#?}");
    p.run(&["validate"]).success();
    assert_eq!(checksum_of(B), before_b, "the other revision is untouched");

    // An op edited: refused, nothing recorded, the problem stays.
    let text = std::fs::read_to_string(&b).expect("read");
    std::fs::write(&b, text.replace("varchar(200)", "varchar(300)")).expect("write");
    let run = p.run(&["validate", "--repair"]);
    run.code(1);
    assert!(
        run.stderr.contains("changed nothing")
            && run.stderr.contains(&format!("{B} ("))
            && run.stderr.contains("its ops changed")
            && run.stderr.contains("--force"),
        "{run:#?}"
    );
    assert_eq!(checksum_of(B), before_b);
    p.run(&["validate"]).code(1);
    // --force accepts it, saying so.
    let run = p.run(&["validate", "--repair", "--force"]);
    run.success();
    assert!(run.stderr.contains("its ops changed (--force)"), "{run:#?}");
    p.run(&["validate"]).success();

    // A row from before ops were recorded: its ops cannot be compared.
    p.query(&format!(
        "UPDATE sqlalembic_history SET ops_checksum = NULL WHERE revision = '{A}'"
    ));
    let text = std::fs::read_to_string(&a).expect("read");
    std::fs::write(&a, text.replace("# reviewed", "# reviewed twice")).expect("write");
    let run = p.run(&["validate", "--repair"]);
    run.code(1);
    assert!(run.stderr.contains("were not recorded"), "{run:#?}");
    p.run(&["validate", "--repair", "--force"]).success();
    p.run(&["validate"]).success();
    // --force alone is refused by the argument parser.
    p.run(&["validate", "--force"]).code(2);
}
