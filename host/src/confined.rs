//! Files the host writes for itself (its log file, cache entries, revision files),
//! opened so that no symbolic link can send the write elsewhere.
//!
//! Input: the folder a file belongs in (the project root, a cache folder) and the
//! file's path (relative to that folder, or absolute inside it). Output: the open
//! file. Every folder on the way is resolved inside `folder` (cap-std: a `..`, an
//! absolute link or a link climbing out is refused), and the last component is
//! opened with `O_NOFOLLOW`: a link there is refused even when it points inside. A
//! refusal names the path and what to do. It creates no folders.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Why a file of the host's own was not opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`{}` is a symbolic link; sqlalembic never writes its own files through a link (a plugin or another program may have planted it): remove it and run again",
        path.display()
    )]
    Link { path: PathBuf },
    #[error(
        "`{}` leads outside `{}` through a symbolic link or `..` on its way; sqlalembic writes its own files only inside that folder: remove the link (or name a path inside the folder) and run again",
        path.display(),
        folder.display()
    )]
    Escapes { path: PathBuf, folder: PathBuf },
    #[error("Cannot open `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The underlying I/O error kind (`NotFound` for a missing folder).
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::Link { .. } | Error::Escapes { .. } => io::ErrorKind::PermissionDenied,
            Error::Io { source, .. } => source.kind(),
        }
    }
}

/// How to open the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Append, creating the file if needed (log files).
    Append,
    /// Truncate or create (cache entries, rewritten revision files).
    Replace,
    /// Create; an existing file is an error (`AlreadyExists`).
    CreateNew,
}

/// Opens `path` for writing inside `folder` (see the module comment).
pub fn open(folder: &Path, path: &Path, mode: Mode) -> Result<File, Error> {
    let relative = if path.is_absolute() {
        match path.strip_prefix(folder) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => {
                return Err(Error::Escapes {
                    path: path.to_path_buf(),
                    folder: folder.to_path_buf(),
                });
            }
        }
    } else {
        path.to_path_buf()
    };
    let io_error = |source: io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = cap_std::fs::Dir::open_ambient_dir(folder, cap_std::ambient_authority())
        .map_err(io_error)?;
    // Refused before opening (clear message), and again by `O_NOFOLLOW` at open
    // (no window between the two).
    if dir
        .symlink_metadata(&relative)
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        return Err(Error::Link {
            path: path.to_path_buf(),
        });
    }
    let mut options = cap_std::fs::OpenOptions::new();
    match mode {
        Mode::Append => options.append(true).create(true),
        Mode::Replace => options.write(true).truncate(true).create(true),
        Mode::CreateNew => options.write(true).create_new(true),
    };
    no_follow(&mut options);
    match dir.open_with(&relative, &options) {
        Ok(file) => Ok(file.into_std()),
        Err(e) if is_escape(&e) => Err(Error::Escapes {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
        }),
        Err(e) if is_loop(&e) => Err(Error::Link {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(io_error(e)),
    }
}

/// Writes `bytes` to `path` inside `folder`, replacing its content.
pub fn write(folder: &Path, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut file = open(folder, path, Mode::Replace)?;
    file.write_all(bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(unix)]
fn no_follow(options: &mut cap_std::fs::OpenOptions) {
    use cap_std::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NOFOLLOW);
}

#[cfg(not(unix))]
fn no_follow(_options: &mut cap_std::fs::OpenOptions) {}

/// cap-std's refusal of a path leading out of its folder.
fn is_escape(e: &io::Error) -> bool {
    e.to_string().contains("outside of the filesystem")
}

fn is_loop(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_never_followed_and_escapes_are_refused() {
        let root = tempfile::tempdir().expect("temp");
        let outside = tempfile::tempdir().expect("temp");
        let r = root.path();
        std::fs::create_dir(r.join("logs")).expect("mkdir");
        std::fs::write(r.join("inside.txt"), "").expect("write");
        // The last component a link: out, absolute, inside, to another link.
        symlink("../../outside.log", r.join("logs/a.log")).expect("link");
        symlink(outside.path().join("x.log"), r.join("logs/b.log")).expect("link");
        symlink("../inside.txt", r.join("logs/c.log")).expect("link");
        symlink("a.log", r.join("logs/d.log")).expect("link");
        for name in ["a.log", "b.log", "c.log", "d.log"] {
            let err = open(r, Path::new(&format!("logs/{name}")), Mode::Append).expect_err(name);
            assert!(matches!(err, Error::Link { .. }), "{name}: {err}");
            assert!(
                err.to_string()
                    .starts_with(&format!("`logs/{name}` is a symbolic link")),
                "{err}"
            );
        }
        // A folder on the way that leads out.
        symlink(outside.path(), r.join("out")).expect("link");
        let err = open(r, Path::new("out/x.log"), Mode::Append).expect_err("escape");
        assert!(matches!(err, Error::Escapes { .. }), "{err}");
        let err = open(r, Path::new("../x.log"), Mode::Append).expect_err("escape");
        assert!(matches!(err, Error::Escapes { .. }), "{err}");
        assert_eq!(std::fs::read_dir(outside.path()).expect("ls").count(), 0);
        assert!(!r.parent().expect("parent").join("outside.log").exists());
        // A plain file, relative or absolute inside the folder.
        open(r, Path::new("logs/ok.log"), Mode::Append).expect("plain file");
        write(r, &r.join("logs/ok.log"), b"x").expect("absolute inside");
        assert_eq!(std::fs::read(r.join("logs/ok.log")).expect("read"), b"x");
        let err = open(r, Path::new("logs/ok.log"), Mode::CreateNew).expect_err("exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    }
}
