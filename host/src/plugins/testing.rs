//! Test support: the first-party plugins built from source, and one shared
//! compiled-component cache, for this crate's tests and the end-to-end suite.
//!
//! Input: the `plugins/` workspace of the repository and the toolchains the test
//! command installs (`scripts/test`). Output: paths to built components. The Rust
//! plugins are built once per test process with `cargo build --release --target
//! wasm32-wasip2` into their own target folder (`$SQLALEMBIC_GUEST_TARGET_DIR`, else
//! `wasm-guests/` inside the host's target folder), so guest and host builds never
//! fight over one lock. A missing tool fails the test with the command that
//! installs it; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Overrides where guests are built.
pub const GUEST_TARGET_ENV: &str = "SQLALEMBIC_GUEST_TARGET_DIR";

/// The repository root (`host/..`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// Where guest components are built.
pub fn guest_target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(GUEST_TARGET_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    // The test executable is `<target>/debug/deps/<name>`.
    let exe = std::env::current_exe().expect("the test executable has a path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("wasm-guests")
}

/// One compiled-component cache shared by every test (a debug-built host compiles
/// slowly; each component is compiled once per engine configuration).
pub fn shared_cache_dir() -> PathBuf {
    guest_target_dir().join("component-cache")
}

static RUST_GUESTS: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The built `.wasm` of a first-party Rust plugin (`audit`, `guard`, `notify`,
/// `probe`); builds them all on first use.
pub fn rust_component(name: &str) -> PathBuf {
    let dir = RUST_GUESTS.get_or_init(build_rust_guests);
    match dir {
        Ok(dir) => {
            let path = dir.join(format!("{name}.wasm"));
            assert!(
                path.is_file(),
                "no component `{}` was built",
                path.display()
            );
            path
        }
        Err(message) => panic!("{message}"),
    }
}

fn build_rust_guests() -> Result<PathBuf, String> {
    let target_dir = guest_target_dir();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .current_dir(repo_root().join("plugins"))
        .args(["build", "--release", "--quiet", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|e| format!("Cannot run `cargo` to build the plugins: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if stderr.contains("wasm32-wasip2") && stderr.contains("target") {
            "\nhint: install the target with `rustup target add wasm32-wasip2` (scripts/test does it)"
        } else {
            ""
        };
        return Err(format!(
            "Building the plugins for wasm32-wasip2 failed:\n{stderr}{hint}"
        ));
    }
    Ok(target_dir.join("wasm32-wasip2").join("release"))
}

/// Names the `componentize-py` executable (`scripts/test` installs it).
pub const COMPONENTIZE_PY_ENV: &str = "SQLALEMBIC_COMPONENTIZE_PY";
/// Names the `componentize-qjs` executable (`scripts/test` installs it).
pub const COMPONENTIZE_QJS_ENV: &str = "SQLALEMBIC_COMPONENTIZE_QJS";

static PYTHON_AUDIT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
static JS_AUDIT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// `plugins/python/audit` built with componentize-py (once per process, and only
/// when a source is newer than the built component).
pub fn python_audit_component() -> PathBuf {
    let built = PYTHON_AUDIT.get_or_init(|| {
        let root = repo_root();
        let out = guest_target_dir().join("python").join("audit.wasm");
        let source = root.join("plugins/python/audit/app.py");
        componentize(
            COMPONENTIZE_PY_ENV,
            "componentize-py",
            &source,
            &out,
            |tool| {
                let mut cmd = Command::new(tool);
                cmd.current_dir(&root)
                    .args(["-d", "wit", "-w", "signal-handler", "componentize", "-p"])
                    .arg(root.join("plugins/python/audit"))
                    .arg("app")
                    .arg("-o")
                    .arg(&out);
                cmd
            },
        )
    });
    unwrap_built(built)
}

/// `plugins/js/audit` built with componentize-qjs (non-async runtime).
pub fn js_audit_component() -> PathBuf {
    let built = JS_AUDIT.get_or_init(|| {
        let root = repo_root();
        let out = guest_target_dir().join("js").join("audit.wasm");
        let source = root.join("plugins/js/audit/audit.js");
        componentize(
            COMPONENTIZE_QJS_ENV,
            "componentize-qjs",
            &source,
            &out,
            |tool| {
                let mut cmd = Command::new(tool);
                cmd.current_dir(&root)
                    .args([
                        "--sync",
                        "--wit",
                        "wit",
                        "--world",
                        "signal-handler",
                        "--js",
                    ])
                    .arg(&source)
                    .arg("-o")
                    .arg(&out);
                cmd
            },
        )
    });
    unwrap_built(built)
}

fn unwrap_built(built: &Result<PathBuf, String>) -> PathBuf {
    match built {
        Ok(path) => path.clone(),
        Err(message) => panic!("{message}"),
    }
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn componentize(
    env: &str,
    tool_name: &str,
    source: &Path,
    out: &Path,
    command: impl FnOnce(&Path) -> Command,
) -> Result<PathBuf, String> {
    let tool = std::env::var_os(env)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| {
            format!(
                "{env} is not set: the plugin tests need `{tool_name}`; run them through \
                 `scripts/test`, which installs it and sets {env}"
            )
        })?;
    if !tool.is_file() {
        return Err(format!(
            "{env} names `{}`, which does not exist: run `scripts/test` to install `{tool_name}`",
            tool.display()
        ));
    }
    let wit = repo_root().join("wit/plugin.wit");
    let newest_input = [modified(source), modified(&wit)]
        .into_iter()
        .flatten()
        .max();
    if let (Some(built), Some(input)) = (modified(out), newest_input)
        && built >= input
    {
        return Ok(out.to_path_buf());
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("Cannot create `{}`: {e}", parent.display()))?;
    }
    let output = command(&tool)
        .output()
        .map_err(|e| format!("Cannot run `{}`: {e}", tool.display()))?;
    if !output.status.success() || !out.is_file() {
        return Err(format!(
            "`{tool_name}` failed to build `{}`:\n{}{}",
            source.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(out.to_path_buf())
}

/// How long [`http_server`] waits for its requests before giving up.
pub const SERVER_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// A loopback HTTP server (on `127.0.0.1`, a free port) for plugin tests: answers
/// at most `count` requests with `200` and `body`, each connection closed after the
/// answer, and gives up after [`SERVER_PATIENCE`], so a test never hangs on it.
/// Returns its port and, when joined, the raw text of every request it received.
pub fn http_server(
    count: usize,
    body: &'static str,
) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local address").port();
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let handle = std::thread::spawn(move || {
        let give_up = std::time::Instant::now() + SERVER_PATIENCE;
        let mut seen = Vec::new();
        while seen.len() < count && std::time::Instant::now() < give_up {
            let mut stream = match listener.accept() {
                Ok((stream, _)) => stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                Err(_) => break,
            };
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                request.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&request);
                let complete = text.find("\r\n\r\n").is_some_and(|end| {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    request.len() >= end + 4 + length
                });
                if complete || n == 0 {
                    break;
                }
            }
            seen.push(String::from_utf8_lossy(&request).into_owned());
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        seen
    });
    (port, handle)
}
