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
