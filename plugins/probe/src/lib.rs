//! `probe`: a deliberately misbehaving plugin that the test suite points at the
//! sandbox. It does what its `mode` setting (or the payload's `probe` key, which
//! wins) says and reports the result as a `warn` verdict, so tests can see what the
//! sandbox allowed.
//!
//! Modes: `echo` (the signal as JSON), `count` (calls seen by this instance),
//! `settings`, `log`, `env` (visible variables and argv), `print` (writes to
//! stdout/stderr), `read` / `write` / `list` (the `path` setting, through WASI),
//! `host-read` / `host-append` (the same through the host's file imports), `connect` (TCP to
//! `addr`), `http` (GET `url` through standard `wasi:http`), `host-http` (the same
//! through the host's `sqlalembic:plugin/http` import), `loop` (spins forever), `alloc` (`mb` MiB), `panic`,
//! `error`, `deny`, `sleep` (`std::thread::sleep` for `secs` seconds), `block` (the
//! same through a raw `wasi:clocks` pollable's `block`), `symlink` (creates the link
//! `path` pointing at `target` through `wasi:filesystem` `symlink-at`), `recurse`
//! (a recursion without end), `big` (a `warn` verdict of `mb` MiB), `spam` (`mb`
//! MiB of log lines), `fill` (writes `path` in 1 MiB chunks until `mb` MiB or an
//! error). Not a first-party plugin to deploy: a test fixture.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlalembic_plugin::{Handler, Signal, Value, Verdict, files, http, log, serde_json, settings};

static CALLS: AtomicU64 = AtomicU64::new(0);

struct Probe;

fn setting(payload: &Value, key: &str) -> Option<String> {
    match payload.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => settings::string(key),
    }
}

impl Handler for Probe {
    fn handle(signal: Signal) -> Result<Verdict, String> {
        let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        let payload = signal.payload();
        let mode = setting(&payload, "probe")
            .or_else(|| settings::string("mode"))
            .unwrap_or_else(|| "echo".to_owned());
        let path = setting(&payload, "path").unwrap_or_default();
        let said = match mode.as_str() {
            "echo" => serde_json::json!({
                "name": signal.name,
                "command": signal.command,
                "payload": payload,
                "timestamp": signal.timestamp,
            })
            .to_string(),
            "count" => format!("call {calls}"),
            "settings" => settings::all().to_string(),
            "log" => {
                log::trace("probe trace");
                log::debug("probe debug");
                log::info("probe info");
                log::warn("probe warn");
                log::error("probe error");
                "logged".to_owned()
            }
            "env" => serde_json::json!({
                "vars": std::env::vars().collect::<Vec<_>>(),
                "args": std::env::args().collect::<Vec<_>>(),
            })
            .to_string(),
            "print" => {
                println!("probe stdout");
                eprintln!("probe stderr");
                "printed".to_owned()
            }
            "read" => match std::fs::read_to_string(&path) {
                Ok(text) => format!("read ok: {text}"),
                Err(e) => format!("read failed: {e}"),
            },
            "write" => match std::fs::write(&path, "probe was here") {
                Ok(()) => "write ok".to_owned(),
                Err(e) => format!("write failed: {e}"),
            },
            "list" => match std::fs::read_dir(&path) {
                Ok(entries) => {
                    let mut names: Vec<String> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect();
                    names.sort();
                    format!("list ok: {}", names.join(","))
                }
                Err(e) => format!("list failed: {e}"),
            },
            "host-read" => match files::read(&path) {
                Ok(bytes) => format!("read ok: {}", String::from_utf8_lossy(&bytes)),
                Err(e) => format!("read failed: {e}"),
            },
            "host-append" => match files::append(&path, b"probe was here") {
                Ok(()) => "write ok".to_owned(),
                Err(e) => format!("write failed: {e}"),
            },
            "connect" => {
                let addr = setting(&payload, "addr").unwrap_or_default();
                match std::net::TcpStream::connect(addr.as_str()) {
                    Ok(_) => "connect ok".to_owned(),
                    Err(e) => format!("connect failed: {e}"),
                }
            }
            "http" | "host-http" => {
                let url = setting(&payload, "url").unwrap_or_default();
                let request = http::Request {
                    method: "GET".to_owned(),
                    url,
                    headers: Vec::new(),
                    body: Vec::new(),
                };
                let sent = if mode == "http" {
                    http::send(&request)
                } else {
                    http::send_via_host(&request)
                };
                match sent {
                    Ok(r) => format!("http ok: {} {}", r.status, String::from_utf8_lossy(&r.body)),
                    Err(e) => format!("http failed: {e}"),
                }
            }
            "loop" => {
                let mut x: u64 = calls;
                loop {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            }
            "alloc" => {
                let mb: usize = setting(&payload, "mb")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(64);
                let mut block = vec![0u8; mb << 20];
                for i in (0..block.len()).step_by(4096) {
                    block[i] = 1;
                }
                format!("alloc ok: {} MiB", std::hint::black_box(block).len() >> 20)
            }
            "sleep" | "block" => {
                let secs: u64 = setting(&payload, "secs")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(20);
                if mode == "sleep" {
                    std::thread::sleep(std::time::Duration::from_secs(secs));
                } else {
                    wasip2::clocks::monotonic_clock::subscribe_duration(secs * 1_000_000_000)
                        .block();
                }
                format!("slept {secs} s")
            }
            "symlink" => {
                let target = setting(&payload, "target").unwrap_or_default();
                match symlink(&path, &target) {
                    Ok(()) => "symlink ok".to_owned(),
                    Err(e) => format!("symlink failed: {e}"),
                }
            }
            "recurse" => format!("recursed {}", recurse(std::hint::black_box(u64::MAX))),
            "big" => "x".repeat(megabytes(&payload) << 20),
            "spam" => {
                let line = "y".repeat(64 * 1024);
                for _ in 0..(megabytes(&payload) * 16) {
                    log::info(&line);
                }
                "spammed".to_owned()
            }
            "fill" => {
                use std::io::Write;
                let chunk = vec![b'z'; 1 << 20];
                let mut written = 0;
                let outcome = std::fs::File::create(&path).and_then(|mut file| {
                    for _ in 0..megabytes(&payload) {
                        file.write_all(&chunk)?;
                        written += 1;
                    }
                    Ok(())
                });
                match outcome {
                    Ok(()) => format!("fill ok: {written} MiB"),
                    Err(e) => format!("fill failed after {written} MiB: {e}"),
                }
            }
            "panic" => panic!("probe panicked on purpose"),
            "error" => return Err("probe failed on purpose".to_owned()),
            "deny" => return Ok(Verdict::Deny("probe says no".to_owned())),
            other => return Err(format!("unknown probe mode `{other}`")),
        };
        Ok(Verdict::Warn(said))
    }
}

/// The `mb` setting (default 64).
fn megabytes(payload: &Value) -> usize {
    setting(payload, "mb")
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

/// Calls itself until the stack runs out (each frame keeps a buffer on the
/// guest's own stack, so the compiler can neither inline nor loop it).
fn recurse(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 32]);
    if n == 0 {
        return frame[0];
    }
    recurse(std::hint::black_box(n - 1)).wrapping_add(frame[7])
}

/// `symlink-at(target, link)` in the preopened folder that holds `link`.
fn symlink(link: &str, target: &str) -> Result<(), String> {
    for (dir, name) in wasip2::filesystem::preopens::get_directories() {
        if let Some(inside) = link.strip_prefix(&format!("{name}/")) {
            return dir.symlink_at(target, inside).map_err(|e| format!("{e:?}"));
        }
    }
    Err(format!("no preopened folder holds `{link}`"))
}

sqlalembic_plugin::export_handler!(Probe);
