//! A reader that closes the pipe early (`switchboard config sqlite | head -1`)
//! ends the command quietly: exit code 0 and no panic, for every command that
//! prints (issue "Hostile-input trial", item 11). Before the fix about half
//! the runs panicked with "failed printing to stdout: Broken pipe" (101).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use common::{stderr, Sandbox};

/// Runs the command with its output going to a pipe whose reader is gone:
/// once read after its first line (what `head -1` does), once before the
/// command writes anything (the worst case, certain to hit the closed pipe).
fn run_with_closed_reader(sb: &Sandbox, args: &[&str], read_first_line: bool) {
    let mut child = sb
        .command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn switchboard");
    let stdout = child.stdout.take().expect("stdout");
    if read_first_line {
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
    } else {
        drop(stdout);
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    let status = child.wait().expect("wait");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{args:?} printed: {err}"
    );
    assert_eq!(
        status.code(),
        Some(0),
        "{args:?} ended with {status}: {err}"
    );
}

#[test]
fn a_closed_pipe_ends_every_printing_command_quietly() {
    let sb = Sandbox::new();
    let db = sb.dir.path().join("notes.db");
    let out = sb.run(&[
        "connect",
        "sqlite",
        "--set",
        &format!("path={}", db.display()),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let commands: [&[&str]; 7] = [
        &["list"],
        &["list", "--json"],
        &["status", "sqlite", "--json"],
        &["config", "sqlite"],
        &["tools", "sqlite"],
        &["call", "sqlite", "list_tables", "{}"],
        &["logs", "sqlite"],
    ];
    for args in commands {
        for round in 0..10 {
            run_with_closed_reader(&sb, args, round % 2 == 0);
        }
    }
}
