//! Entry points of the `fuzz/` targets (`cargo fuzz`, nightly) and of the stable test
//! that runs their committed seed corpora: each takes arbitrary bytes and must return
//! without panicking. Not part of the public API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::Format;
use crate::discovery::python::{Input, SourceRoots, StaticValues};
use crate::revision::file::{self, RevisionKind};

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// A configuration file in each format (TOML, YAML, JSON) and as a `.env` file.
pub fn config(data: &[u8]) {
    let text = text(data);
    for format in [Format::Toml, Format::Yaml, Format::Json] {
        let _ = crate::config::parse_text(&text, format, Path::new("fuzz"));
    }
    let _ = dotenvy::from_read_iter(data).count();
}

/// A revision file read as TOML and as SQL, header only and in full.
pub fn revision(data: &[u8]) {
    let text = text(data);
    for kind in [RevisionKind::Toml, RevisionKind::Sql] {
        let path = Path::new("v/aaaaaaaaaaaa_fuzz.toml");
        let _ = file::parse_header_str(path, kind, &text);
        let _ = file::parse_str(path, kind, &text);
    }
}

/// SQL statement splitting with both rule sets; no part is empty or untrimmed.
pub fn split(data: &[u8]) {
    let text = text(data);
    for part in file::split_sql_statements(&text)
        .into_iter()
        .chain(file::split_mysql_statements(&text))
    {
        assert!(!part.is_empty() && part.trim() == part, "{part:?}");
    }
}

/// A database URL: parse, and the canonical form (which leaves out the SQLAlchemy
/// driver) parses again to the same URL.
pub fn dburl(data: &[u8]) {
    let text = text(data);
    let _ = crate::dburl::mask(&text);
    if let Ok(url) = crate::dburl::DbUrl::parse(&text) {
        let again = crate::dburl::DbUrl::parse(&url.canonical()).expect("canonical parses");
        let without_driver = crate::dburl::DbUrl {
            driver: None,
            ..url.clone()
        };
        assert!(again == without_driver, "{url:?}");
    }
}

/// A Python model file, parsed and evaluated by static discovery.
pub fn python(data: &[u8]) {
    let text = text(data).into_owned();
    let root = PathBuf::from("/fuzz-project");
    let input = Input {
        path: root.join("models.py"),
        rel: PathBuf::from("models.py"),
        candidate: true,
        text: Some(text),
        sha256: None,
    };
    let roots = SourceRoots {
        project_root: root.clone(),
        project: vec![root],
        libraries: Vec::new(),
    };
    let _ = crate::discovery::python::discover(
        vec![input],
        roots,
        &StaticValues::default(),
        HashMap::new(),
    );
}

/// One fuzz target: arbitrary bytes in, a panic is a bug.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/`.
pub const TARGETS: [(&str, Target); 5] = [
    ("config", config),
    ("revision", revision),
    ("split", split),
    ("dburl", dburl),
    ("python", python),
];

#[cfg(test)]
mod tests {
    /// Every committed seed of every target runs without a panic (what `cargo fuzz`
    /// starts from; it needs a nightly compiler, this runs on stable).
    #[test]
    fn seed_corpora_run_clean() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
        let mut total = 0;
        for (name, target) in super::TARGETS {
            let dir = corpus.join(name);
            let mut seeds: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("entry").path())
                .collect();
            seeds.sort();
            assert!(seeds.len() >= 3, "{name}: {} seeds", seeds.len());
            for seed in seeds {
                let data = std::fs::read(&seed).expect("seed");
                target(&data);
                total += 1;
            }
        }
        assert!(total >= 15, "{total}");
    }
}
