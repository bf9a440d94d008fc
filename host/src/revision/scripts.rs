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
    /// The links go round in a circle: the graph's error and the files in the circle.
    #[error("{}", .0.describe(|p| p.display().to_string()))]
    Cycle(CycleError),
}

/// A `down_revision` (or `depends_on`) cycle with the files that form it.
#[derive(Debug)]
pub struct CycleError {
    /// [`GraphError::Cycle`] or [`GraphError::DependencyCycle`].
    pub error: GraphError,
    /// The revisions on the cycle (and on links between cycles), sorted by id: id,
    /// file, and the links that keep them in it.
    pub members: Vec<CycleMember>,
}

/// One revision caught in a cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleMember {
    pub revision: String,
    pub path: PathBuf,
    /// Its `down_revision` (and, for a dependency cycle, `depends_on`) entries that lead
    /// into the cycle.
    pub links: Vec<String>,
}

impl CycleError {
    /// The message, with each file shown by `show`.
    pub fn describe(&self, show: impl Fn(&Path) -> String) -> String {
        let what = match self.error {
            GraphError::DependencyCycle { .. } => "`down_revision` and `depends_on`",
            _ => "`down_revision`",
        };
        let mut out = format!(
            "{}; the {what} links of these {} file{} form it:",
            self.error,
            self.members.len(),
            if self.members.len() == 1 { "" } else { "s" }
        );
        for m in &self.members {
            out.push_str(&format!(
                "\n  {}  {} -> {}",
                m.revision,
                show(&m.path),
                m.links.join(", ")
            ));
        }
        out
    }
}

/// The revisions of `files` that lie on a cycle of their links (`down_revision`, plus
/// `depends_on` when `dependencies`): what is left after peeling, again and again, the
/// revisions nothing in the rest points to or that point to nothing in the rest.
fn cycle_members(files: &[RevisionFile], dependencies: bool) -> Vec<CycleMember> {
    let index: HashMap<&str, usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.revision.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = files
        .iter()
        .map(|f| {
            let deps = dependencies.then_some(&f.depends_on).into_iter().flatten();
            let mut out: Vec<usize> = f
                .down_revisions
                .iter()
                .chain(deps)
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect();
            out.dedup();
            out
        })
        .collect();
    let n = files.len();
    let mut alive = vec![true; n];
    let mut outgoing: Vec<usize> = edges.iter().map(Vec::len).collect();
    let mut incoming = vec![0usize; n];
    let mut parents_of: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (from, targets) in edges.iter().enumerate() {
        for &to in targets {
            incoming[to] += 1;
            parents_of[to].push(from);
        }
    }
    let mut queue: Vec<usize> = (0..n)
        .filter(|&i| incoming[i] == 0 || outgoing[i] == 0)
        .collect();
    while let Some(i) = queue.pop() {
        if !alive[i] {
            continue;
        }
        alive[i] = false;
        for &to in &edges[i] {
            if alive[to] {
                incoming[to] -= 1;
                if incoming[to] == 0 {
                    queue.push(to);
                }
            }
        }
        for &from in &parents_of[i] {
            if alive[from] {
                outgoing[from] -= 1;
                if outgoing[from] == 0 {
                    queue.push(from);
                }
            }
        }
    }
    let mut members: Vec<CycleMember> = (0..n)
        .filter(|&i| alive[i])
        .map(|i| CycleMember {
            revision: files[i].revision.clone(),
            path: files[i].path.clone(),
            links: edges[i]
                .iter()
                .filter(|&&to| alive[to])
                .map(|&to| files[to].revision.clone())
                .collect(),
        })
        .collect();
    members.sort_by(|a, b| a.revision.cmp(&b.revision));
    members
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
        let graph = match RevisionGraph::new(nodes) {
            Ok(graph) => graph,
            Err(error @ (GraphError::Cycle { .. } | GraphError::DependencyCycle { .. })) => {
                let dependencies = matches!(error, GraphError::DependencyCycle { .. });
                let members = cycle_members(&files, dependencies);
                return Err(LoadError::Cycle(CycleError { error, members }));
            }
            Err(error) => return Err(LoadError::Graph(error)),
        };
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
