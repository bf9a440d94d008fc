//! `makemigrations` (autogenerate) and `check` drift end to end, on SQLite, PostgreSQL
//! and MariaDB: the startproject models round-trip, every kind of model edit gives
//! exactly its ops and a working downgrade, equivalent type spellings give nothing,
//! renames need `--rename`, destructive ops are flagged everywhere, `check` gates.

use std::sync::{Arc, Mutex};

use sqlalembic::config::RedactedUrl;
use sqlalembic::db::testing::TestDb;
use sqlalembic::db::{Backend, Connection};
use sqlalembic::introspect::{IntrospectOptions, introspect};
use sqlalembic::signals::{Dispatcher, HandlerMode, Signal, Verdict};

use crate::harness::{Project, Run};

/// A started project whose database is a fresh one on `backend`.
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

fn started(backend: Backend) -> Db {
    let db = rt().block_on(TestDb::new(backend));
    let p = Project::new();
    p.run(&["startproject", "."]).success();
    p.write(
        "sqlalembic.toml",
        &format!("[database]\nDATABASE_URL = \"{}\"\n", db.url),
    );
    Db { p, db }
}

impl Db {
    fn url(&self) -> RedactedUrl {
        RedactedUrl::new(self.db.url.clone())
    }

    fn exec(&self, sql: &str) {
        let (url, backend) = (self.url(), self.db.backend);
        rt().block_on(async {
            let mut c = Connection::connect(&url, backend).await.expect("connect");
            c.execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.close().await;
        });
    }

    fn count(&self, table: &str) -> usize {
        let (url, backend) = (self.url(), self.db.backend);
        rt().block_on(async {
            let mut c = Connection::connect(&url, backend).await.expect("connect");
            let n = c
                .query_column(&format!("SELECT COUNT(*) FROM {table}"))
                .await
                .expect("count");
            c.close().await;
            n[0].parse().expect("a number")
        })
    }

    fn tables(&self) -> Vec<String> {
        let (url, backend) = (self.url(), self.db.backend);
        rt().block_on(async {
            let mut c = Connection::connect(&url, backend).await.expect("connect");
            let s = introspect(&mut c, &IntrospectOptions::default())
                .await
                .expect("introspect");
            c.close().await;
            s.tables.into_iter().map(|t| t.name).collect()
        })
    }
}

/// Replaces `from` by `to` in a project file (which must contain it).
fn edit(p: &Project, rel: &str, from: &str, to: &str) {
    let text = p.read(rel);
    assert!(text.contains(from), "{rel} lacks {from:?}:\n{text}");
    p.write(rel, &text.replacen(from, to, 1));
}

fn revision_files(p: &Project) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(p.path().join("migrations/versions"))
        .map(|d| {
            d.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn operations(run: &Run) -> Vec<String> {
    run.json()["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|o| o.as_str().expect("text").to_owned())
        .collect()
}

fn warning_codes(json: &serde_json::Value) -> Vec<String> {
    let mut codes: Vec<String> = json["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w["code"].as_str().expect("code").to_owned())
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[track_caller]
fn no_changes(p: &Project) {
    let before = revision_files(p);
    let run = p.run(&["makemigrations"]);
    run.success();
    assert_eq!(run.stdout.trim(), "No changes detected", "{run:#?}");
    assert_eq!(revision_files(p), before, "no file is written");
}

/// startproject -> makemigrations -> migrate -> no changes; rollback base leaves only
/// the bookkeeping tables; migrate again.
fn round_trip(backend: Backend) {
    let p = started(backend);
    let run = p.run(&["--format", "json", "makemigrations", "Initial schema"]);
    run.success();
    assert_eq!(
        operations(&run),
        [
            "Create table products (id, sku, name, category, price)",
            "Create table users (id, username, email, is_active, created_at)",
            "Create table posts (id, title, content, user_id, created_at)",
        ]
    );
    assert_eq!(revision_files(&p).len(), 1);
    assert!(revision_files(&p)[0].ends_with("_initial_schema.toml"));
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.run(&["check"]).success();
    p.run(&["rollback", "base"]).success();
    let mut left = p.tables();
    left.retain(|t| t != "sqlalembic_history");
    assert_eq!(left, ["alembic_version"], "{backend:?}");
    p.run(&["migrate"]).success();
    no_changes(&p);
}

#[test]
fn round_trip_sqlite() {
    round_trip(Backend::Sqlite);
}

#[test]
fn round_trip_postgres() {
    round_trip(Backend::Postgres);
}

#[test]
fn round_trip_mysql() {
    round_trip(Backend::Mysql);
}

/// One model edit: the ops it must produce (and the warning codes), applied, rolled
/// back and applied again, then nothing left to generate.
#[track_caller]
fn step(p: &Db, extra: &[&str], expected: &[&str], codes: &[&str]) {
    let mut args = vec!["--format", "json", "makemigrations"];
    args.extend_from_slice(extra);
    let run = p.run(&args);
    run.success();
    assert_eq!(operations(&run), expected, "{:?}: {run:#?}", p.db.backend);
    assert_eq!(warning_codes(&run.json()), codes, "{:?}", p.db.backend);
    p.run(&["migrate"]).success();
    no_changes(p);
    p.run(&["rollback"]).success();
    p.run(&["migrate"]).success();
    no_changes(p);
}

fn model_edits(backend: Backend) {
    let p = started(backend);
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    // `created_at` given: `now()` is no SQLite function.
    p.exec(
        "INSERT INTO users (id, username, email, is_active, created_at) \
         VALUES (1, 'ann', 'a@x', '1', '2024-01-01 00:00:00')",
    );
    p.exec(
        "INSERT INTO posts (id, title, user_id, created_at) \
         VALUES (1, 'hello', 1, '2024-01-01 00:00:00')",
    );

    // Add a column.
    edit(
        &p,
        "models/user.py",
        "import Boolean,",
        "import Boolean, Text,",
    );
    edit(
        &p,
        "models/user.py",
        "    is_active",
        "    bio = Column(Text)\n    is_active",
    );
    step(&p, &[], &["Add column users.bio text"], &[]);

    // Alter a column: type and nullability (a table rebuild on SQLite, rows kept).
    edit(
        &p,
        "models/post.py",
        "Column(String(200), nullable=False)",
        "Column(String(300))",
    );
    step(
        &p,
        &[],
        &["Alter column posts.title: type varchar(300), NULL"],
        &[],
    );
    assert_eq!(p.count("posts"), 1, "rows survive the alter");

    // Add an index.
    edit(
        &p,
        "models/product.py",
        "        Index(\"ix_products_name_category\", \"name\", \"category\"),",
        "        Index(\"ix_products_name_category\", \"name\", \"category\"),\n        Index(\"ix_products_price\", \"price\"),",
    );
    step(
        &p,
        &[],
        &["Create index ix_products_price on products (price)"],
        &[],
    );

    // Add a foreign key (with its column).
    edit(
        &p,
        "models/product.py",
        "from sqlalchemy import CheckConstraint,",
        "from sqlalchemy import ForeignKey, CheckConstraint,",
    );
    edit(
        &p,
        "models/product.py",
        "    price = Column(Numeric(10, 2), nullable=False)",
        "    price = Column(Numeric(10, 2), nullable=False)\n    owner_id = Column(Integer, ForeignKey(\"users.id\", ondelete=\"SET NULL\"))",
    );
    step(
        &p,
        &[],
        &[
            "Add column products.owner_id integer",
            "Create foreign key fk_products_owner_id_users on products (owner_id) -> users(id)",
        ],
        &[],
    );

    // Drop a column: flagged.
    edit(&p, "models/post.py", "    content = Column(Text)\n", "");
    step(&p, &[], &["Drop column posts.content"], &["drop-column"]);

    // Rename a column: offered as a rename, done with `--rename`.
    edit(
        &p,
        "models/user.py",
        "    username = Column",
        "    login = Column",
    );
    // Off a terminal the candidate writes nothing; the hint's command, run as
    // printed, writes the rename in one step.
    let offered = p.run(&["makemigrations", "offered"]);
    offered.code(2);
    assert!(
        offered.stderr.contains(
            "No revision was written: it would drop and add what may be a rename of column `users.username` to `login`"
        ),
        "{offered:#?}"
    );
    let hint = "run again with `--rename users.username:login` to keep the data";
    assert!(offered.stderr.contains(hint), "{offered:#?}");
    assert!(
        offered
            .stderr
            .contains("run again with `--no-rename users.username:login` to drop and add"),
        "{offered:#?}"
    );
    let before = std::fs::read_dir(p.path().join("migrations/versions"))
        .expect("versions")
        .count();
    let offered_json = p.run(&["--format", "json", "makemigrations", "offered"]);
    offered_json.code(2);
    let after = std::fs::read_dir(p.path().join("migrations/versions"))
        .expect("versions")
        .count();
    assert_eq!(before, after, "no file was written");
    let flag: Vec<&str> = hint
        .split('`')
        .nth(1)
        .expect("a command in backticks")
        .split(' ')
        .collect();
    step(
        &p,
        &flag,
        &["Alter column users.username: rename to login"],
        &[],
    );
    assert_eq!(p.count("users"), 1);

    // Rename a table with `--rename`.
    edit(
        &p,
        "models/product.py",
        "__tablename__ = \"products\"",
        "__tablename__ = \"items\"",
    );
    step(
        &p,
        &["--rename", "products:items"],
        &["Rename table products to items"],
        &[],
    );

    // Everything rolls back to an empty database.
    p.run(&["rollback", "base"]).success();
    let mut left = p.tables();
    left.retain(|t| t != "sqlalembic_history");
    assert_eq!(left, ["alembic_version"], "{backend:?}");
    p.run(&["migrate"]).success();
    no_changes(&p);
}

#[test]
fn model_edits_sqlite() {
    model_edits(Backend::Sqlite);
}

#[test]
fn model_edits_postgres() {
    model_edits(Backend::Postgres);
}

#[test]
fn model_edits_mysql() {
    model_edits(Backend::Mysql);
}

const TAG: &str = r#"from sqlalchemy import Column, String

from .base import Base


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = {"comment": "Tags"}

    code = Column(String(20), primary_key=True)
    lang = Column(String(5), nullable=False)
    label = Column(String(50))
"#;

/// A table comment and a primary key edited in the models: exactly those ops, applied,
/// rolled back and applied again with the rows kept (SQLite keeps no comments: nothing
/// to do there; its key changes go through the table rebuild).
fn comment_and_primary_key_edits(backend: Backend) {
    let p = started(backend);
    p.write("models/tag.py", TAG);
    edit(
        &p,
        "models/__init__.py",
        "from .user import User\n",
        "from .user import User\nfrom .tag import Tag\n",
    );
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.exec("INSERT INTO tags (code, lang, label) VALUES ('a', 'en', 'A')");

    edit(
        &p,
        "models/tag.py",
        "\"comment\": \"Tags\"",
        "\"comment\": \"Labels\"",
    );
    if backend == Backend::Sqlite {
        no_changes(&p);
    } else {
        step(&p, &[], &["Alter table tags: comment"], &[]);
    }

    edit(
        &p,
        "models/tag.py",
        "lang = Column(String(5), nullable=False)",
        "lang = Column(String(5), primary_key=True)",
    );
    step(
        &p,
        &[],
        &[
            "Drop primary key on tags",
            "Create primary key on tags (code, lang)",
        ],
        &[],
    );
    assert_eq!(p.count("tags"), 1, "rows survive the key change");

    p.run(&["rollback", "base"]).success();
    let mut left = p.tables();
    left.retain(|t| t != "sqlalembic_history");
    assert_eq!(left, ["alembic_version"], "{backend:?}");
}

#[test]
fn comment_and_primary_key_edits_sqlite() {
    comment_and_primary_key_edits(Backend::Sqlite);
}

#[test]
fn comment_and_primary_key_edits_postgres() {
    comment_and_primary_key_edits(Backend::Postgres);
}

#[test]
fn comment_and_primary_key_edits_mysql() {
    comment_and_primary_key_edits(Backend::Mysql);
}

const KEYED_TWICE: &str = r#"from sqlalchemy import Column, Integer, String, UniqueConstraint

from .base import Base


class Badge(Base):
    __tablename__ = "badges"
    __table_args__ = (UniqueConstraint("id", name="uq_badges_id"),)

    id = Column(Integer, primary_key=True, unique=True)
    name = Column(String(20))
"#;

/// A unique constraint (and a `unique=True` flag) on the primary key: PostgreSQL folds
/// them into the key when it creates the table, which must not read as drift after.
fn unique_on_the_primary_key(backend: Backend) {
    let p = started(backend);
    p.write("models/badge.py", KEYED_TWICE);
    edit(
        &p,
        "models/__init__.py",
        "from .user import User\n",
        "from .user import User\nfrom .badge import Badge\n",
    );
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.run(&["check"]).success();
    p.run(&["rollback", "base"]).success();
}

#[test]
fn unique_on_the_primary_key_sqlite() {
    unique_on_the_primary_key(Backend::Sqlite);
}

#[test]
fn unique_on_the_primary_key_postgres() {
    unique_on_the_primary_key(Backend::Postgres);
}

#[test]
fn unique_on_the_primary_key_mysql() {
    unique_on_the_primary_key(Backend::Mysql);
}

const COUNTER_AND_LABEL: &str = r#"from sqlalchemy import Column, ForeignKey, Integer, String

from .base import Base


class Counter(Base):
    __tablename__ = "counters"

    id = Column(Integer, primary_key=True)
    scope = Column(String(20), nullable=False)


class Label(Base):
    __tablename__ = "labels"

    code = Column(String(20), primary_key=True)
    lang = Column(String(5), nullable=False)


class Sticker(Base):
    __tablename__ = "stickers"

    id = Column(Integer, primary_key=True)
    label_code = Column(String(20), ForeignKey("labels.code"))
"#;

/// An auto-increment key widened to two columns, and a foreign key whose only index on
/// the referenced side is the primary key being changed (MySQL accepts a foreign key
/// to a non-unique index prefix; PostgreSQL does not, so that half is MySQL's): the
/// key loses and later regains `AUTO_INCREMENT` in the statement that moves the key,
/// the foreign key is dropped and created again around it. Applied, rolled back with
/// new rows numbered by the database, and applied again.
fn auto_increment_key_widened(backend: Backend) {
    let p = started(backend);
    let models = if backend == Backend::Mysql {
        COUNTER_AND_LABEL.to_owned()
    } else {
        COUNTER_AND_LABEL[..COUNTER_AND_LABEL.find("\n\nclass Label").expect("label")].to_owned()
            + "\n"
    };
    p.write("models/counter.py", &models);
    edit(
        &p,
        "models/__init__.py",
        "from .user import User\n",
        "from .user import User\nfrom .counter import *\n",
    );
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.exec("INSERT INTO counters (scope) VALUES ('a')");
    if backend == Backend::Mysql {
        p.exec("INSERT INTO labels (code, lang) VALUES ('x', 'en')");
        p.exec("INSERT INTO stickers (label_code) VALUES ('x')");
    }
    let mut models = models.replace(
        "scope = Column(String(20), nullable=False)",
        "scope = Column(String(20), primary_key=True)",
    );
    let mut expected = vec!["Drop primary key on counters"];
    if backend == Backend::Mysql {
        models = models.replace(
            "lang = Column(String(5), nullable=False)",
            "lang = Column(String(5), primary_key=True)",
        );
        expected = vec![
            "Drop foreign key stickers_ibfk_1 on stickers",
            "Drop primary key on counters",
            "Drop primary key on labels",
            "Create primary key on counters (id, scope)",
            "Create primary key on labels (code, lang)",
            "Create foreign key stickers_ibfk_1 on stickers (label_code) -> labels(code)",
        ];
    } else {
        expected.push("Create primary key on counters (id, scope)");
    }
    p.write("models/counter.py", &models);
    step(&p, &[], &expected, &[]);
    // Back at the one-column key, the database numbers new rows again.
    p.run(&["rollback"]).success();
    p.exec("INSERT INTO counters (scope) VALUES ('b')");
    assert_eq!(p.count("counters"), 2);
    if backend == Backend::Mysql {
        p.exec("INSERT INTO stickers (label_code) VALUES ('x')");
        assert_eq!(p.count("stickers"), 2);
    }
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.run(&["rollback", "base"]).success();
}

#[test]
fn auto_increment_key_widened_sqlite() {
    auto_increment_key_widened(Backend::Sqlite);
}

#[test]
fn auto_increment_key_widened_postgres() {
    auto_increment_key_widened(Backend::Postgres);
}

#[test]
fn auto_increment_key_widened_mysql() {
    auto_increment_key_widened(Backend::Mysql);
}

const TAG_AND_NOTE: &str = r#"from sqlalchemy import Column, ForeignKey, Index, Integer, String

from .base import Base


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_code", "code", unique=True),)

    code = Column(String(20), primary_key=True)
    lang = Column(String(5), nullable=False)


class Note(Base):
    __tablename__ = "notes"

    id = Column(Integer, primary_key=True)
    tag_code = Column(String(20), ForeignKey("tags.code"))
"#;

/// A foreign key that references a changed primary key: PostgreSQL refuses to drop the
/// key under it, so it is dropped first and created again after the new key; MariaDB
/// moves it to the unique index on the column; SQLite's rebuild keeps it. Applied,
/// rolled back and applied again.
fn primary_key_under_a_foreign_key(backend: Backend) {
    let p = started(backend);
    p.write("models/tag.py", TAG_AND_NOTE);
    edit(
        &p,
        "models/__init__.py",
        "from .user import User\n",
        "from .user import User\nfrom .tag import Note, Tag\n",
    );
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.exec("INSERT INTO tags (code, lang) VALUES ('a', 'en')");
    p.exec("INSERT INTO notes (id, tag_code) VALUES (1, 'a')");
    edit(
        &p,
        "models/tag.py",
        "lang = Column(String(5), nullable=False)",
        "lang = Column(String(5), primary_key=True)",
    );
    let run = p.run(&["--format", "json", "makemigrations", "key"]);
    run.success();
    let ops = operations(&run);
    let mut shapes: Vec<String> = ops
        .iter()
        .map(|o| {
            if o.starts_with("Drop foreign key ") && o.contains(" on notes") {
                "drop fk notes".to_owned()
            } else if o.starts_with("Create foreign key ")
                && o.ends_with("on notes (tag_code) -> tags(code)")
            {
                "create fk notes".to_owned()
            } else {
                o.clone()
            }
        })
        .collect();
    if backend != Backend::Postgres {
        shapes.insert(0, "drop fk notes".to_owned());
        shapes.push("create fk notes".to_owned());
    }
    assert_eq!(
        shapes,
        [
            "drop fk notes",
            "Drop primary key on tags",
            "Create primary key on tags (code, lang)",
            "create fk notes",
        ],
        "{backend:?}: {ops:?}"
    );
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.run(&["rollback"]).success();
    assert_eq!(p.count("notes"), 1, "rows survive the downgrade");
    p.run(&["migrate"]).success();
    no_changes(&p);
    assert_eq!(p.count("notes"), 1);
    p.run(&["rollback", "base"]).success();
}

#[test]
fn primary_key_under_a_foreign_key_sqlite() {
    primary_key_under_a_foreign_key(Backend::Sqlite);
}

#[test]
fn primary_key_under_a_foreign_key_postgres() {
    primary_key_under_a_foreign_key(Backend::Postgres);
}

#[test]
fn primary_key_under_a_foreign_key_mysql() {
    primary_key_under_a_foreign_key(Backend::Mysql);
}

const THINGS: &str = r#"from sqlalchemy import BigInteger, Boolean, Column, DateTime, Float, Integer, Numeric, String, Text
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Thing(Base):
    __tablename__ = "things"

    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    score = Column(Float)
    big = Column(BigInteger)
    flag = Column(Boolean)
    amount = Column(Numeric(10, 2))
    note = Column(Text)
    at = Column(DateTime)
"#;

/// Tables written by hand with other spellings of the model's types.
fn equivalent_spellings(backend: Backend, ddl: &str) {
    let db = rt().block_on(TestDb::new(backend));
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        &format!(
            "[database]\nDATABASE_URL = \"{}\"\n[migration]\nMIGRATION_COMPARE_TYPE = true\n",
            db.url
        ),
    );
    p.write("models/things.py", THINGS);
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let p = Db { p, db };
    p.exec(ddl);
    no_changes(&p);
    p.run(&["check", "--drift-only"]).success();
}

#[test]
fn equivalent_spellings_sqlite() {
    equivalent_spellings(
        Backend::Sqlite,
        "CREATE TABLE things (id INTEGER NOT NULL PRIMARY KEY, name NVARCHAR(50), score REAL, \
         big BIGINT, flag BOOLEAN, amount DECIMAL(10, 2), note CLOB, at DATETIME)",
    );
}

#[test]
fn equivalent_spellings_postgres() {
    equivalent_spellings(
        Backend::Postgres,
        "CREATE TABLE things (id int4 PRIMARY KEY, name character varying(50), score float8, \
         big int8, flag bool, amount decimal(10,2), note text, at timestamp)",
    );
}

#[test]
fn equivalent_spellings_mysql() {
    equivalent_spellings(
        Backend::Mysql,
        "CREATE TABLE things (id int(11) NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(50), \
         score double, big bigint(20), flag tinyint(1), amount decimal(10,2), note text, \
         at datetime)",
    );
}

/// Destructive and locking edits of the startproject models.
fn destructive_edits(p: &Project) {
    edit(p, "models/post.py", "    content = Column(Text)\n", "");
    edit(
        p,
        "models/user.py",
        "String(50), unique=True",
        "String(20), unique=True",
    );
    edit(
        p,
        "models/user.py",
        "    is_active",
        "    age = Column(Integer, nullable=False)\n    is_active",
    );
    edit(
        p,
        "models/product.py",
        "name = Column(String(100), nullable=False)",
        "name = Column(String(100), nullable=False, unique=True)",
    );
}

#[test]
fn destructive_ops_are_warned_in_output_file_and_signal() {
    let p = started(Backend::Sqlite);
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    destructive_edits(&p);

    // In-process, to see the signal payload.
    let dispatcher = Dispatcher::new();
    let seen: Arc<Mutex<Vec<Signal>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    dispatcher.connect_fn(
        "migration_generated",
        "recorder",
        HandlerMode::Observer,
        move |s: &Signal| {
            sink.lock().expect("lock").push(s.clone());
            Ok(Verdict::Proceed)
        },
    );
    let args: Vec<String> = ["sqlalembic", "-C", &p.path().display().to_string(), "-q"]
        .iter()
        .map(|s| s.to_string())
        .chain(["makemigrations".to_owned(), "risky".to_owned()])
        .collect();
    assert_eq!(sqlalembic::cli::run_with(args, &dispatcher), 0);
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1);
    let payload = &seen[0].payload;
    let expected = [
        "add-not-null-without-default",
        "add-unique",
        "drop-column",
        "narrow-type",
    ];
    assert_eq!(warning_codes(payload), expected);
    assert_eq!(payload["destructive"], true);
    assert_eq!(payload["command"], "makemigrations");
    let file = payload["file"].as_str().expect("file").to_owned();
    let text = p.read(&file);
    for code in expected {
        assert!(
            text.contains(&format!("# warning[{code}]: ")),
            "{code}:\n{text}"
        );
    }
    // The comment sits right above its op.
    assert!(
        text.contains(
            "# warning[drop-column]: Drops column `posts.content` and its values\n[[upgrade]]\nop = \"drop_column\""
        ),
        "{text}"
    );
    std::fs::remove_file(p.path().join(&file)).expect("remove");

    // The binary prints them on stderr.
    let run = p.run(&["makemigrations", "risky"]);
    run.success();
    for code in expected {
        assert!(
            run.stderr.contains(&format!("warning: [{code}] ")),
            "{code}: {run:#?}"
        );
    }
    assert!(run.stdout.contains("Generated revision"), "{run:#?}");
}

fn check_gate(backend: Backend) {
    let p = started(backend);
    // An empty database with no revisions: the models are drift.
    let run = p.run(&["check"]);
    run.code(1);
    assert!(run.stdout.contains("Model drift: 3 operations"), "{run:#?}");
    p.run(&["makemigrations", "init"]).success();
    // Pending, but the pending revision holds the models: no drift.
    p.run(&["check"]).code(1);
    p.run(&["check", "--drift-only"]).success();
    p.run(&["migrate"]).success();
    p.run(&["check"]).success();
    edit(
        &p,
        "models/user.py",
        "import Boolean,",
        "import Boolean, Text,",
    );
    edit(
        &p,
        "models/user.py",
        "    is_active",
        "    bio = Column(Text)\n    is_active",
    );
    let run = p.run(&["check"]);
    run.code(1);
    assert!(run.stdout.contains("No pending migrations"), "{run:#?}");
    assert!(
        run.stdout.contains("  Add column users.bio text"),
        "{run:#?}"
    );
    p.run(&["check", "--pending-only"]).success();
    let json = p.run(&["--format", "json", "check", "--drift-only"]);
    json.code(1);
    assert_eq!(
        json.json()["drift"],
        serde_json::json!(["Add column users.bio text"])
    );
    // Plain `check` is one JSON document with both parts.
    let both = p.run(&["--format", "json", "check"]);
    both.code(1);
    let doc = both.json();
    assert_eq!(doc["pending"], serde_json::json!([]));
    assert_eq!(
        doc["drift"],
        serde_json::json!(["Add column users.bio text"])
    );
}

#[test]
fn check_gate_sqlite() {
    check_gate(Backend::Sqlite);
}

#[test]
fn check_gate_postgres() {
    check_gate(Backend::Postgres);
}

#[test]
fn check_gate_mysql() {
    check_gate(Backend::Mysql);
}

#[test]
fn refusals_name_the_way_out() {
    let p = started(Backend::Sqlite);
    p.run(&["makemigrations", "init"]).success();
    // Not migrated yet: a second revision would repeat the first.
    let run = p.run(&["makemigrations", "again"]);
    run.code(2);
    assert!(run.stderr.contains("not up to date"), "{run:#?}");
    assert!(run.stderr.contains("sqlalembic migrate"), "{run:#?}");
    p.run(&["migrate"]).success();
    let run = p.run(&["makemigrations", "--rename", "users.nick:handle"]);
    run.code(2);
    assert!(
        run.stderr.contains(
            "`--rename users.nick:handle` does not fit: the database has no column `users.nick`"
        ),
        "{run:#?}"
    );
    let run = p.run(&["makemigrations", "--rename", "nonsense"]);
    run.code(2);
    assert!(run.stderr.contains("is not a rename"), "{run:#?}");
    // No models at all: refused, never "drop every table".
    std::fs::remove_dir_all(p.path().join("models")).expect("rm models");
    let run = p.run(&["makemigrations"]);
    run.code(2);
    assert!(run.stderr.contains("No models found"), "{run:#?}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read corpus") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// One package of the discovery corpus: generate, migrate, nothing left, back to base.
fn corpus_round_trip(package: &str, backend: Backend, setup: &[&str]) {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/models/corpus")
        .join(package);
    let db = rt().block_on(TestDb::new(backend));
    let p = Project::new();
    copy_dir(&corpus, &p.path().join(package));
    p.write(
        "sqlalembic.toml",
        &format!(
            "[database]\nDATABASE_URL = \"{}\"\n[discovery]\nMODEL_DISCOVERY_PATHS = \"{package}\"\n",
            db.url
        ),
    );
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let p = Db { p, db };
    for sql in setup {
        p.exec(sql);
    }
    p.run(&["makemigrations", "corpus"]).success();
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.run(&["check"]).success();
    p.run(&["rollback", "base"]).success();
    let mut left = p.tables();
    left.retain(|t| t != "sqlalembic_history");
    assert_eq!(left, ["alembic_version"], "{package} on {backend:?}");
}

// The packages on the databases that can hold them: `typed` uses arrays (PostgreSQL
// only), `sqlm` unsized strings (not MySQL), `classic` an expression index (MariaDB has
// none); `core` needs a `reporting` schema (migrations do not create schemas).
#[test]
fn corpus_classic_sqlite_and_postgres() {
    corpus_round_trip("classic", Backend::Sqlite, &[]);
    corpus_round_trip("classic", Backend::Postgres, &[]);
}

#[test]
fn corpus_flaskapp_on_every_backend() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        corpus_round_trip("flaskapp", backend, &[]);
    }
}

#[test]
fn corpus_sqlmodel_sqlite_and_postgres() {
    corpus_round_trip("sqlm", Backend::Sqlite, &[]);
    corpus_round_trip("sqlm", Backend::Postgres, &[]);
}

#[test]
fn corpus_core_postgres_with_its_named_schema() {
    corpus_round_trip("core", Backend::Postgres, &["CREATE SCHEMA reporting"]);
}

#[test]
fn corpus_typed_postgres() {
    corpus_round_trip("typed", Backend::Postgres, &[]);
}

const ITEMS: &str = r#"from sqlalchemy import Column, Enum, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Item(Base):
    __tablename__ = "items"

    id = Column(Integer, primary_key=True)
    mood = Column(Enum("happy", "sad", name="mood"), nullable=False)
    label = Column(String(20), comment="Shown to people")
"#;

/// An enum gains a value (PostgreSQL `ALTER TYPE ... ADD VALUE`, MySQL `ENUM`, SQLite's
/// CHECK through a rebuild) and a column comment changes (not stored by SQLite).
fn enum_and_comment_edits(backend: Backend) {
    let db = rt().block_on(TestDb::new(backend));
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        &format!("[database]\nDATABASE_URL = \"{}\"\n", db.url),
    );
    p.write("models/items.py", ITEMS);
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let p = Db { p, db };
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.exec("INSERT INTO items (id, mood, label) VALUES (1, 'sad', 'x')");
    edit(
        &p,
        "models/items.py",
        "\"happy\", \"sad\"",
        "\"happy\", \"sad\", \"meh\"",
    );
    edit(&p, "models/items.py", "Shown to people", "Shown to users");
    let mut expected = vec!["Alter column items.mood: type enum(mood, 'happy', 'sad', 'meh')"];
    if backend != Backend::Sqlite {
        expected.push("Alter column items.label: comment");
    }
    step(&p, &[], &expected, &[]);
    assert_eq!(p.count("items"), 1);
}

#[test]
fn enum_and_comment_edits_sqlite() {
    enum_and_comment_edits(Backend::Sqlite);
}

#[test]
fn enum_and_comment_edits_postgres() {
    enum_and_comment_edits(Backend::Postgres);
}

#[test]
fn enum_and_comment_edits_mysql() {
    enum_and_comment_edits(Backend::Mysql);
}

const CYCLE: &str = r#"from sqlalchemy import Column, ForeignKey, Integer
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class Author(Base):
    __tablename__ = "authors"

    id = Column(Integer, primary_key=True)
    best_book_id = Column(Integer, ForeignKey("books.id", name="fk_authors_best_book"))


class Book(Base):
    __tablename__ = "books"

    id = Column(Integer, primary_key=True)
    author_id = Column(Integer, ForeignKey("authors.id", name="fk_books_author"))
"#;

/// Two tables referencing each other: the key closing the cycle is added after both
/// tables (dropped before them), except on SQLite, which takes forward references.
fn cyclic_foreign_keys(backend: Backend) {
    let db = rt().block_on(TestDb::new(backend));
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        &format!("[database]\nDATABASE_URL = \"{}\"\n", db.url),
    );
    p.write("models/cycle.py", CYCLE);
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let p = Db { p, db };
    let run = p.run(&["--format", "json", "makemigrations", "cycle"]);
    run.success();
    let mut expected = vec![
        "Create table authors (id, best_book_id)",
        "Create table books (id, author_id)",
    ];
    if backend != Backend::Sqlite {
        expected
            .push("Create foreign key fk_authors_best_book on authors (best_book_id) -> books(id)");
    }
    assert_eq!(operations(&run), expected, "{backend:?}");
    p.run(&["migrate"]).success();
    no_changes(&p);
    p.run(&["rollback", "base"]).success();
    let mut left = p.tables();
    left.retain(|t| t != "sqlalembic_history");
    assert_eq!(left, ["alembic_version"], "{backend:?}");
}

#[test]
fn cyclic_foreign_keys_sqlite() {
    cyclic_foreign_keys(Backend::Sqlite);
}

#[test]
fn cyclic_foreign_keys_postgres() {
    cyclic_foreign_keys(Backend::Postgres);
}

#[test]
fn cyclic_foreign_keys_mysql() {
    cyclic_foreign_keys(Backend::Mysql);
}

/// `MIGRATION_EXCLUDE_TABLES` / `MIGRATION_INCLUDE_TABLES`: tables outside the filter are
/// never dropped or created, whatever the models or the database hold.
#[test]
fn include_and_exclude_filters_keep_foreign_tables() {
    let p = started(Backend::Sqlite);
    p.run(&["makemigrations", "Initial schema"]).success();
    p.run(&["migrate"]).success();
    p.exec("CREATE TABLE legacy_orders (id INTEGER PRIMARY KEY)");
    // Without a filter the unknown table would be dropped.
    let run = p.run_env(&["check", "--drift-only"], &[]);
    run.code(1);
    assert!(run.stdout.contains("legacy_orders"), "{run:#?}");
    let env = [("MIGRATION_EXCLUDE_TABLES", "legacy_*")];
    p.run_env(&["check", "--drift-only"], &env).success();
    no_changes_env(&p, &env);
    // Only `users` compared: a model-only table is not created either.
    let env = [("MIGRATION_INCLUDE_TABLES", "users,legacy_orders")];
    let run = p.run_env(&["check", "--drift-only"], &env);
    run.code(1);
    assert!(run.stdout.contains("legacy_orders"), "{run:#?}");
    assert!(!run.stdout.contains("products"), "{run:#?}");
}

#[track_caller]
fn no_changes_env(p: &Project, env: &[(&str, &str)]) {
    let before = revision_files(p);
    let run = p.run_env(&["makemigrations"], env);
    run.success();
    assert_eq!(run.stdout.trim(), "No changes detected", "{run:#?}");
    assert_eq!(revision_files(p), before, "no file is written");
}

/// A policy can refuse a generated revision: `migration_generated` is sent before the
/// file is written, and a deny there exits 4 with nothing written.
#[test]
fn a_policy_can_refuse_a_destructive_revision_before_it_is_written() {
    let p = started(Backend::Sqlite);
    p.run(&["makemigrations", "Initial schema"]).success();
    p.run(&["migrate"]).success();
    edit(
        &p,
        "models/user.py",
        "    email = Column(String(120), unique=True, nullable=False)\n",
        "",
    );
    let before = revision_files(&p);
    let dispatcher = Dispatcher::new();
    dispatcher.connect_fn(
        "migration_generated",
        "no-drops",
        HandlerMode::Policy,
        |s: &Signal| {
            Ok(if s.payload["destructive"] == true {
                Verdict::Deny("Destructive migrations need a review".to_owned())
            } else {
                Verdict::Proceed
            })
        },
    );
    let args = [
        "sqlalembic",
        "-q",
        "-C",
        &p.path().display().to_string(),
        "makemigrations",
        "Drop email",
    ]
    .map(String::from);
    assert_eq!(sqlalembic::cli::run_with(args, &dispatcher), 4);
    assert_eq!(revision_files(&p), before, "no file is written");
}

/// A model type the database cannot store (SQLAlchemy's `String()` has no length,
/// which MySQL's VARCHAR needs) is refused at `makemigrations`, naming the model, not
/// at `migrate` halfway through a revision. The same model is fine on PostgreSQL.
#[test]
fn a_type_the_database_cannot_store_is_refused_before_any_file() {
    let note = "from sqlalchemy import Column, Integer, String\n\nfrom .base import Base\n\n\n\
                class Note(Base):\n    __tablename__ = \"notes\"\n\n    \
                id = Column(Integer, primary_key=True)\n    body = Column(String())\n";
    for backend in [Backend::Mysql, Backend::Postgres] {
        let p = started(backend);
        p.write("models/note.py", note);
        edit(
            &p,
            "models/__init__.py",
            "from .user import User\n",
            "from .user import User\nfrom .note import Note\n",
        );
        let run = p.run(&["makemigrations", "init"]);
        if backend == Backend::Postgres {
            run.success();
            continue;
        }
        run.code(2);
        assert!(
            run.stderr.contains(
                "models/note.py:6: error[AUT001]: Column `notes.body`: Type `varchar` cannot be used on mysql"
            ),
            "{run:#?}"
        );
        assert!(revision_files(&p).is_empty(), "no file is written");
        p.run(&["check", "--drift-only"]).code(2);
    }
}

/// On a terminal, a rename candidate is a question: `y` writes the rename, anything
/// else the drop and add (with its warning). The terminal is a real pseudo-terminal,
/// from util-linux `script`.
#[test]
fn rename_candidates_are_asked_on_a_terminal() {
    let p = started(Backend::Sqlite);
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    edit(
        &p,
        "models/user.py",
        "    username = Column",
        "    login = Column",
    );
    let bin = assert_cmd::cargo::cargo_bin("sqlalembic");
    let on_terminal = |answer: &str, message: &str| {
        let mut child = std::process::Command::new("script")
            .args(["-q", "-e", "-f", "-c"])
            .arg(format!("'{}' makemigrations {message}", bin.display()))
            .arg("/dev/null")
            .current_dir(p.path())
            // The harness's clean environment: the project's own settings only.
            .env_clear()
            .envs(
                ["PATH", "HOME"]
                    .iter()
                    .filter_map(|k| Some((k, std::env::var_os(k)?))),
            )
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs the binary on a pseudo-terminal");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{answer}\n").as_bytes())
            .expect("answer");
        let out = child.wait_with_output().expect("script ends");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{text}");
        assert!(
            text.contains("Did you rename column `users.username` to `login`? [y/N]"),
            "{text}"
        );
        text
    };
    let said = on_terminal("n", "declined");
    assert!(said.contains("Drop column users.username"), "{said}");
    assert!(said.contains("Add column users.login"), "{said}");
    for f in revision_files(&p) {
        if f.contains("declined") {
            std::fs::remove_file(p.path().join("migrations/versions").join(&f)).expect("rm");
        }
    }
    let said = on_terminal("y", "accepted");
    assert!(
        said.contains("Alter column users.username: rename to login"),
        "{said}"
    );
    p.run(&["migrate"]).success();
    no_changes(&p);
}

/// A database another tool migrated (Alembic writes the same `alembic_version`
/// table) is refused with the way to adopt it, and that way works: the first
/// revision written against an empty database, stamped here, leaves no drift.
#[test]
fn a_database_migrated_by_another_tool_is_adopted_as_the_hint_says() {
    let p = started(Backend::Sqlite);
    p.run(&["makemigrations", "init"]).success();
    p.run(&["migrate"]).success();
    p.exec("INSERT INTO users (id, username, email, is_active) VALUES (1, 'ann', 'a@x', 1)");
    // What Alembic would have left: the tables, and its own revision id.
    for f in revision_files(&p) {
        std::fs::remove_file(p.path().join("migrations/versions").join(f)).expect("rm");
    }
    p.exec("UPDATE alembic_version SET version_num = '1975ea83b712'");
    let status = p.run(&["status"]);
    status.success();
    assert!(
        status
            .stdout
            .contains("Current:    1975ea83b712  (no revision file)")
            && status.stdout.contains("Pending:    unknown"),
        "{status:#?}"
    );
    for args in [&["migrate"][..], &["makemigrations", "next"], &["rollback"]] {
        let run = p.run(args);
        run.code(2);
        assert!(
            run.stderr.contains(
                "The database is at 1975ea83b712, which no revision file in `migrations/versions` defines"
            ),
            "{args:?}: {run:#?}"
        );
        assert!(run.stderr.contains("stamp --purge head"), "{run:#?}");
    }
    p.run(&[
        "--database-url",
        "sqlite:///empty.db",
        "makemigrations",
        "init",
    ])
    .success();
    p.run(&["stamp", "--purge", "head"]).success();
    p.run(&["check"]).success();
    no_changes(&p);
    assert_eq!(p.count("users"), 1, "adopting touched no row");
}

/// An expression index in the models, on MariaDB: the revision is written (MySQL 8
/// runs it) with a `server-cannot` warning, and `migrate` on this server refuses it
/// before running any of it.
#[test]
fn an_expression_index_on_mariadb_is_flagged_and_refused_before_it_runs() {
    let p = started(Backend::Mysql);
    p.write(
        "models/tag.py",
        "from sqlalchemy import Column, Index, Integer, String, func\n\nfrom .base import Base\n\n\n\
         class Tag(Base):\n    __tablename__ = \"tags\"\n\n    \
         id = Column(Integer, primary_key=True)\n    name = Column(String(20))\n    \
         __table_args__ = (Index(\"ix_tags_lower_name\", func.lower(name)),)\n",
    );
    edit(
        &p,
        "models/__init__.py",
        "from .user import User\n",
        "from .user import User\nfrom .tag import Tag\n",
    );
    let run = p.run(&["--format", "json", "makemigrations", "init"]);
    run.success();
    assert!(
        warning_codes(&run.json()).contains(&"server-cannot".to_owned()),
        "{run:#?}"
    );
    let run = p.run(&["migrate"]);
    run.code(2);
    assert!(run.stderr.contains("MariaDB cannot run it"), "{run:#?}");
    let mut left = p.tables();
    left.retain(|t| t != "sqlalembic_history");
    assert_eq!(left, ["alembic_version"], "nothing of the revision ran");
}

const PER_DIALECT: &str = r#"import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Doc(Base):
    __tablename__ = "doc"
    __table_args__ = (
        sa.Index("ix_doc_title_pg", "title").ddl_if(dialect="postgresql"),
        sa.Index("ix_doc_title_lite", "title").ddl_if(dialect=("sqlite",)),
        sa.Index("ix_doc_body", "body"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.String(50))


sa.Index("ix_doc_both_my", Doc.title, Doc.body).ddl_if(dialect="mysql")
"#;

impl Db {
    fn index_names(&self, table: &str) -> Vec<String> {
        let (url, backend) = (self.url(), self.db.backend);
        rt().block_on(async {
            let mut c = Connection::connect(&url, backend).await.expect("connect");
            let s = introspect(&mut c, &IntrospectOptions::default())
                .await
                .expect("introspect");
            c.close().await;
            let mut names: Vec<String> = s
                .tables
                .into_iter()
                .filter(|t| t.name == table)
                .flat_map(|t| t.indexes.into_iter().map(|i| i.name))
                .collect();
            names.sort();
            names
        })
    }
}

/// `Index(...).ddl_if(dialect=...)`: the revision keeps every index with the dialects
/// it belongs to; each database gets only its own, and no drift is seen for the rest.
fn indexes_limited_to_a_dialect(backend: Backend) {
    let p = started(backend);
    p.write("models/doc.py", PER_DIALECT);
    edit(
        &p,
        "models/__init__.py",
        "from .user import User\n",
        "from .user import User\nfrom .doc import Doc\n",
    );
    p.run(&["makemigrations", "init"]).success();
    let revision = p.read(&format!("migrations/versions/{}", revision_files(&p)[0]));
    assert!(
        revision.contains(r#"dialects = ["postgresql"]"#)
            && revision.contains(r#"dialects = ["sqlite"]"#),
        "{revision}"
    );
    p.run(&["migrate"]).success();
    let own = match backend {
        Backend::Postgres => "ix_doc_title_pg",
        Backend::Sqlite => "ix_doc_title_lite",
        _ => "ix_doc_both_my",
    };
    let mut expected = vec!["ix_doc_body".to_owned(), own.to_owned()];
    expected.sort();
    assert_eq!(p.index_names("doc"), expected, "{backend:?}");
    no_changes(&p);
    p.run(&["check"]).success();
    p.run(&["rollback", "base"]).success();
}

#[test]
fn indexes_limited_to_a_dialect_sqlite() {
    indexes_limited_to_a_dialect(Backend::Sqlite);
}

#[test]
fn indexes_limited_to_a_dialect_postgres() {
    indexes_limited_to_a_dialect(Backend::Postgres);
}

#[test]
fn indexes_limited_to_a_dialect_mysql() {
    indexes_limited_to_a_dialect(Backend::Mysql);
}
