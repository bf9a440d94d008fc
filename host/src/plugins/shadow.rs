//! The WASI imports the host replaces in its linker, after wasmtime-wasi's own.
//!
//! Input: the linker with WASI 0.2 added (`engine.rs`). Output: the same linker in
//! which
//!
//! - `wasi:filesystem/types.[method]descriptor.symlink-at` always fails with
//!   `not-permitted`: cap-std refuses absolute link targets, but a relative one
//!   climbing out of the folder (`../../outside`) would be created, and the host or
//!   another program following it later would write outside the grant. No plugin
//!   needs to create links, so none may;
//! - `wasi:io/poll.poll` and `[method]pollable.block`, the calls a guest blocks in
//!   (`std::thread::sleep`, waiting on a clock or a stream), end at the deadline of
//!   the current call: epoch interruption only stops guest code, not the host
//!   waiting on the guest's behalf. The call then traps with [`DeadlineReached`],
//!   which `component::classify` reports as the time limit;
//! - every write of bytes (`wasi:io/streams` output-stream writes, splices and
//!   zero fills, `wasi:filesystem` `descriptor.write`, the host's `append-file`)
//!   counts against the plugin's write quota (`write_mb`, one run), and `host.log`
//!   against its output quota (`output_kb`, one call): over a quota the call traps
//!   with `QuotaExceeded` before the bytes go anywhere.
//!
//! It changes nothing else; every other import is wasmtime-wasi's or the host's.

use std::time::Instant;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::Descriptor;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::io::poll::{Host as _, HostPollable as _};
use wasmtime_wasi::p2::bindings::sync::filesystem::types::ErrorCode;

use wasmtime_wasi::filesystem::WasiFilesystemView as _;
use wasmtime_wasi::p2::bindings::sync::filesystem::types::{self as fs_types, HostDescriptor as _};
use wasmtime_wasi::p2::bindings::sync::io::streams::{
    self, HostOutputStream as _, InputStream, OutputStream,
};

use super::bindings::sqlalembic::plugin::{host, types};
use super::sandbox::State;

/// The `sqlalembic:plugin` version of the host interface (guests of any `0.1.x`
/// link to it).
const OURS: &str = "0.1.2";

/// The WASI 0.2 version wasmtime-wasi defines (guests of any `0.2.x` link to it).
const WASI: &str = "0.2.12";

/// A guest call blocked in a WASI wait past its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the call's time limit was reached while the plugin waited in a WASI call")]
pub struct DeadlineReached;

/// Replaces `symlink-at`, `poll` and `pollable.block` (see the module comment).
pub fn shadow(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = define(linker);
    linker.allow_shadowing(false);
    result
}

fn define(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    linker
        .instance(&format!("wasi:filesystem/types@{WASI}"))?
        .func_wrap(
            "[method]descriptor.symlink-at",
            |store, (_dir, _target, link): (Resource<Descriptor>, String, String)| {
                let state: &State = store.data();
                tracing::warn!(
                    plugin = %state.grant.plugin,
                    link = %link,
                    "Plugin tried to create a symbolic link; plugins may not create links"
                );
                Ok((Err::<(), _>(ErrorCode::NotPermitted),))
            },
        )?;
    let mut poll = linker.instance(&format!("wasi:io/poll@{WASI}"))?;
    poll.func_wrap(
        "poll",
        |mut store, (pollables,): (Vec<Resource<DynPollable>>,)| {
            let state: &mut State = store.data_mut();
            let deadline = state.deadline;
            let ready = until(deadline, state.table.poll(pollables))?;
            Ok((ready,))
        },
    )?;
    poll.func_wrap(
        "[method]pollable.block",
        |mut store, (pollable,): (Resource<DynPollable>,)| {
            let state: &mut State = store.data_mut();
            let deadline = state.deadline;
            until(deadline, state.table.block(pollable))?;
            Ok(())
        },
    )?;
    define_quotas(linker)
}

/// A stream call's result as the guest receives it (`stream-error` converted).
fn stream_result<T>(
    state: &mut State,
    result: wasmtime_wasi::p2::StreamResult<T>,
) -> wasmtime::Result<Result<T, streams::StreamError>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) => Ok(Err(streams::Host::convert_stream_error(
            &mut state.table,
            e,
        )?)),
    }
}

fn define_quotas(linker: &mut Linker<State>) -> wasmtime::Result<()> {
    let mut out = linker.instance(&format!("wasi:io/streams@{WASI}"))?;
    out.func_wrap(
        "[method]output-stream.write",
        |mut store, (stream, bytes): (Resource<OutputStream>, Vec<u8>)| {
            let state: &mut State = store.data_mut();
            state.spend_write(bytes.len() as u64)?;
            let done = state.table.write(stream, bytes);
            Ok((stream_result(state, done)?,))
        },
    )?;
    out.func_wrap(
        "[method]output-stream.blocking-write-and-flush",
        |mut store, (stream, bytes): (Resource<OutputStream>, Vec<u8>)| {
            let state: &mut State = store.data_mut();
            state.spend_write(bytes.len() as u64)?;
            let done = state.table.blocking_write_and_flush(stream, bytes);
            Ok((stream_result(state, done)?,))
        },
    )?;
    out.func_wrap(
        "[method]output-stream.write-zeroes",
        |mut store, (stream, len): (Resource<OutputStream>, u64)| {
            let state: &mut State = store.data_mut();
            state.spend_write(len)?;
            let done = state.table.write_zeroes(stream, len);
            Ok((stream_result(state, done)?,))
        },
    )?;
    out.func_wrap(
        "[method]output-stream.blocking-write-zeroes-and-flush",
        |mut store, (stream, len): (Resource<OutputStream>, u64)| {
            let state: &mut State = store.data_mut();
            state.spend_write(len)?;
            let done = state.table.blocking_write_zeroes_and_flush(stream, len);
            Ok((stream_result(state, done)?,))
        },
    )?;
    out.func_wrap(
        "[method]output-stream.splice",
        |mut store, (dst, src, len): (Resource<OutputStream>, Resource<InputStream>, u64)| {
            let state: &mut State = store.data_mut();
            // Counted as asked: a splice cannot be taken back once done.
            state.spend_write(len)?;
            let done = state.table.splice(dst, src, len);
            Ok((stream_result(state, done)?,))
        },
    )?;
    out.func_wrap(
        "[method]output-stream.blocking-splice",
        |mut store, (dst, src, len): (Resource<OutputStream>, Resource<InputStream>, u64)| {
            let state: &mut State = store.data_mut();
            state.spend_write(len)?;
            let done = state.table.blocking_splice(dst, src, len);
            Ok((stream_result(state, done)?,))
        },
    )?;
    linker
        .instance(&format!("wasi:filesystem/types@{WASI}"))?
        .func_wrap(
            "[method]descriptor.write",
            |mut store, (file, bytes, offset): (Resource<Descriptor>, Vec<u8>, u64)| {
                let state: &mut State = store.data_mut();
                state.spend_write(bytes.len() as u64)?;
                let mut view = state.filesystem();
                match view.write(file, bytes, offset) {
                    Ok(n) => Ok((Ok(n),)),
                    Err(e) => Ok((Err(fs_types::Host::convert_error_code(&mut view, e)?),)),
                }
            },
        )?;
    let mut ours = linker.instance(&format!("sqlalembic:plugin/host@{OURS}"))?;
    ours.func_wrap(
        "log",
        |mut store, (level, message): (types::LogLevel, String)| {
            let state: &mut State = store.data_mut();
            state.say(message.len())?;
            host::Host::log(state, level, message);
            Ok(())
        },
    )?;
    ours.func_wrap(
        "append-file",
        |mut store, (path, data): (String, Vec<u8>)| {
            let state: &mut State = store.data_mut();
            state.spend_write(data.len() as u64)?;
            Ok((host::Host::append_file(state, path, data),))
        },
    )?;
    Ok(())
}

/// Runs `wait` on wasmtime-wasi's runtime, but no longer than until `deadline`.
fn until<T>(
    deadline: Instant,
    wait: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    let until = tokio::time::Instant::from_std(deadline);
    wasmtime_wasi::runtime::in_tokio(async move {
        match tokio::time::timeout_at(until, wait).await {
            Ok(done) => done,
            Err(_) => Err(wasmtime::Error::new(DeadlineReached)),
        }
    })
}
