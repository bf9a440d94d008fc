//! The versions folder as a whole: every revision file's header, indexed by id, and
//! the revision graph built from them.
//!
//! Input: the versions folder. Output: a [`ScriptDir`], or every problem found (file
//! errors with `path:line:col`, then graph errors naming the revisions). Only headers
//! are read here; ops are read when a revision is applied or shown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::file::{self, FileError, RevisionFile};
use super::graph::{GraphError, RevisionGraph, RevisionNode};

/// Why the versions folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The folder does not exist.
    #[error("The versions folder `{}` does not exist", .0.display())]
    MissingDir(PathBuf),
    /// One or more files are broken.
    #[error("{}", render_file_errors(.0))]
    Files(Vec<FileError>),
    /// The files are fine but their links are not.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

fn render_file_errors(errors: &[FileError]) -> String {
    let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if lines.len() > 1 {
        lines.insert(0, format!("{} revision files have problems:", errors.len()));
    }
    lines.join("\n")
}

/// Every revision of the project and the graph they form.
#[derive(Debug)]
pub struct ScriptDir {
    pub dir: PathBuf,
    files: HashMap<String, RevisionFile>,
    pub graph: RevisionGraph,
}

impl ScriptDir {
    /// Reads every header in `dir` and builds the graph. A missing folder is an error;
    /// an empty one is an empty graph.
    pub fn load(dir: &Path) -> Result<Self, LoadError> {
        if !dir.is_dir() {
            return Err(LoadError::MissingDir(dir.to_path_buf()));
        }
        let files = file::scan_dir(dir).map_err(LoadError::Files)?;
        let nodes = files
            .iter()
            .map(|f| RevisionNode {
                id: f.revision.clone(),
                down_revisions: f.down_revisions.clone(),
                branch_labels: f.branch_labels.clone(),
                depends_on: f.depends_on.clone(),
                replaces: f.replaces.clone(),
            })
            .collect();
        let graph = RevisionGraph::new(nodes)?;
        let files = files.into_iter().map(|f| (f.revision.clone(), f)).collect();
        Ok(ScriptDir {
            dir: dir.to_path_buf(),
            files,
            graph,
        })
    }

    /// The header of revision `id` (a full id).
    pub fn file(&self, id: &str) -> Option<&RevisionFile> {
        self.files.get(id)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Every header, in no particular order.
    pub fn files(&self) -> impl Iterator<Item = &RevisionFile> {
        self.files.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write");
    }

    #[test]
    fn loads_headers_and_builds_the_graph() {
        let tmp = tempfile::tempdir().expect("tmp");
        write(
            tmp.path(),
            "aaaaaaaaaaaa_first.toml",
            "revision = \"aaaaaaaaaaaa\"\nmessage = \"first\"\n",
        );
        write(
            tmp.path(),
            "bbbbbbbbbbbb_second.toml",
            "revision = \"bbbbbbbbbbbb\"\ndown_revision = \"aaaaaaaaaaaa\"\nmessage = \"second\"\n",
        );
        let scripts = ScriptDir::load(tmp.path()).expect("loads");
        assert_eq!(scripts.len(), 2);
        assert_eq!(scripts.graph.heads(), vec!["bbbbbbbbbbbb"]);
        assert_eq!(
            scripts
                .file("bbbbbbbbbbbb")
                .and_then(|f| f.message.as_deref()),
            Some("second")
        );
    }

    #[test]
    fn reports_a_missing_parent_by_revision() {
        let tmp = tempfile::tempdir().expect("tmp");
        write(
            tmp.path(),
            "bbbbbbbbbbbb_second.toml",
            "revision = \"bbbbbbbbbbbb\"\ndown_revision = \"aaaaaaaaaaaa\"\n",
        );
        let err = ScriptDir::load(tmp.path()).expect_err("missing parent");
        let text = err.to_string();
        assert!(
            text.contains("aaaaaaaaaaaa") && text.contains("bbbbbbbbbbbb"),
            "{text}"
        );
    }

    #[test]
    fn collects_every_broken_file() {
        let tmp = tempfile::tempdir().expect("tmp");
        write(
            tmp.path(),
            "aaaaaaaaaaaa_a.toml",
            "revision = \"aaaaaaaaaaaa\"\ndown_revision = [\n",
        );
        write(tmp.path(), "bbbbbbbbbbbb_b.toml", "revision = \"XYZ\"\n");
        let err = ScriptDir::load(tmp.path()).expect_err("broken");
        match &err {
            LoadError::Files(errors) => assert_eq!(errors.len(), 2, "{err}"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("aaaaaaaaaaaa_a.toml:"), "{err}");
    }

    #[test]
    fn a_missing_folder_is_named() {
        let err = ScriptDir::load(Path::new("/nonexistent/versions")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/versions"));
    }
}
