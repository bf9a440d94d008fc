//! Command-line interface (being integrated).

/// Runs the CLI with the process arguments; returns the exit code.
pub fn run() -> i32 {
    0
}
