//! The runner under crashes, interrupts, concurrency and lost servers, against real
//! SQLite, PostgreSQL and MariaDB: `kill -9` inside revisions, many processes at once,
//! Ctrl-C, a server stopped mid-run. Each test prints its figures (cases, kills,
//! failures) to stderr.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlalembic::config::RedactedUrl;
use sqlalembic::db::testing::TestDb;
use sqlalembic::db::{Backend, Connection};

use crate::harness::{Project, Run};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A project with a versions folder and a database on one backend.
struct Db {
    p: Project,
    backend: Backend,
    url: String,
    _db: Option<TestDb>,
}

impl std::ops::Deref for Db {
    type Target = Project;
    fn deref(&self) -> &Project {
        &self.p
    }
}

fn project_on(backend: Backend) -> Db {
    let db = rt().block_on(TestDb::new(backend));
    let url = db.url.clone();
    project_at(backend, url, Some(db))
}

fn project_at(backend: Backend, url: String, db: Option<TestDb>) -> Db {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        &format!(
            "[database]\nDATABASE_URL = \"{url}\"\n\n[migration]\nMIGRATION_LOCK_TIMEOUT = 60\n"
        ),
    );
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    Db {
        p,
        backend,
        url,
        _db: db,
    }
}

/// The id of the `i`-th revision (1-based).
fn rev_id(i: usize) -> String {
    format!("{i:012}")
}

/// Revision `i`: records a mark row, creates table `t_i`; the downgrade undoes both.
/// The `sql` op comes first and the DDL last, so on MySQL (DDL commits at once) the
/// only way to be cut off inside it is around `t_i`.
fn write_marked_revision(p: &Project, i: usize, extra_up: &str) {
    let id = rev_id(i);
    let down = if i > 1 {
        format!("down_revision = \"{}\"\n", rev_id(i - 1))
    } else {
        String::new()
    };
    p.write(
        &format!("migrations/versions/{id}_r{i}.toml"),
        &format!(
            "revision = \"{id}\"\n{down}message = \"rev {i}\"\n\n\
             [[upgrade]]\nop = \"sql\"\nsql = \"INSERT INTO marks (rev) VALUES ({i})\"\n\n\
             {extra_up}\
             [[upgrade]]\nop = \"create_table\"\ntable = \"t_{i}\"\ncolumns = [{{ name = \"id\", type = \"integer\", primary_key = true }}]\n\n\
             [[downgrade]]\nop = \"sql\"\nsql = \"DELETE FROM marks WHERE rev = {i}\"\n\n\
             [[downgrade]]\nop = \"drop_table\"\ntable = \"t_{i}\"\n"
        ),
    );
}

/// Revision 0 of a marked chain is the `marks` table itself, made before the chain by
/// hand so every revision of the chain looks alike.
fn write_chain(db: &Db, n: usize, extra_up: &str) {
    db.exec("CREATE TABLE marks (rev INTEGER NOT NULL)");
    for i in 1..=n {
        write_marked_revision(db, i, extra_up);
    }
}

impl Db {
    fn redacted(&self) -> RedactedUrl {
        RedactedUrl::new(self.url.clone())
    }

    fn try_query(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let (url, backend) = (self.redacted(), self.backend);
        rt().block_on(async {
            let mut c = Connection::connect(&url, backend)
                .await
                .map_err(|e| e.to_string())?;
            let rows = c.query_text(sql).await.map_err(|e| e.to_string());
            c.close().await;
            rows
        })
    }

    fn query(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        self.try_query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    fn exec(&self, sql: &str) {
        let (url, backend) = (self.redacted(), self.backend);
        rt().block_on(async {
            let mut c = Connection::connect(&url, backend).await.expect("connect");
            c.execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.close().await;
        });
    }

    fn column(&self, sql: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .query(sql)
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect();
        v.sort();
        v
    }

    fn versions(&self) -> Vec<String> {
        if !self.has_table("alembic_version") {
            return Vec::new();
        }
        self.column("SELECT version_num FROM alembic_version")
    }

    fn tables(&self) -> Vec<String> {
        let sql = match self.backend {
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
        self.column(sql)
    }

    fn has_table(&self, name: &str) -> bool {
        self.tables().iter().any(|t| t == name)
    }

    /// History rows as (revision, direction, state), oldest first.
    fn history(&self) -> Vec<(String, String, Option<String>)> {
        if !self.has_table("sqlalembic_history") {
            return Vec::new();
        }
        self.query("SELECT revision, direction, state FROM sqlalembic_history ORDER BY id")
            .into_iter()
            .map(|r| {
                let text = |i: usize| r.get(i).cloned().flatten().unwrap_or_default();
                (text(0), text(1), r.get(2).cloned().flatten())
            })
            .collect()
    }

    /// The mark count of every revision 1..=n.
    fn marks(&self, n: usize) -> Vec<usize> {
        let rows = self.column("SELECT CAST(rev AS CHAR(12)) FROM marks");
        (1..=n)
            .map(|i| rows.iter().filter(|r| r.trim() == i.to_string()).count())
            .collect()
    }

    /// `sqlalembic` as a child process with piped output (to kill it).
    fn spawn(&self, args: &[&str]) -> Child {
        spawn_in(self.path(), args)
    }
}

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sqlalembic")
}

fn spawn_in(dir: &Path, args: &[&str]) -> Child {
    let mut cmd = Command::new(binary());
    cmd.current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in ["PATH", "HOME"] {
        if let Some(v) = std::env::var_os(var) {
            cmd.env(var, v);
        }
    }
    cmd.spawn().expect("spawn sqlalembic")
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().expect("wait");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `kill -9` and reap.
fn kill9(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits until `cond` holds, at most `limit`.
#[track_caller]
fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A small deterministic generator, so every run kills at the same moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A statement that takes about `secs` seconds on `backend`.
fn slow_sql(backend: Backend, secs: u32) -> String {
    match backend {
        Backend::Postgres => format!("SELECT pg_sleep({secs})"),
        Backend::Mysql => format!("SELECT SLEEP({secs})"),
        // No sleep function: count through a long recursive sequence.
        Backend::Sqlite => format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {}) SELECT count(*) FROM c",
            secs * 4_000_000
        ),
    }
}

fn sql_op(sql: &str) -> String {
    format!("[[upgrade]]\nop = \"sql\"\nsql = \"{sql}\"\n\n")
}

const MADE: &str = "[[upgrade]]\nop = \"create_table\"\ntable = \"made\"\ncolumns = [{ name = \"id\", type = \"integer\", primary_key = true }]\n\n";
const LATER: &str = "[[upgrade]]\nop = \"create_table\"\ntable = \"later\"\ncolumns = [{ name = \"id\", type = \"integer\", primary_key = true }]\n\n";

fn write_rev(p: &Project, id: &str, down: Option<&str>, body: &str) {
    let down = down
        .map(|d| format!("down_revision = \"{d}\"\n"))
        .unwrap_or_default();
    p.write(
        &format!("migrations/versions/{id}_rev.toml"),
        &format!("revision = \"{id}\"\n{down}message = \"rev {id}\"\n\n{body}"),
    );
}

/// Whether the statement `needle` runs on the server now (PostgreSQL, MariaDB).
fn server_runs(db: &Db, needle: &str) -> bool {
    let sql = match db.backend {
        Backend::Postgres => format!(
            "SELECT query FROM pg_stat_activity WHERE query LIKE '%{needle}%' AND pid <> pg_backend_pid()"
        ),
        _ => format!(
            "SELECT CAST(info AS CHAR) FROM information_schema.processlist WHERE info LIKE '%{needle}%' AND id <> CONNECTION_ID()"
        ),
    };
    db.try_query(&sql).is_ok_and(|rows| !rows.is_empty())
}

/// MariaDB commits DDL at once: a `kill -9` inside a revision leaves it recorded as
/// started. `status` shows it with the op that may have partly run, `migrate` refuses,
/// `repair` shows the choices and changes nothing, `repair --rerun` runs the rest and
/// `repair --mark-applied` records a revision finished by hand.
#[test]
fn mariadb_crash_inside_a_revision_is_shown_and_repaired() {
    let db = project_on(Backend::Mysql);
    let (a, b) = ("aaaaaaaaaaaa", "bbbbbbbbbbbb");
    let sleep = slow_sql(Backend::Mysql, 3);
    write_rev(&db, a, None, &format!("{MADE}{}{LATER}", sql_op(&sleep)));
    write_rev(&db, b, Some(a), &sql_op(&slow_sql(Backend::Mysql, 3)));

    let child = db.spawn(&["migrate", a]);
    wait_until(Duration::from_secs(30), "the sleep of revision a", || {
        server_runs(&db, "SLEEP(3)")
    });
    kill9(child);
    assert!(db.has_table("made") && !db.has_table("later"));
    assert!(db.versions().is_empty());

    let status = db.run(&["status"]);
    status.success();
    assert!(status.stdout.contains("Problems:   1"), "{status:#?}");
    for needle in [
        format!("The upgrade of revision {a} started on 20").as_str(),
        "did not finish",
        "op 1 of 3: Create table made (id) (finished)",
        "op 2 of 3: ",
        "(may have run, wholly or in part)",
        "op 3 of 3: Create table later (id) (did not run)",
        "sqlalembic repair",
    ] {
        assert!(status.stdout.contains(needle), "{needle}: {status:#?}");
    }
    let json = db.run(&["status", "--format", "json"]);
    assert!(
        json.json()["problems"]
            .to_string()
            .contains("\"interrupted\"")
    );

    let refused = db.run(&["migrate"]);
    refused.code(3);
    assert!(refused.stderr.contains("did not finish"), "{refused:#?}");
    assert!(refused.stderr.contains("repair --rerun"), "{refused:#?}");
    assert!(db.versions().is_empty() && !db.has_table("later"));

    let shown = db.run(&["repair"]);
    shown.code(1);
    assert!(shown.stdout.contains("Nothing was changed"), "{shown:#?}");
    assert!(shown.stdout.contains("--mark-applied"), "{shown:#?}");

    let rerun = db.run(&["repair", "--rerun"]);
    rerun.success();
    assert!(
        rerun.stdout.contains(&format!(
            "Will run ops 2-3 of the upgrade of {a} (the first 1 finished)"
        )),
        "{rerun:#?}"
    );
    assert_eq!(db.versions(), [a]);
    assert!(db.has_table("later"));
    let history = db.history();
    assert_eq!(
        history,
        [(a.to_owned(), "upgrade".to_owned(), None)],
        "one finished row, no started one"
    );

    // A crash in b, which the user then finishes by hand.
    let child = db.spawn(&["migrate"]);
    wait_until(Duration::from_secs(30), "the sleep of revision b", || {
        server_runs(&db, "SLEEP(3)")
    });
    kill9(child);
    // Nothing of b committed: its only op is not DDL, the started row rolled back.
    assert_eq!(db.history().len(), 1, "{:?}", db.history());
    db.run(&["status"]).success();
    let nothing = db.run(&["repair", "--mark-applied"]);
    nothing.code(2);
    assert!(nothing.stderr.contains("Nothing to repair"), "{nothing:#?}");

    let c = "cccccccccccc";
    write_rev(
        &db,
        c,
        Some(b),
        &format!("{MADE_C}{}", sql_op(&slow_sql(Backend::Mysql, 4))),
    );
    let child = db.spawn(&["migrate", c]);
    wait_until(Duration::from_secs(30), "the sleep of revision c", || {
        server_runs(&db, "SLEEP(4)")
    });
    kill9(child);
    assert_eq!(db.versions(), [b], "b finished before c started");
    let marked = db.run(&["repair", "--mark-applied"]);
    marked.success();
    assert!(
        marked.stdout.contains(&format!(
            "Will record the upgrade of {c} as finished (version table and history) without running any of its ops"
        )),
        "{marked:#?}"
    );
    assert_eq!(db.versions(), [c]);
    assert!(db.history().iter().all(|(_, _, state)| state.is_none()));
    db.run(&["migrate"]).success();
    let status = db.run(&["status"]);
    assert!(status.stdout.contains("Problems:   none"), "{status:#?}");
    eprintln!("mariadb crash inside a revision: 3 kills, 2 repairs, 0 failures");
}

const MADE_C: &str = "[[upgrade]]\nop = \"create_table\"\ntable = \"made_c\"\ncolumns = [{ name = \"id\", type = \"integer\", primary_key = true }]\n\n";

/// Where DDL is transactional a killed revision leaves nothing: no started row, none of
/// its tables, and `status` has no problem; the rerun applies it.
fn kill_inside_a_transactional_revision(backend: Backend) {
    let db = project_on(backend);
    let a = "aaaaaaaaaaaa";
    write_rev(
        &db,
        a,
        None,
        &format!("{MADE}{}", sql_op(&slow_sql(backend, 3))),
    );
    let child = db.spawn(&["migrate"]);
    match backend {
        Backend::Postgres => wait_until(Duration::from_secs(30), "pg_sleep", || {
            server_runs(&db, "pg_sleep(3)")
        }),
        _ => {
            let journal = PathBuf::from(format!(
                "{}-journal",
                db.url.trim_start_matches("sqlite://")
            ));
            wait_until(Duration::from_secs(30), "the SQLite journal", || {
                journal.exists()
            });
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    kill9(child);
    assert!(!db.has_table("made"), "{:?}", db.tables());
    assert!(db.history().is_empty(), "{:?}", db.history());
    let status = db.run(&["status"]);
    status.success();
    assert!(status.stdout.contains("Problems:   none"), "{status:#?}");
    db.run(&["migrate"]).success();
    assert_eq!(db.versions(), [a]);
    assert_eq!(db.history(), [(a.to_owned(), "upgrade".to_owned(), None)]);
}

#[test]
fn postgres_kill_inside_a_revision_leaves_no_trace() {
    kill_inside_a_transactional_revision(Backend::Postgres);
}

#[test]
fn sqlite_kill_inside_a_revision_leaves_no_trace() {
    kill_inside_a_transactional_revision(Backend::Sqlite);
}

/// A history table made by an older version (no `state`, `ops_done`) is read as it
/// is by `status` and gains the columns on the next run, its rows kept.
#[test]
fn an_older_history_table_is_upgraded_in_place() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let db = project_on(backend);
        let (a, b) = ("aaaaaaaaaaaa", "bbbbbbbbbbbb");
        write_rev(&db, a, None, MADE);
        write_rev(&db, b, Some(a), LATER);
        let (id, ts) = match backend {
            Backend::Sqlite => ("id INTEGER PRIMARY KEY AUTOINCREMENT", "DATETIME"),
            Backend::Postgres => ("id SERIAL PRIMARY KEY", "TIMESTAMP"),
            Backend::Mysql => ("id INTEGER AUTO_INCREMENT PRIMARY KEY", "DATETIME"),
        };
        db.exec("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)");
        db.exec(&format!(
            "CREATE TABLE sqlalembic_history ({id}, revision VARCHAR(32) NOT NULL, \
             direction VARCHAR(16) NOT NULL, checksum VARCHAR(64), applied_at {ts} NOT NULL, \
             duration_ms BIGINT NOT NULL, tool_version VARCHAR(32) NOT NULL)"
        ));
        db.exec(&format!(
            "INSERT INTO sqlalembic_history (revision, direction, checksum, applied_at, duration_ms, tool_version) \
             VALUES ('{a}', 'upgrade', 'x', '2026-01-02 03:04:05', 7, 'old')"
        ));
        db.exec(&format!("INSERT INTO alembic_version VALUES ('{a}')"));
        db.exec("CREATE TABLE made (id INTEGER PRIMARY KEY)");
        let status = db.run(&["status"]);
        status.success();
        // The recorded checksum is not the file's: the message shows when it was applied.
        assert!(
            status
                .stdout
                .contains("after it was applied on 2026-01-02 03:04:05"),
            "{backend:?}: {status:#?}"
        );
        db.run(&["migrate"]).success();
        assert_eq!(db.versions(), [b]);
        let history = db.history();
        assert_eq!(history.len(), 2, "{backend:?}: {history:?}");
        assert!(history.iter().all(|(_, _, state)| state.is_none()));
        eprintln!("{backend:?}: older history table upgraded");
    }
}

/// Every revision of 1..=n is applied exactly once or not at all, agreeing with the
/// version table, and the history agrees; no started row is left.
#[track_caller]
fn assert_consistent(db: &Db, n: usize, what: &str) {
    let head = db.versions();
    assert!(head.len() <= 1, "{what}: {head:?}");
    let at: usize = head.first().map_or(0, |h| h.parse().expect("numeric id"));
    let marks = db.marks(n);
    let tables = db.tables();
    for i in 1..=n {
        let applied = i <= at;
        assert_eq!(
            marks[i - 1],
            usize::from(applied),
            "{what}: marks of {i}: {marks:?}"
        );
        assert_eq!(
            tables.contains(&format!("t_{i}")),
            applied,
            "{what}: table t_{i} at {at}"
        );
    }
    let history = db.history();
    assert!(
        history.iter().all(|(_, _, state)| state.is_none()),
        "{what}: {history:?}"
    );
    for i in 1..=n {
        let last = history
            .iter()
            .rev()
            .find(|(r, d, _)| *r == rev_id(i) && (d == "upgrade" || d == "downgrade"));
        let up = last.is_some_and(|(_, d, _)| d == "upgrade");
        assert_eq!(up, i <= at, "{what}: history of {i}: {last:?}");
    }
}

/// 8 processes run `migrate` on the same 30 revisions at once: each revision is
/// applied exactly once, the history has one row for each.
fn eight_processes_at_once(backend: Backend) {
    let db = project_on(backend);
    let n = 30;
    write_chain(&db, n, "");
    let children: Vec<Child> = (0..8).map(|_| db.spawn(&["migrate"])).collect();
    let runs: Vec<Run> = children.into_iter().map(finish).collect();
    let failures = runs.iter().filter(|r| r.code != 0).count();
    for r in &runs {
        r.success();
    }
    assert_consistent(&db, n, "after 8 concurrent runs");
    assert_eq!(db.versions(), [rev_id(n)]);
    let upgrades = db
        .history()
        .iter()
        .filter(|(_, d, _)| d == "upgrade")
        .count();
    assert_eq!(upgrades, n);
    eprintln!(
        "{backend:?}: 8 processes x {n} revisions: {} revisions applied, each once; {failures} failures",
        upgrades
    );
}

#[test]
fn concurrent_runs_apply_each_revision_once_sqlite() {
    eight_processes_at_once(Backend::Sqlite);
}

#[test]
fn concurrent_runs_apply_each_revision_once_postgres() {
    eight_processes_at_once(Backend::Postgres);
}

#[test]
fn concurrent_runs_apply_each_revision_once_mariadb() {
    eight_processes_at_once(Backend::Mysql);
}

/// Waits until no other session uses the test database (server backends).
fn wait_server_idle(db: &Db) {
    let sql = match db.backend {
        Backend::Sqlite => return,
        Backend::Postgres => {
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        }
        Backend::Mysql => {
            "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()"
        }
    };
    wait_until(Duration::from_secs(30), "the killed session to end", || {
        db.try_query(sql).is_ok_and(|rows| rows.is_empty())
    });
}

/// Resolves a started row the way a user would: the revision's last op creates (or,
/// downgrading, drops) `t_i`; whether that table is there says whether it ran.
fn resolve_started(db: &Db) -> bool {
    let Some((rev, direction, _)) = db
        .history()
        .into_iter()
        .find(|(_, _, state)| state.as_deref() == Some("started"))
    else {
        return false;
    };
    // A killed client's last statement may still be running on the server: look once
    // its session is gone (as `repair` itself waits for the lock that session held).
    wait_server_idle(db);
    let i: usize = rev.parse().expect("numeric id");
    let present = db.has_table(&format!("t_{i}"));
    let done = if direction == "upgrade" {
        present
    } else {
        !present
    };
    let action = if done { "--mark-applied" } else { "--rerun" };
    db.run(&["repair", action]).success();
    true
}

/// `kill -9` at seeded random moments of `migrate` and `rollback`; after each kill the
/// database is consistent (after `repair` where a started row was left), and the
/// last run ends at head with every revision applied once.
fn kills_at_random_moments(backend: Backend, seed: u64) {
    let db = project_on(backend);
    let n = 30;
    write_chain(&db, n, "");
    let mut rng = Rng(seed);
    let kills = 24;
    let mut repaired = 0;
    for k in 0..kills {
        let args: Vec<String> = if k % 2 == 0 {
            vec!["migrate".into()]
        } else {
            vec!["rollback".into(), "base".into()]
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = db.spawn(&args);
        std::thread::sleep(Duration::from_millis(150 + rng.below(900)));
        kill9(child);
        if resolve_started(&db) {
            repaired += 1;
        }
        assert_consistent(&db, n, &format!("after kill {k} of {args:?}"));
    }
    let last = db.run(&["migrate"]);
    last.success();
    assert_eq!(db.versions(), [rev_id(n)]);
    assert_consistent(&db, n, "after the final migrate");
    // No lock left: a run with a 1 s lock timeout gets it at once.
    let quick = db.run_env(&["rollback", "-1"], &[("MIGRATION_LOCK_TIMEOUT", "1")]);
    quick.success();
    eprintln!(
        "{backend:?}: {kills} kills (seed {seed}) during migrate/rollback, {repaired} started rows repaired, 0 inconsistencies"
    );
}

#[test]
fn kill_9_at_random_moments_sqlite() {
    kills_at_random_moments(Backend::Sqlite, 0x5eed_0001);
}

#[test]
fn kill_9_at_random_moments_postgres() {
    kills_at_random_moments(Backend::Postgres, 0x5eed_0002);
}

#[test]
fn kill_9_at_random_moments_mariadb() {
    kills_at_random_moments(Backend::Mysql, 0x5eed_0003);
}

/// SQLite commits each revision: a run killed in its 11th revision keeps the first 10
/// (they were reported applied); with `MIGRATION_TRANSACTION_PER_MIGRATION = false`
/// the same kill keeps nothing.
#[test]
fn sqlite_killed_run_keeps_the_revisions_it_applied() {
    for per_migration in [true, false] {
        let db = project_on(Backend::Sqlite);
        let n = 11;
        write_chain(&db, n - 1, "");
        // Revision 11 is slow, so the kill lands inside it.
        let slow = sql_op(&slow_sql(Backend::Sqlite, 4));
        write_marked_revision(&db, n, &slow);
        let path = db.url.trim_start_matches("sqlite://").to_owned();
        let env = [(
            "MIGRATION_TRANSACTION_PER_MIGRATION",
            if per_migration { "true" } else { "false" },
        )];
        let mut cmd = Command::new(binary());
        cmd.current_dir(db.path())
            .env_clear()
            .envs(env)
            .args(["migrate"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().expect("spawn");
        // Revision 11's mark is written (uncommitted) before its slow statement; wait
        // until 10 revisions are committed, or, in one transaction, for the journal.
        let db_ref = &db;
        wait_until(Duration::from_secs(60), "revision 10", || {
            if per_migration {
                db_ref.versions() == [rev_id(n - 1)]
            } else {
                Path::new(&format!("{path}-journal")).exists()
            }
        });
        std::thread::sleep(Duration::from_millis(800));
        kill9(child);
        let kept = db.versions();
        if per_migration {
            assert_eq!(kept, [rev_id(n - 1)], "each revision committed");
            assert_consistent(&db, n, "per-revision commits after a kill");
        } else {
            assert!(kept.is_empty(), "one transaction: nothing kept, {kept:?}");
            assert_consistent(&db, n, "one transaction after a kill");
        }
        db.run(&["migrate"]).success();
        assert_consistent(&db, n, "after the rerun");
        eprintln!(
            "sqlite kill in revision 11 of 11 (per migration: {per_migration}): {} kept",
            kept.len()
        );
    }
}

/// A free TCP port on the loopback interface.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A server of its own (started by `scripts/test-db` in a temporary folder), so
/// stopping it cannot disturb the shared servers other tests use.
struct OwnServer {
    which: &'static str,
    dir: tempfile::TempDir,
    pg_port: u16,
    my_port: u16,
}

impl OwnServer {
    fn script(&self, action: &str) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/test-db");
        let out = Command::new("bash")
            .arg(script)
            .args([action, self.which])
            .env("DB_DIR", self.dir.path())
            .env("PG_PORT", self.pg_port.to_string())
            .env("MYSQL_PORT", self.my_port.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/test-db");
        assert!(
            out.status.success(),
            "test-db {action} {}: {}",
            self.which,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn start(which: &'static str) -> (Self, String) {
        let dir = tempfile::Builder::new()
            .prefix("own-db-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        // The servers run as an unprivileged user when started by root.
        let _ = Command::new("chmod").arg("755").arg(dir.path()).status();
        let server = OwnServer {
            which,
            dir,
            pg_port: free_port(),
            my_port: free_port(),
        };
        let out = server.script("start");
        let url = out
            .lines()
            .find_map(|l| l.split_once('=').map(|(_, v)| v.trim().to_owned()))
            .expect("a URL line");
        (server, url)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/test-db"))
            .args(["stop", self.which])
            .env("DB_DIR", self.dir.path())
            .env("PG_PORT", self.pg_port.to_string())
            .env("MYSQL_PORT", self.my_port.to_string())
            .stdin(Stdio::null())
            .output();
    }
}

/// The server stops in the middle of a 30-revision run: the error says the
/// connection to that server was lost and in which revision, with a hint to check the
/// server and rerun; after a restart the rerun ends at head, each revision once.
fn server_stopped_mid_run(backend: Backend, which: &'static str) {
    let (server, url) = OwnServer::start(which);
    let db = project_at(backend, url, None);
    let n = 30;
    write_chain(
        &db,
        n,
        &sql_op(&slow_sql(backend, 1).replace("(1)", "(0.2)")),
    );
    let child = db.spawn(&["migrate"]);
    wait_until(Duration::from_secs(60), "revision 5", || {
        db.try_query("SELECT version_num FROM alembic_version")
            .ok()
            .and_then(|rows| rows.first().cloned())
            .and_then(|r| r.into_iter().next().flatten())
            .is_some_and(|v| v.parse::<usize>().unwrap_or(0) >= 5)
    });
    server.script("stop");
    let run = finish(child);
    run.code(3);
    for needle in [
        "Lost the connection to",
        "(the server went away) during the upgrade of revision",
        "Check that the database server is running",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {run:#?}");
    }
    assert!(!run.stderr.contains("Fix the revision file"), "{run:#?}");
    server.script("start");
    let repaired = resolve_started(&db);
    db.run(&["migrate"]).success();
    assert_eq!(db.versions(), [rev_id(n)]);
    assert_consistent(&db, n, "after the restart");
    eprintln!(
        "{backend:?}: server stopped mid-run: clear error, {} repair, rerun at head; 0 failures",
        usize::from(repaired)
    );
}

#[test]
fn postgres_server_stopped_mid_run() {
    server_stopped_mid_run(Backend::Postgres, "pg");
}

#[test]
fn mariadb_server_stopped_mid_run() {
    server_stopped_mid_run(Backend::Mysql, "mysql");
}

/// The version the database is at, as a number (0 at base).
fn at(db: &Db) -> usize {
    db.try_query("SELECT version_num FROM alembic_version")
        .ok()
        .and_then(|rows| rows.first().cloned())
        .and_then(|r| r.into_iter().next().flatten())
        .map_or(0, |v| v.parse().unwrap_or(0))
}

fn send(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// Ctrl-C stops after the current revision and says where the database is and how to
/// continue; a second Ctrl-C ends the process at once and the state stays consistent.
fn interrupt_stops_after_the_current_revision(backend: Backend) {
    let db = project_on(backend);
    let n = 30;
    let slow = match backend {
        Backend::Sqlite => slow_sql(backend, 1),
        _ => slow_sql(backend, 1).replace("(1)", "(0.2)"),
    };
    write_chain(&db, n, &sql_op(&slow));
    let mut cases = 0;
    for signal in ["-INT", "-TERM"] {
        let before = at(&db);
        let child = db.spawn(&["migrate"]);
        wait_until(Duration::from_secs(60), "two revisions", || {
            at(&db) >= before + 2
        });
        send(&child, signal);
        let run = finish(child);
        run.code(3);
        let stopped_at = at(&db);
        let name = if signal == "-INT" {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        for needle in [
            format!("Stopped by {name} after revision {}", rev_id(stopped_at)),
            format!("The database is at {}", rev_id(stopped_at)),
            "Run `sqlalembic migrate` again to continue".to_owned(),
        ] {
            assert!(run.stderr.contains(&needle), "{needle}: {run:#?}");
        }
        assert!(stopped_at < n, "stopped before the end");
        assert_consistent(&db, n, "after an interrupt");
        cases += 1;
    }
    // Twice: the process ends at once.
    let before = at(&db);
    let child = db.spawn(&["migrate"]);
    wait_until(Duration::from_secs(60), "a revision", || at(&db) > before);
    send(&child, "-INT");
    std::thread::sleep(Duration::from_millis(50));
    send(&child, "-INT");
    let run = finish(child);
    assert_ne!(run.code, 0, "{run:#?}");
    resolve_started(&db);
    assert_consistent(&db, n, "after two interrupts");
    db.run(&["migrate"]).success();
    assert_eq!(db.versions(), [rev_id(n)]);
    assert_consistent(&db, n, "after the rerun");
    eprintln!(
        "{backend:?}: {cases} single interrupts stopped cleanly, 1 double interrupt consistent; 0 failures"
    );
}

#[test]
fn interrupt_sqlite() {
    interrupt_stops_after_the_current_revision(Backend::Sqlite);
}

#[test]
fn interrupt_postgres() {
    interrupt_stops_after_the_current_revision(Backend::Postgres);
}

#[test]
fn interrupt_mariadb() {
    interrupt_stops_after_the_current_revision(Backend::Mysql);
}
