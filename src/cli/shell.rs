//! `apr completions SHELL` (clap_complete) and `apr man` (clap_mangen): generated from the
//! same clap definition as the parser, printed to stdout. Neither touches a database. A
//! page ends with the EXIT STATUS, ENVIRONMENT and EXAMPLES sections.

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
    render_page(page, &mut out).map_err(|e| Error::io("cannot render the manual page", e))?;
    write_stdout(&out)
}

/// SPEC §2's exit codes, for every page's EXIT STATUS.
const EXIT_STATUS: [(&str, &str); 4] = [
    ("0", "success"),
    (
        "1",
        "runtime failure: the platform down after retries, a database, mail or file error",
    ),
    ("2", "usage, configuration or bad input"),
    (
        "75",
        "another run holds the lock (EX_TEMPFAIL); try again later",
    ),
];

/// clap_mangen's sections, with the end of `--help` (examples, then the environment; see
/// `help.rs`) as EXIT STATUS, ENVIRONMENT and EXAMPLES sections instead of one EXTRA.
fn render_page(page: clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    let after = page.get_after_help().map(|h| h.to_string());
    let (examples, environment) = split_after_help(after.as_deref().unwrap_or(""));
    let has_args = page.get_arguments().any(|a| !a.is_hide_set());
    let has_commands = page.get_subcommands().any(|c| !c.is_hide_set());
    let has_version = page.get_version().or(page.get_long_version()).is_some();
    let has_author = page.get_author().is_some();
    let man = clap_mangen::Man::new(page);
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if has_args {
        man.render_options_section(out)?;
    }
    if has_commands {
        man.render_subcommands_section(out)?;
    }
    out.extend_from_slice(b".SH \"EXIT STATUS\"\n");
    for (code, meaning) in EXIT_STATUS {
        writeln!(out, ".TP\n{code}\n{}", roff_text(meaning))?;
    }
    out.extend_from_slice(b".SH ENVIRONMENT\n");
    verbatim(
        out,
        if environment.is_empty() {
            "none"
        } else {
            &environment
        },
    )?;
    if !examples.is_empty() {
        out.extend_from_slice(b".SH EXAMPLES\n");
        verbatim(out, &examples)?;
    }
    if has_version {
        man.render_version_section(out)?;
    }
    if has_author {
        man.render_authors_section(out)?;
    }
    Ok(())
}

/// The examples and the environment of a command's `--help` ending: the block from
/// `Environment` to the next blank line is the environment (its `Environment:` heading
/// dropped; `Environment: none.` is none), everything else the examples (without their
/// `Examples:` heading).
fn split_after_help(text: &str) -> (String, String) {
    let Some(at) = text.find("Environment") else {
        return (text.trim().to_string(), String::new());
    };
    let block_end = text[at..].find("\n\n").map_or(text.len(), |n| at + n);
    let block = &text[at..block_end];
    let environment = match block.strip_prefix("Environment:") {
        Some(rest) if rest.trim() == "none." => String::new(),
        Some(rest) => rest.trim_start_matches('\n').to_string(),
        // `Environment (and .env in the working directory):`, said as a sentence.
        None => match block
            .strip_prefix("Environment (and ")
            .and_then(|rest| rest.split_once("):"))
        {
            Some((also, rest)) => format!("These, also read from {also}:{rest}"),
            None => block.to_string(),
        },
    };
    let examples = format!("{}\n{}", text[..at].trim(), text[block_end..].trim());
    // The section's heading says what the `Examples:` line did.
    let examples = examples.trim();
    let examples = examples.strip_prefix("Examples:").unwrap_or(examples);
    (examples.trim_start_matches('\n').to_string(), environment)
}

/// Lines shown as they are (no filling), each escaped.
fn verbatim(out: &mut Vec<u8>, text: &str) -> std::io::Result<()> {
    out.extend_from_slice(b".nf\n");
    for line in text.lines() {
        writeln!(out, "{}", roff_text(line))?;
    }
    out.extend_from_slice(b".fi\n");
    Ok(())
}

/// `s` as roff text: backslashes and hyphens escaped, a leading `.` or `'` kept from being
/// read as a request.
fn roff_text(s: &str) -> String {
    let escaped = s.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::io("cannot write to stdout", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_ending_splits_into_examples_and_environment() {
        let (examples, env) = split_after_help(
            "Examples:\n  apr x\n\nEnvironment (and .env):\n  A   a\n  B   b\n\nSee more.",
        );
        assert_eq!(examples, "  apr x\nSee more.");
        assert_eq!(env, "These, also read from .env:\n  A   a\n  B   b");
        let (examples, env) = split_after_help("Examples:\n  apr y\n\nEnvironment:\n  C   c");
        assert_eq!((examples.as_str(), env.as_str()), ("  apr y", "  C   c"));
        let (_, env) = split_after_help("Examples:\n  apr man\n\nEnvironment: none.");
        assert_eq!(env, "");
    }

    #[test]
    fn roff_text_escapes_what_roff_would_read() {
        assert_eq!(roff_text("--start-date"), "\\-\\-start\\-date");
        assert_eq!(roff_text(".env here"), "\\&.env here");
        assert_eq!(roff_text("a\\b"), "a\\eb");
    }
}
