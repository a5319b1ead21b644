//! `etl completions <shell>`: a completion script for bash, zsh, fish, elvish or PowerShell,
//! generated from the command line's own definition (so it never falls behind a new flag).

use clap::CommandFactory;

use super::{Cli, Exit};

/// Flags of `etl completions`.
#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

pub fn execute(args: &CompletionsArgs) -> Exit {
    let mut command = Cli::command();
    clap_complete::generate(args.shell, &mut command, "etl", &mut std::io::stdout());
    Exit::Success
}
