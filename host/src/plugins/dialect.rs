//! [`WasmDialect`]: a SQL dialect implemented by a component of the `dialect` world
//! (`DB_ENGINE = "wasm:plugins/pg_online.wasm"`).
//!
//! Input: the component, its limits and settings. Output: a [`Dialect`] whose name,
//! wire protocol and capabilities the component states once at load, and whose type
//! spellings, type normalisation, quoting and op rendering it computes, each call in
//! the sandbox under the time and memory limits. Type spellings and normalised
//! types are memoised (autogenerate asks for the same few types thousands of times).
//! A render call receives the op and only the tables it touches (see
//! [`context`]), so its cost does not grow with the schema.
//!
//! It refuses to pass on anything malformed: a trap, a time-out, a memory overrun,
//! an `err`, or an answer with an empty statement become a [`DialectError::Plugin`]
//! naming the plugin and what it returned, so the runner renders nothing of a
//! revision it cannot render whole. The version and history tables are rendered by
//! the component too (the history table through `render(create_table)`); quoting
//! falls back to the built-in dialect of the protocol if the component fails.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::bindings::dialect::{Dialect as Bindings, DialectPre};
use super::bindings::{wit_ops, wit_schema};
use super::component::{Guest, Limits, Spec, World};
use super::convert::{self, Malformed};
use super::handler::CallError;
use super::sandbox::State;
use super::{CacheState, Error};
use crate::db::Backend;
use crate::dialect::{self, Capabilities, Dialect, DialectError, Statement};
use crate::ops::Op;
use crate::schema::{ColumnType, Schema, Table};

/// Limits of a dialect component without a `[[plugins]]` entry of its own.
pub const DEFAULT_LIMITS: Limits = Limits {
    timeout: std::time::Duration::from_secs(2),
    memory_mb: 64,
};

impl World for Bindings {
    type Pre = DialectPre<State>;
    const NAME: &'static str = "sqlalembic:plugin/dialect@0.1.1";
    const EXPORTS: &'static str = "`info`, `quote-ident`, `literal`, `type-sql`, `normalize-type`, `render` and `needs-rebuild`";

    fn pre(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre> {
        DialectPre::new(pre)
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<State>) -> wasmtime::Result<Self> {
        pre.instantiate(store)
    }
}

type Memo = Mutex<HashMap<ColumnType, Result<String, DialectError>>>;

struct Inner {
    guest: Guest<Bindings>,
    name: String,
    backend: Backend,
    capabilities: Capabilities,
    types: Memo,
    keys: Memo,
}

/// A dialect plugin, loaded and introduced (cheap to clone).
#[derive(Clone)]
pub struct WasmDialect {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WasmDialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmDialect")
            .field("name", &self.inner.name)
            .field("backend", &self.inner.backend)
            .field("path", &self.inner.guest.path)
            .finish_non_exhaustive()
    }
}

impl WasmDialect {
    /// Loads the component of `spec` and asks it who it is.
    pub fn load(spec: &Spec) -> Result<WasmDialect, Error> {
        let guest = Guest::<Bindings>::load(spec)?;
        let info = guest.call(|b: &Bindings, store| b.call_info(store))?;
        let name = info.name.trim().to_owned();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(Error::Call(CallError::Returned {
                plugin: spec.name.clone(),
                message: format!(
                    "its `info` names the dialect `{}`: expected one word, e.g. `pg-online`",
                    info.name
                ),
            }));
        }
        Ok(WasmDialect {
            inner: Arc::new(Inner {
                name,
                backend: info.protocol.into(),
                capabilities: info.capabilities.into(),
                guest,
                types: Mutex::new(HashMap::new()),
                keys: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The plugin's name in messages (its `[[plugins]]` name or file stem).
    pub fn plugin(&self) -> &str {
        self.inner.guest.name()
    }

    /// The component file (absolute).
    pub fn path(&self) -> &std::path::Path {
        &self.inner.guest.path
    }

    /// The component's sha256.
    pub fn sha256(&self) -> &str {
        &self.inner.guest.sha256
    }

    /// How the compiled component was obtained.
    pub fn cache_state(&self) -> &CacheState {
        &self.inner.guest.cache_state
    }

    fn failed(&self, e: CallError) -> DialectError {
        DialectError::Plugin {
            plugin: self.plugin().to_owned(),
            message: e.to_string(),
        }
    }

    fn refused(&self, what: &str, message: &str) -> DialectError {
        DialectError::Plugin {
            plugin: self.plugin().to_owned(),
            message: format!("Plugin `{}` cannot {what}: {message}", self.plugin()),
        }
    }

    fn malformed(&self, what: &str, Malformed(m): Malformed) -> DialectError {
        DialectError::Plugin {
            plugin: self.plugin().to_owned(),
            message: format!(
                "Plugin `{}` returned a malformed answer for {what}: {m}",
                self.plugin()
            ),
        }
    }

    fn memo(
        &self,
        memo: &Memo,
        ty: &ColumnType,
        call: impl FnOnce(wit_schema::ColumnType) -> Result<Result<String, String>, CallError>,
        what: &str,
    ) -> Result<String, DialectError> {
        if let Some(known) = memo.lock().unwrap_or_else(PoisonError::into_inner).get(ty) {
            return known.clone();
        }
        let answer = match call(ty.into()) {
            Ok(Ok(text)) if !text.trim().is_empty() => Ok(text),
            Ok(Ok(_)) => {
                Err(self.malformed(&format!("{what} `{ty}`"), Malformed("an empty type".into())))
            }
            Ok(Err(reason)) => Err(DialectError::UnsupportedType {
                dialect: self.inner.name.clone(),
                ty: ty.to_string(),
                reason,
            }),
            // A crash is not an answer about this type: not memoised.
            Err(e) => return Err(self.failed(e)),
        };
        memo.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(ty.clone(), answer.clone());
        answer
    }

    fn builtin(&self) -> Box<dyn Dialect> {
        dialect::for_backend(self.inner.backend)
    }
}

/// The tables a dialect gets with `op`: the tables it names (for a foreign key, the
/// referenced table too) and, when the op uses a named enum type or drops or
/// retypes a column of one, every table with a column of that type (so the dialect
/// can tell whether to create or drop the type). Without enums this is a lookup
/// by name: the cost of a render does not grow with the schema.
pub fn context<'a>(op: &Op, schema: &'a Schema) -> Vec<&'a Table> {
    fn fk_targets<'o>(
        fks: &'o [crate::schema::ForeignKey],
        named: &mut Vec<(Option<&'o str>, &'o str)>,
    ) {
        for fk in fks {
            named.push((fk.ref_schema.as_deref(), fk.ref_table.as_str()));
        }
    }
    let mut named: Vec<(Option<&str>, &str)> = Vec::new();
    // Named enum types the op introduces.
    let mut enums: Vec<&str> = Vec::new();
    // (table, column) whose current enum types count too; `None`: every column.
    let mut dropping: Option<(Option<&str>, &str, Option<&str>)> = None;
    match op {
        Op::CreateTable(c) => {
            named.push((c.table.schema.as_deref(), &c.table.name));
            fk_targets(&c.table.foreign_keys, &mut named);
            enums.extend(c.table.columns.iter().filter_map(|c| enum_name(&c.ty)));
        }
        Op::DropTable(d) => {
            named.push((d.schema.as_deref(), &d.table));
            dropping = Some((d.schema.as_deref(), &d.table, None));
        }
        Op::AlterTable(a) => named.push((a.schema.as_deref(), &a.table)),
        Op::CreatePrimaryKey(c) => named.push((c.schema.as_deref(), &c.table)),
        Op::DropPrimaryKey(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::RenameTable(r) => {
            named.push((r.schema.as_deref(), &r.table));
            named.push((r.schema.as_deref(), &r.new_name));
        }
        Op::AddColumn(a) => {
            named.push((a.schema.as_deref(), &a.table));
            enums.extend(enum_name(&a.column.ty));
        }
        Op::DropColumn(d) => {
            named.push((d.schema.as_deref(), &d.table));
            dropping = Some((d.schema.as_deref(), &d.table, Some(&d.column)));
        }
        Op::AlterColumn(a) => {
            named.push((a.schema.as_deref(), &a.table));
            if let Some(ty) = &a.ty {
                enums.extend(enum_name(ty));
                enums.extend(a.existing_type.as_ref().and_then(enum_name));
                dropping = Some((a.schema.as_deref(), &a.table, Some(&a.column)));
            }
        }
        Op::CreateIndex(c) => named.push((c.schema.as_deref(), &c.index.table)),
        Op::DropIndex(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::CreateUnique(c) => named.push((c.schema.as_deref(), &c.table)),
        Op::DropUnique(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::CreateForeignKey(c) => {
            named.push((c.schema.as_deref(), &c.table));
            fk_targets(std::slice::from_ref(&c.foreign_key), &mut named);
        }
        Op::DropForeignKey(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::CreateCheck(c) => named.push((c.schema.as_deref(), &c.table)),
        Op::DropCheck(d) => named.push((d.schema.as_deref(), &d.table)),
        Op::Sql(_) => {}
    }
    if let Some((s, table, column)) = dropping
        && let Some(t) = schema.table(s, table)
    {
        enums.extend(
            t.columns
                .iter()
                .filter(|c| column.is_none_or(|name| c.name == name))
                .filter_map(|c| enum_name(&c.ty)),
        );
    }
    schema
        .tables
        .iter()
        .filter(|t| {
            named
                .iter()
                .any(|(s, n)| *n == t.name && *s == t.schema.as_deref())
                || (!enums.is_empty()
                    && t.columns
                        .iter()
                        .any(|c| enum_name(&c.ty).is_some_and(|e| enums.contains(&e))))
        })
        .collect()
}

/// The name of a named enum type (or of an array of one).
fn enum_name(ty: &ColumnType) -> Option<&str> {
    match ty {
        ColumnType::Enum { name, .. } => name.as_deref(),
        ColumnType::Array(inner) => enum_name(inner),
        _ => None,
    }
}

fn wit_context(
    op: &Op,
    schema: &Schema,
) -> Result<(wit_ops::Op, Vec<wit_schema::Table>), convert::OpNotForPlugins> {
    Ok((
        op.try_into()?,
        context(op, schema).into_iter().map(Into::into).collect(),
    ))
}

impl Dialect for WasmDialect {
    fn name(&self) -> &str {
        &self.inner.name
    }

    fn backend(&self) -> Backend {
        self.inner.backend
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities
    }

    fn quote_ident(&self, name: &str) -> String {
        let owned = name.to_owned();
        match self
            .inner
            .guest
            .call(move |b: &Bindings, store| b.call_quote_ident(store, &owned))
        {
            Ok(quoted) if !quoted.trim().is_empty() => quoted,
            other => {
                tracing::error!(plugin = self.plugin(), answer = ?other, "Dialect plugin could not quote an identifier; using the built-in quoting");
                self.builtin().quote_ident(name)
            }
        }
    }

    fn type_sql(&self, ty: &ColumnType) -> Result<String, DialectError> {
        let guest = &self.inner.guest;
        self.memo(
            &self.inner.types,
            ty,
            |wit| guest.call(move |b: &Bindings, store| b.call_type_sql(store, &wit)),
            "type",
        )
    }

    fn literal(&self, text: &str) -> String {
        let owned = text.to_owned();
        match self
            .inner
            .guest
            .call(move |b: &Bindings, store| b.call_literal(store, &owned))
        {
            Ok(literal) if !literal.is_empty() => literal,
            other => {
                tracing::error!(plugin = self.plugin(), answer = ?other, "Dialect plugin could not quote a literal; using the built-in quoting");
                self.builtin().literal(text)
            }
        }
    }

    fn render(&self, op: &Op, schema: &Schema) -> Result<Vec<Statement>, DialectError> {
        let (wit_op, tables) = wit_context(op, schema).map_err(|e| DialectError::Unsupported {
            op: op.name().to_owned(),
            dialect: self.name().to_owned(),
            reason: e.to_string(),
        })?;
        let rendered = self
            .inner
            .guest
            .call(move |b: &Bindings, store| b.call_render(store, &wit_op, &tables))
            .map_err(|e| self.failed(e))?
            .map_err(|reason| self.refused(&format!("render `{}`", op.name()), &reason))?;
        convert::statements(op, rendered)
            .map_err(|m| self.malformed(&format!("`{}`", op.name()), m))
    }

    fn needs_rebuild(&self, op: &Op, schema: &Schema) -> bool {
        // An op plugins cannot receive is refused by `render`, not rebuilt.
        let Ok((wit_op, tables)) = wit_context(op, schema) else {
            return false;
        };
        self.inner
            .guest
            .call(move |b: &Bindings, store| b.call_needs_rebuild(store, &wit_op, &tables))
            .unwrap_or_else(|e| {
                tracing::error!(plugin = self.plugin(), error = %e, "Dialect plugin failed in `needs-rebuild`");
                false
            })
    }

    fn types_equivalent(&self, a: &ColumnType, b: &ColumnType) -> bool {
        let guest = &self.inner.guest;
        let key = |ty: &ColumnType| {
            self.memo(
                &self.inner.keys,
                ty,
                |wit| guest.call(move |b: &Bindings, store| b.call_normalize_type(store, &wit)),
                "normalised type",
            )
        };
        match (key(a), key(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        }
    }

    fn create_history_table(&self, table: &str) -> Result<String, DialectError> {
        let create = self.render(
            &Op::CreateTable(crate::ops::CreateTable {
                table: dialect::history_table(table),
            }),
            &Schema::default(),
        )?;
        // A dialect may set session options first (`SET lock_timeout`): take the
        // `CREATE TABLE` itself.
        let found = create.into_iter().map(|s| s.sql).find(|sql| {
            sql.trim_start()
                .to_ascii_uppercase()
                .starts_with("CREATE TABLE")
        });
        match found {
            Some(sql) => Ok(sql.replacen("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)),
            None => self.builtin().create_history_table(table),
        }
    }

    fn lock_sql(&self, key: &str) -> Option<String> {
        self.builtin().lock_sql(key)
    }

    fn unlock_sql(&self, key: &str) -> Option<String> {
        self.builtin().unlock_sql(key)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::plugins::testing::{rust_component, shared_cache_dir};
    use crate::schema::{Column, Index};

    fn spec(component: &str, settings: serde_json::Value) -> Spec {
        Spec {
            name: component.replace('_', "-"),
            path: rust_component(component),
            limits: Limits {
                timeout: Duration::from_millis(1_500),
                memory_mb: 32,
            },
            settings,
            cache_dir: shared_cache_dir(),
        }
    }

    fn bad(fail_on: &str, mode: &str) -> WasmDialect {
        WasmDialect::load(&spec(
            "fixture_bad_dialect",
            json!({ "fail_on": fail_on, "mode": mode }),
        ))
        .expect("loads")
    }

    fn users() -> Schema {
        let mut t = Table::new("users");
        t.columns = vec![
            Column::primary("id", ColumnType::Integer),
            Column::new("email", ColumnType::String(Some(200))),
        ];
        Schema { tables: vec![t] }
    }

    fn create_index() -> Op {
        Op::CreateIndex(crate::ops::CreateIndex {
            schema: None,
            index: Index {
                name: "ix_email".into(),
                table: "users".into(),
                columns: vec!["email".into()],
                unique: false,
                where_: None,
            },
        })
    }

    #[test]
    fn pg_online_introduces_itself_and_renders_online_ddl() {
        let d = WasmDialect::load(&spec("pg_online", json!({ "lock_timeout": "750ms" })))
            .expect("loads");
        assert_eq!(d.name(), "pg-online");
        assert_eq!(d.backend(), Backend::Postgres);
        assert!(d.capabilities().transactional_ddl && d.capabilities().named_enums);
        assert_eq!(d.quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(d.literal("it's"), "'it''s'");
        assert_eq!(
            d.type_sql(&ColumnType::parse("varchar(20)[]")).as_deref(),
            Ok("VARCHAR(20)[]")
        );
        assert!(matches!(
            d.type_sql(&ColumnType::parse("enum('a')")),
            Err(DialectError::UnsupportedType { .. })
        ));
        assert!(d.types_equivalent(
            &ColumnType::parse("varchar(5)"),
            &ColumnType::parse("character varying(5)")
        ));
        let out = d.render(&create_index(), &users()).expect("renders");
        let sql: Vec<(&str, bool)> = out
            .iter()
            .map(|s| (s.sql.as_str(), s.transactional))
            .collect();
        assert_eq!(
            sql,
            [
                ("SET lock_timeout = '750ms'", true),
                ("DROP INDEX CONCURRENTLY IF EXISTS \"ix_email\"", false),
                (
                    "CREATE INDEX CONCURRENTLY \"ix_email\" ON \"users\" (\"email\")",
                    false
                ),
            ]
        );
        let history = d
            .create_history_table("sqlalembic_history")
            .expect("renders");
        assert!(
            history.starts_with("CREATE TABLE IF NOT EXISTS \"sqlalembic_history\""),
            "{history}"
        );
    }

    #[test]
    fn only_the_tables_an_op_touches_are_sent() {
        let mut schema = users();
        schema.tables.push(Table::new("unrelated"));
        let mut moods = Table::new("moods");
        moods
            .columns
            .push(Column::new("m", ColumnType::parse("enum(mood, 'a')")));
        schema.tables.push(moods);
        let names = |op: &Op| -> Vec<String> {
            context(op, &schema)
                .iter()
                .map(|t| t.name.clone())
                .collect()
        };
        assert_eq!(names(&create_index()), ["users"]);
        // An op using or dropping an enum type gets every table using that type.
        let add = Op::AddColumn(crate::ops::AddColumn {
            table: "users".into(),
            schema: None,
            column: Column::new("m", ColumnType::parse("enum(mood, 'a')")),
        });
        assert_eq!(names(&add), ["users", "moods"]);
        let drop = Op::DropTable(crate::ops::DropTable {
            table: "moods".into(),
            schema: None,
            definition: None,
        });
        assert_eq!(names(&drop), ["moods"]);
        let mut other = Table::new("other_moods");
        other
            .columns
            .push(Column::new("m", ColumnType::parse("enum(mood, 'a')")));
        schema.tables.push(other);
        assert_eq!(
            context(&drop, &schema)
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>(),
            ["moods", "other_moods"]
        );
    }

    #[test]
    fn a_misbehaving_dialect_is_stopped_and_named() {
        let schema = users();
        for (mode, expected) in [
            (
                "loop",
                "Plugin `fixture-bad-dialect` ran past its time limit of 1500 ms",
            ),
            (
                "memory",
                "Plugin `fixture-bad-dialect` went over its memory limit of 32 MiB",
            ),
            (
                "trap",
                "Plugin `fixture-bad-dialect` crashed (trap: wasm `unreachable` instruction executed; it said: ",
            ),
            (
                "err",
                "Plugin `fixture-bad-dialect` cannot render `create_index`: bad refuses `create_index`",
            ),
            (
                "empty",
                "Plugin `fixture-bad-dialect` returned a malformed answer for `create_index`: statement 1 for `create_index` is empty",
            ),
        ] {
            let d = bad("create_index", mode);
            let err = d.render(&create_index(), &schema).expect_err(mode);
            let text = err.to_string();
            assert!(text.starts_with(expected), "{mode}: {text}");
            assert!(
                matches!(err, DialectError::Plugin { ref plugin, .. } if plugin == "fixture-bad-dialect")
            );
            // The next call gets a fresh instance and works.
            let drop = Op::DropTable(crate::ops::DropTable {
                table: "users".into(),
                schema: None,
                definition: None,
            });
            assert_eq!(
                d.render(&drop, &schema).expect("recovers")[0].sql,
                "DROP TABLE \"users\""
            );
        }
        let trapped = bad("create_index", "trap")
            .render(&create_index(), &schema)
            .expect_err("trap")
            .to_string();
        assert!(
            trapped.contains("bad dialect trapped in `create_index`"),
            "{trapped}"
        );
    }

    #[test]
    fn a_dialect_failing_at_load_or_of_another_world_is_refused() {
        let err = WasmDialect::load(&spec(
            "fixture_bad_dialect",
            json!({ "fail_on": "info", "mode": "err" }),
        ))
        .expect_err("info traps");
        assert!(
            err.to_string()
                .starts_with("Plugin `fixture-bad-dialect` crashed"),
            "{err}"
        );
        let err = WasmDialect::load(&spec("audit", json!({}))).expect_err("a signal handler");
        let text = err.to_string();
        assert!(
            text.contains("is not a `sqlalembic:plugin/dialect@0.1.1` component")
                && text.contains("does not export `info`"),
            "{text}"
        );
    }

    #[test]
    fn calls_from_inside_an_async_runtime_go_to_the_worker_thread() {
        let d = bad("none", "none");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let out = rt.block_on(async { d.render(&create_index(), &users()) });
        assert_eq!(
            out.expect("renders")[0].sql,
            "CREATE INDEX \"ix_email\" ON \"users\" (\"email\")"
        );
    }
}
