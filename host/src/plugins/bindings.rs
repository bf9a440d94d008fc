//! The generated bindings of the three worlds of `wit/plugin.wit`.
//!
//! Input: the WIT package. Output: `SignalHandler` / `SignalHandlerPre` and the
//! `host`, `http` and `types` interfaces at the top of this module;
//! [`discovery_backend`] and [`dialect`] / [`dialect_core`] for the other two
//! worlds, which reuse the interfaces generated here and in each other (`with`), so
//! every WIT type has one Rust type. A dialect is bound twice: `dialect-core` for
//! the exports every `0.1.x` dialect has, and `dialect` only for its optional
//! `table-ops` export (since `0.1.2`), which the host looks up separately so that
//! dialects built against `0.1.1` still load. Nothing else lives here: conversions
//! to and from the tool's own types are in `convert.rs`, the import implementations
//! in `sandbox.rs`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "signal-handler",
});

/// The `discovery-backend` world: `discover(request)` and the `project` import.
pub mod discovery_backend {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "discovery-backend",
        with: {
            "sqlalembic:plugin/types": super::sqlalembic::plugin::types,
            "sqlalembic:plugin/host": super::sqlalembic::plugin::host,
        },
    });
}

/// The `dialect` world: [`dialect_core`] plus the `table-ops` export. The host
/// uses only its `exports::sqlalembic::plugin::table_ops` (optional at load) and
/// the `ops` and `dialect-types` interfaces generated here.
pub mod dialect {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "dialect",
        with: {
            "sqlalembic:plugin/types": super::sqlalembic::plugin::types,
            "sqlalembic:plugin/host": super::sqlalembic::plugin::host,
            "sqlalembic:plugin/schema": super::discovery_backend::sqlalembic::plugin::schema,
        },
    });
}

/// The `dialect-core` world: `info`, `type-sql`, `normalize-type`, `render` ...,
/// the exports every dialect must have.
pub mod dialect_core {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "dialect-core",
        with: {
            "sqlalembic:plugin/types": super::sqlalembic::plugin::types,
            "sqlalembic:plugin/host": super::sqlalembic::plugin::host,
            "sqlalembic:plugin/schema": super::discovery_backend::sqlalembic::plugin::schema,
            "sqlalembic:plugin/ops": super::dialect::sqlalembic::plugin::ops,
            "sqlalembic:plugin/dialect-types": super::dialect::sqlalembic::plugin::dialect_types,
        },
    });
}

/// The optional `table-ops` export of a dialect (since `0.1.2`).
pub use dialect::exports::sqlalembic::plugin::table_ops as wit_table_ops;
/// The WIT dialect types (`dialect-types` interface).
pub use dialect::sqlalembic::plugin::dialect_types as wit_dialect;
/// The WIT ops (`ops` interface).
pub use dialect::sqlalembic::plugin::ops as wit_ops;
/// The WIT discovery types (`discovery` interface).
pub use discovery_backend::sqlalembic::plugin::discovery as wit_discovery;
/// The WIT schema types (`schema` interface), shared by both worlds that use them.
pub use discovery_backend::sqlalembic::plugin::schema as wit_schema;
