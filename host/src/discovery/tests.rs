//! Discovery over small temporary projects.

use std::path::{Path, PathBuf};

use super::*;
use crate::schema::ColumnType;

fn request(root: &Path) -> Request {
    Request {
        project_root: root.to_path_buf(),
        paths: vec![root.to_path_buf()],
        exclude: vec![],
        migrations_dir: root.join("migrations"),
        backends: vec![Backend::SqlAlchemy],
        use_cache: false,
        python: PathBuf::from("python3"),
        import_timeout: std::time::Duration::from_secs(120),
    }
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn ok(files: &[(&str, &str)]) -> Discovery {
    let dir = project(files);
    match discover(&request(dir.path())) {
        Ok(d) => d,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics()),
    }
}

#[allow(dead_code)]
fn err(files: &[(&str, &str)]) -> Error {
    let dir = project(files);
    discover(&request(dir.path())).expect_err("discovery should fail")
}

#[test]
fn classic_declarative() {
    let d = ok(&[(
        "models.py",
        "from sqlalchemy import Column, Integer, String\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n\nclass User(Base):\n    __tablename__ = 'users'\n    id = Column(Integer, primary_key=True)\n    name = Column(String(50), nullable=False, index=True)\n",
    )]);
    let t = &d.schema.tables[0];
    assert_eq!(t.name, "users");
    assert_eq!(d.sources[0].line, 5);
    assert_eq!(t.columns[0].ty, ColumnType::Integer);
    assert!(!t.columns[0].nullable);
    assert_eq!(t.columns[1].ty, ColumnType::String(Some(50)));
    assert_eq!(t.indexes[0].name, "ix_users_name");
}

#[test]
fn cache_serves_unchanged_projects_and_sees_every_edit() {
    let dir = project(&[
        (
            "models/base.py",
            "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n",
        ),
        ("models/consts.py", "LEN = 10\n"),
        (
            "models/user.py",
            "from sqlalchemy import Column, Integer, String\nfrom .base import Base\nfrom .consts import LEN\n\nclass User(Base):\n    __tablename__ = 'users'\n    id = Column(Integer, primary_key=True)\n    name = Column(String(LEN))\n",
        ),
    ]);
    let req = Request {
        use_cache: true,
        ..request(dir.path())
    };
    let first = discover(&req).expect("cold");
    assert!(!first.stats.cached);
    let second = discover(&req).expect("warm");
    assert!(second.stats.cached);
    assert_eq!(second.schema, first.schema);
    assert_eq!(second.sources, first.sources);
    // A helper module without any model in it still invalidates the result.
    std::fs::write(dir.path().join("models/consts.py"), "LEN = 20\n").expect("edit");
    let third = discover(&req).expect("after edit");
    assert!(!third.stats.cached);
    assert_eq!(
        third.schema.tables[0].columns[1].ty,
        ColumnType::String(Some(20))
    );
    // A broken file is never served from the cache.
    std::fs::write(dir.path().join("models/user.py"), "class User(Base:\n").expect("break");
    assert!(discover(&req).is_err());
    assert!(discover(&req).is_err());
}

/// The interpreter with SQLAlchemy, SQLModel and Flask-SQLAlchemy (`scripts/test` makes it).
fn test_python() -> PathBuf {
    match std::env::var_os("SQLALEMBIC_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "SQLALEMBIC_TEST_PYTHON is not set: run `scripts/test`, which creates a venv with \
             SQLAlchemy, SQLModel and Flask-SQLAlchemy and exports its interpreter, or point the \
             variable at such an interpreter"
        ),
    }
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/models/corpus")
}

#[test]
fn static_and_import_backends_agree_on_the_corpus() {
    let python = test_python();
    let root = corpus();
    let req = request(&root);
    let statically = match discover(&req) {
        Ok(d) => d,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics()),
    };
    let imported = match discover(&Request {
        backends: vec![Backend::SqlAlchemyImport],
        python,
        ..req
    }) {
        Ok(d) => d,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics()),
    };
    let names = |d: &Discovery| -> Vec<String> {
        d.schema.tables.iter().map(|t| t.qualified_name()).collect()
    };
    assert_eq!(names(&statically), names(&imported));
    for (s, i) in statically.schema.tables.iter().zip(&imported.schema.tables) {
        assert_eq!(s, i, "table `{}` differs between the backends", s.name);
    }
    // Mapped classes get the class's own line from Python too.
    let at = |d: &Discovery, name: &str| {
        let i = d
            .schema
            .tables
            .iter()
            .position(|t| t.name == name)
            .expect("table");
        d.sources[i].clone()
    };
    assert_eq!(
        at(&statically, "classic_accounts"),
        at(&imported, "classic_accounts")
    );
}

#[test]
fn import_failures_are_reported_per_file() {
    let python = test_python();
    let dir = project(&[
        ("models/__init__.py", ""),
        (
            "models/base.py",
            "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n",
        ),
        (
            "models/good.py",
            "from sqlalchemy import Column, Integer\nfrom .base import Base\n\nclass Good(Base):\n    __tablename__ = 'good'\n    id = Column(Integer, primary_key=True)\n",
        ),
        (
            "models/bad.py",
            "from sqlalchemy import Column, Integer\nfrom .base import Base\n\nraise RuntimeError('no database here')\n",
        ),
    ]);
    let req = Request {
        backends: vec![Backend::SqlAlchemyImport],
        python,
        ..request(dir.path())
    };
    let Err(Error::Invalid {
        diagnostics,
        partial,
    }) = discover(&req)
    else {
        panic!("a failed import must fail discovery")
    };
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.code, "IMP001");
    assert_eq!(d.path.as_deref(), Some(Path::new("models/bad.py")));
    assert_eq!(d.line, Some(4));
    assert!(
        d.message.contains("RuntimeError: no database here"),
        "{}",
        d.message
    );
    // One broken file does not stop the others.
    assert_eq!(partial.schema.tables[0].name, "good");
}

#[test]
fn sql_backend_merges_with_models_and_duplicates_are_errors() {
    let files = [
        (
            "models.py",
            "from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base()\n\nclass User(Base):\n    __tablename__ = 'users'\n    id = Column(Integer, primary_key=True)\n",
        ),
        (
            "db/audit.sql",
            "CREATE TABLE audit (id INTEGER PRIMARY KEY, note TEXT);\n",
        ),
        (
            "migrations/versions/abc_x.sql",
            "CREATE TABLE from_migration (id INTEGER);\n",
        ),
    ];
    let dir = project(&files);
    let req = Request {
        backends: vec![Backend::SqlAlchemy, Backend::Sql],
        ..request(dir.path())
    };
    let d = discover(&req).expect("discovers");
    let names: Vec<&str> = d.schema.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["audit", "users"]);
    assert_eq!(d.sources[0].file, Path::new("db/audit.sql"));
    std::fs::write(
        dir.path().join("db/users.sql"),
        "CREATE TABLE users (id INTEGER);\n",
    )
    .expect("write");
    let Err(Error::Invalid { diagnostics, .. }) = discover(&req) else {
        panic!("duplicate must fail")
    };
    assert_eq!(diagnostics[0].code, "DSC005");
}
