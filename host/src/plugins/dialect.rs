//! [`WasmDialect`]: a SQL dialect implemented by a component of the `dialect` world
//! (`DB_ENGINE = "wasm:plugins/pg_online.wasm"`).
//!
//! Input: the component, its limits and settings. Output: a [`Dialect`] whose name,
//! wire protocol and capabilities the component states once at load, and whose type
//! spellings, type normalisation, quoting and op rendering it computes, each call in
//! the sandbox under the time and memory limits. Type spellings and normalised
//! types are memoised (autogenerate asks for the same few types thousands of times).
//! A render call receives the op and only the tables it touches (see
//! [`context`](crate::dialect::context)), so its cost does not grow with the schema.
//!
//! A component must have the exports of `dialect-core` (every `0.1.x` dialect
//! does); the `table-ops` export (`alter_table`, `create_primary_key`,
//! `drop_primary_key`, since `0.1.2`) is looked up at load and optional, so a
//! dialect built against `0.1.1` still loads and renders every other op. Asked for a
//! table-level op, such a dialect gets a [`DialectError::Plugin`] naming the plugin,
//! the op, the version it was built against and the one to rebuild against.
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

use super::bindings::dialect_core::{DialectCore, DialectCoreIndices};
use super::bindings::{wit_dialect, wit_schema, wit_table_ops};
use super::component::{Guest, Limits, Spec, World};
use super::convert::{self, Malformed, WitOp};
use super::handler::CallError;
use super::sandbox::State;
use super::{CacheState, Error};
use crate::db::Backend;
use crate::dialect::context::context;
use crate::dialect::{self, Capabilities, Dialect, DialectError, Statement};
use crate::ops::Op;
use crate::schema::{ColumnType, Schema};

/// Limits of a dialect component without a `[[plugins]]` entry of its own.
pub const DEFAULT_LIMITS: Limits = Limits {
    timeout: std::time::Duration::from_secs(2),
    memory_mb: 64,
};

/// The name of the optional export that renders the table-level ops (any
/// semver-compatible `0.1.x` version matches).
const TABLE_OPS: &str = "sqlalembic:plugin/table-ops@0.1.2";

/// The WIT version that added [`TABLE_OPS`].
const TABLE_OPS_SINCE: &str = "0.1.2";

/// The exports of one dialect instance: those of `dialect-core`, and `table-ops`
/// when the component has it.
pub(super) struct Bindings {
    core: DialectCore,
    table_ops: TableOps,
}

/// The `table-ops` export of one instance.
enum TableOps {
    Usable(wit_table_ops::Guest),
    /// The component has none: it was built against this `sqlalembic:plugin`
    /// version (when its imports tell), before `0.1.2`.
    Missing(Option<String>),
    /// It has one, but not the interface of `0.1.2`: why.
    Mismatched(String),
}

/// [`Bindings`] looked up once per component.
pub(super) struct BindingsPre {
    pre: InstancePre<State>,
    core: DialectCoreIndices,
    table_ops: Option<wit_table_ops::GuestIndices>,
    /// The `sqlalembic:plugin` version it was built against, from its imports.
    version: Option<String>,
}

impl World for Bindings {
    type Pre = BindingsPre;
    const NAME: &'static str = "sqlalembic:plugin/dialect@0.1.2";
    const EXPORTS: &'static str = "`info`, `quote-ident`, `literal`, `type-sql`, `normalize-type`, `render` and `needs-rebuild` (and, since 0.1.2, `table-ops`)";

    fn pre(pre: InstancePre<State>) -> wasmtime::Result<Self::Pre> {
        let core = DialectCoreIndices::new(&pre)?;
        let component = pre.component();
        let table_ops = match component.get_export_index(None, TABLE_OPS) {
            Some(_) => Some(wit_table_ops::GuestIndices::new(&pre)?),
            None => None,
        };
        let version = component
            .component_type()
            .imports(pre.engine())
            .find_map(|(name, _)| name.strip_prefix("sqlalembic:plugin/"))
            .and_then(|rest| rest.split_once('@'))
            .map(|(_, v)| v.to_owned());
        Ok(BindingsPre {
            pre,
            core,
            table_ops,
            version,
        })
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<State>) -> wasmtime::Result<Self> {
        let instance = pre.pre.instantiate(&mut *store)?;
        let core = pre.core.load(&mut *store, &instance)?;
        // The functions of an exported interface are type-checked here, not in
        // `pre`: a mismatch is kept, and refused by `WasmDialect::load`.
        let table_ops = match &pre.table_ops {
            Some(indices) => match indices.load(&mut *store, &instance) {
                Ok(guest) => TableOps::Usable(guest),
                Err(e) => TableOps::Mismatched(format!("{e:#}")),
            },
            None => TableOps::Missing(pre.version.clone()),
        };
        Ok(Bindings { core, table_ops })
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
        let info = guest.call(|b: &Bindings, store| b.core.call_info(store))?;
        let mismatch = guest.call(|b: &Bindings, _| {
            Ok(match &b.table_ops {
                TableOps::Mismatched(reason) => Some(reason.clone()),
                TableOps::Usable(_) | TableOps::Missing(_) => None,
            })
        })?;
        if let Some(reason) = mismatch {
            return Err(Error::NotWorld {
                path: spec.path.clone(),
                world: Bindings::NAME,
                message: format!(
                    "its `table-ops` export is not the interface of `sqlalembic:plugin@{TABLE_OPS_SINCE}` ({reason})"
                ),
            });
        }
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

    /// `None` when the component exports `table-ops` (it renders `alter_table`,
    /// `create_primary_key` and `drop_primary_key`); else the `sqlalembic:plugin`
    /// version it was built against, when its imports tell (`Some(None)`: older than
    /// `0.1.2`, version unknown).
    pub fn missing_table_ops(&self) -> Option<Option<String>> {
        self.inner
            .guest
            .call(|b: &Bindings, _| {
                Ok(match &b.table_ops {
                    TableOps::Missing(version) => Some(version.clone()),
                    TableOps::Usable(_) | TableOps::Mismatched(_) => None,
                })
            })
            .unwrap_or(Some(None))
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

    /// Why a component without `table-ops` cannot render `op`.
    fn too_old(&self, op: &Op, version: Option<String>) -> DialectError {
        let built = match version {
            Some(v) => format!("was built against `sqlalembic:plugin@{v}`"),
            None => {
                format!("was built against a `sqlalembic:plugin` older than `{TABLE_OPS_SINCE}`")
            }
        };
        DialectError::Plugin {
            plugin: self.plugin().to_owned(),
            message: format!(
                "Dialect plugin `{}` {built} and cannot render `{}`: rebuild it against \
                 `sqlalembic:plugin@{TABLE_OPS_SINCE}` or later, whose `table-ops` export renders \
                 `alter_table`, `create_primary_key` and `drop_primary_key`",
                self.plugin(),
                op.name()
            ),
        }
    }

    fn builtin(&self) -> Box<dyn Dialect> {
        dialect::for_backend(self.inner.backend)
    }
}

fn wit_tables(op: &Op, schema: &Schema) -> Vec<wit_schema::Table> {
    context(op, schema).into_iter().map(Into::into).collect()
}

/// What a component without a usable `table-ops` export answers: the version it
/// was built against, when known.
type NoTableOps = Option<String>;

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
            .call(move |b: &Bindings, store| b.core.call_quote_ident(store, &owned))
        {
            Ok(quoted) if !quoted.trim().is_empty() => quoted,
            other => {
                tracing::error!(plugin = self.plugin(), answer = ?other, "Dialect plugin could not quote an identifier; using the built-in quoting");
                self.builtin().quote_ident(name)
            }
        }
    }

    fn type_sql(&self, ty: &ColumnType) -> Result<String, DialectError> {
        let ty = ty.for_dialect(self.name());
        let guest = &self.inner.guest;
        self.memo(
            &self.inner.types,
            ty,
            |wit| guest.call(move |b: &Bindings, store| b.core.call_type_sql(store, &wit)),
            "type",
        )
    }

    fn literal(&self, text: &str) -> String {
        let owned = text.to_owned();
        match self
            .inner
            .guest
            .call(move |b: &Bindings, store| b.core.call_literal(store, &owned))
        {
            Ok(literal) if !literal.is_empty() => literal,
            other => {
                tracing::error!(plugin = self.plugin(), answer = ?other, "Dialect plugin could not quote a literal; using the built-in quoting");
                self.builtin().literal(text)
            }
        }
    }

    fn render(&self, op: &Op, schema: &Schema) -> Result<Vec<Statement>, DialectError> {
        let op = &*op.for_dialect(self.name());
        if !op.applies_to(self.name()) {
            return Ok(Vec::new());
        }
        let schema = &*schema.for_dialect(self.name());
        let tables = wit_tables(op, schema);
        let guest = &self.inner.guest;
        let answer: Result<Result<Vec<wit_dialect::Statement>, String>, NoTableOps> =
            match WitOp::from(op) {
                WitOp::Op(wit_op) => guest
                    .call(move |b: &Bindings, store| {
                        b.core.call_render(store, &wit_op, &tables).map(Ok)
                    })
                    .map_err(|e| self.failed(e))?,
                WitOp::Table(table_op) => guest
                    .call(move |b: &Bindings, store| match &b.table_ops {
                        TableOps::Usable(t) => t.call_render(store, &table_op, &tables).map(Ok),
                        TableOps::Missing(version) => Ok(Err(version.clone())),
                        // Refused at load; never reached.
                        TableOps::Mismatched(_) => Ok(Err(None)),
                    })
                    .map_err(|e| self.failed(e))?,
            };
        let rendered = answer
            .map_err(|version| self.too_old(op, version))?
            .map_err(|reason| self.refused(&format!("render `{}`", op.name()), &reason))?;
        convert::statements(op, rendered)
            .map_err(|m| self.malformed(&format!("`{}`", op.name()), m))
    }

    fn needs_rebuild(&self, op: &Op, schema: &Schema) -> bool {
        let op = &*op.for_dialect(self.name());
        if !op.applies_to(self.name()) {
            return false;
        }
        let schema = &*schema.for_dialect(self.name());
        let tables = wit_tables(op, schema);
        let answer = match WitOp::from(op) {
            WitOp::Op(wit_op) => self.inner.guest.call(move |b: &Bindings, store| {
                b.core.call_needs_rebuild(store, &wit_op, &tables)
            }),
            WitOp::Table(table_op) => {
                self.inner
                    .guest
                    .call(move |b: &Bindings, store| match &b.table_ops {
                        TableOps::Usable(t) => t.call_needs_rebuild(store, &table_op, &tables),
                        // An op the component cannot receive is refused by `render`.
                        TableOps::Missing(_) | TableOps::Mismatched(_) => Ok(false),
                    })
            }
        };
        answer.unwrap_or_else(|e| {
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
                |wit| {
                    guest.call(move |b: &Bindings, store| b.core.call_normalize_type(store, &wit))
                },
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

    fn text_expr(&self, expr: &str) -> String {
        self.builtin().text_expr(expr)
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
    use crate::schema::Table;
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
                dialects: Vec::new(),
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

    fn table_ops() -> [Op; 4] {
        [
            Op::AlterTable(crate::ops::AlterTable {
                table: "users".into(),
                comment: Some(Some("People's accounts".into())),
                ..Default::default()
            }),
            Op::AlterTable(crate::ops::AlterTable {
                table: "users".into(),
                comment: Some(None),
                ..Default::default()
            }),
            Op::CreatePrimaryKey(crate::ops::CreatePrimaryKey {
                table: "users".into(),
                schema: None,
                name: Some("pk_users".into()),
                columns: vec!["id".into(), "email".into()],
            }),
            Op::DropPrimaryKey(crate::ops::DropPrimaryKey {
                table: "users".into(),
                schema: None,
                name: None,
                columns: Vec::new(),
            }),
        ]
    }

    #[test]
    fn pg_online_renders_table_comments_and_primary_keys_like_the_built_in_dialect() {
        let d = WasmDialect::load(&spec("pg_online", json!({ "lock_timeout": "750ms" })))
            .expect("loads");
        let builtin = dialect::for_backend(Backend::Postgres);
        let mut schema = users();
        for op in table_ops() {
            let out = d.render(&op, &schema).expect("renders");
            let sql: Vec<(&str, bool)> = out
                .iter()
                .map(|s| (s.sql.as_str(), s.transactional))
                .collect();
            assert_eq!(sql[0], ("SET lock_timeout = '750ms'", true), "{op:?}");
            let expected = builtin.render(&op, &schema).expect("built-in renders");
            assert_eq!(out[1..], expected[..], "{op:?}");
            assert!(!d.needs_rebuild(&op, &schema), "{op:?}");
        }
        let rendered = |op: &Op, schema: &Schema| {
            d.render(op, schema).expect("renders")[1..]
                .iter()
                .map(|s| s.sql.clone())
                .collect::<Vec<_>>()
        };
        let [comment, uncomment, create, drop] = table_ops();
        assert_eq!(
            rendered(&comment, &schema),
            ["COMMENT ON TABLE \"users\" IS 'People''s accounts'"]
        );
        assert_eq!(
            rendered(&uncomment, &schema),
            ["COMMENT ON TABLE \"users\" IS NULL"]
        );
        assert_eq!(
            rendered(&create, &schema),
            ["ALTER TABLE \"users\" ADD CONSTRAINT \"pk_users\" PRIMARY KEY (\"id\", \"email\")"]
        );
        assert_eq!(
            rendered(&drop, &schema),
            ["ALTER TABLE \"users\" DROP CONSTRAINT \"users_pkey\""]
        );
        // The key's name comes from the table the op touches (its context).
        schema.tables[0].primary_key = Some(crate::schema::PrimaryKey {
            name: Some("users_key".into()),
            columns: vec!["id".into()],
        });
        assert_eq!(
            rendered(&drop, &schema),
            ["ALTER TABLE \"users\" DROP CONSTRAINT \"users_key\""]
        );
    }

    #[test]
    fn a_dialect_built_against_0_1_1_loads_and_is_refused_only_table_ops() {
        let d = WasmDialect::load(&spec("fixture_dialect_v011", json!({}))).expect("loads");
        assert_eq!(d.name(), "v011");
        assert_eq!(d.backend(), Backend::Sqlite);
        assert_eq!(
            d.render(&create_index(), &users()).expect("renders")[0].sql,
            "CREATE INDEX \"ix_email\" ON \"users\" (\"email\")"
        );
        assert_eq!(d.quote_ident("a"), "\"a\"");
        assert_eq!(d.type_sql(&ColumnType::Integer).as_deref(), Ok("INTEGER"));
        for op in table_ops() {
            let err = d.render(&op, &users()).expect_err("no table-ops export");
            assert!(
                matches!(err, DialectError::Plugin { ref plugin, .. } if plugin == "fixture-dialect-v011")
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "Dialect plugin `fixture-dialect-v011` was built against `sqlalembic:plugin@0.1.1` \
                     and cannot render `{}`: rebuild it against `sqlalembic:plugin@0.1.2` or later, \
                     whose `table-ops` export renders `alter_table`, `create_primary_key` and \
                     `drop_primary_key`",
                    op.name()
                )
            );
            assert!(!d.needs_rebuild(&op, &users()));
        }
        // The refusal traps nothing: the same instance goes on rendering.
        assert_eq!(
            d.render(&create_index(), &users()).expect("renders")[0].sql,
            "CREATE INDEX \"ix_email\" ON \"users\" (\"email\")"
        );
    }

    #[test]
    fn a_dialect_without_table_op_rendering_refuses_them_by_name() {
        // Built with the SDK against 0.1.2, without `render_table_op`.
        let d = bad("none", "none");
        let [comment, ..] = table_ops();
        let err = d.render(&comment, &users()).expect_err("not rendered");
        assert_eq!(
            err.to_string(),
            "Plugin `fixture-bad-dialect` cannot render `alter_table`: dialect `bad` does not render `alter_table`"
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
            text.contains("is not a `sqlalembic:plugin/dialect@0.1.2` component")
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
