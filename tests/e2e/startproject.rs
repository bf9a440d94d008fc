//! `startproject`: writes the skeleton, refuses non-empty folders, never overwrites.

use crate::harness::Project;

const FILES: &[&str] = &[
    "sqlalembic.toml",
    ".env.example",
    ".gitignore",
    "migrations/README.md",
    "migrations/script.toml.j2",
    "models/__init__.py",
    "models/base.py",
    "models/user.py",
    "models/post.py",
    "models/product.py",
];

#[test]
fn writes_every_template_file() {
    let p = Project::new();
    let run = p.run(&["startproject", "blog"]);
    run.success();
    assert!(run.stdout.contains("Created project `blog`"), "{run:#?}");
    for f in FILES {
        assert!(p.path().join("blog").join(f).is_file(), "missing {f}");
    }
    assert!(p.path().join("blog/migrations/versions").is_dir());
    let toml = p.read("blog/sqlalembic.toml");
    assert!(toml.contains("PROJECT_NAME = \"blog\""));
    for section in [
        "[general]",
        "[database]",
        "[migration]",
        "[logging]",
        "[discovery]",
        "[[plugins]]",
    ] {
        assert!(toml.contains(section), "sqlalembic.toml lacks {section}");
    }
    // The example models of the original README.
    let product = p.read("blog/models/product.py");
    for construct in [
        "UniqueConstraint(",
        "CheckConstraint(",
        "Index(",
        "__table_args__",
    ] {
        assert!(product.contains(construct), "product.py lacks {construct}");
    }
    assert!(
        p.read("blog/models/post.py")
            .contains("ForeignKey(\"users.id\"")
    );
    assert!(p.read("blog/models/post.py").contains("relationship("));
}

#[test]
fn the_new_project_loads_its_own_configuration() {
    let p = Project::new();
    p.run(&["startproject", "shop"]).success();
    let run = p.run(&["-C", "shop", "config", "--format", "json"]);
    run.success();
    let json = run.json();
    let settings = json["settings"].as_array().expect("settings list");
    let name = settings
        .iter()
        .find(|e| e["key"] == "PROJECT_NAME")
        .expect("PROJECT_NAME listed");
    assert_eq!(name["value"], "shop");
    // No warnings: every key of the template is a known key.
    assert!(!run.stderr.contains("warning"), "{run:#?}");
}

#[test]
fn refuses_a_non_empty_folder_and_writes_nothing() {
    let p = Project::new();
    p.write("blog/.env", "DB_PASS=keep-me\n");
    let run = p.run(&["startproject", "blog"]);
    run.code(2);
    assert!(
        run.stderr.contains("already exists and is not empty"),
        "{run:#?}"
    );
    assert_eq!(p.read("blog/.env"), "DB_PASS=keep-me\n");
    assert!(!p.path().join("blog/sqlalembic.toml").exists());
}

#[test]
fn accepts_an_existing_empty_folder_and_the_current_folder() {
    let p = Project::new();
    std::fs::create_dir(p.path().join("empty")).expect("mkdir");
    p.run(&["startproject", "empty"]).success();
    assert!(p.path().join("empty/sqlalembic.toml").is_file());

    std::fs::create_dir(p.path().join("here")).expect("mkdir");
    p.run(&["-C", "here", "startproject", "."]).success();
    assert!(
        p.read("here/sqlalembic.toml")
            .contains("PROJECT_NAME = \"here\"")
    );
}

#[test]
fn a_second_run_changes_nothing() {
    let p = Project::new();
    p.run(&["startproject", "blog"]).success();
    p.write("blog/sqlalembic.toml", "# mine\n");
    p.run(&["startproject", "blog"]).code(2);
    assert_eq!(p.read("blog/sqlalembic.toml"), "# mine\n");
}

#[test]
fn json_output_lists_the_files() {
    let p = Project::new();
    let run = p.run(&["startproject", "api", "--format", "json"]);
    run.success();
    let json = run.json();
    assert_eq!(json["project"], "api");
    assert_eq!(json["files"].as_array().map(Vec::len), Some(FILES.len()));
}
