//! The generated bindings of the three worlds of `wit/plugin.wit`.
//!
//! Input: the WIT package. Output: `SignalHandler` / `SignalHandlerPre` and the
//! `host`, `http` and `types` interfaces at the top of this module;
//! [`discovery_backend`] and [`dialect`] for the other two worlds, which reuse the
//! interfaces generated here and in each other (`with`), so every WIT type has one
//! Rust type. Nothing else lives here: conversions to and from the tool's own types
//! are in `convert.rs`, the import implementations in `sandbox.rs`.

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

/// The `dialect` world: `info`, `type-sql`, `normalize-type`, `render` ...
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

/// The WIT dialect types (`dialect-types` interface).
pub use dialect::sqlalembic::plugin::dialect_types as wit_dialect;
/// The WIT ops (`ops` interface).
pub use dialect::sqlalembic::plugin::ops as wit_ops;
/// The WIT discovery types (`discovery` interface).
pub use discovery_backend::sqlalembic::plugin::discovery as wit_discovery;
/// The WIT schema types (`schema` interface), shared by both worlds that use them.
pub use discovery_backend::sqlalembic::plugin::schema as wit_schema;
