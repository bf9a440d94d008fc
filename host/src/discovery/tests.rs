//! Discovery over small temporary projects.

use std::path::{Path, PathBuf};

use super::*;
use crate::schema::ColumnType;

fn request(root: &Path) -> Request {
    Request {
        source_roots: Vec::new(),
        static_values: Vec::new(),
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
    // A helper that raises.
    let e = err(&[
        ("base.py", BASE),
        (
            "m.py",
            "from sqlalchemy import Column, Integer\nfrom base import Base\n\ndef pk():\n    c = Column(Integer, primary_key=True)\n    raise NotImplementedError(c)\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = pk()\n",
        ),
    ]);
    assert_eq!(codes(&e), [("SA101".to_owned(), Some(6))], "{e:?}");
    assert!(e.diagnostics()[0].message.contains("raises"), "{e:?}");
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
    assert_eq!(col("stamp").ty, ColumnType::Timestamp { timezone: true });
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

/// A project of several model files: two `MetaData` objects (one with a naming
/// convention), cross-file foreign keys by string and by class, a type inferred from
/// the referred column, a mixin, a constant module and a helper module, single-table
/// inheritance and a standalone `Index` in other files than the table.
fn multi_file_project() -> tempfile::TempDir {
    project(&[
        (
            "app/base.py",
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\nclass Base(DeclarativeBase):\n    metadata = sa.MetaData(naming_convention={\"fk\": \"fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s\", \"uq\": \"uq_%(table_name)s_%(column_0_name)s\"})\n\nclass Other(DeclarativeBase):\n    pass\n\nclass Stamped:\n    created = sa.Column(sa.DateTime(timezone=True), server_default=sa.func.now())\n",
        ),
        ("app/consts.py", "NAME_LEN = 40\nCODE_LEN = 8\n"),
        (
            "app/user.py",
            "import sqlalchemy as sa\nfrom .base import Base, Stamped\nfrom .consts import NAME_LEN\n\nclass User(Stamped, Base):\n    __tablename__ = 'users'\n    id = sa.Column(sa.BigInteger, primary_key=True)\n    name = sa.Column(sa.String(NAME_LEN), unique=True)\n    kind = sa.Column(sa.String(10))\n    __mapper_args__ = {'polymorphic_on': kind}\n",
        ),
        (
            "app/post.py",
            "import sqlalchemy as sa\nfrom .base import Base\nfrom .user import User\n\nclass Post(Base):\n    __tablename__ = 'posts'\n    id = sa.Column(sa.Integer, primary_key=True)\n    author_id = sa.Column(sa.ForeignKey(User.id, ondelete='CASCADE'))\n",
        ),
        (
            "app/comment.py",
            "import sqlalchemy as sa\nfrom .base import Base\n\nclass Comment(Base):\n    __tablename__ = 'comments'\n    id = sa.Column(sa.Integer, primary_key=True)\n    post_id = sa.Column(sa.ForeignKey('posts.id'))\n    body = sa.Column(sa.Text)\n",
        ),
        (
            "app/tag.py",
            "import sqlalchemy as sa\nfrom .base import Other\nfrom .consts import CODE_LEN\n\nclass Tag(Other):\n    __tablename__ = 'tags'\n    id = sa.Column(sa.Integer, primary_key=True)\n    code = sa.Column(sa.String(CODE_LEN), unique=True)\n",
        ),
        (
            "app/admin.py",
            "import sqlalchemy as sa\nfrom .user import User\n\nclass Admin(User):\n    level = sa.Column(sa.Integer)\n    __mapper_args__ = {'polymorphic_identity': 'admin'}\n\nsa.Index('ix_users_kind_name', User.kind, User.name)\n",
        ),
    ])
}

fn cached_request(root: &Path) -> Request {
    Request {
        use_cache: true,
        ..request(root)
    }
}

/// The same discovery without any cache.
fn cold(root: &Path) -> Discovery {
    discover(&request(root)).expect("cold discovery")
}

fn assert_same(a: &Discovery, b: &Discovery) {
    assert_eq!(a.schema, b.schema);
    assert_eq!(a.sources, b.sources);
    assert_eq!(a.diagnostics, b.diagnostics);
}

#[test]
fn per_module_cache_reevaluates_only_the_edited_module_and_its_dependents() {
    let dir = multi_file_project();
    let root = dir.path();
    let req = cached_request(root);
    let first = discover(&req).expect("first");
    // Every module mentioning SQLAlchemy is a unit: base, user, post, comment, tag, admin.
    assert_eq!(
        (first.stats.modules_evaluated, first.stats.modules_cached),
        (6, 0)
    );
    assert_same(&first, &cold(root));
    // What the units add across files is in the merged result.
    let users = first.schema.table(None, "users").expect("users");
    assert!(
        users.columns.iter().any(|c| c.name == "level"),
        "STI column"
    );
    assert!(users.indexes.iter().any(|i| i.name == "ix_users_kind_name"));
    assert_eq!(users.uniques[0].name.as_deref(), Some("uq_users_name"));
    let posts = first.schema.table(None, "posts").expect("posts");
    assert_eq!(
        posts.foreign_keys[0].name.as_deref(),
        Some("fk_posts_author_id_users")
    );
    assert_eq!(posts.columns[1].ty, ColumnType::BigInteger, "type from FK");
    // `tags` belongs to the other MetaData: no naming convention.
    let tags = first.schema.table(None, "tags").expect("tags");
    assert!(tags.uniques.is_empty() && tags.columns[1].unique);

    let warm = discover(&req).expect("warm");
    assert!(warm.stats.cached);
    assert_same(&warm, &first);

    // A model that nothing reads: only it is evaluated again.
    std::fs::write(
        root.join("app/comment.py"),
        "import sqlalchemy as sa\nfrom .base import Base\n\nclass Comment(Base):\n    __tablename__ = 'comments'\n    id = sa.Column(sa.Integer, primary_key=True)\n    post_id = sa.Column(sa.ForeignKey('posts.id'))\n    body = sa.Column(sa.Text)\n    score = sa.Column(sa.Integer)\n",
    )
    .expect("edit");
    let edited = discover(&req).expect("after editing comment.py");
    assert!(!edited.stats.cached);
    assert_eq!(
        (edited.stats.modules_evaluated, edited.stats.modules_cached),
        (1, 5)
    );
    assert_same(&edited, &cold(root));
    let comments = edited.schema.table(None, "comments").expect("comments");
    assert_eq!(
        comments.columns.last().map(|c| c.name.as_str()),
        Some("score")
    );
    assert_eq!(comments.columns[1].ty, ColumnType::Integer, "type from FK");

    // A model other models import: it and its importers (post, admin).
    std::fs::write(
        root.join("app/user.py"),
        "import sqlalchemy as sa\nfrom .base import Base, Stamped\nfrom .consts import NAME_LEN\n\nclass User(Stamped, Base):\n    __tablename__ = 'users'\n    id = sa.Column(sa.Integer, primary_key=True)\n    name = sa.Column(sa.String(NAME_LEN), unique=True)\n    kind = sa.Column(sa.String(10))\n    __mapper_args__ = {'polymorphic_on': kind}\n",
    )
    .expect("edit");
    let edited = discover(&req).expect("after editing user.py");
    assert_eq!(
        (edited.stats.modules_evaluated, edited.stats.modules_cached),
        (3, 3)
    );
    assert_same(&edited, &cold(root));
    let posts = edited.schema.table(None, "posts").expect("posts");
    assert_eq!(posts.columns[1].ty, ColumnType::Integer, "follows the edit");

    // The base every model reads: all of them.
    let base = std::fs::read_to_string(root.join("app/base.py")).expect("read");
    std::fs::write(root.join("app/base.py"), base.replace("uq_%", "uniq_%")).expect("edit");
    let edited = discover(&req).expect("after editing base.py");
    assert_eq!(
        (edited.stats.modules_evaluated, edited.stats.modules_cached),
        (6, 0)
    );
    assert_same(&edited, &cold(root));
    let users = edited.schema.table(None, "users").expect("users");
    assert_eq!(users.uniques[0].name.as_deref(), Some("uniq_users_name"));
}

#[test]
fn editing_a_helper_module_reevaluates_exactly_its_importers() {
    let dir = multi_file_project();
    let root = dir.path();
    let req = cached_request(root);
    discover(&req).expect("first");
    // `consts.py` is no model candidate; `user.py` and `tag.py` import it, `post.py`
    // and `admin.py` import `user.py`; `base.py` and `comment.py` stay cached.
    std::fs::write(root.join("app/consts.py"), "NAME_LEN = 60\nCODE_LEN = 8\n").expect("edit");
    let edited = discover(&req).expect("after editing consts.py");
    assert_eq!(
        (edited.stats.modules_evaluated, edited.stats.modules_cached),
        (4, 2)
    );
    assert_same(&edited, &cold(root));
    let users = edited.schema.table(None, "users").expect("users");
    let name = users
        .columns
        .iter()
        .find(|c| c.name == "name")
        .expect("name");
    assert_eq!(name.ty, ColumnType::String(Some(60)));
}

#[test]
fn per_module_cache_never_keeps_failures_and_rebuilds_damage() {
    let dir = multi_file_project();
    let root = dir.path();
    let req = cached_request(root);
    let first = discover(&req).expect("first");
    // A second definition of `posts` in another file: an error naming both places.
    std::fs::write(
        root.join("app/dup.py"),
        "import sqlalchemy as sa\nfrom .base import Base\n\nclass Post2(Base):\n    __tablename__ = 'posts'\n    id = sa.Column(sa.Integer, primary_key=True)\n",
    )
    .expect("dup");
    let e = discover(&req).expect_err("duplicate");
    assert!(
        e.diagnostics().iter().any(|d| d.code == "DSC005"),
        "{:?}",
        e.diagnostics()
    );
    assert!(discover(&req).is_err(), "a failure is never stored");
    std::fs::remove_file(root.join("app/dup.py")).expect("rm");
    let back = discover(&req).expect("fixed");
    assert_same(&back, &first);
    // A damaged unit file is detected and every unit is evaluated again.
    let units = cache::dir(root).join("units.json");
    let text = std::fs::read_to_string(&units).expect("units.json");
    std::fs::write(&units, text.replace("posts", "pasts")).expect("damage");
    std::fs::write(root.join("app/consts.py"), "NAME_LEN = 40\nCODE_LEN = 9\n").expect("edit");
    let rebuilt = discover(&req).expect("rebuilt");
    assert_eq!(
        (
            rebuilt.stats.modules_evaluated,
            rebuilt.stats.modules_cached
        ),
        (6, 0)
    );
    assert_same(&rebuilt, &cold(root));
    // Without the cache nothing is read or written.
    let off = discover(&request(root)).expect("no cache");
    assert_eq!(
        (off.stats.modules_evaluated, off.stats.modules_cached),
        (6, 0)
    );
}

#[test]
fn imports_resolve_over_source_roots_and_the_venv_outside_the_scan_scope() {
    let dir = project(&[
        // A src/ layout: the package is `shop`, not `src.shop`.
        ("src/shop/__init__.py", ""),
        (
            "src/shop/db.py",
            "from sqlalchemy.orm import declarative_base\nfrom timestamps import Stamped\nBase = declarative_base(cls=Stamped)\nNAME_LEN = 40\n",
        ),
        (
            "src/shop/models/item.py",
            "import enum\nfrom sqlalchemy import Column, Enum, Integer, String\nfrom ..db import Base, NAME_LEN\n\nclass Item(Base):\n    __tablename__ = 'item'\n    class Kind(enum.Enum):\n        A = 'a'\n    id = Column(Integer, primary_key=True)\n    name = Column(String(NAME_LEN))\n    kind = Column(Enum(Kind))\n",
        ),
        // A pure-Python library in the project's venv, read, never imported.
        (".venv/pyvenv.cfg", "home = /usr/bin\n"),
        (
            ".venv/lib/python3.11/site-packages/timestamps.py",
            "from sqlalchemy import Column, DateTime\n\nclass Stamped:\n    created_at = Column(DateTime)\n",
        ),
        // Another tool's migrations are never models.
        ("src/shop/alembic/env.py", "raise SystemExit\n"),
        (
            "src/shop/alembic/versions/0001_init.py",
            "import sqlalchemy as sa\nfrom sqlalchemy.orm import declarative_base\nB = declarative_base()\nclass Item(B):\n    __tablename__ = 'item'\n    id = sa.Column(sa.Integer, primary_key=True)\n",
        ),
    ]);
    let req = Request {
        paths: vec![dir.path().join("src/shop/models")],
        ..request(dir.path())
    };
    let d = match discover(&req) {
        Ok(d) => d,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics()),
    };
    let t = &d.schema.tables[0];
    assert_eq!(d.schema.tables.len(), 1);
    let names: Vec<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "kind", "created_at"]);
    assert_eq!(t.columns[1].ty, ColumnType::String(Some(40)));
    assert!(matches!(&t.columns[2].ty, ColumnType::Enum { values, .. } if values == &["A"]));
    // An edit of the library file outside the walk is seen through both caches.
    let cached = Request {
        use_cache: true,
        ..req.clone()
    };
    discover(&cached).expect("cold");
    assert!(discover(&cached).expect("warm").stats.cached);
    std::fs::write(
        dir.path().join(".venv/lib/python3.11/site-packages/timestamps.py"),
        "from sqlalchemy import Column, DateTime\n\nclass Stamped:\n    updated_at = Column(DateTime)\n",
    )
    .expect("edit");
    let after = discover(&cached).expect("after edit");
    assert!(!after.stats.cached);
    assert_eq!(after.schema.tables[0].columns[3].name, "updated_at");
}

#[test]
fn a_stopped_discovery_says_what_it_resolved_and_why_the_rest_failed() {
    let e = err(&[
        ("base.py", BASE),
        (
            "ok.py",
            "from sqlalchemy import Column, Integer\nfrom base import Base\n\nclass A(Base):\n    __tablename__ = 'a'\n    id = Column(Integer, primary_key=True)\n",
        ),
        (
            "bad1.py",
            "from sqlalchemy import Column, Integer\nfrom base import Base\n\nclass B(Base):\n    __tablename__ = 'b'\n    id = Column(Integer, primary_key=True)\n    x = Column(Missing1)\n",
        ),
        (
            "bad2.py",
            "from sqlalchemy import Column, Integer\nfrom base import Base\n\nclass C(Base):\n    __tablename__ = 'c'\n    id = Column(Integer, primary_key=True)\n    x = Column(Missing2)\n",
        ),
    ]);
    let summary = e.summary().expect("a summary");
    assert!(
        summary.starts_with("3 table(s) were resolved; 2 file(s) could not be"),
        "{summary}"
    );
    assert!(summary.contains("2 x SA103 Cannot determine the type of column `…`: Cannot resolve the name `…` (bad1.py, bad2.py)"), "{summary}");
}
