//! The CLI shell: help, exit codes, completions, commands waiting for capabilities.

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
fn commands_waiting_for_a_capability_say_so_and_exit_2() {
    let p = Project::new();
    for (args, capability) in [
        (vec!["makemigrations", "Add posts"], "autogenerate"),
        (vec!["check", "--drift-only"], "autogenerate"),
    ] {
        let run = p.run(&args);
        run.code(2);
        assert!(run.stderr.contains(capability), "{args:?}: {run:#?}");
        assert!(run.stderr.contains("not available"), "{args:?}: {run:#?}");
    }
}

#[test]
fn errors_are_json_with_format_json() {
    let p = Project::new();
    let run = p.run(&["--format", "json", "makemigrations", "x"]);
    run.code(2);
    let json = run.json();
    assert_eq!(json["exit_code"], 2);
    assert!(
        json["error"]
            .as_str()
            .unwrap_or_default()
            .contains("not available")
    );
}
