//! The shell side of SPEC §12 through the real binary: completion scripts that the shells
//! load, the man pages, help that ends with examples and the environment, `-q` silencing
//! every non-error line, colour only on a terminal and never with NO_COLOR, and an
//! `examples/cron` whose jobs parse and leave their output to cron's mail.

use std::path::{Path, PathBuf};
use std::process::Stdio;

mod support;
use support::rows::apr;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stdout).into_owned()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn completion_scripts_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F _apr"),
        ("zsh", "#compdef apr"),
        ("fish", "complete -c apr"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let a = apr().args(["completions", shell]).assert().success();
        let script = stdout(&a);
        assert!(script.contains(marker), "{shell}");
        for word in ["parse-queue-log", "start-date", "quiet"] {
            assert!(script.contains(word), "{shell}: {word}");
        }
    }
    let a = apr().args(["completions", "tcsh"]).assert().code(2);
    assert!(stderr(&a).contains("tcsh"));
}

#[test]
fn bash_loads_its_completion_script() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("apr.bash");
    let a = apr().args(["completions", "bash"]).assert().success();
    std::fs::write(&file, &a.get_output().stdout).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && complete -p apr", file.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("_apr"));
}

#[test]
fn man_pages_for_apr_and_each_command() {
    let a = apr().arg("man").assert().success();
    let page = stdout(&a);
    assert!(
        page.starts_with(".ie") || page.contains(".TH apr 1"),
        "{page}"
    );
    assert!(page.contains("apr\\-collect(1)"), "{page}");
    let a = apr().args(["man", "collect"]).assert().success();
    let page = stdout(&a);
    assert!(page.contains(".TH apr-collect 1"), "{page}");
    assert!(page.contains("APR_API_PASSWORD") && page.contains("\\-\\-overlap"));
    let a = apr().args(["man", "nope"]).assert().code(2);
    let err = stderr(&a);
    assert!(err.contains("'nope' is not an apr command"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn help_ends_with_examples_and_environment() {
    let a = apr().args(["parse-queue-log", "--help"]).assert().success();
    let help = stdout(&a);
    let examples = help.find("Examples:").expect("examples");
    let env = help.find("Environment:").expect("environment");
    assert!(examples < env, "{help}");
    assert!(help[env..].contains("APR_QUEUE_AGENTS"), "{help}");
}

/// A database loaded from the example queue_log (Asia/Dubai), where a -v aggregate logs.
fn queue_db(dir: &Path) -> PathBuf {
    let db = dir.join("apr.db");
    apr()
        .env("APR_DATABASE_URL", &db)
        .env("APR_TIMEZONE", "Asia/Dubai")
        .args(["-q", "parse-queue-log", "--agents"])
        .arg(root().join("examples/queue-agents.toml"))
        .arg(root().join("examples/queue_log"))
        .assert()
        .success()
        .stdout("")
        .stderr("");
    db
}

#[test]
fn quiet_silences_summaries_and_notes() {
    let dir = tempfile::tempdir().unwrap();
    let db = queue_db(dir.path());
    // Without -q: the summary line and the no-data note.
    let a = apr()
        .env("APR_DATABASE_URL", &db)
        .arg("parse-queue-log")
        .arg(root().join("examples/queue_log"))
        .assert()
        .success();
    assert!(stdout(&a).starts_with("0 lines read"), "{}", stdout(&a));
    let a = apr()
        .env("APR_DATABASE_URL", &db)
        .args(["report", "--start-date", "2030-01-01"])
        .assert()
        .success();
    assert!(
        stderr(&a).starts_with("note: no data for"),
        "{}",
        stderr(&a)
    );
    // With -q: the report's bytes only.
    let a = apr()
        .env("APR_DATABASE_URL", &db)
        .args(["report", "--start-date", "2030-01-01", "-q"])
        .assert()
        .success()
        .stderr("");
    assert!(stdout(&a).starts_with("Interval,"));
    // Errors still speak.
    let a = apr()
        .env("APR_DATABASE_URL", &db)
        .args(["-q", "report", "--start-date", "2030-13-01"])
        .assert()
        .code(2);
    assert!(stderr(&a).starts_with("error: "));
}

/// Runs `apr ARGS` with stderr on a pseudo-terminal (util-linux `script`); returns what the
/// terminal showed.
fn on_terminal(db: &Path, args: &str, no_color: bool) -> String {
    let bin = assert_cmd::cargo::cargo_bin("apr");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{} {args}", bin.display()), "/dev/null"])
        .env("APR_DATABASE_URL", db)
        .env_remove("NO_COLOR")
        .env_remove("APR_LOG")
        .stdin(Stdio::null());
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd.output().expect("util-linux `script`");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let db = queue_db(dir.path());
    // A pipe (a log file, cron's mail): the log line without escape codes.
    let a = apr()
        .env("APR_DATABASE_URL", &db)
        .args(["-v", "aggregate", "--rebuild"])
        .assert()
        .success();
    let err = stderr(&a);
    assert!(err.contains("aggregated"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
    // A terminal: coloured, unless NO_COLOR.
    let shown = on_terminal(&db, "-v aggregate --rebuild", false);
    assert!(
        shown.contains("aggregated") && shown.contains('\u{1b}'),
        "{shown:?}"
    );
    let shown = on_terminal(&db, "-v aggregate --rebuild", true);
    assert!(
        shown.contains("aggregated") && !shown.contains('\u{1b}'),
        "{shown:?}"
    );
}

#[test]
fn cron_jobs_parse_and_leave_their_output_to_cron() {
    let text = std::fs::read_to_string(root().join("examples/cron")).unwrap();
    let jobs: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        // `NAME=value` lines set cron's environment.
        .filter(|l| !l.split_whitespace().next().unwrap_or("").contains('='))
        .collect();
    assert!(!jobs.is_empty());
    for job in jobs {
        // Five schedule fields, then the command; no redirection that keeps output from cron.
        let command: Vec<&str> = job.split_whitespace().skip(5).collect();
        let command = command.join(" ");
        assert!(
            !command.contains('>') && !command.contains("| "),
            "output must reach cron's mail: {job}"
        );
        let apr_call = command
            .split("&&")
            .map(str::trim)
            .find(|c| c.starts_with("/usr/local/bin/apr "))
            .unwrap_or_else(|| panic!("no apr call in {job}"));
        assert!(
            apr_call.starts_with("/usr/local/bin/apr -q "),
            "cron jobs run quiet: {job}"
        );
        // The arguments parse: run by the shell as cron would (with `\%` as cron reads it),
        // `--help` after them succeeds only if everything before it parses.
        let bin = assert_cmd::cargo::cargo_bin("apr");
        let line = apr_call
            .replacen("/usr/local/bin/apr", &bin.display().to_string(), 1)
            .replace("\\%", "%");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{line} --help"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{job}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Examples:"));
    }
}
