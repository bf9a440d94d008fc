//! [`DiscoveryComponent`]: a discovery backend implemented by a component of the
//! `discovery-backend` world (`BACKENDS = ["wasm:plugins/prisma.wasm"]`).
//!
//! Input: the component, the discovery request (paths and excludes, relative to the
//! project root) and a [`ProjectFiles`] serving the files under the discovery paths.
//! Output: an [`Answer`]: the tables it returned (checked, with their file and line),
//! its diagnostics, and the [`Inputs`] it listed and read (the key of its cached
//! result). Each call runs on a fresh instance, under the time and memory limits;
//! the component sees no preopened folder, environment or network, only `project`.
//!
//! It refuses to pass on a partial schema: a trap, a time-out, a memory overrun, an
//! `err`, or one malformed table make the whole answer a [`Failed`] naming the
//! plugin and what it returned.

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::bindings::discovery_backend::{DiscoveryBackend, DiscoveryBackendPre};
use super::bindings::wit_discovery;
use super::component::{Guest, Limits, Spec, World};
use super::convert::{self, Malformed};
use super::handler::CallError;
use super::project::{Inputs, ProjectFiles};
use super::sandbox::State;
use super::{CacheState, Error};
use crate::diagnostic::{Diagnostic, Severity};
use crate::schema::Table;

/// Limits of a discovery component without a `[[plugins]]` entry of its own.
pub const DEFAULT_LIMITS: Limits = Limits {
    timeout: std::time::Duration::from_secs(10),
    memory_mb: 256,
};

impl World for DiscoveryBackend {
    type Pre = DiscoveryBackendPre<State>;
    const NAME: &'static str = "sqlalembic:plugin/discovery-backend@0.1.2";
    const EXPORTS: &'static str = "`discover(request) -> result<discovered, list<diagnostic>>`";

    fn pre(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre> {
        DiscoveryBackendPre::new(pre)
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<State>) -> wasmtime::Result<Self> {
        pre.instantiate(store)
    }
}

/// A loaded discovery component.
pub struct DiscoveryComponent {
    guest: Guest<DiscoveryBackend>,
}

/// What a component found.
#[derive(Debug, Default)]
pub struct Answer {
    /// Each table with the file (relative to the project root) and 1-based line
    /// defining it.
    pub tables: Vec<(Table, String, usize)>,
    pub diagnostics: Vec<Diagnostic>,
    /// What it listed and read.
    pub inputs: Inputs,
}

/// Why a component produced no usable schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failed {
    #[error(transparent)]
    Call(#[from] CallError),
    /// One of its tables is malformed; `diagnostics` are the ones it gave.
    #[error("Plugin `{plugin}` returned a malformed table: {message}")]
    Malformed {
        plugin: String,
        message: String,
        diagnostics: Vec<Diagnostic>,
    },
    /// Its own `err`: the diagnostics it gave (at least one error).
    #[error("Plugin `{plugin}` found no usable models")]
    Refused {
        plugin: String,
        diagnostics: Vec<Diagnostic>,
    },
}

impl DiscoveryComponent {
    /// Compiles (or takes from the cache) the component of `spec`.
    pub fn load(spec: &Spec) -> Result<DiscoveryComponent, Error> {
        Ok(DiscoveryComponent {
            guest: Guest::load(spec)?,
        })
    }

    /// The plugin's name in messages.
    pub fn name(&self) -> &str {
        self.guest.name()
    }

    /// The component's sha256.
    pub fn sha256(&self) -> &str {
        &self.guest.sha256
    }

    /// How the compiled component was obtained.
    pub fn cache_state(&self) -> &CacheState {
        &self.guest.cache_state
    }

    /// Runs the component once, on a fresh instance, with `files` as its project.
    pub fn discover(
        &self,
        paths: Vec<String>,
        exclude: Vec<String>,
        files: ProjectFiles,
    ) -> Result<Answer, Failed> {
        self.guest.reset();
        let request = wit_discovery::Request { paths, exclude };
        let (answer, inputs) = self.guest.call(move |b: &DiscoveryBackend, store| {
            store.data_mut().project = Some(files);
            let answer = b.call_discover(&mut *store, &request);
            let inputs = store
                .data_mut()
                .project
                .take()
                .map(ProjectFiles::into_inputs)
                .unwrap_or_default();
            answer.map(|a| (a, inputs))
        })?;
        // Discovery runs once per command: do not keep the instance's memory.
        self.guest.reset();
        let plugin = self.name().to_owned();
        let discovered = match answer {
            Ok(discovered) => discovered,
            Err(diagnostics) => {
                let mut diagnostics: Vec<Diagnostic> =
                    diagnostics.into_iter().map(Diagnostic::from).collect();
                if !diagnostics.iter().any(|d| d.severity == Severity::Error) {
                    diagnostics.push(Diagnostic::error(
                        "WASM002",
                        format!("Discovery plugin `{plugin}` failed without saying why"),
                    ));
                }
                return Err(Failed::Refused {
                    plugin,
                    diagnostics,
                });
            }
        };
        let diagnostics: Vec<Diagnostic> = discovered
            .diagnostics
            .into_iter()
            .map(Diagnostic::from)
            .collect();
        let mut tables = Vec::with_capacity(discovered.tables.len());
        for located in discovered.tables {
            match convert::located_table(located) {
                Ok(found) => tables.push(found),
                Err(Malformed(message)) => {
                    return Err(Failed::Malformed {
                        plugin,
                        message,
                        diagnostics,
                    });
                }
            }
        }
        Ok(Answer {
            tables,
            diagnostics,
            inputs,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::plugins::project::Root;
    use crate::plugins::testing::{rust_component, shared_cache_dir};

    fn run(mode: &str) -> Result<Answer, Failed> {
        let dir = tempfile::tempdir().expect("temp");
        std::fs::write(dir.path().join("x.mode"), mode).expect("write");
        let component = DiscoveryComponent::load(&Spec {
            name: "bad".into(),
            path: rust_component("fixture_bad_discovery"),
            limits: Limits {
                timeout: Duration::from_millis(300),
                memory_mb: 24,
            },
            settings: serde_json::json!({}),
            cache_dir: shared_cache_dir(),
        })
        .expect("loads");
        let root = Root {
            rel: String::new(),
            dir: cap_std::fs::Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority())
                .expect("open"),
        };
        let files = ProjectFiles::new(vec![root], vec!["x.mode".into()], 24 << 20);
        component.discover(vec![String::new()], Vec::new(), files)
    }

    #[test]
    fn loops_and_memory_overruns_are_stopped() {
        assert_eq!(
            run("loop").expect_err("loops").to_string(),
            "Plugin `bad` ran past its time limit of 300 ms and was stopped"
        );
        assert_eq!(
            run("memory").expect_err("hoards").to_string(),
            "Plugin `bad` went over its memory limit of 24 MiB and was stopped"
        );
    }

    #[test]
    fn an_answer_records_what_was_listed_and_read() {
        let answer = run("ok").expect("fine");
        assert_eq!(answer.tables.len(), 1);
        assert_eq!(
            (answer.tables[0].1.as_str(), answer.tables[0].2),
            ("x.mode", 1)
        );
        assert_eq!(answer.inputs.globs["**/*.mode"], ["x.mode"]);
        assert!(answer.inputs.files["x.mode"].is_some());
        match run("refuse").expect_err("refuses") {
            Failed::Refused {
                plugin,
                diagnostics,
            } => {
                assert_eq!(plugin, "bad");
                assert_eq!(diagnostics[0].code, "BAD001");
            }
            other => panic!("{other:?}"),
        }
    }
}
