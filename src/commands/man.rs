//! `etl man`: manual pages in roff, generated from the command line's own definition (every
//! command and flag with its help text, so they never fall behind). `etl man` prints `etl(1)`,
//! `etl man run` prints `etl-run(1)`, and `etl man --out-dir DIR` writes all of them.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::{Cli, Exit, fatal};

/// Flags of `etl man`.
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// The command whose page to print (default: the page of etl itself).
    #[arg(value_name = "COMMAND")]
    command: Option<String>,
    /// Write every page (etl.1, etl-run.1, …) into this folder instead of printing one, e.g.
    /// ~/.local/share/man/man1.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    out_dir: Option<PathBuf>,
}

pub fn execute(args: &ManArgs) -> Exit {
    let etl = Cli::command();
    if let Some(dir) = &args.out_dir {
        return match write_all(&etl, dir) {
            Ok(written) => {
                eprintln!("etl: wrote {written} pages to {}", dir.display());
                Exit::Success
            }
            Err(err) => fatal(&format!("cannot write the manual pages: {err}")),
        };
    }
    let page = match &args.command {
        None => etl,
        Some(name) => match page_of(&etl, name) {
            Some(page) => page,
            None => {
                let names: Vec<&str> = commands(&etl).map(|c| c.get_name()).collect();
                eprintln!(
                    "etl: error: no command {name:?}{} (commands: {})",
                    crate::config::suggestion::did_you_mean(name, names.iter().copied()),
                    names.join(", ")
                );
                return Exit::Usage;
            }
        },
    };
    let mut out = std::io::stdout().lock();
    match clap_mangen::Man::new(page).render(&mut out) {
        Ok(()) => Exit::Success,
        Err(err) => fatal(&format!("cannot write the manual page: {err}")),
    }
}

/// The commands of `etl` that have a page of their own.
fn commands(etl: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    etl.get_subcommands().filter(|c| c.get_name() != "help")
}

/// `etl-{name}`'s page: the command, renamed as man pages name them.
fn page_of(etl: &clap::Command, name: &str) -> Option<clap::Command> {
    let command = commands(etl).find(|c| c.get_name() == name)?;
    Some(
        command
            .clone()
            .name(format!("etl-{name}"))
            .version(env!("CARGO_PKG_VERSION")),
    )
}

/// Writes `etl.1` and one `etl-{command}.1` per command into `dir`; returns how many.
fn write_all(etl: &clap::Command, dir: &Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut pages = vec![etl.clone()];
    pages.extend(commands(etl).filter_map(|c| page_of(etl, c.get_name())));
    for page in &pages {
        let mut file = std::fs::File::create(dir.join(format!("{}.1", page.get_name())))?;
        clap_mangen::Man::new(page.clone()).render(&mut file)?;
    }
    Ok(pages.len())
}
