//! Environment variables and the project's `.env` file.
//!
//! Input: a map of variables (the real environment, or one given by tests) and the
//! `.env` file in the project root. Output: values for known keys, by variable name:
//! `SQLALEMBIC_<KEY>` wins over the bare `<KEY>` the Python original read. Empty values
//! count as unset. A `.env` variable never overrides one present in the real
//! environment (even an empty one), as `python-dotenv` without `override` behaves.
//! It refuses a malformed `.env` with its line and column, never its text.

use std::collections::HashMap;
use std::path::Path;

use super::Error;
use super::keys::{ENV_PREFIX, KEYS};
use crate::diagnostic::line_col;

/// Variables by name.
pub(crate) type Vars = HashMap<String, String>;

/// One key's value found among variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VarValue {
    /// Index into [`KEYS`].
    pub index: usize,
    /// The variable that supplied it.
    pub var: String,
    pub value: String,
}

/// Values for every known key present (and non-empty) in `vars`.
pub(crate) fn key_values(vars: &Vars) -> Vec<VarValue> {
    KEYS.iter()
        .enumerate()
        .filter_map(|(index, spec)| {
            [spec.prefixed_env(), spec.name.to_owned()]
                .into_iter()
                .find_map(|var| {
                    let value = vars.get(&var).filter(|v| !v.is_empty())?.clone();
                    Some(VarValue { index, var, value })
                })
        })
        .collect()
}

/// Variables with the tool's prefix that are not settings but that sqlalembic,
/// its bundled plugins or its test and benchmark scripts read.
pub(crate) const OWN_VARIABLES: &[&str] = &[
    "SQLALEMBIC_PLUGIN_CACHE",
    "SQLALEMBIC_APPROVE_DESTRUCTIVE",
    "SQLALEMBIC_TEST_PYTHON",
    "SQLALEMBIC_COMPONENTIZE_PY",
    "SQLALEMBIC_COMPONENTIZE_QJS",
    "SQLALEMBIC_GUEST_TARGET_DIR",
    "SQLALEMBIC_BIN",
    "SQLALEMBIC_CORPUS_CACHE",
    // Log directives for other crates (`logging::FILTER_ENV`).
    "SQLALEMBIC_LOG",
];

/// The variables of `vars` with the tool's prefix that name no setting, no
/// variable of [`OWN_VARIABLES`] and none of `granted` (plugins' `allow.env`), each
/// with the closest prefixed setting name. Variables without the prefix belong to
/// other programs and are never judged.
pub(crate) fn unknown_prefixed(vars: &Vars, granted: &[&str]) -> Vec<(String, Option<String>)> {
    let mut unknown: Vec<(String, Option<String>)> = vars
        .keys()
        .filter(|name| name.len() > ENV_PREFIX.len() && name.starts_with(ENV_PREFIX))
        .filter(|name| {
            let key = &name[ENV_PREFIX.len()..];
            // Read by exact name only (see `key_values`).
            !KEYS.iter().any(|k| k.name == key)
                && !OWN_VARIABLES.contains(&name.as_str())
                && !granted.contains(&name.as_str())
        })
        .map(|name| {
            let key = &name[ENV_PREFIX.len()..];
            let closest = super::keys::closest_key(key).map(|k| format!("{ENV_PREFIX}{k}"));
            (name.clone(), closest)
        })
        .collect();
    unknown.sort();
    unknown
}

/// The line of one unknown prefixed variable for [`super::Error::Unknown`].
pub(crate) fn unknown_line(origin: &str, name: &str, closest: Option<&str>) -> String {
    let key = &name[ENV_PREFIX.len()..];
    let hint = closest.map_or_else(
        || "; unset it, or list it in a plugin's `allow.env` if a plugin reads it".to_owned(),
        |c| format!("; did you mean `{c}`?"),
    );
    format!("{origin}: sqlalembic has no setting `{key}`{hint}")
}

/// A parsed `.env` file.
#[derive(Debug, Clone, Default)]
pub(crate) struct DotEnv {
    /// Variables defined by the file (the last definition wins), minus those present
    /// in the real environment.
    pub vars: Vars,
    pub text: String,
}

impl DotEnv {
    /// 1-based line and column of the definition of `var`, if found.
    pub fn locate(&self, var: &str) -> Option<(usize, usize)> {
        let mut offset = 0;
        for line in self.text.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let body = trimmed
                .strip_prefix("export ")
                .unwrap_or(trimmed)
                .trim_start();
            if let Some(rest) = body.strip_prefix(var)
                && rest.trim_start().starts_with('=')
            {
                let col = offset + (line.len() - body.len());
                return Some(line_col(&self.text, col));
            }
            offset += line.len();
        }
        None
    }
}

/// Reads `path` (`shown` is how messages print it) and drops the variables `real`
/// already has. `None` when there is no such file.
pub(crate) fn read_dotenv(path: &Path, shown: &Path, real: &Vars) -> Result<Option<DotEnv>, Error> {
    let Some(text) = super::limits::read_bounded(path, shown, true)? else {
        return Ok(None);
    };
    let mut vars = Vars::new();
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        match item {
            Ok((name, value)) => {
                if !real.contains_key(&name) {
                    vars.insert(name, value);
                }
            }
            Err(dotenvy::Error::LineParse(line, index)) => {
                // The line may hold a password: report where it is, never what it says.
                let line = line.trim_end();
                let start = text.find(line).unwrap_or(0);
                let (line, col) = line_col(&text, start + index.min(line.len()));
                return Err(Error::DotEnv {
                    path: shown.to_path_buf(),
                    line,
                    col,
                });
            }
            Err(dotenvy::Error::Io(source)) => {
                return Err(Error::Read {
                    path: shown.to_path_buf(),
                    source,
                });
            }
            Err(_) => {
                return Err(Error::DotEnv {
                    path: shown.to_path_buf(),
                    line: 1,
                    col: 1,
                });
            }
        }
    }
    Ok(Some(DotEnv { vars, text }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::index_of;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn prefixed_names_win_and_empty_values_are_unset() {
        let found = key_values(&vars(&[
            ("DB_HOST", "bare"),
            ("SQLALEMBIC_DB_HOST", "prefixed"),
            ("DB_USER", "u"),
            ("SQLALEMBIC_DB_NAME", ""),
            ("DB_NAME", "n"),
            ("db_port", "1"),
        ]));
        let get = |k: &str| {
            found
                .iter()
                .find(|v| Some(v.index) == index_of(k))
                .map(|v| (v.var.as_str(), v.value.as_str()))
        };
        assert_eq!(get("DB_HOST"), Some(("SQLALEMBIC_DB_HOST", "prefixed")));
        assert_eq!(get("DB_USER"), Some(("DB_USER", "u")));
        assert_eq!(get("DB_NAME"), Some(("DB_NAME", "n")));
        assert_eq!(get("DB_PORT"), None);
    }

    #[test]
    fn dotenv_skips_real_variables_and_locates_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# comment\nDB_HOST=file\nexport DB_USER = 'me'\nDB_NAME=a\nDB_NAME=b\n",
        )
        .expect("write");
        let real = vars(&[("DB_HOST", "")]);
        let env = read_dotenv(&path, Path::new(".env"), &real)
            .expect("reads")
            .expect("exists");
        assert_eq!(env.vars.get("DB_HOST"), None);
        assert_eq!(env.vars.get("DB_USER").map(String::as_str), Some("me"));
        assert_eq!(env.vars.get("DB_NAME").map(String::as_str), Some("b"));
        assert_eq!(env.locate("DB_USER"), Some((3, 8)));
        let missing = read_dotenv(&dir.path().join("missing"), Path::new("m"), &real);
        assert!(missing.expect("no file is fine").is_none());
    }

    #[test]
    fn broken_dotenv_reports_place_not_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(".env");
        std::fs::write(&path, "DB_HOST=x\nDB_PASS=\"hunter2\n").expect("write");
        let err = read_dotenv(&path, Path::new(".env"), &Vars::new()).expect_err("broken");
        let text = err.to_string();
        assert!(text.starts_with(".env:2:"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
