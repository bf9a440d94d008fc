//! Outgoing HTTP of plugins, to the hosts their `allow.http` names and no other:
//! standard `wasi:http/outgoing-handler` (what Rust guests use, through the SDK or
//! any `wasi:http` client) and the `sqlalembic:plugin/http` import (`http.send`,
//! what Python and JavaScript guests use), both through one check and one client.
//!
//! Input: the plugin's [`Grant`], the deadline of the current call and a request.
//! Output: the response, or a refusal. [`authorize`] is the one place a request is
//! judged: `http` or `https`, no credentials in the URL, host and port granted
//! ([`Grant::check`]); it runs before any name lookup or connection, and a refusal
//! is logged with the plugin's name. Allowed requests go out through
//! wasmtime-wasi-http's client (hyper, rustls with the webpki roots), bounded by the
//! call's deadline: connecting, the response head, every body read and the
//! connection itself end when the plugin's `timeout_ms` is up, so no request
//! outlives the call that made it. Redirects are returned, not followed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx,
    WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use super::bindings::sqlalembic::plugin::http::{Request, Response};
use super::sandbox::{Capability, Grant, State};

/// The largest response body `http.send` returns (a `wasi:http` guest reads the
/// stream itself, within its memory limit).
pub const MAX_BODY: usize = 1 << 20;

/// Where an allowed request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Lower case, as the grant names it (`[::1]` for an IPv6 literal).
    pub host: String,
    pub port: u16,
}

/// Whether the plugin of `grant` may send a request to `uri`; `Err` says why not,
/// in words meant for the plugin's author, and is logged with the plugin's name.
pub fn authorize(grant: &Grant, uri: &http::Uri) -> Result<Destination, String> {
    let judged = judge(grant, uri);
    if let Err(reason) = &judged {
        tracing::warn!(plugin = %grant.plugin, "Outgoing HTTP refused: {reason}");
    }
    judged
}

fn judge(grant: &Grant, uri: &http::Uri) -> Result<Destination, String> {
    let (scheme, default_port) = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") => ("http", 80),
        Some(s) if s.eq_ignore_ascii_case("https") => ("https", 443),
        Some(other) => {
            return Err(format!(
                "Only `http://` and `https://` URLs are supported, not `{other}://`"
            ));
        }
        None => return Err(format!("URL `{uri}` has no scheme")),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| format!("URL `{uri}` has no host"))?;
    if authority.as_str().contains('@') {
        return Err(format!(
            "URL `{scheme}://{}` carries credentials: send them in a header instead",
            authority.host()
        ));
    }
    let host = authority.host().to_ascii_lowercase();
    if host.is_empty() {
        return Err(format!("URL `{uri}` has no host"));
    }
    let port = authority.port_u16().unwrap_or(default_port);
    grant.check(Capability::Http { host: &host, port })?;
    Ok(Destination { scheme, host, port })
}

/// The response half of the client: the response with its body, and the future
/// that drives the connection until the body is read.
type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
);

/// Sends an already authorized `request`, with every wait bounded by `deadline`.
async fn send_bounded(
    plugin: String,
    deadline: Instant,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<Sent, HttpError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(HttpError::ConnectionTimeout);
    }
    let clamp = |asked: Option<Duration>| Some(asked.map_or(left, |d| d.min(left)));
    let options = options.unwrap_or_default();
    let options = RequestOptions {
        connect_timeout: clamp(options.connect_timeout),
        first_byte_timeout: clamp(options.first_byte_timeout),
        between_bytes_timeout: clamp(options.between_bytes_timeout),
    };
    let until = tokio::time::Instant::from_std(deadline);
    let sent = tokio::time::timeout_at(
        until,
        wasmtime_wasi_http::default_send_request(request, Some(options)),
    )
    .await;
    let (response, connection) = match sent {
        Ok(result) => result?,
        Err(_) => {
            tracing::debug!(plugin = %plugin, "Outgoing HTTP stopped at the time limit");
            return Err(HttpError::HttpResponseTimeout);
        }
    };
    let connection = async move {
        tokio::time::timeout_at(until, connection)
            .await
            .unwrap_or(Err(HttpError::HttpResponseTimeout))
    };
    let response = response.map(|body| {
        UntilDeadline {
            body: body.boxed_unsync(),
            deadline: Box::pin(tokio::time::sleep_until(until)),
        }
        .boxed_unsync()
    });
    Ok((response, Box::new(connection)))
}

/// A response body that fails once the call's deadline has passed, so a server
/// that trickles bytes cannot hold a blocked plugin past its time limit.
struct UntilDeadline {
    body: WasiBody,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Body for UntilDeadline {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.body).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame),
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::HttpResponseTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The `wasi:http` state of one plugin instance: the context and the hooks that
/// check and bound every outgoing request.
pub struct Outgoing {
    ctx: WasiHttpCtx,
    hooks: Hooks,
}

impl Outgoing {
    /// Nothing sent yet; requests are judged against `grant`.
    pub fn new(grant: Arc<Grant>) -> Outgoing {
        Outgoing {
            ctx: WasiHttpCtx::new(),
            hooks: Hooks {
                grant,
                deadline: Instant::now(),
            },
        }
    }
}

struct Hooks {
    grant: Arc<Grant>,
    /// The deadline of the call in progress (copied from the store state).
    deadline: Instant,
}

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _done: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<dyn Future<Output = Result<Sent, HttpError>> + Send> {
        // Judged here, when the guest calls `outgoing-handler.handle`: nothing is
        // resolved or connected for a refused request. The guest sees the standard
        // `error-code.HTTP-request-denied`; the reason goes to the log.
        if authorize(&self.grant, request.uri()).is_err() {
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        Box::new(send_bounded(
            self.grant.plugin.clone(),
            self.deadline,
            request,
            options,
        ))
    }
}

impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.outgoing.hooks.deadline = self.deadline;
        WasiHttpCtxView {
            ctx: &mut self.outgoing.ctx,
            table: &mut self.table,
            hooks: &mut self.outgoing.hooks,
        }
    }
}

/// `http.send`: the whole request and response in one call, through the same
/// check and client as `wasi:http`; `Err` says why it was refused or failed.
pub fn send(grant: &Grant, deadline: Instant, request: Request) -> Result<Response, String> {
    let uri: http::Uri = request
        .url
        .parse()
        .map_err(|e| format!("Invalid URL `{}`: {e}", request.url))?;
    let to = authorize(grant, &uri)?;
    let method = http::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| format!("Invalid HTTP method `{}`", request.method))?;
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::HOST, authority);
    for (name, value) in &request.headers {
        let header = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("Invalid header `{name}`"))?;
        // The host sets these itself (the body's length, one connection per call).
        if header == http::header::CONTENT_LENGTH || DEFAULT_FORBIDDEN_HEADERS.contains(&header) {
            continue;
        }
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("Invalid value of header `{name}`"))?;
        builder = builder.header(header, value);
    }
    let body = http_body_util::Full::new(Bytes::from(request.body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let outgoing = builder
        .body(body)
        .map_err(|e| format!("Invalid request: {e}"))?;
    let failed = |e: HttpError| match e {
        HttpError::HttpResponseTimeout
        | HttpError::ConnectionTimeout
        | HttpError::ConnectionReadTimeout => format!(
            "HTTP request to `{}:{}` stopped at the time limit",
            to.host, to.port
        ),
        other => format!("HTTP request to `{}:{}` failed: {other}", to.host, to.port),
    };
    wasmtime_wasi::runtime::in_tokio(async {
        let (response, connection) = send_bounded(grant.plugin.clone(), deadline, outgoing, None)
            .await
            .map_err(failed)?;
        // Dropped (and so stopped) when this call returns.
        let _connection = wasmtime_wasi::runtime::spawn(Pin::from(connection));
        let (head, mut body) = response.into_parts();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map_err(failed)?.into_data() {
                if bytes.len() + data.len() > MAX_BODY {
                    return Err(format!(
                        "The response of `{}:{}` is larger than {} MiB",
                        to.host,
                        to.port,
                        MAX_BODY >> 20
                    ));
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(Response {
            status: head.status.as_u16(),
            headers: head
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: bytes,
        })
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::{Allow, OnError, PluginConfig};

    fn grant(http: &[&str]) -> Grant {
        let config = PluginConfig {
            name: "hook".into(),
            path: PathBuf::from("hook.wasm"),
            signals: Vec::new(),
            on_error: OnError::Warn,
            policy: false,
            timeout_ms: 2_000,
            memory_mb: 16,
            output_kb: crate::config::DEFAULT_OUTPUT_KB,
            write_mb: crate::config::DEFAULT_WRITE_MB,
            allow: Allow {
                http: http.iter().map(|h| (*h).to_owned()).collect(),
                ..Allow::default()
            },
            settings: serde_json::json!({}),
        };
        let root = tempfile::tempdir().expect("temp");
        Grant::new(&config, root.path(), &|_| None).expect("grant")
    }

    fn uri(text: &str) -> http::Uri {
        text.parse().expect("valid URI")
    }

    #[test]
    fn one_check_for_scheme_host_and_port() {
        let g = grant(&["hooks.example.com", "127.0.0.1:8080"]);
        assert_eq!(
            authorize(&g, &uri("https://Hooks.Example.com/x?y=1")),
            Ok(Destination {
                scheme: "https",
                host: "hooks.example.com".into(),
                port: 443
            })
        );
        assert_eq!(
            authorize(&g, &uri("http://hooks.example.com:9000/")).map(|d| d.port),
            Ok(9000),
            "a bare host allows every port"
        );
        assert_eq!(
            authorize(&g, &uri("http://127.0.0.1:8080")).map(|d| d.scheme),
            Ok("http")
        );
        let refused = |text: &str| authorize(&g, &uri(text)).expect_err("refused");
        assert!(refused("http://127.0.0.1:8081/").contains("`127.0.0.1:8081` is not allowed"));
        assert!(refused("http://127.0.0.1/").contains("`127.0.0.1:80` is not allowed"));
        assert!(refused("https://evil.example.com/").contains("plugin `hook`"));
        assert!(refused("ftp://hooks.example.com/").contains("not `ftp://`"));
        assert!(refused("/relative").contains("has no scheme"));
        assert!(refused("http://user:pw@hooks.example.com/").contains("credentials"));
    }

    #[test]
    fn http_send_refuses_before_connecting_and_when_time_is_up() {
        let g = grant(&["127.0.0.1"]);
        let request = |url: &str| Request {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        let later = Instant::now() + Duration::from_secs(5);
        let refused = send(&g, later, request("http://example.com/")).expect_err("refused");
        assert!(
            refused.contains("`example.com:80` is not allowed"),
            "{refused}"
        );
        let bad = send(&g, later, request("not a url")).expect_err("invalid");
        assert!(bad.starts_with("Invalid URL"), "{bad}");
        // A listener that never answers: the call ends at the deadline.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = silent.local_addr().expect("addr").port();
        let start = Instant::now();
        let deadline = start + Duration::from_millis(300);
        let late = send(&g, deadline, request(&format!("http://127.0.0.1:{port}/")))
            .expect_err("no answer");
        assert!(late.contains("stopped at the time limit"), "{late}");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }
}
