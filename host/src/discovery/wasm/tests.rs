//! The `wasm:` backend with real components (`plugins/prisma-discovery` and a
//! misbehaving fixture) on temporary projects.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::super::{Backend, Discovery, Error, Request, discover};
use crate::diagnostic::Severity;
use crate::plugins::testing::{rust_component, shared_cache_dir};
use crate::schema::ColumnType;

/// A project whose plugin cache starts with the shared compiled components, so
/// each test does not compile them again.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let cache = crate::plugins::cache_dir(dir.path());
    std::fs::create_dir_all(&cache).expect("cache dir");
    if let Ok(entries) = std::fs::read_dir(shared_cache_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if entry.path().is_file() && name.to_string_lossy().contains(".cwasm") {
                let _ = std::fs::copy(entry.path(), cache.join(&name));
            }
        }
    }
    dir
}

fn request(root: &Path, paths: &[&str], backends: Vec<Backend>) -> Request {
    Request {
        source_roots: Vec::new(),
        static_values: Vec::new(),
        project_root: root.to_path_buf(),
        paths: paths.iter().map(|p| root.join(p)).collect(),
        exclude: vec![],
        migrations_dir: root.join("migrations"),
        backends,
        use_cache: true,
        python: PathBuf::from("python3"),
        import_timeout: Duration::from_secs(120),
    }
}

fn prisma() -> Backend {
    Backend::Wasm(super::Component::new(rust_component("prisma_discovery")))
}

fn bad() -> Backend {
    Backend::Wasm(super::Component::new(rust_component(
        "fixture_bad_discovery",
    )))
}

fn ok(req: &Request) -> Discovery {
    match discover(req) {
        Ok(d) => d,
        Err(e) => panic!("{e}: {:#?}", e.diagnostics()),
    }
}

fn failed(req: &Request) -> Vec<String> {
    match discover(req) {
        Ok(d) => panic!("expected a failure, got {:?}", d.schema),
        Err(e) => e
            .diagnostics()
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                format!(
                    "{}: {} {}",
                    d.location().unwrap_or_default(),
                    d.code,
                    d.message
                )
            })
            .collect(),
    }
}

const SCHEMA: &str = "datasource db {\n  provider = \"sqlite\"\n  url = \"file:dev.db\"\n}\n\nmodel User {\n  id    Int    @id @default(autoincrement())\n  email String @unique\n  @@map(\"users\")\n}\n";

#[test]
fn prisma_models_are_discovered_with_their_places_and_cached() {
    let dir = project(&[("prisma/schema.prisma", SCHEMA), ("prisma/notes.txt", "x")]);
    let req = request(dir.path(), &["prisma"], vec![prisma()]);
    let first = ok(&req);
    assert!(!first.stats.cached);
    assert_eq!(first.schema.tables[0].name, "users");
    assert_eq!(first.sources[0].file, PathBuf::from("prisma/schema.prisma"));
    assert_eq!(first.sources[0].line, 6);
    let entry = super::entry_file(
        &req,
        &super::Component::new(rust_component("prisma_discovery")),
    );
    let stored = std::fs::metadata(&entry).expect("stored").modified().ok();

    let again = ok(&req);
    assert!(again.stats.cached, "served from the cache");
    assert_eq!(again.schema, first.schema);

    // A file it did not read changes nothing.
    std::fs::write(dir.path().join("prisma/notes.txt"), "changed").expect("write");
    assert!(ok(&req).stats.cached);
    // Editing the schema it read invalidates the cached result.
    std::fs::write(
        dir.path().join("prisma/schema.prisma"),
        SCHEMA.replace(
            "email String @unique",
            "email String @unique\n  name String?",
        ),
    )
    .expect("write");
    let edited = ok(&req);
    assert!(!edited.stats.cached);
    let users = &edited.schema.tables[0];
    assert_eq!(
        users.column("name").map(|c| c.ty.clone()),
        Some(ColumnType::Text)
    );
    assert_ne!(
        std::fs::metadata(&entry).expect("stored").modified().ok(),
        stored
    );
    // A new file matching its glob is an input too.
    std::fs::write(
        dir.path().join("prisma/more.prisma"),
        "model Tag {\n  id Int @id\n}\n",
    )
    .expect("write");
    let more = ok(&req);
    assert_eq!(more.schema.tables.len(), 2);
}

#[test]
fn results_merge_with_the_built_in_backends_and_duplicates_name_both_places() {
    let dir = project(&[
        ("models/schema.prisma", SCHEMA),
        (
            "models/tags.sql",
            "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT);\n",
        ),
    ]);
    let req = request(dir.path(), &["models"], vec![Backend::Sql, prisma()]);
    let merged = ok(&req);
    let names: Vec<&str> = merged
        .schema
        .tables
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(names, ["tags", "users"]);
    std::fs::write(
        dir.path().join("models/users.sql"),
        "CREATE TABLE users (id INTEGER PRIMARY KEY);\n",
    )
    .expect("write");
    let errors = failed(&req);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("DSC005 Table `users` is defined twice"),
        "{errors:?}"
    );
    match discover(&req) {
        Err(Error::Invalid { diagnostics, .. }) => {
            let hint = diagnostics[0].hints.join(" ");
            assert!(
                hint.contains("models/schema.prisma:6") || hint.contains("models/users.sql:1"),
                "{hint}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn prisma_errors_fail_discovery_at_their_line() {
    let dir = project(&[("schema.prisma", "model A {\n  id Int @id\n  b Strng\n}\n")]);
    let req = request(dir.path(), &[""], vec![prisma()]);
    assert_eq!(
        failed(&req),
        [
            "schema.prisma:3:3: PRISMA002 Field `b` has type `Strng`, which is no scalar type, enum or model of the schema"
        ]
    );
}

#[test]
fn a_misbehaving_discovery_plugin_yields_no_schema_and_is_named() {
    for (mode, expected) in [
        ("loop", "ran past its time limit of 10000 ms"),
        (
            "trap",
            "crashed (trap: wasm `unreachable` instruction executed; it said: ",
        ),
        (
            "malformed",
            "returned a malformed table: table `t` has no columns (defined at db/x.mode:1)",
        ),
        ("refuse", "db/x.mode:1:1: BAD001 refused"),
    ] {
        let dir = project(&[("db/x.mode", mode)]);
        let req = request(dir.path(), &["db"], vec![bad()]);
        let errors = failed(&req);
        assert_eq!(errors.len(), 1, "{mode}: {errors:?}");
        assert!(errors[0].contains(expected), "{mode}: {errors:?}");
        if mode != "refuse" {
            assert!(
                errors[0].contains("Discovery backend `wasm:")
                    && errors[0].contains("fixture_bad_discovery"),
                "{errors:?}"
            );
        }
    }
}

#[test]
fn a_discovery_plugin_sees_only_the_discovery_paths() {
    let dir = project(&[
        ("models/x.mode", "escape"),
        ("models/a.prisma", "x"),
        ("models/.hidden/b.prisma", "x"),
        ("secret/key.txt", "42"),
    ]);
    std::fs::write(dir.path().parent().expect("tmp").join("outside.txt"), "no").ok();
    let req = request(dir.path(), &["models"], vec![bad()]);
    let d = ok(&req);
    let said: Vec<&str> = d.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(said[0], "listed models/a.prisma,models/x.mode", "{said:?}");
    assert_eq!(said[1], "paths models");
    for (i, target) in [
        "../outside.txt",
        "/etc/passwd",
        "secret/key.txt",
        "models/../secret/key.txt",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            said[2 + i].starts_with(&format!("{target}: refused")),
            "{said:?}"
        );
    }
    assert!(
        said[6].starts_with("wasi secret/key.txt: refused"),
        "{said:?}"
    );
}
