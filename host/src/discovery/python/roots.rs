//! Where the project's imports resolve: its source roots and its installed libraries.
//!
//! Input: the project root, the `SOURCE_ROOTS` setting and the interpreter discovery
//! would use. Output: [`SourceRoots`]: the configured roots, the roots `pyproject.toml`
//! declares (setuptools `package-dir` and `packages.find.where`, hatch's wheel
//! `packages`, poetry's `packages` with `from`), a `src/` layout, and the project root;
//! and the `site-packages` of the project's virtual environment, read as source and
//! never imported. Nothing is executed; a `pyproject.toml` that does not parse adds no
//! roots (the packaging tools report it).

use std::path::{Path, PathBuf};

use super::project::SourceRoots;

/// The source roots of the project at `root`.
pub fn detect(root: &Path, configured: &[PathBuf], python: &Path) -> SourceRoots {
    let mut project: Vec<PathBuf> = Vec::new();
    let mut add = |p: PathBuf| {
        if p.is_dir() && !project.contains(&p) {
            project.push(p);
        }
    };
    for c in configured {
        add(root.join(c));
    }
    for p in pyproject_roots(root) {
        add(root.join(p));
    }
    add(root.join("src"));
    add(root.to_path_buf());
    // Deepest first, so a file is named below the innermost root holding it.
    project.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    SourceRoots {
        project_root: root.to_path_buf(),
        project,
        libraries: site_packages(root, python),
    }
}

/// Roots declared in `pyproject.toml`, relative to the project root.
fn pyproject_roots(root: &Path) -> Vec<PathBuf> {
    let shown = Path::new("pyproject.toml");
    let bounded = crate::config::read_bounded(&root.join(shown), shown, true).and_then(|text| {
        if let Some(text) = &text {
            crate::config::check_depth(text, crate::config::Format::Toml, shown)?;
        }
        Ok(text)
    });
    let text = match bounded {
        Ok(Some(text)) => text,
        Ok(None) => return Vec::new(),
        Err(e) => {
            tracing::warn!("{e}; the source roots it declares are not used");
            return Vec::new();
        }
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let get = |path: &[&str]| -> Option<&toml::Value> {
        let mut v = doc.get(path[0])?;
        for key in &path[1..] {
            v = v.get(key)?;
        }
        Some(v)
    };
    // setuptools: `package-dir = {"" = "src"}` and `packages.find.where = ["src"]`.
    if let Some(dirs) = get(&["tool", "setuptools", "package-dir"]).and_then(|v| v.as_table()) {
        for (package, dir) in dirs {
            if let Some(dir) = dir.as_str() {
                let dir = PathBuf::from(dir);
                // `{"pkg" = "lib/pkg"}` puts `pkg` at `lib/pkg`: its parent is the root.
                out.push(if package.is_empty() {
                    dir
                } else {
                    dir.parent().map(Path::to_path_buf).unwrap_or_default()
                });
            }
        }
    }
    if let Some(wheres) =
        get(&["tool", "setuptools", "packages", "find", "where"]).and_then(|v| v.as_array())
    {
        out.extend(wheres.iter().filter_map(|w| w.as_str()).map(PathBuf::from));
    }
    // hatch: `packages = ["src/pkg"]` ships `src/pkg` as `pkg`.
    if let Some(packages) =
        get(&["tool", "hatch", "build", "targets", "wheel", "packages"]).and_then(|v| v.as_array())
    {
        for p in packages.iter().filter_map(|p| p.as_str()) {
            if let Some(parent) = Path::new(p).parent() {
                out.push(parent.to_path_buf());
            }
        }
    }
    // poetry: `packages = [{ include = "pkg", from = "src" }]`.
    if let Some(packages) = get(&["tool", "poetry", "packages"]).and_then(|v| v.as_array()) {
        for p in packages {
            if let Some(from) = p.get("from").and_then(|f| f.as_str()) {
                out.push(PathBuf::from(from));
            }
        }
    }
    out.retain(|p| {
        !p.is_absolute() && !p.components().any(|c| c == std::path::Component::ParentDir)
    });
    out
}

/// The `site-packages` folders of the virtual environment `python` belongs to (or of
/// the project's `.venv`/`venv`), without running it.
fn site_packages(root: &Path, python: &Path) -> Vec<PathBuf> {
    let mut envs = Vec::new();
    // `<env>/bin/python`: the environment is two levels up.
    if python.components().count() > 1
        && let Some(env) = python.parent().and_then(Path::parent)
    {
        envs.push(env.to_path_buf());
    }
    envs.push(root.join(".venv"));
    envs.push(root.join("venv"));
    for env in envs {
        if !env.join("pyvenv.cfg").is_file() {
            continue;
        }
        let mut found = Vec::new();
        for lib in ["lib", "lib64"] {
            let Ok(entries) = std::fs::read_dir(env.join(lib)) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with("python") {
                    let sp = e.path().join("site-packages");
                    if sp.is_dir() && !found.contains(&sp) {
                        found.push(sp);
                    }
                }
            }
        }
        // Windows layout.
        let sp = env.join("Lib").join("site-packages");
        if sp.is_dir() {
            found.push(sp);
        }
        if !found.is_empty() {
            found.sort();
            return found;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_from_layout_pyproject_and_venv() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in [
            "src/app",
            "lib/other",
            "custom",
            ".venv/lib/python3.11/site-packages",
        ] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        std::fs::write(root.join(".venv/pyvenv.cfg"), "home = /usr\n").expect("cfg");
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.setuptools.packages.find]\nwhere = [\"lib\"]\n[tool.poetry]\npackages = [{ include = \"x\", from = \"../escape\" }]\n",
        )
        .expect("pyproject");
        let roots = detect(root, &[PathBuf::from("custom")], Path::new("python3"));
        let rel: Vec<PathBuf> = roots
            .project
            .iter()
            .map(|p| p.strip_prefix(root).expect("inside").to_path_buf())
            .collect();
        assert_eq!(rel.last(), Some(&PathBuf::new()), "project root last");
        for r in ["custom", "lib", "src"] {
            assert!(rel.contains(&PathBuf::from(r)), "{r} in {rel:?}");
        }
        assert!(!rel.iter().any(|r| r.to_string_lossy().contains("escape")));
        assert_eq!(
            roots.libraries,
            [root.join(".venv/lib/python3.11/site-packages")]
        );
    }
}
