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

const BASE: &str = "from sqlalchemy.orm import declarative_base\nBase = declarative_base()\n";

fn codes(e: &Error) -> Vec<(String, Option<usize>)> {
    e.diagnostics()
        .iter()
        .map(|d| (d.code.clone(), d.line))
        .collect()
}

#[test]
fn diagnostics_instead_of_guesses() {
    // A helper that is more than one `return`.
    let e = err(&[
        ("base.py", BASE),
        (
            "m.py",
            "from sqlalchemy import Column, Integer\nfrom base import Base\n\ndef pk():\n    c = Column(Integer, primary_key=True)\n    return c\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = pk()\n",
        ),
    ]);
    assert_eq!(codes(&e), [("SA101".to_owned(), Some(10))], "{e:?}");
    assert!(e.diagnostics()[0].message.contains("single `return`"));
    // A number as server default (SQLAlchemy refuses it too).
    let e = err(&[
        ("base.py", BASE),
        (
            "m.py",
            "from sqlalchemy import Column, Integer\nfrom base import Base\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = Column(Integer, primary_key=True)\n    n = Column(Integer, server_default=0)\n",
        ),
    ]);
    assert_eq!(codes(&e)[0].0, "SA102");
    // A mapped class without a table name.
    let e = err(&[
        ("base.py", BASE),
        (
            "m.py",
            "from sqlalchemy import Column, Integer\nfrom base import Base\n\nclass A(Base):\n    id = Column(Integer, primary_key=True)\n",
        ),
    ]);
    assert_eq!(codes(&e), [("SA104".to_owned(), Some(4))]);
    // `%(constraint_name)s` on an unnamed check constraint.
    let e = err(&[(
        "m.py",
        "from sqlalchemy import CheckConstraint, Column, Integer, MetaData\nfrom sqlalchemy.orm import declarative_base\nBase = declarative_base(metadata=MetaData(naming_convention={'ck': 'ck_%(table_name)s_%(constraint_name)s'}))\n\nclass A(Base):\n    __tablename__ = 'a'\n    __table_args__ = (CheckConstraint('id > 0'),)\n    id = Column(Integer, primary_key=True)\n",
    )]);
    assert_eq!(codes(&e)[0].0, "SA107");
    // A column type from an unresolvable name.
    let e = err(&[
        ("base.py", BASE),
        (
            "m.py",
            "from sqlalchemy import Column, Integer\nfrom base import Base\nfrom .types import Missing\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = Column(Integer, primary_key=True)\n    x = Column(Missing)\n",
        ),
    ]);
    assert!(
        codes(&e).iter().any(|(c, _)| c == "SA103" || c == "SA101"),
        "{e:?}"
    );
    // A foreign key column without a type whose target is not a model.
    let e = err(&[
        ("base.py", BASE),
        (
            "m.py",
            "from sqlalchemy import Column, ForeignKey, Integer\nfrom base import Base\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = Column(Integer, primary_key=True)\n    other_id = Column(ForeignKey('elsewhere.id'))\n",
        ),
    ]);
    assert_eq!(codes(&e)[0].0, "SA103");
}

#[test]
fn constructs_of_the_static_backend() {
    let d = ok(&[
        ("models/__init__.py", ""),
        ("models/base.py", BASE),
        (
            "models/m.py",
            "import enum\nfrom typing import Optional\nimport sqlalchemy as sa\nfrom sqlalchemy import Column as C, Integer\nfrom sqlalchemy.orm import Mapped, mapped_column\nfrom .base import Base\n\nclass Kind(enum.Enum):\n    A = 'a'\n    B = 'b'\n\nclass HasName:\n    name = sa.Column(sa.Unicode(30), nullable=False)\n\nclass Item(HasName, Base):\n    __tablename__ = 'items'\n    __table_args__ = {'schema': 'shop', 'comment': 'Things'}\n    id = C(Integer, primary_key=True, autoincrement=False)\n    kind = C(sa.Enum(Kind, name='item_kind'))\n    flag: Mapped[Optional[bool]] = mapped_column(server_default=sa.text('true'))\n    amount: Mapped[int] = mapped_column(sa.BigInteger, sort_order=-1)\n    tags = C(sa.ARRAY(sa.Text))\n    stamp = C(sa.TIMESTAMP(timezone=True), comment='When')\n    doc = C(sa.Enum('x', 'y'))\n    mixed = C('real_name', sa.String)\n",
        ),
    ]);
    let t = &d.schema.tables[0];
    assert_eq!(t.qualified_name(), "shop.items");
    assert_eq!(t.comment.as_deref(), Some("Things"));
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    // `sort_order=-1` first; the class's own columns, then the mixin's.
    assert_eq!(
        names,
        [
            "amount",
            "id",
            "kind",
            "flag",
            "tags",
            "stamp",
            "doc",
            "real_name",
            "name"
        ]
    );
    let col = |n: &str| t.column(n).expect("column");
    assert_eq!(col("id").autoincrement, Some(false));
    assert_eq!(
        col("kind").ty,
        ColumnType::Enum {
            name: Some("item_kind".into()),
            values: vec!["A".into(), "B".into()]
        }
    );
    assert!(col("flag").nullable);
    assert_eq!(col("flag").server_default.as_deref(), Some("true"));
    assert_eq!(col("amount").ty, ColumnType::BigInteger);
    assert!(!col("amount").nullable);
    assert_eq!(
        col("tags").ty,
        ColumnType::Array(Box::new(ColumnType::Text))
    );
    assert_eq!(col("stamp").ty, ColumnType::DateTime { timezone: true });
    assert_eq!(col("stamp").comment.as_deref(), Some("When"));
    assert_eq!(
        col("doc").ty,
        ColumnType::Enum {
            name: None,
            values: vec!["x".into(), "y".into()]
        }
    );
    assert_eq!(col("name").ty, ColumnType::Unicode(Some(30)));
    assert!(!col("name").nullable);
}
