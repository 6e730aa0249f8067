//! `apr completions SHELL` (clap_complete) and `apr man` (clap_mangen): generated from the
//! same clap definition as the parser, printed to stdout. Neither touches a database.

use std::io::Write;

use clap::{Args as ClapArgs, ValueEnum};

use crate::error::Error;

/// The shells SPEC §12 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

impl From<Shell> for clap_complete::Shell {
    fn from(s: Shell) -> Self {
        match s {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Zsh => clap_complete::Shell::Zsh,
            Shell::Fish => clap_complete::Shell::Fish,
            Shell::Powershell => clap_complete::Shell::PowerShell,
        }
    }
}

#[derive(Debug, ClapArgs)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, ClapArgs)]
pub struct ManArgs {
    /// A command's own page (apr-collect(1), ...) instead of apr(1)
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

/// Prints the completion script of `root`, the whole command line.
pub fn completions(args: CompletionsArgs, mut root: clap::Command) -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::from(args.shell),
        &mut root,
        "apr",
        &mut out,
    );
    write_stdout(&out)
}

/// Prints the manual page of `root`, the whole command line, or of one of its commands.
pub fn man(args: ManArgs, mut root: clap::Command) -> anyhow::Result<()> {
    // Building propagates the global options and names each command `apr-NAME`.
    root.build();
    let page = match &args.command {
        None => root,
        Some(name) => root.find_subcommand(name).cloned().ok_or_else(|| {
            let names: Vec<&str> = root.get_subcommands().map(|c| c.get_name()).collect();
            Error::usage(format!(
                "'{name}' is not an apr command; expected one of {}",
                names.join(", ")
            ))
        })?,
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(|e| Error::io("cannot render the manual page", e))?;
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write to stdout", e))?;
    Ok(())
}
