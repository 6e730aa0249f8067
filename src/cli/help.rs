//! The end of every command's `--help` (SPEC §12): two or three examples, then the
//! environment variables the command reads. Kept together so the wording stays uniform; the
//! tests below hold every command to it.

/// Variables every database command reads.
macro_rules! common_env {
    () => {
        "  APR_DATABASE_URL    the database (as --database-url)\n  \
         APR_TIMEZONE        the report time zone (as --timezone)\n  \
         APR_LOG             log filter, e.g. apr=debug (overrides -v/-q)\n  \
         NO_COLOR            set: no colour on stderr (none off a terminal anyway)"
    };
}

macro_rules! platform_env {
    () => {
        "  APR_API_BASE, APR_API_USERNAME, APR_API_PASSWORD, APR_TENANT, APR_ACCOUNT_ID\n                      \
         the platform and its login (env or .env only)\n  \
         APR_API_PAGE_SIZE, APR_API_TIMEOUT_SECS, APR_API_MAX_RETRIES, APR_API_CA_CERT\n                      \
         platform tuning\n  \
         APR_STATE_MAP       not-available reason rules (TOML)"
    };
}

pub const TOP: &str = concat!(
    "Examples:\n  \
     apr init-load --yes --source examples/replay\n  \
     apr -q collect\n  \
     apr report --start-date 2025-09-07 --output day.csv\n\n\
     Environment (and .env in the working directory):\n",
    common_env!(),
    "\n\nSee 'apr COMMAND --help' for what each command reads."
);

pub const COLLECT: &str = concat!(
    "Examples:\n  \
     apr -q collect                                  # the cron tick, every 10 minutes\n  \
     apr collect --every 1m                          # keep running (systemd), one tick a minute\n  \
     apr -v collect --source examples/replay         # from recorded responses\n\n\
     Environment:\n",
    common_env!(),
    "\n",
    platform_env!()
);

pub const INIT_LOAD: &str = concat!(
    "Examples:\n  \
     apr init-load                                   # last 48 hours, asks for YES\n  \
     apr init-load --hours 168 --yes                 # a week, no prompt (scripts)\n  \
     apr --timezone Asia/Kolkata init-load --yes --source examples/replay\n\n\
     Environment:\n",
    common_env!(),
    "\n",
    platform_env!()
);

pub const AGGREGATE: &str = concat!(
    "Examples:\n  \
     apr aggregate                                   # what loads touched since the last run\n  \
     apr aggregate --from 2025-09-07 --to 2025-09-08\n  \
     apr --timezone Asia/Dubai aggregate --rebuild   # every hour, switching the zone\n\n\
     Environment:\n",
    common_env!(),
    "\n  APR_STATE_MAP       not-available reason rules (TOML)"
);

pub const PARSE_QUEUE_LOG: &str = concat!(
    "Examples:\n  \
     apr -q parse-queue-log /var/log/asterisk/queue_log   # from cron\n  \
     apr parse-queue-log --follow /var/log/asterisk/queue_log   # keep loading (systemd)\n  \
     apr parse-queue-log --dry-run --agents examples/queue-agents.toml examples/queue_log\n\n\
     Environment:\n",
    common_env!(),
    "\n  APR_QUEUE_AGENTS    member names -> extensions (as --agents)\n  \
     APR_STATE_MAP       not-available reason rules (TOML)"
);

pub const REPORT: &str = concat!(
    "Examples:\n  \
     apr report --start-date 2025-09-07                      # that local day: a table here, CSV in a pipe\n  \
     apr -q report --start-date 2025-09-07 --mail-to ops@example.com,lead@example.com\n  \
     apr report --start-date 2025-09-07 --kind unanswered --pending   # callers nobody called back\n  \
     apr report --start-date 2025-09-01 --end-date 2025-10-01 --by month --sort answered_calls --top 5\n\n\
     Environment:\n",
    common_env!(),
    "\n  APR_SMTP_URL        SMTP server for --mail-to: smtps://user:pass@host:465 (env or .env only)\n  \
     APR_MAIL_FROM       sender of --mail-to [default: the SMTP user if an address]"
);

pub const SERVE_ONCE: &str = concat!(
    "Examples:\n  \
     apr serve-once --listen 127.0.0.1:0             # prints the port it picked\n  \
     apr serve-once --timeout 30\n\n\
     Environment:\n",
    common_env!(),
    "\n  APR_SERVE_TOKEN     requests need 'Authorization: Bearer TOKEN' (env or .env only)\n  \
     APR_CORS_ORIGINS    origins browsers may read from (as --cors-origins)"
);

pub const SERVE: &str = concat!(
    "Examples:\n  \
     apr serve                                       # http://127.0.0.1:6699\n  \
     apr serve --listen localhost:8080\n  \
     apr serve --listen 0.0.0.0:6699 --cors-origins https://ops.example.com\n\n\
     Environment:\n",
    common_env!(),
    "\n  APR_SERVE_TOKEN     requests need 'Authorization: Bearer TOKEN' (env or .env only)\n  \
     APR_CORS_ORIGINS    origins browsers may read from (as --cors-origins)"
);

pub const STATUS: &str = concat!(
    "Examples:\n  \
     apr status                                      # where apr stands\n  \
     apr status --format json\n  \
     apr -q status --max-age 30m                     # monitoring: exit 1 when stale\n\n\
     Environment:\n",
    common_env!(),
    "\n  APR_STATE_MAP       not-available reason rules (TOML), to tell Other reasons"
);

pub const PRUNE: &str = concat!(
    "Examples:\n  \
     apr prune --before 2025-06-01                   # shows what goes, asks for YES\n  \
     apr -q prune --yes --before \"$(date -d '90 days ago' +%F)\"   # a 90-day retention (cron)\n\n\
     Environment:\n",
    common_env!()
);

pub const COMPLETIONS: &str = "Examples:\n  \
     apr completions bash > /etc/bash_completion.d/apr\n  \
     apr completions zsh > \"${fpath[1]}/_apr\"\n  \
     apr completions fish > ~/.config/fish/completions/apr.fish\n\n\
     Environment: none.";

pub const MAN: &str = "Examples:\n  \
     apr man > /usr/local/share/man/man1/apr.1\n  \
     apr man | man -l -\n\n\
     Environment: none.";

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use crate::cli::Cli;

    /// The `apr ...` lines of an Examples section.
    fn examples(after_help: &str) -> Vec<&str> {
        let section = after_help
            .split("Examples:\n")
            .nth(1)
            .expect("an Examples: section")
            .split("\n\n")
            .next()
            .unwrap();
        section.lines().map(str::trim).collect()
    }

    /// Splits an example into words: quotes group, `#` starts a comment, `>`/`|` ends the
    /// command.
    fn words(example: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quote = None;
        for c in example.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => cur.push(c),
                (None, '\'' | '"') => quote = Some(c),
                (None, '#' | '>' | '|') => break,
                (None, c) if c.is_whitespace() => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                (None, c) => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }

    #[test]
    fn every_command_ends_with_examples_that_parse_and_its_environment() {
        let cli = Cli::command();
        let mut names = Vec::new();
        for cmd in cli.get_subcommands() {
            let name = cmd.get_name().to_string();
            let after = cmd
                .get_after_help()
                .unwrap_or_else(|| panic!("{name} has no after_help"))
                .to_string();
            let ex = examples(&after);
            // A few examples, not a manual: `report`, with the most kinds, shows five.
            assert!((2..=5).contains(&ex.len()), "{name}: {ex:?}");
            for line in ex {
                let argv = words(line);
                assert_eq!(argv[0], "apr", "{name}: {line}");
                assert!(argv.contains(&name), "{name}: {line}");
                if let Err(e) = Cli::try_parse_from(&argv) {
                    panic!("{name}: example '{line}' does not parse: {e}");
                }
            }
            let env = after
                .split_once("\n\nEnvironment")
                .unwrap_or_else(|| panic!("{name} has no Environment section"))
                .1;
            // Every variable an argument of the command reads is named.
            for arg in cmd.get_arguments() {
                if let Some(var) = arg.get_env() {
                    let var = var.to_string_lossy();
                    assert!(env.contains(var.as_ref()), "{name}: {var} not listed");
                }
            }
            if name != "completions" && name != "man" {
                for var in ["APR_DATABASE_URL", "APR_TIMEZONE", "NO_COLOR"] {
                    assert!(env.contains(var), "{name}: {var} not listed");
                }
            }
            names.push(name);
        }
        assert!(names.len() >= 9, "{names:?}");
    }

    #[test]
    fn example_words_split_like_a_shell() {
        assert_eq!(
            words("apr collect --since '2025-09-07 08:00'  # note"),
            ["apr", "collect", "--since", "2025-09-07 08:00"]
        );
        assert_eq!(words("apr man | man -l -"), ["apr", "man"]);
    }
}
