//! End-to-end tests: run the real binary in temp projects.
