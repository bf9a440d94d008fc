//! The plugin host against real components (built from `plugins/` by
//! [`super::testing`]) in the real wasmtime sandbox: one test per limit, each with
//! a misbehaving component.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::testing::{http_server, rust_component, shared_cache_dir};
use super::*;
use crate::config::Allow;
use crate::signals::{Dispatcher, Signal, Verdict};

fn config(name: &str, component: &Path) -> PluginConfig {
    PluginConfig {
        name: name.to_owned(),
        path: component.to_path_buf(),
        signals: Vec::new(),
        on_error: OnError::Warn,
        policy: false,
        timeout_ms: 2_000,
        memory_mb: 32,
        output_kb: crate::config::DEFAULT_OUTPUT_KB,
        write_mb: crate::config::DEFAULT_WRITE_MB,
        allow: Allow::default(),
        settings: json!({}),
    }
}

fn probe(mode: &str) -> PluginConfig {
    let mut c = config("probe", &rust_component("probe"));
    c.settings = json!({ "mode": mode });
    c
}

fn load_env(root: &Path, configs: Vec<PluginConfig>, env: HashMap<&str, &str>) -> Plugins {
    let lookup = move |name: &str| env.get(name).map(|v| (*v).to_owned());
    let options = LoadOptions {
        project_root: root.to_path_buf(),
        cache_dir: shared_cache_dir(),
        env: &lookup,
    };
    let plugins = load_with(&configs, &options).expect("engine and cache set up");
    if let Some(failure) = plugins.failures().first() {
        panic!(
            "plugin `{}` did not load: {}",
            failure.plugin, failure.error
        );
    }
    plugins
}

fn load(root: &Path, configs: Vec<PluginConfig>) -> Plugins {
    load_env(root, configs, HashMap::new())
}

fn signal(name: &str, payload: Value) -> Signal {
    Signal::new(name, "migrate", payload)
}

/// The message of a `warn` verdict (the probe reports through them).
fn said(result: Result<Verdict, CallError>) -> String {
    match result {
        Ok(Verdict::Warn(message)) => message,
        other => panic!("expected a warn verdict, got {other:?}"),
    }
}

fn project() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn audit_appends_one_json_line_per_signal_through_the_dispatcher() {
    let root = project();
    let mut audit = config("audit", &rust_component("audit"));
    audit.allow.write = vec!["logs".into()];
    let plugins = load(root.path(), vec![audit]);
    let dispatcher = Dispatcher::new();
    assert_eq!(
        plugins.connect(&dispatcher).len(),
        1,
        "empty `signals` means all"
    );
    let run = dispatcher
        .start_command(
            "migrate",
            json!({"url": "postgresql://u:hunter2@db/x"}),
            "blog",
        )
        .expect("an observer cannot deny");
    assert!(
        run.start_report().warnings().is_empty(),
        "{:?}",
        run.start_report()
    );
    let _ = run.send("revision_applied", json!({"revision": "ae1f00000000"}));
    let report = run.finished(json!({"applied": 1}));
    assert!(report.warnings().is_empty(), "{report:?}");
    let text = std::fs::read_to_string(root.path().join("logs/audit.jsonl")).expect("audit log");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let names: Vec<&str> = lines.iter().filter_map(|l| l["signal"].as_str()).collect();
    assert_eq!(
        names,
        [
            "migration_migrate_command",
            "revision_applied",
            "command_finished"
        ]
    );
    assert_eq!(lines[0]["command"], "migrate");
    assert_eq!(lines[0]["payload"]["project"], "blog");
    assert_eq!(
        lines[0]["payload"]["arguments"]["url"],
        "postgresql://u:***@db/x"
    );
    assert_eq!(lines[1]["payload"]["revision"], "ae1f00000000");
    assert_eq!(lines[2]["payload"]["applied"], 1);
    let time = lines[0]["time"].as_str().expect("time");
    assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{time}");
    assert!(!text.contains("hunter2"));
}

#[test]
fn the_plugin_sees_the_signal_as_sent_and_its_own_settings() {
    let root = project();
    let mut echo = probe("echo");
    echo.settings = json!({"mode": "echo", "channel": "#deploys"});
    let plugins = load(root.path(), vec![echo]);
    let plugin = &plugins.plugins()[0];
    let sent = signal("revision_applied", json!({"revision": "ae1f", "n": [1, 2]}));
    let seen: Value = serde_json::from_str(&said(plugin.call(&sent))).expect("json");
    assert_eq!(seen["name"], "revision_applied");
    assert_eq!(seen["command"], "migrate");
    assert_eq!(seen["payload"], json!({"revision": "ae1f", "n": [1, 2]}));
    let stamp = seen["timestamp"].as_str().expect("timestamp");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(stamp)
            .expect("rfc3339")
            .timestamp_micros(),
        sent.timestamp.timestamp_micros()
    );
    let settings = said(plugin.call(&signal("x", json!({"probe": "settings"}))));
    assert_eq!(
        serde_json::from_str::<Value>(&settings).expect("json"),
        json!({"mode": "echo", "channel": "#deploys"})
    );
    assert_eq!(
        said(plugin.call(&signal("x", json!({"probe": "log"})))),
        "logged"
    );
}

#[test]
fn an_infinite_loop_is_stopped_within_the_time_limit() {
    let root = project();
    let mut looping = probe("loop");
    looping.timeout_ms = 200;
    let plugins = load(root.path(), vec![looping]);
    let plugin = &plugins.plugins()[0];
    // Instantiate first, so the measured call is the loop alone.
    let _ = plugin.call(&signal("x", json!({"probe": "count"})));
    let started = Instant::now();
    let result = plugin.call(&signal("x", json!({})));
    let elapsed = started.elapsed();
    assert_eq!(
        result,
        Err(CallError::Timeout {
            plugin: "probe".into(),
            limit_ms: 200
        })
    );
    assert!(
        // Not before the limit; the upper bound only proves the loop was stopped
        // (a loaded machine may be slow to get back), not how fast.
        elapsed >= Duration::from_millis(180) && elapsed < Duration::from_secs(5),
        "stopped after {elapsed:?}"
    );
    assert_eq!(
        result.expect_err("timeout").to_string(),
        "Plugin `probe` ran past its time limit of 200 ms and was stopped"
    );
}

#[test]
fn memory_is_capped() {
    let root = project();
    let mut hog = probe("alloc");
    hog.memory_mb = 16;
    let plugins = load(root.path(), vec![hog]);
    let plugin = &plugins.plugins()[0];
    assert_eq!(
        said(plugin.call(&signal("x", json!({"mb": "4"})))),
        "alloc ok: 4 MiB"
    );
    let result = plugin.call(&signal("x", json!({"mb": "64"})));
    assert_eq!(
        result,
        Err(CallError::Memory {
            plugin: "probe".into(),
            limit_mb: 16
        })
    );
}

#[test]
fn files_only_inside_the_granted_folders() {
    let root = project();
    let outside = project();
    std::fs::write(outside.path().join("secret.txt"), "outside").expect("write");
    let p = root.path();
    std::fs::create_dir_all(p.join("migrations")).expect("mkdir");
    std::fs::create_dir_all(p.join("private")).expect("mkdir");
    std::fs::write(p.join("migrations/a.toml"), "revision = \"a\"").expect("write");
    std::fs::write(p.join("private/key.txt"), "key").expect("write");
    std::fs::write(p.join("top.txt"), "top").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path(), p.join("migrations/out")).expect("symlink");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        p.join("migrations/s.txt"),
    )
    .expect("symlink");
    let mut fs_probe = probe("read");
    fs_probe.allow.read = vec!["migrations".into()];
    fs_probe.allow.write = vec!["logs".into()];
    let plugins = load(p, vec![fs_probe]);
    let plugin = &plugins.plugins()[0];
    let run = |mode: &str, path: &str| {
        said(plugin.call(&signal("x", json!({"probe": mode, "path": path}))))
    };
    assert_eq!(run("list", "migrations"), "list ok: a.toml,out,s.txt");
    // The same rules through WASI (`std::fs`) and through the host's file imports.
    for (read, write) in [("read", "write"), ("host-read", "host-append")] {
        assert_eq!(run(read, "migrations/a.toml"), "read ok: revision = \"a\"");
        for path in [
            "/etc/passwd",
            "../etc/passwd",
            "migrations/../top.txt",
            "migrations/../../../../etc/passwd",
            "private/key.txt",
            "top.txt",
            "migrations/out/secret.txt",
            "migrations/s.txt",
        ] {
            let got = run(read, path);
            assert!(got.starts_with("read failed"), "{read} {path}: {got}");
        }
        let got = run(write, "migrations/new.txt");
        assert!(got.starts_with("write failed"), "read-only folder: {got}");
        assert!(!p.join("migrations/new.txt").exists());
        let _ = std::fs::remove_file(p.join("logs/new.txt"));
        assert_eq!(run(write, "logs/new.txt"), "write ok", "{write}");
        assert_eq!(
            std::fs::read_to_string(p.join("logs/new.txt")).expect("written"),
            "probe was here"
        );
        for path in ["logs/../escape.txt", "../escape.txt", "/tmp/escape.txt"] {
            let got = run(write, path);
            assert!(got.starts_with("write failed"), "{write} {path}: {got}");
        }
        assert!(!p.join("escape.txt").exists());
    }
}

#[test]
fn only_granted_environment_variables_and_no_argv() {
    let root = project();
    let mut env_probe = probe("env");
    env_probe.allow.env = vec!["VISIBLE".into(), "UNSET".into()];
    let env = HashMap::from([("VISIBLE", "yes"), ("HIDDEN", "no")]);
    let plugins = load_env(root.path(), vec![env_probe], env);
    let seen: Value =
        serde_json::from_str(&said(plugins.plugins()[0].call(&signal("x", json!({})))))
            .expect("json");
    assert_eq!(seen["vars"], json!([["VISIBLE", "yes"]]));
    assert_eq!(seen["args"], json!([]));
}

/// What `emit` logged (plain text, every level), and what it returned.
fn logs_of<T>(emit: impl FnOnce() -> T) -> (String, T) {
    #[derive(Clone, Default)]
    struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let lines = Lines::default();
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, emit);
    let text = String::from_utf8_lossy(&lines.0.lock().expect("log buffer")).into_owned();
    (text, out)
}

#[test]
fn no_network_unless_the_host_is_granted() {
    let root = project();
    let (port, server) = http_server(2, "pong");
    // A second server, not granted: nothing may reach it.
    let other = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    other.set_nonblocking(true).expect("non-blocking");
    let other_port = other.local_addr().expect("addr").port();
    let mut net = probe("connect");
    net.allow.http = vec![format!("127.0.0.1:{port}")];
    let plugins = load(root.path(), vec![net]);
    let plugin = &plugins.plugins()[0];
    let http = |mode: &str, url: String| {
        said(plugin.call(&signal("x", json!({"probe": mode, "url": url}))))
    };
    // Raw sockets are closed, even to the address the HTTP grant names.
    for addr in [
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{other_port}"),
    ] {
        let got = said(plugin.call(&signal("x", json!({"addr": addr}))));
        assert!(got.starts_with("connect failed"), "{got}");
    }
    // Standard wasi:http: the guest sees `HTTP-request-denied`, the log says why,
    // with the plugin's name.
    let (logged, got) = logs_of(|| http("http", format!("http://127.0.0.1:{other_port}/x")));
    assert_eq!(
        got,
        format!(
            "http failed: HTTP request to `127.0.0.1:{other_port}` refused: its host is not in this plugin's `allow.http`"
        )
    );
    assert!(
        logged.contains("Outgoing HTTP refused: HTTP to `127.0.0.1:")
            && logged.contains("add `127.0.0.1` to `allow.http` of plugin `probe`")
            && logged.contains("plugin=probe"),
        "{logged}"
    );
    for url in [
        "http://example.com/",
        "https://example.com/",
        "https://127.0.0.1/",
    ] {
        let got = http("http", url.to_owned());
        assert!(
            got.ends_with("is not in this plugin's `allow.http`"),
            "{url}: {got}"
        );
    }
    // The host's own `http.send` import: the same check, the reason in full.
    let got = http("host-http", "http://example.com/".to_owned());
    assert!(
        got.contains("HTTP to `example.com:80` is not allowed: add `example.com` to `allow.http` of plugin `probe`"),
        "{got}"
    );
    let got = http("host-http", format!("http://127.0.0.1:{other_port}/"));
    assert!(got.contains("is not allowed"), "{got}");
    // The granted host and port, through both.
    assert_eq!(
        http("http", format!("http://127.0.0.1:{port}/ping?a=1")),
        "http ok: 200 pong"
    );
    assert_eq!(
        http("host-http", format!("http://127.0.0.1:{port}/legacy")),
        "http ok: 200 pong"
    );
    let requests = server.join().expect("server");
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests[0].starts_with("GET /ping?a=1 HTTP/1.1\r\n"),
        "{requests:?}"
    );
    assert!(
        requests[0]
            .to_ascii_lowercase()
            .contains(&format!("host: 127.0.0.1:{port}\r\n")),
        "{requests:?}"
    );
    assert!(
        requests[1].starts_with("GET /legacy HTTP/1.1\r\n"),
        "{requests:?}"
    );
    assert!(
        matches!(other.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a refused request reached the server"
    );
}

#[test]
fn a_request_never_outlives_the_call() {
    // A server that takes the connection and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("the granted request connects");
        let accepted = Instant::now();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut buf = [0u8; 4096];
        // Read the request, then wait for the host to hang up.
        while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        accepted.elapsed()
    });
    let root = project();
    let mut slow = probe("http");
    slow.timeout_ms = 300;
    slow.allow.http = vec![format!("127.0.0.1:{port}")];
    let plugins = load(root.path(), vec![slow]);
    let start = Instant::now();
    let result = plugins.plugins()[0].call(&signal(
        "x",
        json!({"url": format!("http://127.0.0.1:{port}/slow")}),
    ));
    let took = start.elapsed();
    // The call ends long before the server gives up on the connection (10 s).
    assert!(took < Duration::from_secs(5), "{took:?}");
    match result {
        // Back in the guest after the deadline: the epoch stops it.
        Err(CallError::Timeout { limit_ms: 300, .. }) => {}
        // Or the guest saw the request fail first.
        Ok(Verdict::Warn(m)) if m.starts_with("http failed") => {
            assert!(m.contains("Timeout"), "{m}");
        }
        other => panic!("{other:?}"),
    }
    let open_for = server.join().expect("server");
    assert!(
        open_for < Duration::from_secs(5),
        "the connection outlived the call: {open_for:?}"
    );
}

#[test]
fn notify_posts_json_to_the_granted_webhook_over_wasi_http() {
    let root = project();
    let (port, server) = http_server(1, "ok");
    let mut notify = config("notify", &rust_component("notify"));
    notify.allow.http = vec!["127.0.0.1".into()];
    notify.allow.env = vec!["SQLALEMBIC_WEBHOOK_URL".into()];
    let url = format!("http://127.0.0.1:{port}/hook");
    let env = HashMap::from([("SQLALEMBIC_WEBHOOK_URL", url.as_str())]);
    let plugins = load_env(root.path(), vec![notify], env);
    let plugin = &plugins.plugins()[0];
    // Standard wasi:http, not the host's own `http` import.
    let imports = &plugin.inspection.imports;
    assert!(
        imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")),
        "{imports:?}"
    );
    assert!(
        !imports
            .iter()
            .any(|i| i.starts_with("sqlalembic:plugin/http")),
        "{imports:?}"
    );
    let result = plugin.call(&Signal::new(
        "command_finished",
        "migrate",
        json!({"project": "blog", "duration_ms": 3.5}),
    ));
    assert_eq!(result, Ok(Verdict::Proceed));
    let request = server.join().expect("server").remove(0);
    assert!(request.starts_with("POST /hook HTTP/1.1\r\n"), "{request}");
    assert!(
        request
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    let body: Value =
        serde_json::from_str(request.split("\r\n\r\n").nth(1).expect("body")).expect("json body");
    assert_eq!(body["text"], "blog: `migrate` finished");
    assert_eq!(body["signal"], "command_finished");
    assert_eq!(body["payload"]["duration_ms"], 3.5);
}

#[test]
fn notify_to_a_host_not_granted_fails_with_the_reason() {
    let root = project();
    let mut notify = config("notify", &rust_component("notify"));
    notify.allow.http = vec!["hooks.example.com".into()];
    notify.settings = json!({"url": "http://127.0.0.1:9/hook"});
    let plugins = load(root.path(), vec![notify]);
    let result = plugins.plugins()[0].call(&Signal::new("command_finished", "migrate", json!({})));
    assert_eq!(
        result,
        Err(CallError::Returned {
            plugin: "notify".into(),
            message: "HTTP request to `127.0.0.1:9` refused: its host is not in this plugin's `allow.http`".into(),
        })
    );
}

#[test]
fn a_trap_is_reported_and_the_instance_is_never_reused() {
    let root = project();
    let plugins = load(root.path(), vec![probe("count")]);
    let plugin = &plugins.plugins()[0];
    assert_eq!(said(plugin.call(&signal("x", json!({})))), "call 1");
    assert_eq!(said(plugin.call(&signal("x", json!({})))), "call 2");
    assert_eq!(plugin.instances_created(), 1);
    let trap = plugin
        .call(&signal("x", json!({"probe": "panic"})))
        .expect_err("panics");
    assert!(
        matches!(&trap, CallError::Trap { plugin, message } if plugin == "probe" && message.contains("unreachable")),
        "{trap:?}"
    );
    assert!(
        trap.to_string().starts_with("Plugin `probe` crashed"),
        "{trap}"
    );
    // The panic message, from the plugin's stderr (which is never shown otherwise).
    assert!(
        trap.to_string().ends_with("probe panicked on purpose)"),
        "{trap}"
    );
    // A fresh instance: the counter starts again.
    assert_eq!(said(plugin.call(&signal("x", json!({})))), "call 1");
    assert_eq!(plugin.instances_created(), 2);
    let returned = plugin.call(&signal("x", json!({"probe": "error"})));
    assert_eq!(
        returned,
        Err(CallError::Returned {
            plugin: "probe".into(),
            message: "probe failed on purpose".into()
        })
    );
    // A returned error is not a trap: the instance lives on.
    assert_eq!(said(plugin.call(&signal("x", json!({})))), "call 3");
}

#[test]
fn on_error_warn_goes_on_and_abort_stops_the_command() {
    let root = project();
    let mut warn = probe("panic");
    warn.name = "warner".into();
    let mut abort = probe("panic");
    abort.name = "aborter".into();
    abort.on_error = OnError::Abort;
    abort.signals = vec!["command_finished".into()];
    let plugins = load(root.path(), vec![warn.clone(), abort.clone()]);
    let dispatcher = Dispatcher::new();
    plugins.connect(&dispatcher);
    let run = dispatcher
        .start_command("status", json!({}), "blog")
        .expect("`warn` does not stop the command");
    let warnings = run.start_report().warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].0, "warner");
    assert!(
        warnings[0].1.starts_with("Plugin `warner` crashed"),
        "{warnings:?}"
    );
    let _ = run.finished(json!({}));
    let aborts = plugins.aborts();
    assert_eq!(aborts.len(), 1, "{aborts:?}");
    assert_eq!(
        (aborts[0].plugin.as_str(), aborts[0].signal.as_str()),
        ("aborter", "command_finished")
    );

    // On a start signal, an aborting plugin's failure refuses the command.
    abort.signals = Vec::new();
    let plugins = load(root.path(), vec![abort]);
    let dispatcher = Dispatcher::new();
    plugins.connect(&dispatcher);
    let denied = dispatcher
        .start_command("migrate", json!({}), "blog")
        .expect_err("abort stops it");
    assert_eq!(denied.handler, "aborter");
    assert!(denied.reason.contains("crashed"), "{}", denied.reason);
    assert!(
        denied.reason.ends_with("its `on_error` is `abort`"),
        "{}",
        denied.reason
    );
}

#[test]
fn deny_counts_only_from_a_policy() {
    let root = project();
    let mut observer = probe("deny");
    observer.on_error = OnError::Abort;
    let plugins = load(root.path(), vec![observer]);
    let dispatcher = Dispatcher::new();
    plugins.connect(&dispatcher);
    let run = dispatcher
        .start_command("migrate", json!({}), "blog")
        .expect("not a policy");
    assert!(run.start_report().warnings()[0].1.contains("not a policy"));
    let _ = run.finished(json!({}));

    let mut policy = probe("deny");
    policy.policy = true;
    let plugins = load(root.path(), vec![policy]);
    let dispatcher = Dispatcher::new();
    plugins.connect(&dispatcher);
    let denied = dispatcher
        .start_command("migrate", json!({}), "blog")
        .expect_err("a policy denies");
    assert_eq!(denied.reason, "probe says no");
}

fn guard(root: &Path, env: HashMap<&str, &str>) -> Plugins {
    let mut guard = config("guard", &rust_component("guard"));
    guard.policy = true;
    guard.signals = vec!["migration_migrate_command".into()];
    guard.allow.read = vec!["migrations".into()];
    guard.allow.env = vec![
        "ENVIRONMENT".into(),
        "SQLALEMBIC_APPROVE_DESTRUCTIVE".into(),
    ];
    load_env(root, vec![guard], env)
}

#[test]
fn guard_denies_destructive_migrations_in_production_unless_approved() {
    let root = project();
    let versions = root.path().join("migrations/versions");
    std::fs::create_dir_all(&versions).expect("mkdir");
    std::fs::write(
        versions.join("a1b2c3d4e5f6_add.toml"),
        "revision = \"a1b2c3d4e5f6\"\n[[upgrade]]\nop = \"create_table\"\ntable = \"t\"\n[[downgrade]]\nop = \"drop_table\"\ntable = \"t\"\n",
    )
    .expect("write");
    let start = Signal::new("migration_migrate_command", "migrate", json!({}));
    let production = HashMap::from([("ENVIRONMENT", "production")]);
    let plugins = guard(root.path(), production.clone());
    assert_eq!(
        plugins.plugins()[0].call(&start),
        Ok(Verdict::Proceed),
        "a drop in downgrade only is fine"
    );
    std::fs::write(
        versions.join("b1b2c3d4e5f6_drop.toml"),
        "revision = \"b1b2c3d4e5f6\"\n[[upgrade]]\nop = \"drop_column\"\ntable = \"t\"\ncolumn = \"c\"\n",
    )
    .expect("write");
    let Ok(Verdict::Deny(reason)) = plugins.plugins()[0].call(&start) else {
        panic!("expected a deny");
    };
    assert_eq!(
        reason,
        "`b1b2c3d4e5f6_drop.toml` has a `drop_column` step in production; set `SQLALEMBIC_APPROVE_DESTRUCTIVE` to approve"
    );
    let development = guard(root.path(), HashMap::from([("ENVIRONMENT", "development")]));
    assert_eq!(development.plugins()[0].call(&start), Ok(Verdict::Proceed));
    let approved = guard(
        root.path(),
        HashMap::from([
            ("ENVIRONMENT", "production"),
            ("SQLALEMBIC_APPROVE_DESTRUCTIVE", "1"),
        ]),
    );
    assert_eq!(approved.plugins()[0].call(&start), Ok(Verdict::Proceed));
}

#[test]
fn load_errors_say_what_is_wrong() {
    let root = project();
    let p = root.path();
    std::fs::write(p.join("module.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::write(p.join("text.wasm"), b"hello world").expect("write");
    let configs = vec![
        config("missing", Path::new("nope.wasm")),
        config("module", Path::new("module.wasm")),
        config("text", Path::new("text.wasm")),
    ];
    let options = LoadOptions {
        project_root: p.to_path_buf(),
        cache_dir: shared_cache_dir(),
        env: &|_| None,
    };
    let plugins = load_with(&configs, &options).expect("engine");
    assert!(plugins.plugins().is_empty());
    let messages: Vec<String> = plugins
        .failures()
        .iter()
        .map(|f| {
            f.error
                .to_string()
                .replace(&p.display().to_string(), "<root>")
        })
        .collect();
    assert_eq!(messages[0], "Component `nope.wasm` does not exist");
    assert!(messages[1].contains("is a core module"), "{}", messages[1]);
    assert!(messages[2].contains("magic bytes"), "{}", messages[2]);
}

#[test]
fn handlers_built_against_the_first_wit_version_still_load() {
    assert_eq!(WORLD, "sqlalembic:plugin/signal-handler@0.1.2");
    let root = project();
    let plugins = load(
        root.path(),
        vec![config("old", &rust_component("fixture_handler_v010"))],
    );
    let plugin = &plugins.plugins()[0];
    assert_eq!(plugin.inspection.version.as_deref(), Some("0.1.0"));
    assert_eq!(
        said(plugin.call(&signal("command_finished", json!({})))),
        "0.1.0 saw command_finished"
    );
}

#[test]
fn components_of_another_world_or_version_are_refused_in_plain_words() {
    let root = project();
    let configs = vec![
        config("other", &rust_component("fixture_no_handler")),
        config("future", &rust_component("fixture_future_world")),
    ];
    let options = LoadOptions {
        project_root: root.path().to_path_buf(),
        cache_dir: shared_cache_dir(),
        env: &|_| None,
    };
    let plugins = load_with(&configs, &options).expect("engine");
    assert!(plugins.plugins().is_empty());
    let failures = plugins.failures();
    assert!(
        matches!(&failures[0].error, Error::MissingExport { .. }),
        "{:?}",
        failures[0]
    );
    let text = failures[0].error.to_string();
    assert!(
        text.contains("does not export `handle(signal) -> result<verdict, string>`"),
        "{text}"
    );
    assert!(
        matches!(&failures[1].error, Error::WrongWorld { .. }),
        "{:?}",
        failures[1]
    );
    let text = failures[1].error.to_string();
    assert!(
        text.contains(&format!("is not a `{WORLD}` component"))
            && text.contains(
                "it was built for `sqlalembic:plugin@0.9.0`, this sqlalembic speaks `0.1.x`"
            ),
        "{text}"
    );
}

#[test]
fn compiled_components_are_cached_and_bad_entries_rebuilt() {
    let root = project();
    let cache_dir = root.path().join("cache");
    // A copy, so this test's artifact is its own.
    let component = root.path().join("audit.wasm");
    std::fs::copy(rust_component("audit"), &component).expect("copy");
    let options = LoadOptions {
        project_root: root.path().to_path_buf(),
        cache_dir: cache_dir.clone(),
        env: &|_| None,
    };
    let configs = vec![config("audit", &component)];
    let first = load_with(&configs, &options).expect("load");
    assert_eq!(first.plugins()[0].cache_state, CacheState::Compiled);
    let sha = first.plugins()[0].sha256.clone();
    assert_eq!(first.stored(&cache_dir, &sha), Some(Stored::Compiled));
    let second = load_with(&configs, &options).expect("load");
    assert_eq!(second.plugins()[0].cache_state, CacheState::Hit);
    let artifact = std::fs::read_dir(&cache_dir)
        .expect("cache")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("an artifact");
    // Never rewrite a mapped artifact in place (the cache itself only renames):
    // drop the loaded components first.
    drop((first, second));
    // Same length, garbage inside.
    let len = std::fs::metadata(&artifact).expect("meta").len();
    std::fs::write(&artifact, vec![0x5a; usize::try_from(len).expect("fits")]).expect("corrupt");
    let third = load_with(&configs, &options).expect("load");
    assert!(
        matches!(&third.plugins()[0].cache_state, CacheState::Rebuilt(r) if r.contains("wasmtime refused")),
        "{:?}",
        third.plugins()[0].cache_state
    );
    let artifact = std::fs::read_dir(&cache_dir)
        .expect("cache")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("the rebuilt artifact");
    // Truncated.
    drop(third);
    let bytes = std::fs::read(&artifact).expect("read");
    std::fs::write(&artifact, &bytes[..bytes.len() / 2]).expect("truncate");
    let fourth = load_with(&configs, &options).expect("load");
    assert!(
        matches!(&fourth.plugins()[0].cache_state, CacheState::Rebuilt(r) if r.contains("bytes")),
        "{:?}",
        fourth.plugins()[0].cache_state
    );
    let fifth = load_with(&configs, &options).expect("load");
    assert_eq!(fifth.plugins()[0].cache_state, CacheState::Hit);
    let failed = fifth.plugins()[0].call(&signal("x", json!({})));
    assert!(
        matches!(&failed, Err(CallError::Returned { message, .. }) if message.starts_with("Cannot open `logs/audit.jsonl`")),
        "no write grant: {failed:?}"
    );
}

/// The audit plugin in Python and in JavaScript writes the same lines as the Rust one.
#[test]
fn python_and_javascript_audit_plugins_write_the_same_lines() {
    let root = project();
    let mut configs = Vec::new();
    for (name, component) in [
        ("audit-rs", rust_component("audit")),
        ("audit-py", super::testing::python_audit_component()),
        ("audit-js", super::testing::js_audit_component()),
    ] {
        let mut c = config(name, &component);
        c.allow.write = vec!["logs".into()];
        c.settings = json!({ "path": format!("logs/{name}.jsonl") });
        c.timeout_ms = 5_000;
        configs.push(c);
    }
    let plugins = load(root.path(), configs);
    let dispatcher = Dispatcher::new();
    plugins.connect(&dispatcher);
    let run = dispatcher
        .start_command(
            "migrate",
            json!({"note": "ünïcode ✓", "password": "s3cret"}),
            "blog",
        )
        .expect("no policy");
    assert!(
        run.start_report().warnings().is_empty(),
        "{:?}",
        run.start_report()
    );
    let report = run.finished(json!({}));
    assert!(report.warnings().is_empty(), "{report:?}");
    let read = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(root.path().join(format!("logs/{name}.jsonl")))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    };
    let rust = read("audit-rs");
    assert_eq!(rust.len(), 2);
    assert_eq!(rust[0]["payload"]["arguments"]["note"], "ünïcode ✓");
    assert_eq!(rust[0]["payload"]["arguments"]["password"], "***");
    for other in ["audit-py", "audit-js"] {
        assert_eq!(read(other), rust, "{other}");
    }
}

/// The runner sends signals from inside a Tokio runtime, where WASI's blocking
/// calls cannot enter Tokio again: such calls run on the plugin's worker thread.
#[test]
fn calls_made_inside_an_async_runtime_work() {
    let root = project();
    let mut p = probe("print");
    p.allow.write = vec!["logs".into()];
    let plugins = load(root.path(), vec![p]);
    let plugin = Arc::clone(&plugins.plugins()[0]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let results = rt.block_on(async {
        let handler: &dyn crate::signals::Handler = plugin.as_ref();
        vec![
            handler.handle(&signal("x", json!({}))),
            handler.handle(&signal(
                "x",
                json!({"probe": "write", "path": "logs/a.txt"}),
            )),
            handler.handle(&signal("x", json!({"probe": "count"}))),
        ]
    });
    assert_eq!(
        results,
        [
            Ok(Verdict::Warn("printed".into())),
            Ok(Verdict::Warn("write ok".into())),
            Ok(Verdict::Warn("call 3".into())),
        ]
    );
    assert_eq!(
        plugin.instances_created(),
        1,
        "the same instance, on the worker"
    );
}

/// A hostile plugin with `allow.write = ["logs"]` tries to plant links that lead
/// out of its folder (climbing, absolute, through another link) or anywhere at
/// all: every `symlink-at` is refused and nothing is created.
#[cfg(unix)]
#[test]
fn a_plugin_cannot_create_symbolic_links() {
    let root = project();
    let outside = project();
    let p = root.path();
    std::fs::create_dir_all(p.join("logs")).expect("mkdir");
    std::fs::write(p.join("logs/inside.txt"), "inside").expect("write");
    let mut linker = probe("symlink");
    linker.allow.write = vec!["logs".into()];
    let plugins = load(p, vec![linker]);
    let plugin = &plugins.plugins()[0];
    let absolute = outside.path().join("x.log").display().to_string();
    for (link, target) in [
        ("logs/sqlalembic.log", "../../outside"),
        ("logs/up.log", "../sqlalembic.toml"),
        ("logs/abs.log", absolute.as_str()),
        ("logs/inside.log", "inside.txt"),
        ("logs/chain.log", "inside.log"),
    ] {
        let got = said(plugin.call(&signal("x", json!({"path": link, "target": target}))));
        assert!(
            got.starts_with("symlink failed"),
            "{link} -> {target}: {got}"
        );
        assert!(
            std::fs::symlink_metadata(p.join(link)).is_err(),
            "{link} -> {target} was created"
        );
    }
    assert_eq!(std::fs::read_dir(outside.path()).expect("ls").count(), 0);
    // Writing through WASI still works in the folder.
    assert_eq!(
        said(plugin.call(&signal(
            "x",
            json!({"probe": "write", "path": "logs/plain.txt"})
        ))),
        "write ok"
    );
}

/// `std::thread::sleep` (and a raw `wasi:clocks` pollable's `block`) waits in the
/// host, where epoch interruption cannot stop it: the wait itself ends at the
/// call's deadline and the call is reported as stopped at its time limit.
#[test]
fn a_plugin_blocked_in_a_wasi_wait_is_stopped_at_its_time_limit() {
    let root = project();
    for mode in ["sleep", "block"] {
        let mut sleeper = probe(mode);
        sleeper.timeout_ms = 500;
        let plugins = load(root.path(), vec![sleeper]);
        let plugin = &plugins.plugins()[0];
        // A short sleep finishes.
        assert_eq!(
            said(plugin.call(&signal("x", json!({"secs": "0"})))),
            "slept 0 s"
        );
        let started = Instant::now();
        let result = plugin.call(&signal("x", json!({"secs": "20"})));
        let elapsed = started.elapsed();
        assert_eq!(
            result,
            Err(CallError::Timeout {
                plugin: "probe".into(),
                limit_ms: 500
            }),
            "{mode}"
        );
        assert!(
            elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(3),
            "{mode}: stopped after {elapsed:?}"
        );
        // Also from inside an async runtime (the worker thread).
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let started = Instant::now();
        let handled = rt.block_on(async {
            let handler: &dyn crate::signals::Handler = plugin.as_ref();
            handler.handle(&signal("x", json!({"secs": "20"})))
        });
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{mode}: {:?}",
            started.elapsed()
        );
        assert_eq!(
            handled,
            Err("Plugin `probe` ran past its time limit of 500 ms and was stopped".into())
        );
    }
}
