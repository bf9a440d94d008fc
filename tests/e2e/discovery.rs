//! `discover`: the startproject models, the model corpus, and every bad input it must survive.

use std::path::{Path, PathBuf};

use crate::harness::Project;

/// The model corpus under `tests/fixtures/models/corpus`.
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models/corpus")
}

fn copy_dir(from: &Path, to: &Path) {
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

fn started() -> Project {
    let p = Project::new();
    p.run(&["startproject", "."]).success();
    p
}

fn table_names(json: &serde_json::Value) -> Vec<String> {
    json["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn startproject_models_are_discovered_with_locations() {
    let p = started();
    let run = p.run(&["discover"]);
    run.success();
    assert!(run.stdout.contains("posts  (models/post.py:7)"), "{run:#?}");
    assert!(run.stdout.contains("users  (models/user.py:9)"), "{run:#?}");
    assert!(
        run.stdout.contains("title varchar(200) NOT NULL"),
        "{run:#?}"
    );

    let json = p.run(&["discover", "--format", "json"]);
    json.success();
    let v = json.json();
    assert_eq!(table_names(&v), ["posts", "products", "users"]);
    let posts = &v["tables"][0];
    assert_eq!(posts["source"]["file"], "models/post.py");
    assert_eq!(posts["foreign_keys"][0]["referred_table"], "users");
    assert_eq!(posts["foreign_keys"][0]["ondelete"], "CASCADE");
    assert_eq!(posts["indexes"][0]["name"], "ix_posts_user_id");
    assert_eq!(posts["columns"][4]["server_default"], "now()");
    let products = &v["tables"][1];
    assert_eq!(products["unique_constraints"][0]["name"], "uq_products_sku");
    assert_eq!(products["check_constraints"][0]["sqltext"], "price >= 0");
    assert_eq!(products["columns"][4]["precision"], 10);
    assert_eq!(v["diagnostics"], serde_json::json!([]));

    let erd = p.run(&["discover", "--format", "mermaid"]);
    erd.success();
    assert!(erd.stdout.starts_with("erDiagram"), "{erd:#?}");
    assert!(
        erd.stdout.contains("users ||--o{ posts : \"user_id\""),
        "{erd:#?}"
    );
}

#[test]
fn corpus_is_read_statically() {
    let p = Project::new();
    copy_dir(&corpus(), p.path());
    let run = p.run(&["discover", "--format", "json"]);
    run.success();
    let v = run.json();
    let names = table_names(&v);
    for expected in [
        "classic_accounts",
        "classic_employees",
        "classic_engineers",
        "classic_gadgets",
        "classic_projects",
        "flask_entries",
        "flask_follows",
        "flask_user",
        "mission",
        "sqlm_heroes",
        "sqlm_teams",
        "typed_authors",
        "typed_posts",
        "typed_tag_links",
        "typed_tags",
        "core_regions",
        "core_samples",
        "core_owners",
        "core_pets",
    ] {
        assert!(
            names.contains(&expected.to_owned()),
            "{expected} missing from {names:?}"
        );
    }
    // Single-table inheritance adds `team` to the parent table.
    let employees = v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "classic_employees")
        .expect("employees");
    assert!(
        employees["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .any(|c| c["name"] == "team")
    );
}

#[test]
fn syntax_error_fails_with_its_location() {
    let p = started();
    p.write(
        "models/broken.py",
        "from sqlalchemy import Column\n\nclass Broken(Base:\n    pass\n",
    );
    let run = p.run(&["discover"]);
    run.code(2);
    assert!(run.stderr.contains("models/broken.py:3:"), "{run:#?}");
    assert!(run.stderr.contains("error[SA001]"), "{run:#?}");
    assert!(
        run.stdout.is_empty(),
        "no partial listing on stdout: {run:#?}"
    );
}

#[test]
fn unresolvable_expression_is_a_diagnostic_not_a_guess() {
    let p = started();
    p.write(
        "models/tags.py",
        "from sqlalchemy import Column, Integer, String\nfrom .base import Base\nfrom somewhere_unknown import *\n\nclass Tag(Base):\n    __tablename__ = 'tags'\n    id = Column(Integer, primary_key=True)\n    name = Column(String(LENGTH))\n",
    );
    let run = p.run(&["discover", "--format", "json"]);
    run.code(2);
    assert!(run.stderr.contains("models/tags.py:8:"), "{run:#?}");
    assert!(run.stderr.contains("`LENGTH`"), "{run:#?}");
    assert!(run.stderr.contains("sqlalchemy-import"), "{run:#?}");
}

#[test]
fn empty_model_set_is_an_error() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[discovery]\nMODEL_DISCOVERY_PATHS = \"app\"\n",
    );
    p.write("app/util.py", "def f():\n    return 1\n");
    let run = p.run(&["discover"]);
    run.code(2);
    assert!(run.stderr.contains("No models found in `app`"), "{run:#?}");
    assert!(
        run.stderr.contains("drops every table") || run.stderr.contains("drop"),
        "{run:#?}"
    );
}

#[test]
fn association_tables_envelope_paths_and_migrations() {
    let p = started();
    p.write(
        "models/envelope.py",
        "from sqlalchemy import Column, ForeignKey, Integer, Table\nfrom .base import Base\n\nenvelopes_users = Table(\n    'envelopes_users',\n    Base.metadata,\n    Column('user_id', ForeignKey('users.id'), primary_key=True),\n    Column('post_id', ForeignKey('posts.id'), primary_key=True),\n)\n",
    );
    p.write(
        "migrations/versions/abc_models.py",
        "from sqlalchemy import Column, Integer, Table, MetaData\nt = Table('from_migration', MetaData(), Column('id', Integer))\n",
    );
    let v = p.run(&["discover", "--format", "json"]).success().json();
    let names = table_names(&v);
    assert!(names.contains(&"envelopes_users".to_owned()), "{names:?}");
    assert!(!names.contains(&"from_migration".to_owned()), "{names:?}");
    let t = v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "envelopes_users")
        .expect("table");
    // The column type comes from the referred column.
    assert_eq!(t["columns"][0]["type"], "integer");
}

#[test]
fn duplicate_tables_name_both_places() {
    let p = started();
    p.write(
        "models/again.py",
        "from sqlalchemy import Column, Integer\nfrom .base import Base\n\nclass Again(Base):\n    __tablename__ = 'users'\n    id = Column(Integer, primary_key=True)\n",
    );
    let run = p.run(&["discover"]);
    run.code(2);
    assert!(run.stderr.contains("DSC005"), "{run:#?}");
    assert!(run.stderr.contains("models/again.py:4"), "{run:#?}");
    assert!(run.stderr.contains("models/user.py:9"), "{run:#?}");
}

#[test]
fn unknown_backend_is_a_usage_error() {
    let p = started();
    let run = p.run(&["discover", "--backend", "magic"]);
    run.code(2);
    assert!(
        run.stderr.contains("Unknown discovery backend `magic`"),
        "{run:#?}"
    );
}

#[test]
fn import_backend_matches_the_static_listing() {
    let python = std::env::var("SQLALEMBIC_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("SQLALEMBIC_TEST_PYTHON is not set: run `scripts/test`, which creates the venv with SQLAlchemy")
    });
    let p = started();
    let statically = p.run(&["discover", "--format", "json"]).success().json();
    let imported = p
        .run_env(
            &[
                "discover",
                "--format",
                "json",
                "--backend",
                "sqlalchemy-import",
            ],
            &[("SQLALEMBIC_PYTHON", python.as_str())],
        )
        .success()
        .json();
    assert_eq!(statically["tables"], imported["tables"]);
    // Imports never leave bytecode in the project.
    assert!(!p.path().join("models/__pycache__").exists());
}

/// A project whose models live in the package `app` (no startproject scaffolding).
fn app(files: &[(&str, &str)]) -> Project {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[discovery]\nMODEL_DISCOVERY_PATHS = \"app\"\n",
    );
    p.write("app/__init__.py", "");
    for (rel, text) in files {
        p.write(rel, text);
    }
    p
}

const BASE: &str = "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n";

#[test]
fn circular_imports_between_model_files_resolve_as_python_would() {
    // a.py and b.py import each other at module level; each name is used only after
    // both modules are loaded, as Python allows.
    let p = app(&[
        ("app/base.py", BASE),
        (
            "app/a.py",
            "from sqlalchemy import Column, ForeignKey, Integer, String\nfrom app.base import Base\nfrom app import b\n\nNAME_LEN = 40\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = Column(Integer, primary_key=True)\n    b_id = Column(Integer, ForeignKey('b.id'))\n    label = Column(String(b.LABEL_LEN))\n",
        ),
        (
            "app/b.py",
            "from sqlalchemy import Column, Integer, String\nfrom app.base import Base\nfrom app import a\n\nLABEL_LEN = 20\n\nclass B(Base):\n    __tablename__ = 'b'\n    id = Column(Integer, primary_key=True)\n    name = Column(String(a.NAME_LEN))\n",
        ),
    ]);
    let run = p.run(&["discover", "--format", "json"]);
    run.success();
    let v = run.json();
    assert_eq!(table_names(&v), ["a", "b"]);
    let ty = |t: usize, c: usize| v["tables"][t]["columns"][c]["type"].clone();
    assert_eq!(ty(0, 2), "varchar(20)");
    assert_eq!(ty(1, 1), "varchar(40)");
}

#[test]
fn a_name_that_only_exists_in_a_cycle_is_a_diagnostic() {
    // Each constant is defined from the other: no value exists.
    let p = app(&[
        ("app/base.py", BASE),
        (
            "app/a.py",
            "from sqlalchemy import Column, Integer, String\nfrom app.base import Base\nfrom app.b import Y\nX = Y + 1\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = Column(Integer, primary_key=True)\n    name = Column(String(X))\n",
        ),
        ("app/b.py", "from app.a import X\nY = X + 1\n"),
    ]);
    let run = p.run(&["discover"]);
    run.code(2);
    assert!(run.stderr.contains("app/a.py:9:"), "{run:#?}");
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
}

#[test]
fn an_import_of_a_missing_module_names_it() {
    let p = app(&[
        ("app/base.py", BASE),
        (
            "app/models.py",
            "from sqlalchemy import Column, Integer, String\nfrom app.base import Base\nfrom app.settings import NAME_LEN\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = Column(Integer, primary_key=True)\n    name = Column(String(NAME_LEN))\n",
        ),
    ]);
    let run = p.run(&["discover"]);
    run.code(2);
    assert!(run.stderr.contains("app/models.py:8:"), "{run:#?}");
    assert!(run.stderr.contains("NAME_LEN"), "{run:#?}");
    assert!(run.stderr.contains("app.settings"), "{run:#?}");
}

#[test]
fn a_helper_that_recurses_forever_stops_with_its_place() {
    let p = app(&[
        ("app/base.py", BASE),
        (
            "app/models.py",
            "from sqlalchemy import Column, Integer, String\nfrom app.base import Base\n\ndef width(n):\n    return width(n + 1)\n\ndef spin():\n    n = 0\n    while True:\n        n += 1\n    return n\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = Column(Integer, primary_key=True)\n    name = Column(String(width(1)))\n    other = Column(String(spin()))\n",
        ),
    ]);
    let started = std::time::Instant::now();
    let run = p.run(&["discover"]);
    run.code(2);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{run:#?}"
    );
    // Each stop names its place: inside the recursing helper, inside the loop.
    assert!(run.stderr.contains("app/models.py:5:"), "{run:#?}");
    assert!(run.stderr.contains("app/models.py:10:"), "{run:#?}");
    assert!(
        run.stderr.contains("`width` calls itself too deeply")
            && run.stderr.contains("a recursion that does not end?"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
}

#[test]
fn a_five_megabyte_generated_model_file_is_read_exactly() {
    let mut text = String::from(
        "from sqlalchemy import Column, ForeignKey, Integer, String, Text\nfrom app.base import Base\n",
    );
    let mut n = 0;
    while text.len() < 5 * 1024 * 1024 {
        text.push_str(&format!(
            "\n\nclass Generated{n}(Base):\n    \"\"\"Generated model number {n}, padded like a generator's docstring would be.\"\"\"\n    __tablename__ = 'generated_{n}'\n    id = Column(Integer, primary_key=True)\n    parent_id = Column(Integer, ForeignKey('generated_{parent}.id'), index=True)\n    name = Column(String({len}), nullable=False, unique=True)\n    body = Column(Text, comment='the body of model {n}')\n",
            parent = n / 2,
            len = 10 + n % 200
        ));
        n += 1;
    }
    let p = app(&[("app/base.py", BASE), ("app/generated.py", &text)]);
    let run = p.run(&["discover", "--format", "json"]);
    run.success();
    let v = run.json();
    let tables = v["tables"].as_array().expect("tables");
    assert_eq!(tables.len(), n);
    let last = tables
        .iter()
        .find(|t| t["name"] == format!("generated_{}", n - 1))
        .expect("last table");
    assert_eq!(
        last["columns"][2]["type"],
        format!("varchar({})", 10 + (n - 1) % 200)
    );
}

const DDL_IF: &str = "import sqlalchemy as sa\nfrom app.base import Base\n\nclass Doc(Base):\n    __tablename__ = 'doc'\n    __table_args__ = (sa.Index('ix_pg', 'title').ddl_if(dialect='postgresql'),)\n    id = sa.Column(sa.Integer, primary_key=True)\n    title = sa.Column(sa.String(20))\n\nix = sa.Index('ix_lite', Doc.title)\nix.ddl_if(dialect=('sqlite', 'mysql'))\nsa.Index('ix_all', Doc.id, Doc.title)\n";

/// `Index(...).ddl_if(dialect=...)`, inline and on a standalone index: both backends
/// read the same dialects; a condition only known when the DDL runs is a diagnostic.
#[test]
fn indexes_limited_to_dialects_read_alike_statically_and_imported() {
    let python = std::env::var("SQLALEMBIC_TEST_PYTHON").expect("SQLALEMBIC_TEST_PYTHON");
    let p = app(&[("app/base.py", BASE), ("app/models.py", DDL_IF)]);
    let statically = p.run(&["discover", "--format", "json"]).success().json();
    let dialects: Vec<(String, serde_json::Value)> = statically["tables"][0]["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("name").to_owned(),
                i["dialects"].clone(),
            )
        })
        .collect();
    assert_eq!(
        dialects,
        [
            ("ix_all".to_owned(), serde_json::json!([])),
            ("ix_lite".to_owned(), serde_json::json!(["sqlite", "mysql"])),
            ("ix_pg".to_owned(), serde_json::json!(["postgresql"])),
        ]
    );
    let imported = p
        .run_env(
            &[
                "discover",
                "--format",
                "json",
                "--backend",
                "sqlalchemy-import",
            ],
            &[("SQLALEMBIC_PYTHON", python.as_str())],
        )
        .success()
        .json();
    assert_eq!(statically["tables"], imported["tables"]);

    p.write(
        "app/models.py",
        &DDL_IF.replace(
            "ddl_if(dialect='postgresql')",
            "ddl_if(callable_=lambda *a, **k: True)",
        ),
    );
    let run = p.run(&["discover"]);
    run.code(2);
    assert!(
        run.stderr.contains("app/models.py:6:")
            && run
                .stderr
                .contains("`ddl_if(callable_=...)` decides when the DDL runs"),
        "{run:#?}"
    );
    let run = p.run_env(
        &["discover", "--backend", "sqlalchemy-import"],
        &[("SQLALEMBIC_PYTHON", python.as_str())],
    );
    run.code(2);
    assert!(run.stderr.contains("has ddl_if(callable_=...)"), "{run:#?}");
    assert!(!run.stderr.contains("Traceback"), "{run:#?}");
}
