//! `discover`: the tables the models define, where each is defined, and the problems.
//!
//! Text lists each table with its source `file:line` and columns; `--format json`
//! prints `{"tables": [...], "diagnostics": [...]}` in the shape of SQLAlchemy's
//! inspector; `--format mermaid` draws the ERD. Diagnostics go to stderr as
//! `path:line:col: error[CODE]: message` with hints. Discovery with errors exits 2 and
//! prints no schema, only the diagnostics (and, in text, what could be read).

use serde_json::{Value, json};

use crate::cli::{Context, Exit, Failure, Format, Outcome};
use crate::discovery::{self, Backend, Discovery, Request, SourceLocation};
use crate::schema::{ColumnType, Table};
use crate::signals::CommandRun;

/// Runs `discover`.
pub fn run(
    ctx: &Context<'_>,
    run: &CommandRun,
    backends: &[String],
    no_cache: bool,
) -> Result<Outcome, Failure> {
    let settings = &ctx.loaded()?.settings;
    let mut req = Request::from_settings(settings).map_err(|e| {
        Failure::new(Exit::Usage, e)
            .hint("`BACKENDS` (and `--backend`) take `sqlalchemy`, `sqlalchemy-import`, `sql` or `wasm:<path>`")
    })?;
    if !backends.is_empty() {
        req.backends = backends
            .iter()
            .map(|b| Backend::parse(b))
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::new(Exit::Usage, e))?;
    }
    req.use_cache = !no_cache;
    match discovery::discover(&req) {
        Ok(d) => {
            for diag in &d.diagnostics {
                ctx.printer.diagnostic(diag);
            }
            match ctx.global.format {
                Some(Format::Json) => ctx.printer.json_value(json!({
                    "tables": tables_json(&d),
                    "diagnostics": d.diagnostics,
                })),
                Some(Format::Mermaid) => ctx.printer.line(mermaid(&d.schema.tables)),
                _ => print_text(ctx, &d),
            }
            ctx.printer.info(format!(
                "Discovered {} table(s) from {} file(s) ({} with models) in {} ms{}",
                d.schema.tables.len(),
                d.stats.files,
                d.stats.candidates,
                d.stats.elapsed_ms,
                if d.stats.cached { " (cached)" } else { "" }
            ));
            let names: Vec<String> = d.schema.tables.iter().map(Table::qualified_name).collect();
            run.send(
                crate::signals::names::MODELS_DISCOVERED,
                json!({
                    "tables": names,
                    "count": names.len(),
                    "backends": req.backends.iter().map(Backend::name).collect::<Vec<_>>(),
                    "duration_ms": d.stats.elapsed_ms,
                }),
            );
            Ok(Outcome::with(json!({ "tables": names.len() })))
        }
        Err(e) => {
            let mut message = e.to_string();
            if let Some(first) = e
                .diagnostics()
                .iter()
                .find(|d| d.severity == crate::diagnostic::Severity::Error)
            {
                message.push_str(&format!(
                    ": {}",
                    first
                        .location()
                        .map_or(first.message.clone(), |l| format!("{l}: {}", first.message))
                ));
            }
            let failure = Failure::usage(message).with_diagnostics(e.diagnostics().to_vec());
            Err(match e {
                discovery::Error::Empty { .. } => failure
                    .hint("Check `MODEL_DISCOVERY_PATHS` and `EXCLUDE_PATHS` (`sqlalembic config` shows them)")
                    .hint("An empty model set is refused so that autogenerate never drops every table"),
                discovery::Error::Invalid { .. } => {
                    let summary = e.summary().unwrap_or_default();
                    failure
                        .hint(summary)
                        .hint("Each problem above names its file, line and column; no schema is produced until all are fixed")
                }
                _ => failure,
            })
        }
    }
}

fn print_text(ctx: &Context<'_>, d: &Discovery) {
    // One write for the whole listing: thousands of tables print in milliseconds.
    let mut out: Vec<String> = Vec::new();
    for (t, source) in d.schema.tables.iter().zip(&d.sources) {
        out.push(format!(
            "{}  ({}:{})",
            t.qualified_name(),
            source.file.display(),
            source.line
        ));
        for c in &t.columns {
            out.push(format!("  {c}"));
        }
        for fk in &t.foreign_keys {
            out.push(format!(
                "  FOREIGN KEY ({}) REFERENCES {}",
                fk.columns.join(", "),
                fk.references()
            ));
        }
        for ix in &t.indexes {
            let unique = if ix.unique { "UNIQUE " } else { "" };
            let mut line = format!("  {unique}INDEX {} ({})", ix.name, ix.columns.join(", "));
            if let Some(predicate) = &ix.where_ {
                line.push_str(&format!(" WHERE {predicate}"));
            }
            if !ix.dialects.is_empty() {
                line.push_str(&format!(" (only on {})", ix.dialects.join(", ")));
            }
            out.push(line);
        }
        for u in &t.uniques {
            out.push(format!(
                "  UNIQUE {}({})",
                u.name
                    .as_deref()
                    .map(|n| format!("{n} "))
                    .unwrap_or_default(),
                u.columns.join(", ")
            ));
        }
        for ck in &t.checks {
            out.push(format!(
                "  CHECK {}({})",
                ck.name
                    .as_deref()
                    .map(|n| format!("{n} "))
                    .unwrap_or_default(),
                ck.sqltext
            ));
        }
    }
    ctx.printer.line(out.join("\n"));
}

/// The tables in the shape of SQLAlchemy's inspector, plus `source`.
pub fn tables_json(d: &Discovery) -> Vec<Value> {
    d.schema
        .tables
        .iter()
        .zip(&d.sources)
        .map(|(t, s)| table_json(t, Some(s)))
        .collect()
}

/// One table as JSON.
pub fn table_json(t: &Table, source: Option<&SourceLocation>) -> Value {
    let pk_columns: Vec<&str> = t.primary_key_columns();
    json!({
        "name": t.name,
        "schema": t.schema,
        "source": source.map(|s| json!({ "file": s.file, "line": s.line })),
        "columns": t.columns.iter().map(|c| {
            let (length, precision, scale, timezone, enum_values, enum_name) = type_parts(&c.ty);
            json!({
                "name": c.name,
                "type": c.ty.to_string(),
                "length": length,
                "precision": precision,
                "scale": scale,
                "timezone": timezone,
                "enum_name": enum_name,
                "enum_values": enum_values,
                "nullable": c.nullable,
                "primary_key": c.primary_key,
                "autoincrement": match c.autoincrement { Some(b) => json!(b), None => json!("auto") },
                "server_default": c.server_default,
                "unique": c.unique,
                "comment": c.comment,
            })
        }).collect::<Vec<_>>(),
        "primary_key": {
            "name": t.primary_key.as_ref().and_then(|p| p.name.clone()),
            "columns": pk_columns,
        },
        "foreign_keys": t.foreign_keys.iter().map(|fk| json!({
            "name": fk.name,
            "columns": fk.columns,
            "referred_schema": fk.ref_schema,
            "referred_table": fk.ref_table,
            "referred_columns": fk.ref_columns,
            "ondelete": fk.ondelete,
            "onupdate": fk.onupdate,
            "deferrable": fk.deferrable,
            "initially": fk.initially,
        })).collect::<Vec<_>>(),
        "indexes": t.indexes.iter().map(|ix| json!({
            "name": ix.name,
            "columns": ix.columns,
            "unique": ix.unique,
            "where": ix.where_,
            "dialects": ix.dialects,
        })).collect::<Vec<_>>(),
        "unique_constraints": t.uniques.iter().map(|u| json!({
            "name": u.name,
            "columns": u.columns,
        })).collect::<Vec<_>>(),
        "check_constraints": t.checks.iter().map(|c| json!({
            "name": c.name,
            "sqltext": c.sqltext,
        })).collect::<Vec<_>>(),
        "comment": t.comment,
    })
}

type TypeParts = (
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<bool>,
    Option<Vec<String>>,
    Option<String>,
);

fn type_parts(ty: &ColumnType) -> TypeParts {
    match ty {
        ColumnType::String(n) | ColumnType::Unicode(n) => (*n, None, None, None, None, None),
        ColumnType::Numeric(p) => (None, p.map(|p| p.0), p.map(|p| p.1), None, None, None),
        ColumnType::DateTime { timezone } | ColumnType::Timestamp { timezone } => {
            (None, None, None, Some(*timezone), None, None)
        }
        ColumnType::Enum { name, values } => {
            (None, None, None, None, Some(values.clone()), name.clone())
        }
        _ => (None, None, None, None, None, None),
    }
}

/// A Mermaid entity-relationship diagram of the tables.
pub fn mermaid(tables: &[Table]) -> String {
    let ident = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let mut out = String::from("erDiagram");
    for t in tables {
        out.push_str(&format!("\n    {} {{", ident(&t.qualified_name())));
        let pk = t.primary_key_columns();
        for c in &t.columns {
            let mut keys = Vec::new();
            if pk.contains(&c.name.as_str()) {
                keys.push("PK");
            }
            if t.foreign_keys.iter().any(|fk| fk.columns.contains(&c.name)) {
                keys.push("FK");
            }
            if c.unique || t.uniques.iter().any(|u| u.columns == [c.name.clone()]) {
                keys.push("UK");
            }
            let ty = ident(&c.ty.to_string()).trim_matches('_').to_owned();
            let mut line = format!(
                "\n        {} {}",
                if ty.is_empty() { "type".to_owned() } else { ty },
                ident(&c.name)
            );
            if !keys.is_empty() {
                line.push(' ');
                line.push_str(&keys.join(", "));
            }
            if !c.nullable && !c.primary_key {
                line.push_str(" \"not null\"");
            }
            out.push_str(&line);
        }
        out.push_str("\n    }");
    }
    for t in tables {
        for fk in &t.foreign_keys {
            let target = crate::schema::qualified(fk.ref_schema.as_deref(), &fk.ref_table);
            let nullable = fk
                .columns
                .iter()
                .any(|c| t.column(c).is_some_and(|c| c.nullable));
            let one = if nullable { "|o" } else { "||" };
            out.push_str(&format!(
                "\n    {} {one}--o{{ {} : \"{}\"",
                ident(&target),
                ident(&t.qualified_name()),
                fk.columns.join(", ")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, ForeignKey};

    #[test]
    fn mermaid_draws_entities_and_relations() {
        let mut users = Table::new("users");
        users.columns = vec![Column::primary("id", ColumnType::Integer)];
        let mut posts = Table::new("posts");
        posts.columns = vec![
            Column::primary("id", ColumnType::Integer),
            Column::new("user_id", ColumnType::Integer).not_null(),
            Column::new("title", ColumnType::String(Some(200))),
        ];
        posts.foreign_keys = vec![ForeignKey {
            columns: vec!["user_id".into()],
            ref_table: "users".into(),
            ref_columns: vec!["id".into()],
            ..ForeignKey::default()
        }];
        let text = mermaid(&[posts, users]);
        assert!(text.starts_with("erDiagram"), "{text}");
        assert!(text.contains("        varchar_200 title"), "{text}");
        assert!(text.contains("integer user_id FK \"not null\""), "{text}");
        assert!(text.contains("users ||--o{ posts : \"user_id\""), "{text}");
    }

    #[test]
    fn json_shape_follows_the_inspector() {
        let mut t = Table::new("items");
        t.columns = vec![
            Column::primary("id", ColumnType::Integer),
            Column::new("price", ColumnType::Numeric(Some((10, 2)))),
        ];
        let v = table_json(
            &t,
            Some(&SourceLocation {
                file: "m.py".into(),
                line: 3,
            }),
        );
        assert_eq!(v["source"], json!({ "file": "m.py", "line": 3 }));
        assert_eq!(v["primary_key"], json!({ "name": null, "columns": ["id"] }));
        assert_eq!(v["columns"][1]["precision"], json!(10));
        assert_eq!(v["columns"][1]["scale"], json!(2));
        assert_eq!(v["columns"][0]["autoincrement"], json!("auto"));
        assert_eq!(v["columns"][1]["type"], json!("numeric(10,2)"));
    }
}
