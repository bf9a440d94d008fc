//! `completions SHELL`: a completion script on stdout.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, Outcome};

pub fn run(shell: Shell) -> Result<Outcome, crate::cli::Failure> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "sqlalembic", &mut std::io::stdout());
    Ok(Outcome::ok())
}
