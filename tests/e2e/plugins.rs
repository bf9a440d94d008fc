//! WebAssembly plugins through the real binary: built from `plugins/` in the real
//! sandbox, configured in `[[plugins]]`, connected to the one dispatcher of every
//! command. All tests share one compiled-component cache (a debug-built host
//! compiles slowly), through `SQLALEMBIC_PLUGIN_CACHE`.

use std::path::Path;

use sqlalembic::plugins::CACHE_ENV;
use sqlalembic::plugins::testing::{http_server, rust_component, shared_cache_dir};

use crate::harness::{Project, Run};

const CREATE: &str = r#"revision = "a1b2c3d4e5f6"
message = "create t"

[[upgrade]]
op = "create_table"
table = "t"
columns = [
  { name = "id", type = "integer", primary_key = true },
  { name = "b", type = "varchar(20)" },
]

[[downgrade]]
op = "drop_table"
table = "t"
"#;

const DROP: &str = r#"revision = "b1b2c3d4e5f6"
down_revision = "a1b2c3d4e5f6"
message = "drop b"

[[upgrade]]
op = "drop_column"
table = "t"
column = "b"

[[downgrade]]
op = "add_column"
table = "t"
column = { name = "b", type = "varchar(20)" }
"#;

fn toml_path(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

/// A project with `migrations/versions/` and this `[[plugins]]` text.
fn project(plugins: &str) -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    p.write("sqlalembic.toml", plugins);
    p
}

fn run(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
    let cache = shared_cache_dir().display().to_string();
    let mut all = vec![(CACHE_ENV, cache.as_str())];
    all.extend_from_slice(env);
    p.run_env(args, &all)
}

fn audit_entry() -> String {
    format!(
        "[[plugins]]\nname = \"audit\"\npath = \"{}\"\nallow = {{ write = [\"logs\"] }}\n",
        toml_path(&rust_component("audit"))
    )
}

fn guard_entry() -> String {
    format!(
        "[[plugins]]\nname = \"guard\"\npath = \"{}\"\npolicy = true\nsignals = [\"migration_migrate_command\"]\nallow = {{ read = [\"migrations\"], env = [\"ENVIRONMENT\", \"SQLALEMBIC_APPROVE_DESTRUCTIVE\"] }}\n",
        toml_path(&rust_component("guard"))
    )
}

fn probe_entry(name: &str, extra: &str) -> String {
    format!(
        "[[plugins]]\nname = \"{name}\"\npath = \"{}\"\n{extra}\n",
        toml_path(&rust_component("probe"))
    )
}

fn audit_lines(p: &Project) -> Vec<serde_json::Value> {
    p.read("logs/audit.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn guard_denies_a_destructive_migration_in_production_with_exit_4() {
    let p = project(&format!("{}\n{}", guard_entry(), audit_entry()));
    p.write("migrations/versions/a1b2c3d4e5f6_create.toml", CREATE);
    p.write("migrations/versions/b1b2c3d4e5f6_drop.toml", DROP);
    let denied = run(&p, &["migrate"], &[("ENVIRONMENT", "production")]);
    denied.code(4);
    assert!(
        denied.stderr.contains(
            "Command `migrate` denied by policy `guard`: `b1b2c3d4e5f6_drop.toml` has a `drop_column` step in production; set `SQLALEMBIC_APPROVE_DESTRUCTIVE` to approve"
        ),
        "{denied:#?}"
    );
    assert!(
        !p.path().join("database.db").exists()
            || !run(&p, &["current"], &[]).stdout.contains("a1b2")
    );
    // The audit saw the denial.
    let lines = audit_lines(&p);
    let last = lines.last().expect("audit lines");
    assert_eq!(last["signal"], "command_failed");
    assert_eq!(last["payload"]["denied_by"], "guard");

    let approved = run(
        &p,
        &["migrate"],
        &[
            ("ENVIRONMENT", "production"),
            ("SQLALEMBIC_APPROVE_DESTRUCTIVE", "yes"),
        ],
    );
    approved.success();
    assert!(
        run(&p, &["current"], &[])
            .success()
            .stdout
            .contains("b1b2c3d4e5f6")
    );
}

/// `ENVIRONMENT = production` from `.env` or from the file (not a variable the
/// plugin sees): the guard still denies, from the payload's `environment`.
#[test]
fn guard_denies_in_production_set_by_dotenv_or_the_file() {
    for (file, text) in [
        (".env", "ENVIRONMENT=production\n"),
        ("extra", "[general]\nENVIRONMENT = \"production\"\n"),
    ] {
        let config = if file == "extra" {
            format!("{text}\n{}", guard_entry())
        } else {
            guard_entry()
        };
        let p = project(&config);
        if file == ".env" {
            p.write(".env", text);
        }
        p.write("migrations/versions/a1b2c3d4e5f6_create.toml", CREATE);
        p.write("migrations/versions/b1b2c3d4e5f6_drop.toml", DROP);
        let denied = run(&p, &["migrate"], &[]);
        denied.code(4);
        assert!(
            denied.stderr.contains(
                "Command `migrate` denied by policy `guard`: `b1b2c3d4e5f6_drop.toml` has a `drop_column` step in production"
            ),
            "{file}: {denied:#?}"
        );
    }
}

#[test]
fn audit_records_every_signal_of_a_command_in_order() {
    let p = project(&audit_entry());
    p.write("migrations/versions/a1b2c3d4e5f6_create.toml", CREATE);
    run(&p, &["migrate"], &[]).success();
    let lines = audit_lines(&p);
    let names: Vec<&str> = lines.iter().filter_map(|l| l["signal"].as_str()).collect();
    assert_eq!(names.first(), Some(&"migration_migrate_command"));
    assert_eq!(names.last(), Some(&"command_finished"));
    assert!(names.contains(&"revision_applied"), "{names:?}");
    assert!(lines.iter().all(|l| l["command"] == "migrate"));
}

fn notify_entry(url: &str, allow_http: &str) -> String {
    format!(
        "[[plugins]]\nname = \"notify\"\npath = \"{}\"\nsignals = [\"command_finished\", \"command_failed\"]\nallow = {{ http = [\"{allow_http}\"] }}\nsettings = {{ url = \"{url}\" }}\n",
        toml_path(&rust_component("notify"))
    )
}

#[test]
fn notify_posts_to_its_webhook_over_wasi_http_and_nowhere_else() {
    let (port, server) = http_server(1, "ok");
    let p = project(&notify_entry(
        &format!("http://127.0.0.1:{port}/hook"),
        &format!("127.0.0.1:{port}"),
    ));
    p.write("migrations/versions/a1b2c3d4e5f6_create.toml", CREATE);
    run(&p, &["migrate"], &[]).success();
    let requests = server.join().expect("webhook server");
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].starts_with("POST /hook HTTP/1.1\r\n"),
        "{requests:?}"
    );
    let body: serde_json::Value =
        serde_json::from_str(requests[0].split("\r\n\r\n").nth(1).expect("body"))
            .expect("JSON body");
    assert_eq!(body["signal"], "command_finished");
    assert_eq!(body["command"], "migrate");
    assert!(
        body["text"]
            .as_str()
            .is_some_and(|t| t.ends_with("`migrate` finished")),
        "{body}"
    );

    // A webhook on a host the plugin may not reach: refused before connecting, the
    // command goes on, the warning names the plugin and the reason.
    let elsewhere = project(&notify_entry(
        "http://127.0.0.1:9/hook",
        "hooks.example.com",
    ));
    let out = run(&elsewhere, &["heads"], &[]);
    out.success();
    assert!(
        out.stderr.contains(
            "Plugin `notify` failed: HTTP request to `127.0.0.1:9` refused: its host is not in this plugin's `allow.http`"
        ),
        "{out:#?}"
    );
}

#[test]
fn plugins_cannot_print_and_failures_are_warnings_by_default() {
    let p = project(&format!(
        "{}\n{}",
        probe_entry("printer", "settings = { mode = \"print\" }"),
        probe_entry(
            "crasher",
            "signals = [\"command_finished\"]\nsettings = { mode = \"panic\" }"
        )
    ));
    let out = run(&p, &["heads"], &[]);
    out.success();
    assert!(
        !out.all().contains("probe stdout") && !out.all().contains("probe stderr"),
        "{out:#?}"
    );
    assert!(
        out.stderr.contains("warning: Handler `crasher`: Plugin `crasher` crashed (trap: wasm `unreachable` instruction executed; it said: thread"),
        "{out:#?}"
    );
}

#[test]
fn a_runaway_plugin_is_stopped_and_the_command_goes_on() {
    let p = project(&probe_entry(
        "spinner",
        "timeout_ms = 300\nsettings = { mode = \"loop\" }",
    ));
    let started = std::time::Instant::now();
    let out = run(&p, &["heads"], &[]);
    out.success();
    assert!(
        out.stderr
            .contains("Plugin `spinner` ran past its time limit of 300 ms and was stopped"),
        "{out:#?}"
    );
    // Two signals (start and finished), each stopped at its deadline; the compile
    // is cached by the other tests or takes a few seconds at most.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn on_error_abort_stops_the_command() {
    let p = project(&probe_entry(
        "strict",
        "on_error = \"abort\"\nsettings = { mode = \"error\" }",
    ));
    let out = run(&p, &["heads"], &[]);
    out.code(4);
    assert!(
        out.stderr.contains("denied by policy `strict`: Plugin `strict` failed: probe failed on purpose; its `on_error` is `abort`"),
        "{out:#?}"
    );
    let late = project(&probe_entry(
        "strict",
        "on_error = \"abort\"\nsignals = [\"command_finished\"]\nsettings = { mode = \"panic\" }",
    ));
    let out = run(&late, &["heads"], &[]);
    out.code(4);
    assert!(
        out.stderr.contains(
            "probe panicked on purpose) (on `command_finished`); its `on_error` is `abort`"
        ),
        "{out:#?}"
    );
}

#[test]
fn a_plugin_that_does_not_load_warns_or_stops_per_on_error() {
    let p = project("[[plugins]]\nname = \"ghost\"\npath = \"plugins/ghost.wasm\"\n");
    let out = run(&p, &["heads"], &[]);
    out.success();
    assert!(
        out.stderr.contains("warning: Plugin `ghost` did not load: Component `plugins/ghost.wasm` does not exist; going on without it"),
        "{out:#?}"
    );
    let p = project(
        "[[plugins]]\nname = \"ghost\"\npath = \"plugins/ghost.wasm\"\non_error = \"abort\"\n",
    );
    let out = run(&p, &["heads"], &[]);
    out.code(2);
    assert!(
        out.stderr.contains(
            "error: Plugin `ghost` did not load: Component `plugins/ghost.wasm` does not exist"
        ),
        "{out:#?}"
    );
}

#[test]
fn plugins_list_check_install_inspect() {
    let p = project(&format!(
        "{}\n[[plugins]]\nname = \"broken\"\npath = \"plugins/broken.wasm\"\n",
        audit_entry()
    ));
    p.write("plugins/broken.wasm", "\0asm\u{1}\0\0\0");
    let private_cache = [(CACHE_ENV, "")];
    let list = p.run_env(&["plugins", "list"], &private_cache);
    list.success();
    assert!(list.stdout.contains("audit  "), "{list:#?}");
    assert!(
        list.stdout.contains("  allowed:     write logs"),
        "{list:#?}"
    );
    assert!(list.stdout.contains("not compiled yet"), "{list:#?}");
    let install = p.run_env(&["plugins", "install", "audit"], &private_cache);
    install.success();
    assert!(
        install.stdout.starts_with("Installed `audit` (sha256 "),
        "{install:#?}"
    );
    assert!(install.stdout.contains("compiled now"), "{install:#?}");
    let cache = p.path().join(".sqlalembic/cache/plugins");
    assert!(cache.is_dir());
    let list = p.run_env(&["--format", "json", "plugins", "list"], &private_cache);
    let json = list.json();
    assert_eq!(json["plugins"][0]["cache"], "compiled");
    assert_eq!(
        json["plugins"][0]["world"],
        "sqlalembic:plugin/signal-handler@0.1.2"
    );
    assert_eq!(json["plugins"][1]["exists"], true);
    let check = p.run_env(&["plugins", "check"], &private_cache);
    check.code(1);
    assert!(
        check
            .stdout
            .contains("audit: ok (sqlalembic:plugin@0.1.2, cached)"),
        "{check:#?}"
    );
    assert!(
        check.stdout.contains("broken: error: `plugins/broken.wasm` is not a WebAssembly component: it is a core module"),
        "{check:#?}"
    );
    let inspect = p.run_env(&["plugins", "inspect", "audit"], &private_cache);
    inspect.success();
    assert!(
        inspect
            .stdout
            .contains("world:    signal-handler (built for sqlalembic:plugin@0.1.2)"),
        "{inspect:#?}"
    );
    assert!(inspect.stdout.contains("exports:  handle"), "{inspect:#?}");
    assert!(
        inspect.stdout.contains("    sqlalembic:plugin/host@0.1.2"),
        "{inspect:#?}"
    );
    let unknown = p.run_env(&["plugins", "inspect", "nope"], &private_cache);
    unknown.code(2);
    assert!(
        unknown
            .stderr
            .contains("No plugin named `nope` is configured"),
        "{unknown:#?}"
    );
    assert!(
        unknown.stderr.contains("Configured: `audit`, `broken`"),
        "{unknown:#?}"
    );
}

/// `-vvv` while a plugin is compiled (a fresh cache): sqlalembic's own traces, and
/// nothing below WARNING from the compiler or runtime crates, which used to write
/// tens of megabytes; `SQLALEMBIC_LOG` brings one of them back.
#[test]
fn trace_verbosity_keeps_other_crates_at_warning() {
    let p = project(&format!(
        "[logging]\nLOGGING_FORMAT = \"%(levelname)s|%(name)s|%(message)s\"\n\n{}",
        audit_entry()
    ));
    p.write("migrations/versions/a1b2c3d4e5f6_create.toml", CREATE);
    let cache = tempfile::tempdir().expect("cache dir");
    let cache_dir = cache.path().display().to_string();
    let run = p.run_env(&["-vvv", "migrate"], &[(CACHE_ENV, cache_dir.as_str())]);
    run.success();
    assert!(run.stderr.len() < 1_000_000, "{} bytes", run.stderr.len());
    let levels = ["TRACE|", "DEBUG|", "INFO|"];
    let mut own = 0;
    for line in run.stderr.lines() {
        if levels.iter().any(|l| line.contains(l)) {
            let target = line.split('|').nth(1).unwrap_or_default();
            assert!(target.starts_with("sqlalembic"), "{line}");
            own += 1;
        }
    }
    assert!(own > 0, "{run:#?}");
    assert!(run.stderr.contains("DEBUG|sqlalembic"), "{run:#?}");
    let cache = tempfile::tempdir().expect("cache dir");
    let cache_dir = cache.path().display().to_string();
    let p = project(&format!(
        "[logging]\nLOGGING_FORMAT = \"%(levelname)s|%(name)s|%(message)s\"\n\n{}",
        audit_entry()
    ));
    p.write("migrations/versions/a1b2c3d4e5f6_create.toml", CREATE);
    let run = p.run_env(
        &["-v", "migrate"],
        &[
            (CACHE_ENV, cache_dir.as_str()),
            (
                "SQLALEMBIC_LOG",
                "wasmtime=debug,cranelift=debug,cranelift_codegen=debug,wasmtime_cranelift=debug",
            ),
        ],
    );
    run.success();
    let foreign = run
        .stderr
        .lines()
        .filter(|l| {
            l.starts_with("DEBUG|")
                && !l
                    .split('|')
                    .nth(1)
                    .unwrap_or_default()
                    .starts_with("sqlalembic")
        })
        .count();
    assert!(
        foreign > 0,
        "SQLALEMBIC_LOG named them: {}",
        &run.stderr[..run.stderr.len().min(3000)]
    );
}
