//! Logging end to end: quiet by default, Python format placeholders, JSON, file.

use crate::harness::Project;

#[test]
fn quiet_by_default() {
    let p = Project::new();
    let run = p.run(&["config"]);
    run.success();
    assert!(!run.stderr.contains("INFO"), "{run:#?}");
    assert!(!run.stderr.contains("DEBUG"), "{run:#?}");
    assert!(
        run.stderr.trim().is_empty(),
        "default run printed to stderr: {run:#?}"
    );
}

#[test]
fn verbose_flags_raise_the_level() {
    let p = Project::new();
    let run = p.run(&["-v", "config"]);
    assert!(run.stderr.contains("INFO"), "{run:#?}");
    assert!(!run.stderr.contains("DEBUG"), "{run:#?}");
    let run = p.run(&["-vv", "config"]);
    assert!(run.stderr.contains("DEBUG"), "{run:#?}");
}

#[test]
fn python_format_placeholders() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[logging]\nLOGGING_LEVEL = \"debug\"\nLOGGING_FORMAT = \"%(asctime)s|%(name)s|%(levelname)s|%(module)s|%(lineno)d|%(process)d|%(message)s\"\n",
    );
    let run = p.run(&["config"]);
    run.success();
    let line = run
        .stderr
        .lines()
        .find(|l| l.contains("|DEBUG|") || l.contains("|INFO|"))
        .unwrap_or_else(|| panic!("no log line: {run:#?}"));
    let parts: Vec<&str> = line.split('|').collect();
    assert_eq!(parts.len(), 7, "{line}");
    // asctime like Python: `2026-11-26 01:02:03,456`
    assert_eq!(parts[0].len(), 23, "{line}");
    assert_eq!(&parts[0][19..20], ",", "{line}");
    assert!(parts[1].starts_with("sqlalembic"), "{line}");
    assert!(parts[4].parse::<u32>().is_ok(), "{line}");
    assert!(parts[5].parse::<u32>().is_ok(), "{line}");
}

#[test]
fn unknown_placeholder_is_a_config_error() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[logging]\nLOGGING_FORMAT = \"%(nosuch)s %(message)s\"\n",
    );
    let run = p.run(&["config"]);
    run.code(2);
    assert!(run.stderr.contains("nosuch"), "{run:#?}");
}

#[test]
fn json_format_and_log_file() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[logging]\nLOGGING_LEVEL = \"DEBUG\"\nLOGGING_FORMAT = \"json\"\nLOGGING_FILE = \"sqlalembic.log\"\n",
    );
    let run = p.run(&["config"]);
    run.success();
    let log = p.read("sqlalembic.log");
    let first = log
        .lines()
        .next()
        .unwrap_or_else(|| panic!("empty log; {run:#?}"));
    let value: serde_json::Value = serde_json::from_str(first).expect("JSON log line");
    for key in ["timestamp", "level", "target", "message"] {
        assert!(value.get(key).is_some(), "{key} missing in {first}");
    }
}
