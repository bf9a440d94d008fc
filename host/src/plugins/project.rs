//! The project as a discovery component sees it (the `project` import).
//!
//! Input: the discovery paths (relative to the project root) and the files under
//! them that discovery lists (EXCLUDE_PATHS, hidden entries and the migrations
//! folder already left out). Output: `list-files(glob)` answers from that listing
//! and `read-file(path)` answers read through one `cap-std` directory handle per
//! discovery path, so no path (`..`, absolute, a symlink pointing out) can reach
//! anything else of the filesystem. Every answer is recorded in an [`Inputs`], the
//! cache key of the component's result: a cached result is reused only while each
//! recorded glob lists the same files and each file read has the same contents.
//! It refuses files larger than the component's memory limit and paths outside the
//! discovery paths.

use std::collections::BTreeMap;
use std::path::{Component as PathPart, Path, PathBuf};

use globset::GlobBuilder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One discovery path: its path relative to the project root (`/`-separated, `""`
/// for the root itself) and a handle that cannot leave it.
#[derive(Debug)]
pub struct Root {
    pub rel: String,
    pub dir: cap_std::fs::Dir,
}

/// What a component listed and read during one call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// Each glob it asked for, with the files it got.
    pub globs: BTreeMap<String, Vec<String>>,
    /// Each file it read (relative path) with the sha256 of its contents, or
    /// `None` when the read failed (the failure is an input too).
    pub files: BTreeMap<String, Option<String>>,
}

impl Inputs {
    /// The sha256 of everything recorded, in a stable order.
    pub fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (glob, files) in &self.globs {
            h.update(b"\0glob\0");
            h.update(glob.as_bytes());
            for f in files {
                h.update(b"\0");
                h.update(f.as_bytes());
            }
        }
        for (path, sha) in &self.files {
            h.update(b"\0file\0");
            h.update(path.as_bytes());
            h.update(b"\0");
            h.update(sha.as_deref().unwrap_or("-").as_bytes());
        }
        hex(&h.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of `bytes`, as hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The files a discovery component may list and read, and what it did.
#[derive(Debug)]
pub struct ProjectFiles {
    roots: Vec<Root>,
    /// Every listable file, relative to the project root, `/`-separated, sorted.
    listing: Vec<String>,
    /// Largest file served (the component's memory limit).
    max_bytes: u64,
    inputs: Inputs,
}

impl ProjectFiles {
    /// Files under `roots`; `listing` are their paths relative to the project root.
    pub fn new(roots: Vec<Root>, mut listing: Vec<String>, max_bytes: u64) -> ProjectFiles {
        listing.sort();
        listing.dedup();
        ProjectFiles {
            roots,
            listing,
            max_bytes,
            inputs: Inputs::default(),
        }
    }

    /// The files whose relative path matches `pattern`, recorded.
    pub fn list(&mut self, pattern: &str) -> Result<Vec<String>, String> {
        let found = select(&self.listing, pattern)?;
        self.inputs.globs.insert(pattern.to_owned(), found.clone());
        Ok(found)
    }

    /// A whole file inside one of the roots, recorded.
    pub fn read(&mut self, path: &str) -> Result<Vec<u8>, String> {
        let result = self.read_unrecorded(path);
        let key = normalise(path).unwrap_or_else(|_| path.to_owned());
        self.inputs
            .files
            .insert(key, result.as_ref().ok().map(|b| sha256(b)));
        result
    }

    fn read_unrecorded(&self, path: &str) -> Result<Vec<u8>, String> {
        let rel = normalise(path)?;
        let (root, inside) = self
            .roots
            .iter()
            .filter_map(|r| inside_root(&r.rel, &rel).map(|inside| (r, inside)))
            .max_by_key(|(r, _)| r.rel.len())
            .ok_or_else(|| format!("`{path}` is outside the discovery paths"))?;
        let size = root
            .dir
            .metadata(&inside)
            .map_err(|e| format!("Cannot read `{rel}`: {e}"))?
            .len();
        if size > self.max_bytes {
            return Err(format!(
                "`{rel}` ({size} bytes) is larger than the plugin's memory limit"
            ));
        }
        root.dir
            .read(&inside)
            .map_err(|e| format!("Cannot read `{rel}`: {e}"))
    }

    /// What was listed and read so far.
    pub fn into_inputs(self) -> Inputs {
        self.inputs
    }
}

/// The entries of `listing` matching `pattern` (a glob over relative paths: `*`
/// within a folder, `**` across folders).
pub fn select(listing: &[String], pattern: &str) -> Result<Vec<String>, String> {
    let glob = GlobBuilder::new(pattern.trim())
        .literal_separator(true)
        .build()
        .map_err(|e| format!("Invalid glob `{pattern}`: {e}"))?
        .compile_matcher();
    Ok(listing
        .iter()
        .filter(|f| glob.is_match(f.as_str()))
        .cloned()
        .collect())
}

/// `path` relative to the project root, `/`-separated, without `.`; refuses
/// absolute paths and `..`.
fn normalise(path: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for part in Path::new(path).components() {
        match part {
            PathPart::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            PathPart::CurDir => {}
            PathPart::ParentDir | PathPart::RootDir | PathPart::Prefix(_) => {
                return Err(format!(
                    "`{path}` is refused: use a path relative to the project root, without `..`"
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err(format!("`{path}` names no file"));
    }
    Ok(parts.join("/"))
}

/// The path of `rel` inside the root `root` (both relative to the project root).
fn inside_root(root: &str, rel: &str) -> Option<PathBuf> {
    if root.is_empty() {
        return Some(PathBuf::from(rel));
    }
    rel.strip_prefix(root)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(project: &Path, rel: &str) -> Root {
        Root {
            rel: rel.to_owned(),
            dir: cap_std::fs::Dir::open_ambient_dir(
                project.join(rel),
                cap_std::ambient_authority(),
            )
            .expect("open root"),
        }
    }

    #[test]
    fn globs_select_from_the_listing_and_are_recorded() {
        let listing: Vec<String> = ["db/schema.prisma", "db/sub/more.prisma", "db/x.py"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            select(&listing, "**/*.prisma").expect("valid"),
            ["db/schema.prisma", "db/sub/more.prisma"]
        );
        assert_eq!(
            select(&listing, "db/*.prisma").expect("valid"),
            ["db/schema.prisma"]
        );
        assert!(select(&listing, "db/[").is_err());
        let dir = tempfile::tempdir().expect("temp");
        std::fs::create_dir_all(dir.path().join("db")).expect("mkdir");
        let mut files = ProjectFiles::new(vec![root(dir.path(), "db")], listing, 1 << 20);
        files.list("**/*.py").expect("valid");
        let inputs = files.into_inputs();
        assert_eq!(inputs.globs["**/*.py"], ["db/x.py"]);
    }

    #[test]
    fn reads_stay_inside_the_discovery_paths() {
        let dir = tempfile::tempdir().expect("temp");
        let project = dir.path();
        std::fs::create_dir_all(project.join("db/nested")).expect("mkdir");
        std::fs::write(project.join("db/schema.prisma"), "model A {}").expect("write");
        std::fs::write(project.join("db/nested/b.prisma"), "model B {}").expect("write");
        std::fs::write(project.join("secret.txt"), "no").expect("write");
        std::fs::write(project.join("db/big.prisma"), vec![b'x'; 2048]).expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(project.join("secret.txt"), project.join("db/link.prisma"))
            .expect("symlink");
        let mut files = ProjectFiles::new(vec![root(project, "db")], Vec::new(), 1024);
        assert_eq!(
            files.read("db/schema.prisma").expect("inside"),
            b"model A {}"
        );
        assert_eq!(
            files.read("./db/nested/b.prisma").expect("inside"),
            b"model B {}"
        );
        for (bad, why) in [
            ("secret.txt", "outside the discovery paths"),
            ("db/../secret.txt", "without `..`"),
            ("/etc/passwd", "without `..`"),
            ("db", "outside the discovery paths"),
            ("db/big.prisma", "larger than the plugin's memory limit"),
        ] {
            let err = files.read(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
        #[cfg(unix)]
        assert!(
            files.read("db/link.prisma").is_err(),
            "a symlink leading out is refused"
        );
        let inputs = files.into_inputs();
        assert_eq!(
            inputs.files["db/schema.prisma"].as_deref(),
            Some(sha256(b"model A {}").as_str())
        );
        assert_eq!(inputs.files["secret.txt"], None);
        let again = inputs.clone();
        assert_eq!(inputs.digest(), again.digest());
    }

    #[test]
    fn the_project_root_itself_can_be_a_discovery_path() {
        let dir = tempfile::tempdir().expect("temp");
        std::fs::write(dir.path().join("schema.prisma"), "x").expect("write");
        let mut files = ProjectFiles::new(vec![root(dir.path(), "")], Vec::new(), 1024);
        assert_eq!(files.read("schema.prisma").expect("inside"), b"x");
    }
}
