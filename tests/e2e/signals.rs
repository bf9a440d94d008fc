//! Signals through the embedded CLI: one dispatcher, handlers fire, policies deny.

use std::sync::{Arc, Mutex};

use sqlalembic::signals::{Dispatcher, HandlerMode, Signal, Verdict};

use crate::harness::Project;

fn args(p: &Project, rest: &[&str]) -> Vec<String> {
    let mut v = vec![
        "sqlalembic".to_owned(),
        "-C".to_owned(),
        p.path().display().to_string(),
        "-q".to_owned(),
    ];
    v.extend(rest.iter().map(|s| s.to_string()));
    v
}

fn recorder(dispatcher: &Dispatcher) -> Arc<Mutex<Vec<Signal>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    dispatcher.connect_fn("*", "recorder", HandlerMode::Observer, move |s: &Signal| {
        sink.lock().expect("lock").push(s.clone());
        Ok(Verdict::Proceed)
    });
    seen
}

#[test]
fn handlers_connected_before_the_run_receive_start_and_finished() {
    let p = Project::new();
    p.write("sqlalembic.toml", "[general]\nPROJECT_NAME = \"sig\"\n");
    let dispatcher = Dispatcher::new();
    let seen = recorder(&dispatcher);
    let code = sqlalembic::cli::run_with(args(&p, &["config", "--format", "json"]), &dispatcher);
    assert_eq!(code, 0);
    let seen = seen.lock().expect("lock");
    let names: Vec<&str> = seen.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["migration_config_command", "command_finished"]);
    assert_eq!(seen[0].payload["project"], "sig");
    assert_eq!(seen[1].payload["command"], "config");
    assert!(seen[1].payload["duration_ms"].is_number());
}

#[test]
fn a_failing_command_sends_command_failed_with_the_error() {
    let p = Project::new();
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let dispatcher = Dispatcher::new();
    let seen = recorder(&dispatcher);
    let code = sqlalembic::cli::run_with(args(&p, &["show", "ffffffffffff"]), &dispatcher);
    assert_eq!(code, 2);
    let seen = seen.lock().expect("lock");
    let last = seen.last().expect("signals sent");
    assert_eq!(last.name, "command_failed");
    assert!(
        last.payload["error"]
            .as_str()
            .unwrap_or_default()
            .contains("No such revision or branch 'ffffffffffff'")
    );
}

#[test]
fn a_policy_deny_aborts_with_exit_4_and_runs_nothing() {
    let p = Project::new();
    let dispatcher = Dispatcher::new();
    dispatcher.connect_fn(
        "migration_startproject_command",
        "no-new-projects",
        HandlerMode::Policy,
        |_s: &Signal| {
            Ok(Verdict::Deny(
                "Projects are created by the platform team".to_owned(),
            ))
        },
    );
    let code = sqlalembic::cli::run_with(args(&p, &["startproject", "blog"]), &dispatcher);
    assert_eq!(code, 4);
    assert!(
        !p.path().join("blog").exists(),
        "a denied command must not run"
    );
}

#[test]
fn failing_observers_never_abort_but_a_failing_policy_refuses() {
    let p = Project::new();
    let dispatcher = Dispatcher::new();
    dispatcher.connect_fn("*", "broken", HandlerMode::Observer, |_s: &Signal| {
        Err("boom".to_owned())
    });
    dispatcher.connect_fn(
        "*",
        "panics",
        HandlerMode::Observer,
        |_s: &Signal| -> Result<Verdict, String> { panic!("handler bug") },
    );
    let seen = recorder(&dispatcher);
    let code = sqlalembic::cli::run_with(args(&p, &["startproject", "blog"]), &dispatcher);
    assert_eq!(code, 0);
    assert!(p.path().join("blog/sqlalembic.toml").is_file());
    assert_eq!(seen.lock().expect("lock").len(), 2);
    // A policy that cannot judge the start signal refuses the command.
    let q = Project::new();
    dispatcher.connect_fn("*", "judge", HandlerMode::Policy, |_s: &Signal| {
        Err("cannot reach the approvals service".to_owned())
    });
    let code = sqlalembic::cli::run_with(args(&q, &["startproject", "blog"]), &dispatcher);
    assert_eq!(code, 4);
    assert!(!q.path().join("blog").exists());
}

#[test]
fn every_payload_carries_the_effective_environment_and_settings() {
    let p = Project::new();
    p.write("sqlalembic.toml", "[general]\nPROJECT_NAME = \"sig\"\n");
    p.write(".env", "ENVIRONMENT=production\n");
    let dispatcher = Dispatcher::new();
    let seen = recorder(&dispatcher);
    let code = sqlalembic::cli::run_with(args(&p, &["config", "--format", "json"]), &dispatcher);
    assert_eq!(code, 0);
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 2);
    for s in seen.iter() {
        assert_eq!(s.payload["environment"], "production", "{}", s.name);
        assert_eq!(s.payload["settings"]["project"], "sig");
        assert_eq!(s.payload["settings"]["versions_dir"], "migrations/versions");
    }
}

#[test]
fn payloads_never_carry_the_password() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[database]\nDATABASE_URL = \"postgresql://app:hunter2-pw@db:5432/app\"\n",
    );
    let dispatcher = Dispatcher::new();
    let seen = recorder(&dispatcher);
    let code = sqlalembic::cli::run_with(
        args(
            &p,
            &[
                "--database-url",
                "postgresql://app:hunter2-pw@db:5432/app",
                "config",
            ],
        ),
        &dispatcher,
    );
    assert_eq!(code, 0);
    for s in seen.lock().expect("lock").iter() {
        let text = serde_json::to_string(s).expect("serialize");
        assert!(!text.contains("hunter2-pw"), "{text}");
    }
}
