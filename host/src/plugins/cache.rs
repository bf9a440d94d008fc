//! The compiled-component cache.
//!
//! Input: a component file and the [`Runtime`]. Output: the compiled component,
//! loaded by mmap from `<cache>/<sha256>-<engine>.cwasm` when it is there, else
//! compiled once and stored (written to a temporary file, then renamed, so readers
//! never see half an artifact). A component's sha256 is recorded once per
//! (path, size, mtime, inode, ctime) in `<cache>/index/`, so large Python or
//! JavaScript components are not re-hashed on every run. The folder is private
//! (0700). It refuses nothing: a corrupt, truncated or incompatible entry is
//! detected (length record, wasmtime's own header checks) and rebuilt.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use super::Error;
use super::engine::Runtime;

/// Environment variable naming another cache folder (CI caches, shared test runs).
pub const CACHE_ENV: &str = "SQLALEMBIC_PLUGIN_CACHE";

/// Where compiled plugins are kept for the project at `project_root`:
/// `$SQLALEMBIC_PLUGIN_CACHE` if set, else `<root>/.sqlalembic/cache/plugins`.
pub fn cache_dir(project_root: &Path) -> PathBuf {
    match std::env::var_os(CACHE_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => project_root
            .join(".sqlalembic")
            .join("cache")
            .join("plugins"),
    }
}

/// Removes every compiled plugin and recorded hash of the project's cache; returns
/// how many files were removed (0 when there was no cache).
pub fn clear_cache(project_root: &Path) -> Result<usize, Error> {
    let dir = cache_dir(project_root);
    if !dir.exists() {
        return Ok(0);
    }
    let count = count_files(&dir);
    fs::remove_dir_all(&dir).map_err(|source| Error::Cache {
        path: dir.clone(),
        source,
    })?;
    Ok(count)
}

fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let path = e.path();
                    if path.is_dir() { count_files(&path) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// How a component was obtained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum CacheState {
    /// Loaded from the cache (no compile).
    Hit,
    /// Not cached yet: compiled and stored.
    Compiled,
    /// The cached entry was unusable (the reason): compiled again and stored.
    Rebuilt(String),
}

/// Whether a compiled artifact exists for a component, without loading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    Compiled,
    Missing,
}

/// A component's sha256, and whether it came from the recorded index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub sha256: String,
    pub recorded: bool,
}

/// One plugin cache folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stamp {
    path: String,
    size: u64,
    mtime_ns: u128,
    inode: u64,
    ctime_ns: i128,
    sha256: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct ArtifactRecord {
    component: String,
    len: u64,
}

/// Whether two stamps describe the same file contents (all but the hash).
fn same_file(a: &Stamp, b: &Stamp) -> bool {
    a.path == b.path
        && a.size == b.size
        && a.mtime_ns == b.mtime_ns
        && a.inode == b.inode
        && a.ctime_ns == b.ctime_ns
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Cache {
    /// Opens (creating it, private) the cache folder `dir`.
    pub fn open(dir: PathBuf) -> Result<Cache, Error> {
        let fail = |source| Error::Cache {
            path: dir.clone(),
            source,
        };
        fs::create_dir_all(dir.join("index")).map_err(fail)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for d in [dir.clone(), dir.join("index")] {
                fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).map_err(fail)?;
            }
        }
        Ok(Cache { dir })
    }

    fn stamp_of(path: &Path, sha256: String) -> std::io::Result<Stamp> {
        let meta = fs::metadata(path)?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        #[cfg(unix)]
        let (inode, ctime_ns) = {
            use std::os::unix::fs::MetadataExt;
            (
                meta.ino(),
                i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
            )
        };
        #[cfg(not(unix))]
        let (inode, ctime_ns) = (0, 0);
        Ok(Stamp {
            path: path.display().to_string(),
            size: meta.len(),
            mtime_ns,
            inode,
            ctime_ns,
            sha256,
        })
    }

    fn index_file(&self, path: &Path) -> PathBuf {
        let key = hex(&Sha256::digest(path.display().to_string().as_bytes())[..16]);
        self.dir.join("index").join(format!("{key}.json"))
    }

    /// The sha256 of the component at `path` (absolute): the recorded one when the
    /// file's size, mtime, inode and ctime are unchanged, else hashed and recorded.
    pub fn hash(&self, path: &Path) -> Result<Hashed, Error> {
        let read_error = |source| Error::Cache {
            path: path.to_path_buf(),
            source,
        };
        let now = Self::stamp_of(path, String::new()).map_err(read_error)?;
        let index = self.index_file(path);
        if let Ok(text) = fs::read_to_string(&index)
            && let Ok(recorded) = serde_json::from_str::<Stamp>(&text)
            && recorded.sha256.len() == 64
            && same_file(&recorded, &now)
        {
            return Ok(Hashed {
                sha256: recorded.sha256,
                recorded: true,
            });
        }
        let bytes = fs::read(path).map_err(read_error)?;
        let sha256 = hex(&Sha256::digest(&bytes));
        let stamp = Stamp {
            sha256: sha256.clone(),
            ..now
        };
        let text = serde_json::to_string(&stamp).map_err(|e| Error::Cache {
            path: index.clone(),
            source: std::io::Error::other(e),
        })?;
        self.write_atomic(&index, text.as_bytes())?;
        Ok(Hashed {
            sha256,
            recorded: false,
        })
    }

    fn artifact(&self, sha256: &str, runtime: &Runtime) -> PathBuf {
        self.dir
            .join(format!("{sha256}-{}.cwasm", runtime.fingerprint()))
    }

    fn record(artifact: &Path) -> PathBuf {
        artifact.with_extension("cwasm.json")
    }

    /// Whether a compiled artifact for `sha256` exists for this engine.
    pub fn stored(&self, sha256: &str, runtime: &Runtime) -> Stored {
        if self.artifact(sha256, runtime).is_file() {
            Stored::Compiled
        } else {
            Stored::Missing
        }
    }

    /// The compiled component for `path` (whose sha256 is `sha256`): loaded from the
    /// cache, or compiled and stored.
    pub fn load(
        &self,
        runtime: &Runtime,
        path: &Path,
        sha256: &str,
    ) -> Result<(Component, CacheState), Error> {
        let artifact = self.artifact(sha256, runtime);
        let state = match self.load_artifact(runtime, &artifact, sha256) {
            Ok(Some(component)) => return Ok((component, CacheState::Hit)),
            Ok(None) => CacheState::Compiled,
            Err(reason) => {
                tracing::warn!(artifact = %artifact.display(), %reason, "Rebuilding a plugin cache entry");
                let _ = fs::remove_file(&artifact);
                let _ = fs::remove_file(Self::record(&artifact));
                CacheState::Rebuilt(reason)
            }
        };
        let bytes = fs::read(path).map_err(|source| Error::Cache {
            path: path.to_path_buf(),
            source,
        })?;
        let started = std::time::Instant::now();
        let component =
            Component::new(&runtime.engine, &bytes).map_err(|e| Error::NotComponent {
                path: path.to_path_buf(),
                message: format!("{e:#}"),
            })?;
        tracing::info!(component = %path.display(), ms = started.elapsed().as_millis(), "Compiled plugin");
        let compiled = component.serialize().map_err(|e| Error::Engine {
            message: format!("cannot serialize `{}`: {e:#}", path.display()),
        })?;
        self.write_atomic(&artifact, &compiled)?;
        let record = ArtifactRecord {
            component: sha256.to_owned(),
            len: u64::try_from(compiled.len()).unwrap_or(u64::MAX),
        };
        let text = serde_json::to_string(&record).map_err(|e| Error::Cache {
            path: artifact.clone(),
            source: std::io::Error::other(e),
        })?;
        self.write_atomic(&Self::record(&artifact), text.as_bytes())?;
        Ok((component, state))
    }

    /// `Ok(None)`: not cached; `Err(reason)`: cached but unusable.
    fn load_artifact(
        &self,
        runtime: &Runtime,
        artifact: &Path,
        sha256: &str,
    ) -> Result<Option<Component>, String> {
        let Ok(meta) = fs::metadata(artifact) else {
            return Ok(None);
        };
        let record: ArtifactRecord = fs::read_to_string(Self::record(artifact))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .ok_or("its record is missing or unreadable")?;
        if record.component != sha256 {
            return Err("its record names another component".into());
        }
        if record.len != meta.len() {
            return Err(format!(
                "it is {} bytes, {} were written",
                meta.len(),
                record.len
            ));
        }
        deserialize(runtime, artifact).map(Some)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), Error> {
        let fail = |source| Error::Cache {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension(format!(
            "tmp-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        let mut file = fs::File::create(&tmp).map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        drop(file);
        fs::rename(&tmp, path).map_err(|e| {
            let _ = fs::remove_file(&tmp);
            fail(e)
        })
    }
}

/// Maps a compiled artifact from our own cache.
#[allow(unsafe_code)]
fn deserialize(runtime: &Runtime, artifact: &Path) -> Result<Component, String> {
    // SAFETY: `deserialize_file` trusts the file to be an artifact that wasmtime
    // produced. Ours are written only by `Cache::load` into a 0700 folder, through
    // a temporary file and a rename (never half-written), their length is checked
    // against the record written with them, and wasmtime itself refuses artifacts
    // of another version or configuration (checked in the header before any code
    // is mapped executable).
    unsafe { Component::deserialize_file(&runtime.engine, artifact) }
        .map_err(|e| format!("wasmtime refused it: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_dir_is_inside_the_project_unless_overridden() {
        // The override is read from the environment; the tests of this crate may set
        // it, so only the default layout is checked when it is absent.
        if std::env::var_os(CACHE_ENV).is_none() {
            assert_eq!(
                cache_dir(Path::new("/p")),
                Path::new("/p/.sqlalembic/cache/plugins")
            );
        }
    }

    #[test]
    fn a_hash_is_recorded_once_and_redone_when_the_file_changes() {
        let dir = tempfile::tempdir().expect("temp");
        let cache = Cache::open(dir.path().join("cache")).expect("open");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&cache.dir).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let file = dir.path().join("a.wasm");
        fs::write(&file, b"one").expect("write");
        let first = cache.hash(&file).expect("hash");
        assert!(!first.recorded);
        assert_eq!(first.sha256, hex(&Sha256::digest(b"one")));
        let again = cache.hash(&file).expect("hash");
        assert_eq!(
            again,
            Hashed {
                recorded: true,
                ..first.clone()
            }
        );
        fs::write(&file, b"two!").expect("rewrite");
        let changed = cache.hash(&file).expect("hash");
        assert!(!changed.recorded);
        assert_eq!(changed.sha256, hex(&Sha256::digest(b"two!")));
    }

    #[test]
    fn clear_cache_removes_everything() {
        if std::env::var_os(CACHE_ENV).is_some() {
            return;
        }
        let root = tempfile::tempdir().expect("temp");
        assert_eq!(clear_cache(root.path()).expect("nothing"), 0);
        let cache = Cache::open(cache_dir(root.path())).expect("open");
        let file = root.path().join("a.wasm");
        fs::write(&file, b"x").expect("write");
        cache.hash(&file).expect("hash");
        assert_eq!(clear_cache(root.path()).expect("clear"), 1);
        assert!(!cache_dir(root.path()).exists());
    }
}
