//! Configuration end to end: formats, search order, priority, bad input, secrets.

use serde_json::Value;

use crate::harness::{Project, Run};

/// The effective value and origin of `key` from `config --format json`.
fn setting(run: &Run, key: &str) -> (String, String) {
    let json = run.json();
    let entry = json["settings"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["key"] == key))
        .unwrap_or_else(|| panic!("{key} not listed: {json}"))
        .clone();
    let value = match &entry["value"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    (value, entry["origin"].to_string())
}

#[test]
fn defaults_without_any_file() {
    let p = Project::new();
    let run = p.run(&["config", "--format", "json"]);
    run.success();
    let (engine, origin) = setting(&run, "DB_ENGINE");
    assert_eq!(engine, "sqlite");
    assert!(origin.contains("default"), "{origin}");
    let (url, _) = setting(&run, "DATABASE_URL");
    assert!(url.starts_with("sqlite://"), "{url}");
    assert!(url.ends_with("database.db"), "{url}");
    let (table, _) = setting(&run, "MIGRATION_VERSION_TABLE");
    assert_eq!(table, "alembic_version");
}

#[test]
fn reads_each_file_format() {
    for (file, text) in [
        (
            "sqlalembic.toml",
            "[database]\nDB_ENGINE = \"postgresql\"\nDB_HOST = \"db.internal\"\n",
        ),
        (
            "sqlalembic.yaml",
            "database:\n  DB_ENGINE: postgresql\n  DB_HOST: db.internal\n",
        ),
        (
            "sqlalembic.yml",
            "database:\n  db_engine: postgresql\n  db_host: db.internal\n",
        ),
        (
            "sqlalembic.json",
            "{\"database\": {\"DB_ENGINE\": \"postgresql\", \"DB_HOST\": \"db.internal\"}}",
        ),
        (
            "config.toml",
            "[Database]\ndb_engine = \"postgresql\"\nDb_Host = \"db.internal\"\n",
        ),
        (
            "alembic.json",
            "{\"database\": {\"DB_ENGINE\": \"postgresql\", \"DB_HOST\": \"db.internal\"}}",
        ),
    ] {
        let p = Project::new();
        p.write(file, text);
        let run = p.run(&["config", "--format", "json"]);
        run.success();
        let (host, origin) = setting(&run, "DB_HOST");
        assert_eq!(host, "db.internal", "{file}");
        assert!(origin.contains(file), "{file}: {origin}");
        let (url, _) = setting(&run, "DATABASE_URL");
        assert!(url.starts_with("postgresql://"), "{file}: {url}");
        assert!(url.contains("db.internal:5432"), "{file}: {url}");
    }
}

#[test]
fn search_order_takes_the_first_file() {
    let p = Project::new();
    p.write(
        "config.yaml",
        "general:\n  PROJECT_NAME: from-config-yaml\n",
    );
    p.write(
        "alembic.toml",
        "[general]\nPROJECT_NAME = \"from-alembic-toml\"\n",
    );
    p.write(
        "sqlalembic.json",
        "{\"general\": {\"PROJECT_NAME\": \"from-sqlalembic-json\"}}",
    );
    let run = p.run(&["config", "--format", "json"]);
    assert_eq!(setting(&run, "PROJECT_NAME").0, "from-sqlalembic-json");
    std::fs::remove_file(p.path().join("sqlalembic.json")).expect("rm");
    let run = p.run(&["config", "--format", "json"]);
    assert_eq!(setting(&run, "PROJECT_NAME").0, "from-config-yaml");
}

#[test]
fn explicit_config_path() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[general]\nPROJECT_NAME = \"default-file\"\n",
    );
    p.write("deploy/prod.yaml", "general:\n  PROJECT_NAME: prod-file\n");
    let run = p.run(&["--config", "deploy/prod.yaml", "config", "--format", "json"]);
    run.success();
    assert_eq!(setting(&run, "PROJECT_NAME").0, "prod-file");

    let run = p.run(&["--config", "missing.toml", "config"]);
    run.code(2);
    assert!(run.stderr.contains("missing.toml"), "{run:#?}");
}

#[test]
fn priority_flag_env_dotenv_file_default() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[database]\nDB_ENGINE = \"postgresql\"\nDB_HOST = \"file-host\"\nDB_USER = \"file-user\"\nDB_NAME = \"file-db\"\nDB_PORT = 1111\n",
    );
    p.write(
        ".env",
        "DB_HOST=dotenv-host\nDB_USER=dotenv-user\nDB_PORT=2222\n",
    );
    let env = [("DB_HOST", "env-host")];

    let run = p.run_env(&["config", "--format", "json"], &env);
    run.success();
    assert_eq!(setting(&run, "DB_HOST").0, "env-host");
    assert!(setting(&run, "DB_HOST").1.contains("env"));
    assert_eq!(setting(&run, "DB_USER").0, "dotenv-user");
    assert!(setting(&run, "DB_USER").1.contains(".env"));
    assert_eq!(setting(&run, "DB_NAME").0, "file-db");
    assert!(setting(&run, "DB_NAME").1.contains("sqlalembic.toml"));
    assert_eq!(setting(&run, "MIGRATION_DIR").0, "migrations");
    assert!(setting(&run, "MIGRATION_DIR").1.contains("default"));

    // A flag wins over everything.
    let run = p.run_env(
        &[
            "--database-url",
            "mysql://flag-user@flag-host:3307/flag-db",
            "config",
            "--format",
            "json",
        ],
        &env,
    );
    run.success();
    let (url, origin) = setting(&run, "DATABASE_URL");
    assert!(url.contains("flag-host:3307"), "{url}");
    assert!(origin.contains("--database-url"), "{origin}");
    assert_eq!(setting(&run, "DB_ENGINE").0, "mysql");
}

#[test]
fn dotenv_never_overrides_the_real_environment() {
    let p = Project::new();
    p.write(".env", "PROJECT_NAME=from-dotenv\nENVIRONMENT=staging\n");
    let run = p.run_env(
        &["config", "--format", "json"],
        &[("PROJECT_NAME", "from-env")],
    );
    run.success();
    assert_eq!(setting(&run, "PROJECT_NAME").0, "from-env");
    assert_eq!(setting(&run, "ENVIRONMENT").0, "staging");
}

#[test]
fn prefixed_environment_variables_win_over_bare_ones() {
    let p = Project::new();
    let run = p.run_env(
        &["config", "--format", "json"],
        &[
            ("DB_NAME", "bare.db"),
            ("SQLALEMBIC_DB_NAME", "prefixed.db"),
        ],
    );
    run.success();
    assert_eq!(setting(&run, "DB_NAME").0, "prefixed.db");
}

#[test]
fn database_url_wins_over_parts_and_sqlite_paths_are_relative_to_the_project() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[database]\nDB_ENGINE = \"postgresql\"\nDB_HOST = \"ignored\"\nDATABASE_URL = \"sqlite:///data/app.db\"\n",
    );
    let run = p.run(&["config", "--format", "json"]);
    run.success();
    let (url, _) = setting(&run, "DATABASE_URL");
    assert!(url.starts_with("sqlite://"), "{url}");
    assert_eq!(setting(&run, "DB_ENGINE").0, "sqlite");

    let p = Project::new();
    p.write("sqlalembic.toml", "[database]\nDB_NAME = \"var/app.db\"\n");
    let run = p.run(&["config", "--format", "json"]);
    let (url, _) = setting(&run, "DATABASE_URL");
    let root = p.path().canonicalize().expect("canonical");
    assert!(
        url.contains(&format!("{}/var/app.db", root.display()))
            || url.contains(&format!("{}/var/app.db", p.path().display())),
        "{url}"
    );
}

#[test]
fn text_output_names_each_origin() {
    let p = Project::new();
    p.write("sqlalembic.yaml", "database:\n  DB_NAME: app.db\n");
    let run = p.run_env(&["config"], &[("LOGGING_LEVEL", "info")]);
    run.success();
    assert!(run.stdout.contains("# file: sqlalembic.yaml"), "{run:#?}");
    let line = |key: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} missing: {}", run.stdout))
            .to_owned()
    };
    assert!(line("DB_NAME").contains("file sqlalembic.yaml"));
    assert!(line("LOGGING_LEVEL").contains("env LOGGING_LEVEL"));
    assert!(line("MIGRATION_DIR").contains("default"));
}

#[test]
fn broken_files_name_file_line_and_column() {
    for (file, text, line) in [
        (
            "sqlalembic.toml",
            "[database]\nDB_ENGINE = \"sqlite\"\nDB_PORT = = 5\n",
            3,
        ),
        (
            "sqlalembic.yaml",
            "database:\n  DB_ENGINE: sqlite\n   DB_HOST: [unclosed\n",
            3,
        ),
        (
            "sqlalembic.json",
            "{\n  \"database\": {\n    \"DB_ENGINE\": \"sqlite\",,\n  }\n}\n",
            3,
        ),
    ] {
        let p = Project::new();
        p.write(file, text);
        let run = p.run(&["config"]);
        run.code(2);
        let expected = format!("{file}:{line}:");
        assert!(
            run.stderr.contains(&expected),
            "{file}: expected `{expected}` in {run:#?}"
        );
    }
}

#[test]
fn unknown_engine_lists_the_valid_ones() {
    let p = Project::new();
    p.write("sqlalembic.toml", "[database]\nDB_ENGINE = \"oracle\"\n");
    let run = p.run(&["config"]);
    run.code(2);
    for word in ["oracle", "sqlite", "postgresql", "mysql"] {
        assert!(run.stderr.contains(word), "{word}: {run:#?}");
    }
}

#[test]
fn wrong_types_name_the_key() {
    let p = Project::new();
    p.write("sqlalembic.toml", "[database]\nDB_PORT = \"fifty\"\n");
    let run = p.run(&["config"]);
    run.code(2);
    assert!(run.stderr.contains("DB_PORT"), "{run:#?}");
    assert!(run.stderr.contains("fifty"), "{run:#?}");
}

#[test]
fn unknown_keys_are_errors_with_the_closest_known_key() {
    let p = Project::new();
    p.write("sqlalembic.toml", "[database]\nDB_HSOT = \"x\"\n");
    let run = p.run(&["config"]);
    run.code(2);
    assert!(
        run.stderr.contains(
            "sqlalembic.toml:2:1: Unknown key `DB_HSOT` in `[database]`; did you mean `DB_HOST`?"
        ),
        "{run:#?}"
    );
}

const PASSWORD: &str = "s3cr3t-P4ss";

#[test]
fn passwords_never_appear_in_any_output() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        &format!(
            "[database]\nDB_ENGINE = \"postgresql\"\nDB_USER = \"app\"\nDB_PASS = \"{PASSWORD}\"\nDB_HOST = \"localhost\"\n"
        ),
    );
    for args in [
        vec!["config"],
        vec!["config", "--format", "json"],
        vec!["-vvv", "config"],
        vec!["-vvv", "--format", "json", "config"],
        vec!["-vvv", "status"],
        vec!["-vvv", "discover"],
    ] {
        let run = p.run(&args);
        assert!(
            !run.all().contains(PASSWORD),
            "{args:?} leaked the password:\n{run:#?}"
        );
    }
    // ... nor in the log file, nor with the password inside a URL.
    let url = format!("postgresql://app:{PASSWORD}@localhost:5432/app");
    let run = p.run_env(
        &["-vvv", "config", "--format", "json"],
        &[("DATABASE_URL", &url), ("LOGGING_FILE", "sqlalembic.log")],
    );
    run.success();
    assert!(!run.all().contains(PASSWORD), "{run:#?}");
    assert!(run.stdout.contains("***"), "{run:#?}");
    let log = p.read("sqlalembic.log");
    assert!(!log.is_empty(), "-vvv wrote nothing to LOGGING_FILE");
    assert!(!log.contains(PASSWORD), "{log}");
}

#[test]
fn passwords_never_appear_in_errors() {
    let p = Project::new();
    let url = format!("oracle://app:{PASSWORD}@localhost/app");
    let run = p.run(&["--database-url", &url, "config"]);
    run.code(2);
    assert!(!run.all().contains(PASSWORD), "{run:#?}");
}

#[test]
fn migration_timezone_dates_new_revisions_and_refuses_unknown_zones() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[migration]\nMIGRATION_TIMEZONE = \"Asia/Kolkata\"\n",
    );
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("versions folder");
    p.run(&["makemigrations", "--empty", "first"]).success();
    let versions = p.path().join("migrations/versions");
    let file = std::fs::read_dir(&versions)
        .expect("versions folder")
        .map(|e| e.expect("entry").path())
        .find(|path| path.to_string_lossy().ends_with("_first.toml"))
        .expect("revision file");
    let text = std::fs::read_to_string(file).expect("reads");
    let line = text
        .lines()
        .find(|l| l.starts_with("created_at = "))
        .expect("created_at line");
    assert!(line.ends_with("+05:30"), "{line}");
    // The offset datetime reads back: history lists the revision.
    p.run(&["history"]).success();

    let run = p.run_env(&["config"], &[("MIGRATION_TIMEZONE", "Europe/Berln")]);
    run.code(2);
    assert!(run.stderr.contains("MIGRATION_TIMEZONE"), "{run:#?}");
    assert!(run.stderr.contains("Europe/Berln"), "{run:#?}");
    assert!(
        run.stderr.contains("did you mean `Europe/Berlin`?"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("environment variable"), "{run:#?}");
}

/// A misspelled `DATABASE_URL` is an error with its place and the right name: the
/// command never runs against the default local database.
#[test]
fn a_misspelled_key_is_an_error_and_nothing_runs() {
    let p = Project::new();
    p.write(
        "sqlalembic.toml",
        "[database]\nDATABSE_URL = \"postgresql://app@db/app\"\n",
    );
    std::fs::create_dir_all(p.path().join("migrations/versions")).expect("mkdir");
    let out = p.run(&["migrate"]);
    out.code(2);
    assert!(
        out.stderr.contains(
            "sqlalembic.toml:2:1: Unknown key `DATABSE_URL` in `[database]`; did you mean `DATABASE_URL`?"
        ),
        "{out:#?}"
    );
    assert!(!p.path().join("database.db").exists());
    let out = p.run_env(
        &["config"],
        &[("SQLALEMBIC_DATABSE_URL", "x"), ("APP_SECRET", "y")],
    );
    out.code(2);
    // An unrelated variable alone is fine.
    p.write("sqlalembic.toml", "");
    p.run_env(&["config"], &[("DATABSE_URL", "x")]).success();
}
