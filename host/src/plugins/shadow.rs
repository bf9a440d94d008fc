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
//!   which `component::classify` reports as the time limit.
//!
//! It changes nothing else; every other import is wasmtime-wasi's.

use std::time::Instant;

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::Descriptor;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::io::poll::{Host as _, HostPollable as _};
use wasmtime_wasi::p2::bindings::sync::filesystem::types::ErrorCode;

use super::sandbox::State;

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
