//! Ctrl-C (SIGINT) and SIGTERM during a run: the first asks the runner to stop after
//! the revision it is in (each revision commits on its own, so the database stays at
//! the last one applied); the second ends the process at once, which leaves what a
//! `kill -9` leaves: the open transaction rolls back, and where DDL committed at once
//! the revision stays recorded as started for `status` and `repair`.

use std::sync::atomic::{AtomicI32, Ordering};

static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signal asked to stop (`SIGINT`, `SIGTERM`), if one came.
pub fn requested() -> Option<&'static str> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        #[cfg(unix)]
        libc::SIGTERM => Some("SIGTERM"),
        _ => Some("SIGINT"),
    }
}

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    if SIGNAL.swap(sig, Ordering::SeqCst) != 0 {
        // The second one: the default action, now.
        restore_and_raise(sig);
        return;
    }
    let msg =
        b"\nInterrupted: stopping after the current revision (interrupt again to abort at once)\n";
    write_stderr(msg);
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn write_stderr(msg: &[u8]) {
    // SAFETY: write(2) is async-signal-safe; the buffer is a static byte string.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
    }
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn restore_and_raise(sig: libc::c_int) {
    // SAFETY: signal(2) and raise(3) are async-signal-safe; SIG_DFL is a valid action.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Installs the handlers (once per process; a no-op where there are no signals).
#[cfg(unix)]
#[allow(unsafe_code)]
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only touches an atomic and
        // calls async-signal-safe functions; SA_RESTART keeps blocking reads going.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
pub fn install() {}
