//! `http.send`: plain HTTP/1.1 requests from a plugin to the hosts its
//! `allow.http` names.
//!
//! Input: the plugin's [`Grant`], the call's deadline and a WIT request. Output: the
//! whole response (status, headers, body up to [`MAX_BODY`]), or the reason it was
//! refused or failed. It refuses hosts outside the grant (checked before any name
//! lookup or connection), schemes other than `http`, and waits no longer than the
//! plugin's time limit. Redirects are returned, not followed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use super::bindings::sqlalembic::plugin::http::{Request, Response};
use super::sandbox::{Capability, Grant};

/// The largest response body a plugin gets.
pub const MAX_BODY: usize = 1 << 20;

/// Sends `request` if the grant allows its host.
pub fn send(grant: &Grant, deadline: Instant, request: Request) -> Result<Response, String> {
    let url =
        url::Url::parse(&request.url).map_err(|e| format!("Invalid URL `{}`: {e}", request.url))?;
    if url.scheme() != "http" {
        return Err(format!(
            "Only `http://` URLs are supported, not `{}://`",
            url.scheme()
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| format!("URL `{}` has no host", request.url))?;
    let port = url.port_or_known_default().unwrap_or(80);
    grant.check(Capability::Http { host, port })?;
    let method = request.method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!("Invalid HTTP method `{}`", request.method));
    }
    let left = |what: &str| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("Time limit reached before {what}"))
    };
    let bare_host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<_> = (bare_host, port)
        .to_socket_addrs()
        .map_err(|e| format!("Cannot resolve `{host}`: {e}"))?
        .collect();
    let addr = addrs
        .first()
        .ok_or_else(|| format!("`{host}` has no address"))?;
    let mut stream = TcpStream::connect_timeout(addr, left("connecting")?)
        .map_err(|e| format!("Cannot connect to `{host}:{port}`: {e}"))?;
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        },
        request.body.len()
    );
    for (name, value) in &request.headers {
        let reserved = ["host", "content-length", "connection"];
        if reserved.iter().any(|r| name.eq_ignore_ascii_case(r)) {
            continue;
        }
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            return Err(format!("Invalid header `{name}`"));
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let io = |e: std::io::Error| format!("HTTP request to `{host}:{port}` failed: {e}");
    stream
        .set_write_timeout(Some(left("sending")?))
        .map_err(io)?;
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(&request.body).map_err(io)?;
    stream.flush().map_err(io)?;
    stream
        .set_read_timeout(Some(left("reading")?))
        .map_err(io)?;
    read_response(BufReader::new(stream), deadline).map_err(io)
}

fn bad(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_owned())
}

fn read_response(mut reader: impl BufRead, deadline: Instant) -> std::io::Result<Response> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("malformed status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let text = line.trim_end();
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        if headers.len() > 200 {
            return Err(bad("too many headers"));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            if Instant::now() > deadline {
                return Err(bad("time limit reached while reading"));
            }
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("malformed chunk size"))?;
            if size == 0 {
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("response body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| bad("malformed content-length"))?;
        if length > MAX_BODY {
            return Err(bad("response body too large"));
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader
            .take(u64::try_from(MAX_BODY).unwrap_or(u64::MAX) + 1)
            .read_to_end(&mut body)?;
        if body.len() > MAX_BODY {
            return Err(bad("response body too large"));
        }
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn reads_length_and_chunked_bodies() {
        let plain = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
        let r = read_response(&plain[..], deadline()).expect("valid");
        assert_eq!(r.status, 201);
        assert_eq!(r.body, b"hello");
        assert!(r.headers.contains(&("x-a".to_owned(), "b".to_owned())));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        let r = read_response(&chunked[..], deadline()).expect("valid");
        assert_eq!(r.body, b"abcde");
        let closed = b"HTTP/1.0 404 Not Found\r\n\r\ngone";
        let r = read_response(&closed[..], deadline()).expect("valid");
        assert_eq!((r.status, r.body.as_slice()), (404, &b"gone"[..]));
        assert!(read_response(&b"garbage\r\n\r\n"[..], deadline()).is_err());
    }
}
