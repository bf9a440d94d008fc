//! Discovery backends and SQL dialects as WebAssembly components, through the real
//! binary: components built from `plugins/`, run in the sandbox, against real
//! SQLite files and the real PostgreSQL test server. No mocks: the zero-downtime
//! test holds a real transaction open on another connection and reads `pg_catalog`.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sqlalembic::config::RedactedUrl;
use sqlalembic::db::testing::TestDb;
use sqlalembic::db::{Backend, Connection};
use sqlalembic::plugins::CACHE_ENV;
use sqlalembic::plugins::testing::{rust_component, shared_cache_dir};

use crate::harness::{Project, Run};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn toml_path(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

/// Runs the binary with the shared compiled-component cache.
fn run(p: &Project, args: &[&str]) -> Run {
    let cache = shared_cache_dir().display().to_string();
    p.run_env(args, &[(CACHE_ENV, cache.as_str())])
}

/// A connection to `url` for the test's own queries.
async fn connect(url: &str, backend: Backend) -> Connection {
    Connection::connect(&RedactedUrl::new(url.to_owned()), backend)
        .await
        .expect("connect")
}

async fn one(c: &mut Connection, sql: &str) -> String {
    c.query_column(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// The application: inserts a row every 20 ms on its own connection and keeps the
/// longest time one insert waited, until stopped.
struct App {
    stop: Arc<AtomicBool>,
    worker: std::thread::JoinHandle<(Duration, usize)>,
}

impl App {
    fn start(url: &str) -> App {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let url = url.to_owned();
        let worker = std::thread::spawn(move || {
            rt().block_on(async move {
                let mut c = connect(&url, Backend::Postgres).await;
                let (mut longest, mut rows) = (Duration::ZERO, 0);
                while !flag.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    c.execute(
                        "INSERT INTO orders (customer_id, note, amount) VALUES (1, 'app', 1)",
                    )
                    .await
                    .expect("the application's insert");
                    longest = longest.max(t.elapsed());
                    rows += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                c.close().await;
                (longest, rows)
            })
        });
        App { stop, worker }
    }

    /// The longest wait of one insert, and how many rows were inserted.
    fn stop(self) -> (Duration, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.worker.join().expect("application thread")
    }
}

const LOCK_TIMEOUT: Duration = Duration::from_secs(1);

const SETUP: &str = r#"revision = "a00000000001"
message = "customers and orders"

[[upgrade]]
op = "create_table"
table = "customers"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "name", type = "varchar(100)", nullable = false },
]

[[upgrade]]
op = "create_table"
table = "orders"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "customer_id", type = "integer" },
  { name = "note", type = "text" },
  { name = "amount", type = "integer" },
]

[[upgrade]]
op = "sql"
sql = """
INSERT INTO customers (id, name) SELECT g, 'c' || g FROM generate_series(1, 100) g;
INSERT INTO orders (customer_id, note, amount) SELECT (g % 100) + 1, 'n', g FROM generate_series(1, 20000) g;
"""

[[downgrade]]
op = "drop_table"
table = "orders"

[[downgrade]]
op = "drop_table"
table = "customers"
"#;

const ONLINE: &str = r#"revision = "a00000000002"
down_revision = "a00000000001"
message = "index and foreign key, online"

[[upgrade]]
op = "create_index"
name = "ix_orders_customer_id"
table = "orders"
columns = ["customer_id"]

[[upgrade]]
op = "create_foreign_key"
name = "fk_orders_customer"
table = "orders"
columns = ["customer_id"]
references = "customers(id)"
ondelete = "cascade"

[[downgrade]]
op = "drop_foreign_key"
table = "orders"
name = "fk_orders_customer"

[[downgrade]]
op = "drop_index"
table = "orders"
name = "ix_orders_customer_id"
"#;

const EXCLUSIVE: &str = r#"revision = "a00000000003"
down_revision = "a00000000002"
message = "amount index, check, note not null"

[[upgrade]]
op = "create_index"
name = "ix_orders_amount"
table = "orders"
columns = ["amount"]

[[upgrade]]
op = "create_check"
name = "ck_orders_amount"
table = "orders"
sqltext = "amount >= 0"

[[upgrade]]
op = "alter_column"
table = "orders"
column = "note"
nullable = false
existing_nullable = true

[[upgrade]]
op = "create_unique"
name = "uq_orders_id_amount"
table = "orders"
columns = ["id", "amount"]

[[downgrade]]
op = "drop_unique"
table = "orders"
name = "uq_orders_id_amount"

[[downgrade]]
op = "alter_column"
table = "orders"
column = "note"
nullable = true
existing_nullable = false

[[downgrade]]
op = "drop_check"
table = "orders"
name = "ck_orders_amount"

[[downgrade]]
op = "drop_index"
table = "orders"
name = "ix_orders_amount"
"#;

/// A project whose engine is the pg-online dialect plugin, on database `url`.
fn pg_online_project(url: &str) -> Project {
    let p = Project::new();
    let component = toml_path(&rust_component("pg_online"));
    p.write(
        "sqlalembic.toml",
        &format!(
            "[database]\nDB_ENGINE = \"wasm:{component}\"\nDATABASE_URL = \"{url}\"\n\n\
             [[plugins]]\nname = \"pg-online\"\npath = \"{component}\"\n\
             settings = {{ lock_timeout = \"{}ms\" }}\n",
            LOCK_TIMEOUT.as_millis()
        ),
    );
    p.write("migrations/versions/a00000000001_setup.toml", SETUP);
    p.write("migrations/versions/a00000000002_online.toml", ONLINE);
    p.write("migrations/versions/a00000000003_exclusive.toml", EXCLUSIVE);
    p
}

/// The zero-downtime promise, on the real server: with a long transaction open on
/// `orders` (it read the table and stays idle, holding its lock), pg-online builds
/// an index and a validated foreign key without waiting for it; the step that needs
/// an exclusive lock gives up after `lock_timeout` instead of stalling the
/// application, records nothing, and applies on retry once the transaction ends.
/// The application's inserts never wait longer than `lock_timeout`. Afterwards
/// `pg_catalog` shows every index valid and every constraint validated.
#[test]
fn pg_online_migrates_beside_a_long_transaction_and_validates_everything() {
    let runtime = rt();
    let db = runtime.block_on(TestDb::new(Backend::Postgres));
    let p = pg_online_project(&db.url);
    run(&p, &["migrate", "a00000000001"]).success();

    // Another connection reads the table and stays inside its transaction.
    let mut long = runtime.block_on(connect(&db.url, Backend::Postgres));
    let long_pid = runtime.block_on(async {
        long.execute("BEGIN").await.expect("begin");
        assert_eq!(one(&mut long, "SELECT COUNT(*) FROM orders").await, "20000");
        one(&mut long, "SELECT pg_backend_pid()").await
    });
    let mut probe = runtime.block_on(connect(&db.url, Backend::Postgres));
    let long_state = |probe: &mut Connection| {
        runtime.block_on(one(
            probe,
            &format!("SELECT state FROM pg_stat_activity WHERE pid = {long_pid}"),
        ))
    };

    let app = App::start(&db.url);
    let started = Instant::now();
    let online = run(&p, &["migrate", "a00000000002"]);
    let online_took = started.elapsed();
    online.success();
    assert_eq!(
        long_state(&mut probe),
        "idle in transaction",
        "the migration applied while the long transaction was open"
    );

    // This step needs an exclusive lock the long transaction stands in the way of.
    let started = Instant::now();
    let blocked = run(&p, &["migrate"]);
    let blocked_took = started.elapsed();
    let (app_longest, app_rows) = app.stop();
    blocked.code(3);
    assert!(
        blocked.stderr.contains("lock timeout") && blocked.stderr.contains("ck_orders_amount"),
        "{blocked:#?}"
    );
    assert!(
        blocked.stderr.contains("NOT rolled back")
            && blocked
                .stderr
                .contains("CREATE INDEX CONCURRENTLY \"ix_orders_amount\""),
        "the index built outside the transaction is reported as kept: {blocked:#?}"
    );
    assert!(
        blocked_took < Duration::from_secs(20),
        "gave up at lock_timeout, took {blocked_took:?}"
    );
    let current = run(&p, &["current"]);
    assert!(
        current.stdout.contains("a00000000002") && !current.stdout.contains("a00000000003"),
        "nothing of the failed revision is recorded: {current:#?}"
    );
    assert!(
        app_rows > 2,
        "the application kept inserting ({app_rows} rows, longest wait {app_longest:?}, \
         online step {online_took:?}, blocked step {blocked_took:?})"
    );
    assert!(
        app_longest < LOCK_TIMEOUT + Duration::from_millis(700),
        "an insert waited {app_longest:?} (online step took {online_took:?}), more than lock_timeout"
    );

    // The long transaction ends; the retry applies the whole revision.
    runtime.block_on(async {
        long.execute("COMMIT").await.expect("commit");
        long.close().await;
    });
    let app = App::start(&db.url);
    run(&p, &["migrate"]).success();
    let (app_longest, _) = app.stop();
    assert!(
        app_longest < LOCK_TIMEOUT + Duration::from_millis(700),
        "{app_longest:?}"
    );

    runtime.block_on(async {
        let c = &mut probe;
        let invalid_indexes = one(
            c,
            "SELECT COUNT(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
             WHERE t.relnamespace = 'public'::regnamespace AND NOT (i.indisvalid AND i.indisready)",
        )
        .await;
        assert_eq!(invalid_indexes, "0", "every index is valid");
        let unvalidated = one(
            c,
            "SELECT COUNT(*) FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
             AND NOT convalidated",
        )
        .await;
        assert_eq!(unvalidated, "0", "every constraint is validated");
        let indexes = c
            .query_column(
                "SELECT indexrelid::regclass::text FROM pg_index \
                 WHERE indrelid = 'orders'::regclass ORDER BY 1",
            )
            .await
            .expect("indexes");
        assert_eq!(
            indexes,
            [
                "ix_orders_amount",
                "ix_orders_customer_id",
                "orders_pkey",
                "uq_orders_id_amount"
            ]
        );
        let constraints = c
            .query_column(
                "SELECT conname || ':' || contype::text || ':' || convalidated::text FROM pg_constraint \
                 WHERE conrelid = 'orders'::regclass ORDER BY 1",
            )
            .await
            .expect("constraints");
        assert_eq!(
            constraints,
            [
                "ck_orders_amount:c:true",
                "fk_orders_customer:f:true",
                "orders_pkey:p:true",
                "uq_orders_id_amount:u:true"
            ],
            "the NOT NULL helper check is gone"
        );
        let not_null = one(
            c,
            "SELECT attnotnull::text FROM pg_attribute WHERE attrelid = 'orders'::regclass \
             AND attname = 'note'",
        )
        .await;
        assert_eq!(not_null, "true");
    });

    // Back down: the drops go through pg-online too (DROP INDEX CONCURRENTLY ...).
    run(&p, &["rollback", "a00000000001"]).success();
    runtime.block_on(async {
        let left = probe
            .query_column(
                "SELECT conname::text FROM pg_constraint WHERE conrelid = 'orders'::regclass \
                 UNION ALL SELECT indexrelid::regclass::text FROM pg_index \
                 WHERE indrelid = 'orders'::regclass ORDER BY 1",
            )
            .await
            .expect("what is left");
        assert_eq!(left, ["orders_pkey", "orders_pkey"]);
        let nullable = one(
            &mut probe,
            "SELECT attnotnull::text FROM pg_attribute WHERE attrelid = 'orders'::regclass \
             AND attname = 'note'",
        )
        .await;
        assert_eq!(nullable, "false");
    });
    runtime.block_on(probe.close());
}

/// `migrate --sql` and `show --sql` render through the plugin without a database.
#[test]
fn pg_online_renders_offline_scripts() {
    // `show` reads the database's heads; `migrate --sql` connects to nothing.
    let db = rt().block_on(TestDb::new(Backend::Postgres));
    let p = pg_online_project(&db.url);
    let script = run(&p, &["migrate", "--sql"]);
    script.success();
    let out = &script.stdout;
    for expected in [
        "SET lock_timeout = '1000ms';",
        "COMMIT;\nDROP INDEX CONCURRENTLY IF EXISTS \"ix_orders_customer_id\";\nBEGIN;\nCOMMIT;\nCREATE INDEX CONCURRENTLY \"ix_orders_customer_id\" ON \"orders\" (\"customer_id\");\nBEGIN;",
        "ADD CONSTRAINT \"fk_orders_customer\" FOREIGN KEY (\"customer_id\") REFERENCES \"customers\" (\"id\") ON DELETE CASCADE NOT VALID;",
        "ALTER TABLE \"orders\" VALIDATE CONSTRAINT \"fk_orders_customer\";",
        "INSERT INTO customers (id, name) SELECT g, 'c' || g FROM generate_series(1, 100) g;",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let show = run(&p, &["show", "a00000000003", "--sql"]);
    show.success();
    assert!(
        show.stdout
            .contains("CHECK (\"note\" IS NOT NULL) NOT VALID")
            && show
                .stdout
                .contains("ALTER TABLE \"orders\" ALTER COLUMN \"note\" SET NOT NULL;"),
        "{show:#?}"
    );
    let json = run(&p, &["--format", "json", "migrate", "--sql"]).json();
    assert_eq!(json["dialect"], "pg-online");
}

const ACCOUNTS: &str = r#"revision = "b00000000001"
message = "accounts"

[[upgrade]]
op = "create_table"
table = "accounts"
columns = [
  { name = "id", type = "integer", nullable = false },
  { name = "region", type = "varchar(8)", nullable = false },
]
primary_key = { columns = ["id"] }

[[upgrade]]
op = "sql"
sql = "INSERT INTO accounts (id, region) VALUES (1, 'eu'), (2, 'us')"

[[downgrade]]
op = "drop_table"
table = "accounts"
"#;

const TABLE_OPS: &str = r#"revision = "b00000000002"
down_revision = "b00000000001"
message = "comment and composite key"

[[upgrade]]
op = "alter_table"
table = "accounts"
comment = "Customer accounts, it's"
existing_comment = false

[[upgrade]]
op = "drop_primary_key"
table = "accounts"
columns = ["id"]

[[upgrade]]
op = "create_primary_key"
table = "accounts"
name = "pk_accounts"
columns = ["id", "region"]

[[downgrade]]
op = "drop_primary_key"
table = "accounts"
name = "pk_accounts"
columns = ["id", "region"]

[[downgrade]]
op = "create_primary_key"
table = "accounts"
columns = ["id"]

[[downgrade]]
op = "alter_table"
table = "accounts"
comment = false
existing_comment = "Customer accounts, it's"
"#;

/// The table-level ops (`table-ops` export, WIT 0.1.2) through pg-online on the
/// real server: a table comment and a primary-key change apply, roll back, and
/// show in `migrate --sql`.
#[test]
fn pg_online_changes_table_comments_and_primary_keys() {
    let runtime = rt();
    let db = runtime.block_on(TestDb::new(Backend::Postgres));
    let p = pg_online_project(&db.url);
    for rev in [
        "a00000000001_setup",
        "a00000000002_online",
        "a00000000003_exclusive",
    ] {
        std::fs::remove_file(p.path().join(format!("migrations/versions/{rev}.toml")))
            .expect("remove");
    }
    p.write("migrations/versions/b00000000001_accounts.toml", ACCOUNTS);
    p.write("migrations/versions/b00000000002_table_ops.toml", TABLE_OPS);

    let script = run(&p, &["migrate", "--sql"]);
    script.success();
    let out = &script.stdout;
    for expected in [
        "SET lock_timeout = '1000ms';\nCOMMENT ON TABLE \"accounts\" IS 'Customer accounts, it''s';",
        "SET lock_timeout = '1000ms';\nALTER TABLE \"accounts\" DROP CONSTRAINT \"accounts_pkey\";",
        "SET lock_timeout = '1000ms';\nALTER TABLE \"accounts\" ADD CONSTRAINT \"pk_accounts\" PRIMARY KEY (\"id\", \"region\");",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }

    let state = |c: &mut Connection| {
        runtime.block_on(async {
            let comment = one(
                c,
                "SELECT COALESCE(obj_description('accounts'::regclass, 'pg_class'), '<none>')",
            )
            .await;
            let key = one(
                c,
                "SELECT conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint \
                 WHERE conrelid = 'accounts'::regclass AND contype = 'p'",
            )
            .await;
            (comment, key)
        })
    };
    run(&p, &["migrate"]).success();
    let mut c = runtime.block_on(connect(&db.url, Backend::Postgres));
    assert_eq!(
        state(&mut c),
        (
            "Customer accounts, it's".to_owned(),
            "pk_accounts: PRIMARY KEY (id, region)".to_owned()
        )
    );
    // The rows are kept and the new key holds them.
    assert_eq!(
        runtime.block_on(one(&mut c, "SELECT COUNT(*) FROM accounts")),
        "2"
    );

    run(&p, &["rollback"]).success();
    assert_eq!(
        state(&mut c),
        (
            "<none>".to_owned(),
            "accounts_pkey: PRIMARY KEY (id)".to_owned()
        )
    );
    let current = run(&p, &["current"]);
    assert!(
        current.stdout.contains("b00000000001") && !current.stdout.contains("b00000000002"),
        "{current:#?}"
    );
    // And up again: the unnamed key PostgreSQL named `accounts_pkey` is found.
    run(&p, &["migrate"]).success();
    assert_eq!(state(&mut c).1, "pk_accounts: PRIMARY KEY (id, region)");
    runtime.block_on(c.close());
}

const MODELS: &str = r#"from sqlalchemy import Column, DateTime, Enum, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    email = Column(String(200), nullable=False, unique=True)
    created_at = Column(DateTime(timezone=True), server_default=func.now())


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    title = Column(String(120), nullable=False)
    body = Column(Text)
    status = Column(Enum("draft", "live", name="post_status"), nullable=False, server_default="draft")
"#;

/// Autogenerate compares types and renders through the plugin: models ->
/// revision -> migrate -> no changes on the second run.
#[test]
fn pg_online_autogenerates_and_finds_no_changes_afterwards() {
    let db = rt().block_on(TestDb::new(Backend::Postgres));
    let p = pg_online_project(&db.url);
    for rev in [
        "a00000000001_setup",
        "a00000000002_online",
        "a00000000003_exclusive",
    ] {
        std::fs::remove_file(p.path().join(format!("migrations/versions/{rev}.toml")))
            .expect("remove");
    }
    p.write("models/__init__.py", "");
    p.write("models/blog.py", MODELS);
    run(&p, &["makemigrations", "blog"]).success();
    let migrate = run(&p, &["migrate"]);
    migrate.success();
    let again = run(&p, &["makemigrations"]);
    again.success();
    assert_eq!(again.stdout.trim(), "No changes detected", "{again:#?}");
    let script = run(&p, &["migrate", "base:head", "--sql"]);
    assert!(
        script.stdout.contains("SET lock_timeout")
            && script
                .stdout
                .contains("CREATE TYPE \"post_status\" AS ENUM ('draft', 'live')"),
        "the revision renders through pg-online: {script:#?}"
    );
}

/// A SQLite project whose engine is the misbehaving fixture dialect.
fn bad_dialect_project(fail_on: &str, mode: &str) -> Project {
    let p = Project::new();
    let component = toml_path(&rust_component("fixture_bad_dialect"));
    p.write(
        "sqlalembic.toml",
        &format!(
            "[database]\nDB_ENGINE = \"wasm:{component}\"\nDATABASE_URL = \"sqlite://{}\"\n\n\
             [[plugins]]\nname = \"bad\"\npath = \"{component}\"\ntimeout_ms = 400\nmemory_mb = 24\n\
             settings = {{ fail_on = \"{fail_on}\", mode = \"{mode}\" }}\n",
            toml_path(&p.path().join("app.db"))
        ),
    );
    p.write(
        "migrations/versions/b00000000001_tables.toml",
        r#"revision = "b00000000001"
message = "tables"

[[upgrade]]
op = "create_table"
table = "t"
columns = [{ name = "id", type = "integer", primary_key = true }, { name = "v", type = "varchar(20)" }]

[[upgrade]]
op = "create_index"
name = "ix_t_v"
table = "t"
columns = ["v"]

[[downgrade]]
op = "drop_table"
table = "t"
"#,
    );
    p
}

/// Nothing of a revision a dialect plugin could not render, or whose SQL the
/// database refused, is applied or recorded; the error names the plugin and what
/// it returned.
#[test]
fn a_misbehaving_dialect_plugin_applies_nothing_and_is_named() {
    for (mode, exit, expected) in [
        (
            "loop",
            2,
            "Plugin `bad` ran past its time limit of 400 ms and was stopped",
        ),
        (
            "memory",
            2,
            "Plugin `bad` went over its memory limit of 24 MiB",
        ),
        ("trap", 2, "Plugin `bad` crashed (trap: "),
        (
            "err",
            2,
            "Plugin `bad` cannot render `create_index`: bad refuses `create_index`",
        ),
        (
            "empty",
            2,
            "Plugin `bad` returned a malformed answer for `create_index`: statement 1 for `create_index` is empty",
        ),
        ("rejected", 3, "CREATE TABLUH nonsense"),
    ] {
        let p = bad_dialect_project("create_index", mode);
        let out = run(&p, &["migrate"]);
        out.code(exit);
        assert!(out.stderr.contains(expected), "{mode}: {out:#?}");
        if mode == "rejected" {
            assert!(
                out.stderr.contains("dialect plugin `bad`"),
                "the statement's author is named: {out:#?}"
            );
        }
        let current = run(&p, &["--format", "json", "current"]);
        current.success();
        assert_eq!(
            current.json()["current"],
            serde_json::json!([]),
            "{mode}: nothing recorded"
        );
        let tables = rt().block_on(async {
            let url = format!("sqlite://{}", p.path().join("app.db").display());
            let mut c = connect(&url, Backend::Sqlite).await;
            let names = c
                .query_column("SELECT name FROM sqlite_master WHERE name = 't'")
                .await
                .expect("tables");
            c.close().await;
            names
        });
        assert!(tables.is_empty(), "{mode}: table `t` was rolled back");
    }
    // A dialect that crashes when it introduces itself stops the command at once.
    let p = bad_dialect_project("info", "err");
    let out = run(&p, &["migrate"]);
    out.code(2);
    assert!(
        out.stderr.contains("Plugin `bad` crashed") && out.stderr.contains("hint:"),
        "{out:#?}"
    );
}

/// Every construct prisma-discovery reads: models, scalar and native types, ids,
/// uniques, defaults, relations with actions, indexes, enums, maps, optional fields.
const PRISMA: &str = r#"datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

generator client {
  provider = "prisma-client-js"
}

/// Who may do what.
enum Role {
  USER
  ADMIN @map("admin")

  @@map("user_role")
}

model User {
  id        Int      @id @default(autoincrement())
  email     String   @unique @db.VarChar(255)
  name      String?  @db.VarChar(100)
  role      Role     @default(USER)
  active    Boolean  @default(true)
  score     Float    @default(0)
  visits    BigInt   @default(0)
  createdAt DateTime @default(now()) @map("created_at")
  posts     Post[]
  profile   Profile?

  @@index([name])
  @@map("users")
}

model Profile {
  id     Int    @id @default(autoincrement())
  bio    String @default("")
  user   User   @relation(fields: [userId], references: [id], onDelete: Cascade, onUpdate: Cascade)
  userId Int    @unique @map("user_id")
}

model Post {
  id       Int       @id @default(autoincrement())
  slug     String    @db.VarChar(80)
  title    String
  price    Decimal   @db.Decimal(10, 2)
  body     Json?
  author   User?     @relation(fields: [authorId], references: [id], onDelete: SetNull)
  authorId Int?      @map("author_id")
  tags     PostTag[]

  @@unique([authorId, slug], map: "uq_post_author_slug")
  @@index([title], map: "ix_post_title")
  @@map("posts")
}

model Tag {
  id    Int       @id
  name  String    @unique
  posts PostTag[]
}

model PostTag {
  post   Post @relation(fields: [postId], references: [id], onDelete: Cascade)
  postId Int  @map("post_id")
  tag    Tag  @relation(fields: [tagId], references: [id])
  tagId  Int  @map("tag_id")

  @@id([postId, tagId])
  @@map("post_tags")
}
"#;

/// A project whose models are Prisma schemas read by prisma-discovery, on `url`.
fn prisma_project(url: &str) -> Project {
    let p = Project::new();
    let component = toml_path(&rust_component("prisma_discovery"));
    p.write(
        "sqlalembic.toml",
        &format!(
            "[database]\nDATABASE_URL = \"{url}\"\n\n[discovery]\nMODEL_DISCOVERY_PATHS = \"prisma\"\n\
             BACKENDS = [\"wasm:{component}\"]\n"
        ),
    );
    p.write("prisma/schema.prisma", PRISMA);
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    p
}

fn revision_count(p: &Project) -> usize {
    std::fs::read_dir(p.path().join("migrations/versions"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Prisma models -> makemigrations -> migrate -> no changes on the second run, then
/// a model edit gives exactly its op.
fn prisma_round_trip(backend: Backend) {
    let db = rt().block_on(TestDb::new(backend));
    let p = prisma_project(&db.url);
    let discovered = run(&p, &["--format", "json", "discover"]);
    discovered.success();
    let json = discovered.json();
    let text = json.to_string();
    for table in ["users", "Profile", "posts", "Tag", "post_tags"] {
        assert!(text.contains(&format!("\"{table}\"")), "{table}: {text}");
    }
    assert!(text.contains("prisma/schema.prisma"), "{text}");
    // The summary counts the schema the component read (the walk lists only Python
    // and SQL files), fresh and from the cache alike.
    for args in [&["discover", "--no-cache"][..], &["discover"]] {
        let summary = run(&p, args);
        let said = format!("{}{}", summary.stdout, summary.stderr);
        assert!(said.contains("from 1 file(s) (1 with models)"), "{said}");
    }
    let made = run(&p, &["makemigrations", "from prisma"]);
    made.success();
    assert_eq!(revision_count(&p), 1, "{made:#?}");
    run(&p, &["migrate"]).success();
    let again = run(&p, &["makemigrations"]);
    again.success();
    assert_eq!(again.stdout.trim(), "No changes detected", "{again:#?}");
    assert_eq!(revision_count(&p), 1);

    // The database holds what the schema says.
    rt().block_on(async {
        let mut c = connect(&db.url, backend).await;
        let fk_count = match backend {
            Backend::Postgres => {
                one(
                    &mut c,
                    "SELECT COUNT(*) FROM pg_constraint WHERE contype = 'f' \
                 AND connamespace = 'public'::regnamespace",
                )
                .await
            }
            _ => {
                one(
                    &mut c,
                    "SELECT (SELECT COUNT(*) FROM pragma_foreign_key_list('Profile')) \
                 + (SELECT COUNT(*) FROM pragma_foreign_key_list('posts')) \
                 + (SELECT COUNT(*) FROM pragma_foreign_key_list('post_tags'))",
                )
                .await
            }
        };
        assert_eq!(fk_count, "4");
        c.execute("INSERT INTO users (email) VALUES ('a@b.c')")
            .await
            .expect("defaults fill the rest");
        let role = one(&mut c, "SELECT CAST(role AS TEXT) FROM users").await;
        assert_eq!(role, "USER");
        c.close().await;
    });

    // An edit of the Prisma schema is one op; then nothing again.
    let schema = p.read("prisma/schema.prisma");
    p.write(
        "prisma/schema.prisma",
        &schema.replacen(
            "  title    String\n",
            "  title    String\n  subtitle String?\n",
            1,
        ),
    );
    let edit = run(&p, &["--format", "json", "makemigrations", "subtitle"]);
    edit.success();
    let ops: Vec<String> = edit.json()["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| o.as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert!(ops[0].contains("posts.subtitle"), "{ops:?}");
    run(&p, &["migrate"]).success();
    let last = run(&p, &["makemigrations"]);
    assert_eq!(last.stdout.trim(), "No changes detected", "{last:#?}");
}

#[test]
fn prisma_round_trip_sqlite() {
    prisma_round_trip(Backend::Sqlite);
}

#[test]
fn prisma_round_trip_postgres() {
    prisma_round_trip(Backend::Postgres);
}

/// A Prisma error stops makemigrations at its line, and nothing is written.
#[test]
fn a_broken_prisma_schema_writes_no_revision() {
    let p = prisma_project("sqlite://app.db");
    p.write(
        "prisma/schema.prisma",
        &PRISMA.replace("  title    String\n", "  title    Strng\n"),
    );
    let out = run(&p, &["makemigrations"]);
    out.code(2);
    assert!(
        out.stderr.contains(
            "prisma/schema.prisma:44:3: error[PRISMA002]: Field `title` has type `Strng`"
        ),
        "{out:#?}"
    );
    assert_eq!(revision_count(&p), 0);
}

/// A discovery plugin that crashes or returns a malformed table stops autogenerate
/// with its name and what it returned; no revision is written.
#[test]
fn a_misbehaving_discovery_plugin_writes_no_revision() {
    for (mode, expected) in [
        (
            "malformed",
            "returned a malformed table: table `t` has no columns (defined at models/x.mode:1)",
        ),
        ("trap", "crashed (trap: "),
        // Its `[[plugins]]` entry sets its limits.
        ("loop", "ran past its time limit of 300 ms and was stopped"),
    ] {
        let p = Project::new();
        let component = toml_path(&rust_component("fixture_bad_discovery"));
        p.write(
            "sqlalembic.toml",
            &format!(
                "[database]\nDATABASE_URL = \"sqlite://{}\"\n\n[discovery]\nBACKENDS = [\"sqlalchemy\", \"wasm:{component}\"]\n\n\
                 [[plugins]]\nname = \"bad-discovery\"\npath = \"{component}\"\ntimeout_ms = 300\n",
                toml_path(&p.path().join("app.db"))
            ),
        );
        p.write("models/x.mode", mode);
        p.write("models/blog.py", MODELS);
        std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
        let out = run(&p, &["makemigrations"]);
        out.code(2);
        assert!(
            out.stderr
                .contains("error[WASM001]: Discovery backend `wasm:")
                && out.stderr.contains("Plugin `bad-discovery`")
                && out.stderr.contains(expected)
                && out.stderr.contains("none of its tables were used"),
            "{mode}: {out:#?}"
        );
        assert_eq!(revision_count(&p), 0, "{mode}");
    }
}

/// `plugins check` loads signal handlers only; `plugins list` names the world of the
/// entry that configures the dialect plugin.
#[test]
fn plugins_commands_know_the_dialect_entry() {
    let db = rt().block_on(TestDb::new(Backend::Postgres));
    let p = pg_online_project(&db.url);
    let check = run(&p, &["plugins", "check"]);
    check.success();
    assert!(!check.all().contains("wrong world"), "{check:#?}");
    let list = run(&p, &["plugins", "list", "--format", "json"]);
    list.success();
    let doc: serde_json::Value = serde_json::from_str(&list.stdout).expect("json");
    let world = doc["plugins"][0]["world"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // (The test server's password is `sqlalembic`, so that word is masked in output.)
    assert!(world.contains(":plugin/dialect@"), "{doc}");
}

/// `plugins check`, `list` and `inspect` load a dialect or discovery component as
/// the world it is configured as, not as a signal handler, and say whether a
/// dialect renders the table-level ops of `sqlalembic:plugin@0.1.2`.
#[test]
fn plugins_commands_know_dialects_and_discovery_backends() {
    let p = pg_online_project("postgresql://u@127.0.0.1:1/none");
    let prisma = toml_path(&rust_component("prisma_discovery"));
    let text = p.read("sqlalembic.toml");
    p.write(
        "sqlalembic.toml",
        &text.replace(
            "[[plugins]]",
            &format!("[discovery]\nBACKENDS = [\"wasm:{prisma}\"]\n\n[[plugins]]"),
        ),
    );
    let check = run(&p, &["plugins", "check"]);
    check.success();
    assert!(
        check.stdout.contains(
            "pg-online: ok (dialect `pg-online` over the postgresql protocol, renders table ops"
        ),
        "{check:#?}"
    );
    assert!(
        check
            .stdout
            .contains("prisma_discovery: ok (discovery backend"),
        "{check:#?}"
    );
    let list = run(&p, &["plugins", "list"]);
    list.success();
    assert!(
        list.stdout
            .contains("world:       sqlalembic:plugin/dialect@"),
        "{list:#?}"
    );
    assert!(
        !list.stdout.contains("signals:"),
        "a dialect has none: {list:#?}"
    );
    let inspect = run(&p, &["--format", "json", "plugins", "inspect", "pg-online"]);
    inspect.success();
    let v = inspect.json();
    assert_eq!(v["dialect"], "pg-online", "{v}");
    assert_eq!(v["protocol"], "postgresql", "{v}");
    assert_eq!(v["table_ops"], true, "{v}");
    assert_eq!(v["capabilities"]["transactional_ddl"], true, "{v}");

    // A dialect built against 0.1.1 loads, and check says what it cannot do.
    let old = toml_path(&rust_component("fixture_dialect_v011"));
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        &format!("[database]\nDB_ENGINE = \"wasm:{old}\"\nDATABASE_URL = \"sqlite://x.db\"\n"),
    );
    let check = run(&p, &["plugins", "check"]);
    check.success();
    assert!(
        check
            .stdout
            .contains("built against sqlalembic:plugin@0.1.1: cannot render alter_table"),
        "{check:#?}"
    );
    // A component that is not there fails the check (exit 1), naming it.
    p.write(
        "sqlalembic.toml",
        "[database]\nDB_ENGINE = \"wasm:plugins/missing.wasm\"\nDATABASE_URL = \"sqlite://x.db\"\n",
    );
    let check = run(&p, &["plugins", "check"]);
    check.code(1);
    assert!(check.stdout.contains("missing: error:"), "{check:#?}");
}
