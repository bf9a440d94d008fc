//! Hostile plugins and planted links against the real binary: the host never
//! writes its own files through a symbolic link, no plugin outlives its time limit
//! in a WASI wait, and a policy that cannot judge a command refuses it.

use std::path::Path;

use sqlalembic::plugins::CACHE_ENV;
use sqlalembic::plugins::testing::{rust_component, shared_cache_dir};

use crate::harness::{Project, Run};

fn toml_path(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

fn run(p: &Project, args: &[&str], env: &[(&str, &str)]) -> Run {
    let cache = shared_cache_dir().display().to_string();
    let mut all = vec![(CACHE_ENV, cache.as_str())];
    all.extend_from_slice(env);
    p.run_env(args, &all)
}

fn probe_entry(name: &str, extra: &str) -> String {
    format!(
        "[[plugins]]\nname = \"{name}\"\npath = \"{}\"\n{extra}\n",
        toml_path(&rust_component("probe"))
    )
}

/// The README's example: `allow.write = ["logs"]` and the host's own log file in
/// `logs/`. A link planted there (by a plugin of an older version, or anything
/// else) is refused on the next run: nothing outside the project is written and the
/// configuration file is left alone.
#[cfg(unix)]
#[test]
fn the_log_file_is_never_opened_through_a_planted_link() {
    let base = Project::new();
    let config = format!(
        "[logging]\nLOGGING_FILE = \"logs/sqlalembic.log\"\nLOGGING_LEVEL = \"INFO\"\n\n{}",
        probe_entry(
            "writer",
            "allow = { write = [\"logs\"] }\nsettings = { mode = \"count\" }"
        )
    );
    base.write("proj/sqlalembic.toml", &config);
    std::fs::create_dir_all(base.path().join("proj/logs")).expect("mkdir");
    std::fs::create_dir_all(base.path().join("proj/migrations/versions")).expect("mkdir");
    let log = base.path().join("proj/logs/sqlalembic.log");
    let in_project = |args: &[&str]| {
        let mut all = vec!["-C", "proj"];
        all.extend_from_slice(args);
        run(&base, &all, &[])
    };
    in_project(&["heads"]).success();
    assert!(
        std::fs::read_to_string(&log)
            .expect("log written")
            .contains("Loaded configuration")
    );
    for target in [
        "../../outside",
        "../sqlalembic.toml",
        "/tmp/../tmp/x",
        "other.log",
    ] {
        std::fs::remove_file(&log).expect("remove the log");
        let target = if target.starts_with('/') {
            base.path().join("absolute-outside").display().to_string()
        } else {
            target.to_owned()
        };
        std::os::unix::fs::symlink(&target, &log).expect("plant link");
        let out = in_project(&["heads"]);
        out.code(2);
        assert!(
            out.stderr.contains(
                "Cannot write the log file: `logs/sqlalembic.log` is a symbolic link; sqlalembic never writes its own files through a link"
            ),
            "{target}: {out:#?}"
        );
        assert!(out.stderr.contains("remove it and run again"), "{out:#?}");
        assert!(!base.path().join("outside").exists(), "{target}");
        assert!(!base.path().join("absolute-outside").exists(), "{target}");
        assert!(
            !base.path().join("proj/logs/other.log").exists(),
            "{target}"
        );
        assert_eq!(base.read("proj/sqlalembic.toml"), config, "{target}");
    }
    // A folder on the way that leads out of the project.
    std::fs::remove_file(&log).expect("remove the link");
    std::fs::create_dir_all(base.path().join("elsewhere")).expect("mkdir");
    std::fs::remove_dir(base.path().join("proj/logs")).expect("rmdir");
    std::os::unix::fs::symlink("../elsewhere", base.path().join("proj/logs")).expect("link");
    let out = in_project(&["heads"]);
    out.code(2);
    assert!(
        out.stderr.contains("`logs/sqlalembic.log` leads outside `")
            && out
                .stderr
                .contains("through a symbolic link or `..` on its way"),
        "{out:#?}"
    );
    assert_eq!(
        std::fs::read_dir(base.path().join("elsewhere"))
            .expect("ls")
            .count(),
        0
    );
}

/// A plugin sleeping in `std::thread::sleep` cannot hold `migrate`: each call ends
/// at its 500 ms limit and is reported as such.
#[test]
fn a_sleeping_plugin_does_not_hold_migrate() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        &probe_entry(
            "sleeper",
            "timeout_ms = 500\nsettings = { mode = \"sleep\", secs = \"20\" }",
        ),
    );
    p.write(
        "migrations/versions/a1b2c3d4e5f6_create.toml",
        "revision = \"a1b2c3d4e5f6\"\n[[upgrade]]\nop = \"create_table\"\ntable = \"t\"\ncolumns = [{ name = \"id\", type = \"integer\", primary_key = true }]\n[[downgrade]]\nop = \"drop_table\"\ntable = \"t\"\n",
    );
    let started = std::time::Instant::now();
    let out = run(&p, &["migrate"], &[]);
    let took = started.elapsed();
    out.success();
    assert!(
        out.stderr
            .contains("Plugin `sleeper` ran past its time limit of 500 ms and was stopped"),
        "{out:#?}"
    );
    // Five signals, each stopped at 500 ms (20 s each before).
    assert!(took < std::time::Duration::from_secs(15), "{took:?}");
}
