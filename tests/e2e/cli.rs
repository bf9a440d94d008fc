//! The CLI shell: help, exit codes, completions, usage errors.

use crate::harness::Project;

#[test]
fn help_lists_every_command_with_examples() {
    let p = Project::new();
    let run = p.run(&["--help"]);
    run.success();
    for cmd in [
        "startproject",
        "makemigrations",
        "migrate",
        "rollback",
        "stamp",
        "merge",
        "squash",
        "fresh",
        "reset",
        "status",
        "current",
        "history",
        "show",
        "heads",
        "branches",
        "list",
        "check",
        "validate",
        "clean",
        "discover",
        "plugins",
        "graph",
        "config",
        "completions",
    ] {
        assert!(run.stdout.contains(cmd), "--help lacks {cmd}");
        let sub = p.run(&[cmd, "--help"]);
        sub.success();
        assert!(
            sub.stdout.contains("Examples:"),
            "`{cmd} --help` has no examples"
        );
    }
}

#[test]
fn usage_errors_exit_2() {
    let p = Project::new();
    p.run(&["no-such-command"]).code(2);
    p.run(&["migrate", "--no-such-flag"]).code(2);
    p.run(&["--format", "yaml", "status"]).code(2);
}

#[test]
fn version_flag() {
    let p = Project::new();
    let run = p.run(&["--version"]);
    run.success();
    assert!(run.stdout.starts_with("sqlalembic "), "{run:#?}");
}

#[test]
fn completions_for_each_shell() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = p.run(&["completions", shell]);
        run.success();
        assert!(run.stdout.contains("sqlalembic"), "{shell}: {run:#?}");
        assert!(run.stdout.contains("makemigrations"), "{shell}: {run:#?}");
    }
}

#[test]
fn an_unknown_revision_is_a_usage_error_with_a_hint() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let run = p.run(&["show", "ffffffffffff"]);
    run.code(2);
    assert!(
        run.stderr
            .contains("No such revision or branch 'ffffffffffff'"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("hint:"), "{run:#?}");
}

#[test]
fn errors_are_json_with_format_json() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let run = p.run(&["--format", "json", "show", "ffffffffffff"]);
    run.code(2);
    let json = run.json();
    assert_eq!(json["exit_code"], 2);
    assert!(
        json["error"]
            .as_str()
            .unwrap_or_default()
            .contains("ffffffffffff")
    );
}
