//! Discovery over small temporary projects.

use std::path::Path;

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
