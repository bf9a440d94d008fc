//! Files from the top-level `templates/` folder, embedded so an installed binary
//! works anywhere: the project skeleton `startproject` writes and the default
//! template of new revision files.

/// The default `script.toml.j2`: the template every new revision file is rendered from.
pub const SCRIPT_TOML_J2: &str = crate::revision::file::DEFAULT_TEMPLATE;

/// Placeholder in project files replaced by the project's name.
pub const PROJECT_NAME_PLACEHOLDER: &str = "__PROJECT_NAME__";

/// The files of a new project: (path relative to the project root, contents).
pub const PROJECT_FILES: &[(&str, &str)] = &[
    (
        "sqlalembic.toml",
        include_str!("../../templates/project/sqlalembic.toml"),
    ),
    (
        ".env.example",
        include_str!("../../templates/project/env.example"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/project/gitignore"),
    ),
    (
        "migrations/README.md",
        include_str!("../../templates/project/migrations/README.md"),
    ),
    ("migrations/script.toml.j2", SCRIPT_TOML_J2),
    (
        "models/__init__.py",
        include_str!("../../templates/project/models/__init__.py"),
    ),
    (
        "models/base.py",
        include_str!("../../templates/project/models/base.py"),
    ),
    (
        "models/user.py",
        include_str!("../../templates/project/models/user.py"),
    ),
    (
        "models/post.py",
        include_str!("../../templates/project/models/post.py"),
    ),
    (
        "models/product.py",
        include_str!("../../templates/project/models/product.py"),
    ),
];

/// Folders of a new project that start empty.
pub const PROJECT_DIRS: &[&str] = &["migrations/versions"];
