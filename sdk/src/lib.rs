//! Write sqlalembic plugins in Rust: signal handlers, discovery backends and SQL
//! dialects.
//!
//! A plugin is a WebAssembly component of one world of the WIT package
//! `sqlalembic:plugin@0.1.2` (the `wit/` folder of the repository):
//!
//! - `signal-handler`: [`Handler`] + [`export_handler!`] (this page);
//! - `discovery-backend`: [`discovery::Backend`] + [`export_discovery_backend!`]
//!   (reads model files of its own kind, returns tables; worked example:
//!   `plugins/prisma-discovery`);
//! - `dialect`: [`dialect::Dialect`] + [`export_dialect!`] (renders operations to
//!   SQL; worked example: `plugins/pg-online`).
//!
//! [`schema`] holds the IR types both of the last two use, with constructors, and
//! [`sql`] quoting and statement splitting. This crate generates the bindings once
//! and hides them behind a trait and a macro per world. A signal handler:
//!
//! ```ignore
//! use sqlalembic_plugin::{Handler, Signal, Verdict, log};
//!
//! struct Hello;
//!
//! impl Handler for Hello {
//!     fn handle(signal: Signal) -> Result<Verdict, String> {
//!         log::info(&format!("{} during `{}`", signal.name, signal.command));
//!         Ok(Verdict::Proceed)
//!     }
//! }
//!
//! sqlalembic_plugin::export_handler!(Hello);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2` and point a
//! `[[plugins]]` entry at `target/wasm32-wasip2/release/<crate>.wasm`.
//!
//! Inside the sandbox the standard library works as usual for what the plugin's
//! `allow` entry grants: `std::fs` in the `allow.read` / `allow.write` folders (by
//! their path relative to the project root, e.g. `logs/audit.jsonl`), `std::env::var`
//! for the `allow.env` variables, standard `wasi:http` ([`http::send`], or any
//! `wasi:http` client) for the `allow.http` hosts. Nothing else is there: no argv,
//! no stdout (log through [`log`]), no other files, no sockets.

pub mod dialect;
pub mod discovery;
pub mod schema;
pub mod sql;

/// The generated bindings (`wit-bindgen`); use the re-exports below instead.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)] // generated code
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "signal-handler",
        pub_export_macro: true,
        export_macro_name: "__export_signal_handler",
        default_bindings_module: "::sqlalembic_plugin::bindings",
    });
}

use bindings::sqlalembic::plugin::{host, types};

pub use serde_json::{self, Value};

/// One signal: its name, the command it belongs to, its JSON payload and when it
/// was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// e.g. `migration_migrate_command`, `revision_applied`, `command_finished`.
    pub name: String,
    /// e.g. `migrate`.
    pub command: String,
    /// The payload as JSON text (secrets already masked).
    pub payload_json: String,
    /// RFC 3339 UTC, e.g. `2026-11-25T18:00:00.123456Z`.
    pub timestamp: String,
}

impl Signal {
    /// The payload parsed (`Value::Null` if the host ever sent invalid JSON).
    pub fn payload(&self) -> Value {
        serde_json::from_str(&self.payload_json).unwrap_or(Value::Null)
    }

    /// Whether this is a start signal, the only kind a policy's deny counts on.
    pub fn is_start(&self) -> bool {
        self.name == "alembic_command_started"
            || (self.name.starts_with("migration_") && self.name.ends_with("_command"))
    }
}

/// What the handler says about a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go on.
    Proceed,
    /// Go on, and show this message.
    Warn(String),
    /// Stop the command (counts only for a policy plugin on a start signal).
    Deny(String),
}

/// A signal handler: implement this on a unit type and export it with
/// [`export_handler!`].
pub trait Handler {
    /// Looks at one signal. `Err` is reported with the plugin's name; the command
    /// goes on or stops as the plugin's `on_error` says.
    fn handle(signal: Signal) -> Result<Verdict, String>;
}

/// Exports a [`Handler`] as the component's `handle` function.
#[macro_export]
macro_rules! export_handler {
    ($handler:ty) => {
        #[doc(hidden)]
        pub struct __SqlalembicExport;

        impl $crate::bindings::Guest for __SqlalembicExport {
            fn handle(
                signal: $crate::bindings::sqlalembic::plugin::types::Signal,
            ) -> ::core::result::Result<
                $crate::bindings::sqlalembic::plugin::types::Verdict,
                ::std::string::String,
            > {
                $crate::__private::call::<$handler>(signal)
            }
        }

        $crate::bindings::__export_signal_handler!(__SqlalembicExport with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub mod __private {
    use super::{Handler, Signal, Verdict, types};

    pub fn call<H: Handler>(signal: types::Signal) -> Result<types::Verdict, String> {
        let signal = Signal {
            name: signal.name,
            command: signal.command,
            payload_json: signal.payload,
            timestamp: signal.timestamp,
        };
        H::handle(signal).map(|v| match v {
            Verdict::Proceed => types::Verdict::Proceed,
            Verdict::Warn(m) => types::Verdict::Warn(m),
            Verdict::Deny(r) => types::Verdict::Deny(r),
        })
    }
}

/// Lines in the tool's log, tagged with the plugin's name.
pub mod log {
    use super::{host, types::LogLevel};

    pub fn trace(message: &str) {
        host::log(LogLevel::Trace, message);
    }
    pub fn debug(message: &str) {
        host::log(LogLevel::Debug, message);
    }
    pub fn info(message: &str) {
        host::log(LogLevel::Info, message);
    }
    pub fn warn(message: &str) {
        host::log(LogLevel::Warn, message);
    }
    pub fn error(message: &str) {
        host::log(LogLevel::Error, message);
    }
}

/// The plugin's own `settings` table, read-only.
pub mod settings {
    use super::{Value, host};

    /// Every setting as a JSON object.
    pub fn all() -> Value {
        serde_json::from_str(&host::settings()).unwrap_or(Value::Null)
    }

    /// One setting, or `None` when it is not set.
    pub fn get(key: &str) -> Option<Value> {
        host::setting(key).and_then(|text| serde_json::from_str(&text).ok())
    }

    /// One string setting, or `None` when it is not set or not a string.
    pub fn string(key: &str) -> Option<String> {
        match get(key) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

/// Files in the plugin's granted folders, through the host (paths relative to the
/// project root). `std::fs` works too; these calls are what Python and JavaScript
/// guests use, and they refuse any path that leaves a granted folder.
pub mod files {
    use super::host;

    /// A whole file inside an `allow.read` or `allow.write` folder.
    pub fn read(path: &str) -> Result<Vec<u8>, String> {
        host::read_file(path)
    }

    /// Appends `data` (one write) to a file inside an `allow.write` folder.
    pub fn append(path: &str, data: &[u8]) -> Result<(), String> {
        host::append_file(path, data)
    }
}

/// Outgoing HTTP through standard `wasi:http` (WASI 0.2's `outgoing-handler`), to
/// the hosts of the plugin's `allow.http` and no other.
///
/// The host judges every request before it resolves or connects anything: the
/// scheme (`http` or `https`), the host and the port must be granted. A refused
/// request fails with `HTTP-request-denied` (the host logs why, with the plugin's
/// name); any request still waiting when the plugin's `timeout_ms` is up fails too.
/// Any other `wasi:http` client (`wstd`, `waki`, the `wasip2` bindings) gets the
/// same treatment; these helpers are the blocking few lines most plugins need.
pub mod http {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
    };
    use wasip2::io::streams::StreamError;

    /// The largest response body read (1 MiB), as the host's `http.send` allows.
    pub const MAX_BODY: usize = 1 << 20;

    /// A request to send.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct Request {
        /// `GET`, `POST`, `PUT` ...
        pub method: String,
        /// An absolute `http://` or `https://` URL.
        pub url: String,
        /// Extra headers; `host`, `content-length` and `connection` are set for you.
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    /// The response the server sent (header names in lower case).
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Response {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    /// Sends a request through `wasi:http` and reads the whole response; `Err` says
    /// why it was refused or failed.
    pub fn send(request: &Request) -> Result<Response, String> {
        let (scheme, authority, path) = split_url(&request.url)?;
        let mut entries = Vec::new();
        for (name, value) in &request.headers {
            let reserved = ["host", "content-length", "connection"];
            if !reserved.iter().any(|r| name.eq_ignore_ascii_case(r)) {
                entries.push((name.to_ascii_lowercase(), value.clone().into_bytes()));
            }
        }
        entries.push((
            "content-length".to_owned(),
            request.body.len().to_string().into_bytes(),
        ));
        let headers =
            Fields::from_list(&entries).map_err(|e| format!("Invalid request header: {e:?}"))?;
        let outgoing = OutgoingRequest::new(headers);
        let invalid = |what: &str| format!("Invalid {what} in `{}`", request.url);
        outgoing
            .set_method(&method(&request.method))
            .map_err(|()| format!("Invalid HTTP method `{}`", request.method))?;
        outgoing
            .set_scheme(Some(&scheme))
            .map_err(|()| invalid("scheme"))?;
        outgoing
            .set_authority(Some(authority))
            .map_err(|()| invalid("host"))?;
        outgoing
            .set_path_with_query(Some(&path))
            .map_err(|()| invalid("path"))?;
        let body = outgoing.body().map_err(|()| invalid("request"))?;
        let failed = |code: ErrorCode| match code {
            ErrorCode::HttpRequestDenied => format!(
                "HTTP request to `{authority}` refused: its host is not in this plugin's `allow.http`"
            ),
            other => format!("HTTP request to `{authority}` failed: {other:?}"),
        };
        let pending = outgoing_handler::handle(outgoing, None).map_err(failed)?;
        // The host sends the body while it is written; a refused request has no
        // reader, so a write error is reported only if the response has none.
        let written = write_body(body, &request.body);
        let response = loop {
            match pending.get() {
                Some(Ok(result)) => break result.map_err(failed)?,
                Some(Err(())) => return Err("The HTTP response was already taken".to_owned()),
                None => pending.subscribe().block(),
            }
        };
        written?;
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| "The HTTP response body was already taken".to_owned())?;
        let body = read_body(&incoming, authority)?;
        drop(IncomingBody::finish(incoming));
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// `POST`s a JSON body to `url` through `wasi:http`.
    pub fn post_json(url: &str, body: &super::Value) -> Result<Response, String> {
        send(&json_post(url, body))
    }

    /// The same request through the host's `sqlalembic:plugin/http` import (the
    /// interface Python and JavaScript guests use): the same check, the same client,
    /// plain `http.send` semantics.
    pub fn send_via_host(request: &Request) -> Result<Response, String> {
        use super::bindings::sqlalembic::plugin::http as host_http;
        let response = host_http::send(&host_http::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
        })?;
        Ok(Response {
            status: response.status,
            headers: response.headers,
            body: response.body,
        })
    }

    fn json_post(url: &str, body: &super::Value) -> Request {
        Request {
            method: "POST".to_owned(),
            url: url.to_owned(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.to_string().into_bytes(),
        }
    }

    fn method(name: &str) -> Method {
        match name.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "CONNECT" => Method::Connect,
            "OPTIONS" => Method::Options,
            "TRACE" => Method::Trace,
            "PATCH" => Method::Patch,
            other => Method::Other(other.to_owned()),
        }
    }

    /// `scheme://authority/path?query` (the fragment dropped) in its three parts.
    fn split_url(url: &str) -> Result<(Scheme, &str, String), String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("`{url}` is not an absolute URL"))?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else {
            Scheme::Other(scheme.to_owned())
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() {
            return Err(format!("`{url}` has no host"));
        }
        let tail = tail.split('#').next().unwrap_or("");
        let path = match tail.chars().next() {
            None => "/".to_owned(),
            Some('?') => format!("/{tail}"),
            Some(_) => tail.to_owned(),
        };
        Ok((scheme, authority, path))
    }

    fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), String> {
        let stream = body
            .write()
            .map_err(|()| "The request body was already taken".to_owned())?;
        // `blocking-write-and-flush` takes at most 4096 bytes a call.
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("Cannot send the request body: {}", stream_error(e)))?;
        }
        drop(stream);
        OutgoingBody::finish(body, None)
            .map_err(|e| format!("Cannot finish the request body: {e:?}"))
    }

    fn read_body(incoming: &IncomingBody, authority: &str) -> Result<Vec<u8>, String> {
        let stream = incoming
            .stream()
            .map_err(|()| "The HTTP response body was already taken".to_owned())?;
        let mut body = Vec::new();
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(format!(
                            "The response of `{authority}` is larger than {} MiB",
                            MAX_BODY >> 20
                        ));
                    }
                    body.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => return Ok(body),
                Err(e) => {
                    return Err(format!(
                        "Reading the response of `{authority}` failed: {}",
                        stream_error(e)
                    ));
                }
            }
        }
    }

    fn stream_error(error: StreamError) -> String {
        match error {
            StreamError::Closed => "the stream is closed".to_owned(),
            StreamError::LastOperationFailed(e) => e.to_debug_string(),
        }
    }
}
