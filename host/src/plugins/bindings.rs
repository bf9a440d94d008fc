//! The generated bindings of the `signal-handler` world (`wit/plugin.wit`).
//!
//! Input: the WIT package. Output: `SignalHandler` / `SignalHandlerPre` and the
//! `host` and `http` import traits. Nothing else lives here: conversions to and from
//! the tool's own types are in `convert.rs`, the import implementations in
//! `sandbox.rs`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "signal-handler",
});
