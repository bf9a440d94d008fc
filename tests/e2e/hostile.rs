//! Hostile plugins against the real binary: each misbehaviour (a loop without end,
//! a blocking sleep, a memory bomb, a recursion without end, a huge verdict, a
//! flood of log lines, writes past the quota, a link out of its folder, network
//! it was not granted, a crash) is contained and reported with the plugin's name,
//! and a policy that misbehaves refuses the command it guards. Guests are built
//! once per test binary (`rust_component`) and compiled once into the shared cache.

use std::path::Path;
use std::time::{Duration, Instant};

use sqlalembic::plugins::CACHE_ENV;
use sqlalembic::plugins::testing::{rust_component, shared_cache_dir};

use crate::harness::{Project, Run};

fn toml_path(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

fn run(p: &Project, args: &[&str]) -> Run {
    let cache = shared_cache_dir().display().to_string();
    p.run_env(args, &[(CACHE_ENV, cache.as_str())])
}

fn probe_entry(name: &str, extra: &str) -> String {
    format!(
        "[[plugins]]\nname = \"{name}\"\npath = \"{}\"\n{extra}\n",
        toml_path(&rust_component("probe"))
    )
}

/// Three revisions: `t1`, `t2`, `t3`, each creating its table.
fn three_revisions(p: &Project) {
    let ids = ["a1a1a1a1a1a1", "b2b2b2b2b2b2", "c3c3c3c3c3c3"];
    for (i, id) in ids.iter().enumerate() {
        let down = if i == 0 {
            String::new()
        } else {
            format!("down_revision = \"{}\"\n", ids[i - 1])
        };
        p.write(
            &format!("migrations/versions/{id}_t{}.toml", i + 1),
            &format!(
                "revision = \"{id}\"\n{down}[[upgrade]]\nop = \"create_table\"\ntable = \"t{}\"\ncolumns = [{{ name = \"id\", type = \"integer\", primary_key = true }}]\n[[downgrade]]\nop = \"drop_table\"\ntable = \"t{}\"\n",
                i + 1,
                i + 1
            ),
        );
    }
}

/// What `current` says the version table holds (plugins left out of the project).
fn current(p: &Project) -> String {
    let config = p.read("sqlalembic.toml");
    p.write("sqlalembic.toml", "");
    let out = run(p, &["current"]);
    p.write("sqlalembic.toml", &config);
    out.success();
    out.stdout
}

/// A policy guarding `migrate` that fails in each way a plugin can: the command is
/// refused (exit 4), nothing is applied, and the message names the plugin, what
/// happened and the fix.
#[test]
fn a_policy_that_fails_refuses_the_command_it_guards() {
    let cases = [
        ("loop", "", "ran past its time limit of 300 ms"),
        (
            "sleep",
            "secs = \"30\"",
            "ran past its time limit of 300 ms",
        ),
        (
            "alloc",
            "mb = \"256\"",
            "went over its memory limit of 32 MiB",
        ),
        ("panic", "", "crashed (trap: wasm `unreachable`"),
        ("error", "", "failed: probe failed on purpose"),
        ("recurse", "", "overflowed its stack"),
        ("big", "mb = \"2\"", "went over its output quota of 1 MiB"),
    ];
    for (mode, extra, said) in cases {
        let p = Project::new();
        three_revisions(&p);
        let settings = if extra.is_empty() {
            format!("settings = {{ mode = \"{mode}\" }}")
        } else {
            format!("settings = {{ mode = \"{mode}\", {extra} }}")
        };
        p.write(
            "sqlalembic.toml",
            &probe_entry(
                "gate",
                &format!(
                    "policy = true\nmemory_mb = 32\ntimeout_ms = 300\nsignals = [\"migration_migrate_command\"]\n{settings}"
                ),
            ),
        );
        let started = Instant::now();
        let out = run(&p, &["migrate"]);
        out.code(4);
        assert!(started.elapsed() < Duration::from_secs(20), "{mode}");
        assert!(
            out.stderr
                .contains("error: Command `migrate` denied by policy `gate`: the policy failed and a policy that cannot judge refuses (Plugin `gate` "),
            "{mode}: {out:#?}"
        );
        assert!(out.stderr.contains(said), "{mode}: {out:#?}");
        assert!(
            out.stderr
                .contains("remove `policy = true` from its entry to run without it"),
            "{mode}: {out:#?}"
        );
        assert!(
            out.stderr.len() < 64 * 1024,
            "{mode}: {} bytes",
            out.stderr.len()
        );
        assert!(!current(&p).contains("a1a1a1a1a1a1"), "{mode}: applied");
    }
}

/// A policy that does not load refuses the commands it guards and only those; an
/// observer that does not load is a warning.
#[test]
fn a_policy_that_does_not_load_refuses_what_it_guards() {
    let p = Project::new();
    three_revisions(&p);
    p.write(
        "sqlalembic.toml",
        "[[plugins]]\nname = \"gate\"\npath = \"plugins/gate.wasm\"\npolicy = true\nsignals = [\"migration_migrate_command\"]\n",
    );
    let out = run(&p, &["migrate"]);
    out.code(2);
    assert!(
        out.stderr.contains(
            "error: Command `migrate` refused: policy Plugin `gate` did not load: Component `plugins/gate.wasm` does not exist; a policy that cannot judge a command refuses it"
        ),
        "{out:#?}"
    );
    assert!(
        out.stderr
            .contains("hint: Fix the plugin's entry (`path = \"plugins/gate.wasm\"`), or remove `policy = true` from it"),
        "{out:#?}"
    );
    assert!(!current(&p).contains("a1a1a1a1a1a1"));
    // `heads` is not guarded by it: a warning, and the command runs.
    let out = run(&p, &["heads"]);
    out.success();
    assert!(
        out.stderr
            .contains("warning: Plugin `gate` did not load: Component `plugins/gate.wasm` does not exist; going on without it"),
        "{out:#?}"
    );
}

/// `on_error = "abort"` on `revision_applied`: the first revision is applied, then
/// the run stops, the second and third are not.
#[test]
fn on_error_abort_on_revision_applied_stops_before_the_next_revision() {
    let p = Project::new();
    three_revisions(&p);
    p.write(
        "sqlalembic.toml",
        &probe_entry(
            "strict",
            "on_error = \"abort\"\nsignals = [\"revision_applied\"]\nsettings = { mode = \"error\" }",
        ),
    );
    let out = run(&p, &["migrate"]);
    out.code(4);
    assert!(
        out.stderr.contains(
            "error: The run was stopped after revision a1a1a1a1a1a1: `strict` failed on `revision_applied` and must stop the run (a policy, or `on_error = \"abort\"`): Plugin `strict` failed: probe failed on purpose; the later revisions were not applied"
        ),
        "{out:#?}"
    );
    let now = current(&p);
    assert!(now.contains("a1a1a1a1a1a1"), "{now}");
    assert!(
        !now.contains("b2b2b2b2b2b2") && !now.contains("c3c3c3c3c3c3"),
        "{now}"
    );
    // An observer with `on_error = "warn"` (the default) only warns: all three run.
    p.write(
        "sqlalembic.toml",
        &probe_entry(
            "loose",
            "signals = [\"revision_applied\"]\nsettings = { mode = \"error\" }",
        ),
    );
    let out = run(&p, &["migrate"]);
    out.success();
    assert!(
        out.stderr
            .contains("warning: Handler `loose`: Plugin `loose` failed: probe failed on purpose"),
        "{out:#?}"
    );
    assert!(current(&p).contains("c3c3c3c3c3c3"));
}

/// Observers that misbehave are stopped and reported; the command goes on.
#[test]
fn misbehaving_observers_are_stopped_and_reported() {
    let cases = [
        (
            "recurse",
            "",
            "Plugin `o` overflowed its stack and was stopped (`",
        ),
        (
            "big",
            "mb = \"2\"",
            "Plugin `o` went over its output quota of 1 MiB and was stopped",
        ),
        (
            "spam",
            "mb = \"4\"",
            "Plugin `o` went over its output quota of 1 MiB and was stopped",
        ),
        (
            "alloc",
            "mb = \"256\"",
            "Plugin `o` went over its memory limit of 32 MiB and was stopped",
        ),
    ];
    for (mode, extra, said) in cases {
        let p = Project::new();
        let settings = if extra.is_empty() {
            format!("settings = {{ mode = \"{mode}\" }}")
        } else {
            format!("settings = {{ mode = \"{mode}\", {extra} }}")
        };
        p.write(
            "sqlalembic.toml",
            &probe_entry(
                "o",
                &format!("signals = [\"migration_heads_command\"]\n{settings}"),
            ),
        );
        std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
        let out = run(&p, &["heads"]);
        out.success();
        assert!(out.stderr.contains(said), "{mode}: {out:#?}");
        assert!(
            !out.stderr.contains("out of bounds memory access"),
            "{mode}"
        );
        assert!(
            out.stderr.len() < 64 * 1024,
            "{mode}: {} bytes",
            out.stderr.len()
        );
    }
    // The output quota is the plugin's to raise: 2 MiB fit in 3072 KiB.
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    p.write(
        "sqlalembic.toml",
        &probe_entry(
            "o",
            "output_kb = 3072\nsignals = [\"migration_heads_command\"]\nsettings = { mode = \"big\", mb = \"2\" }",
        ),
    );
    let out = run(&p, &["heads"]);
    out.success();
    assert!(!out.stderr.contains("quota"), "{}", &out.stderr[..200]);
    assert!(out.stderr.len() > 2 << 20);
}

/// Writes under `allow.write` stop at the write quota; nothing past it reaches the
/// disk, and a policy that hits it refuses.
#[test]
fn writes_past_the_quota_are_stopped() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    p.write(
        "sqlalembic.toml",
        &probe_entry(
            "filler",
            "write_mb = 8\ntimeout_ms = 10000\nallow = { write = [\"out\"] }\nsignals = [\"migration_heads_command\"]\nsettings = { mode = \"fill\", path = \"out/big.bin\", mb = \"200\" }",
        ),
    );
    let out = run(&p, &["heads"]);
    out.success();
    assert!(
        out.stderr
            .contains("Plugin `filler` went over its write quota of 8 MiB and was stopped"),
        "{out:#?}"
    );
    let size = std::fs::metadata(p.path().join("out/big.bin"))
        .expect("the file was started")
        .len();
    assert!(size <= 8 << 20, "{size} bytes written");
    // Within the quota, the same plugin writes what it wants.
    p.write(
        "sqlalembic.toml",
        &probe_entry(
            "filler",
            "write_mb = 8\ntimeout_ms = 10000\nallow = { write = [\"out\"] }\nsignals = [\"migration_heads_command\"]\nsettings = { mode = \"fill\", path = \"out/big.bin\", mb = \"4\" }",
        ),
    );
    let out = run(&p, &["heads"]);
    out.success();
    assert!(out.stderr.contains("fill ok: 4 MiB"), "{out:#?}");
    // A policy that goes over it cannot judge: `migrate` is refused.
    p.write(
        "sqlalembic.toml",
        &probe_entry(
            "filler",
            "policy = true\nwrite_mb = 1\ntimeout_ms = 10000\nallow = { write = [\"out\"] }\nsignals = [\"migration_migrate_command\"]\nsettings = { mode = \"fill\", path = \"out/big.bin\", mb = \"200\" }",
        ),
    );
    let out = run(&p, &["migrate"]);
    out.code(4);
    assert!(
        out.stderr
            .contains("Plugin `filler` went over its write quota of 1 MiB and was stopped"),
        "{out:#?}"
    );
}

/// Links out of the folder, sockets and HTTP to hosts not granted are refused
/// inside the guest; the plugin sees the refusal, the host stays untouched.
#[test]
fn links_sockets_and_hosts_not_granted_are_refused() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let entries = [
        probe_entry(
            "linker",
            "allow = { write = [\"out\"] }\nsignals = [\"migration_heads_command\"]\nsettings = { mode = \"symlink\", path = \"out/escape\", target = \"../../outside\" }",
        ),
        probe_entry(
            "socket",
            "signals = [\"migration_heads_command\"]\nsettings = { mode = \"connect\", addr = \"127.0.0.1:9\" }",
        ),
        probe_entry(
            "web",
            "allow = { http = [\"allowed.example\"] }\nsignals = [\"migration_heads_command\"]\nsettings = { mode = \"host-http\", url = \"http://elsewhere.example/x\" }",
        ),
        probe_entry(
            "wasi-web",
            "allow = { http = [\"allowed.example\"] }\nsignals = [\"migration_heads_command\"]\nsettings = { mode = \"http\", url = \"http://elsewhere.example/x\" }",
        ),
    ];
    p.write("sqlalembic.toml", &entries.join("\n"));
    let out = run(&p, &["heads"]);
    out.success();
    assert!(
        out.stderr.contains("Handler `linker`: symlink failed"),
        "{out:#?}"
    );
    assert!(
        std::fs::symlink_metadata(p.path().join("out/escape")).is_err(),
        "a link was created"
    );
    assert!(
        out.stderr.contains("Handler `socket`: connect failed"),
        "{out:#?}"
    );
    assert!(
        out.stderr.contains("Handler `web`: http failed: HTTP to `elsewhere.example:80` is not allowed: add `elsewhere.example` to `allow.http` of plugin `web`"),
        "{out:#?}"
    );
    assert!(
        out.stderr.contains("Handler `wasi-web`: http failed: HTTP request to `elsewhere.example` refused: its host is not in this plugin's `allow.http`"),
        "{out:#?}"
    );
}
