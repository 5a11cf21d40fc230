//! Printing for the command line. A reader that goes away early
//! (`switchboard config postgres | head -1`) ends the command quietly with
//! exit code 0, instead of the panic `println!` gives on a closed pipe
//! (Rust ignores SIGPIPE, so the write fails with `BrokenPipe`).

use std::io::{self, Write};

/// Print one line to standard output; see [`outln!`](crate::outln).
pub fn out_line(args: std::fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if let Err(err) = written {
        gone(&err);
    }
}

/// Print to standard error (a line when `newline`); see
/// [`errln!`](crate::errln). Nothing is left to tell if it fails.
pub fn err_text(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut stderr = io::stderr().lock();
    let written = stderr.write_fmt(args).and_then(|()| {
        if newline {
            stderr.write_all(b"\n")
        } else {
            stderr.flush()
        }
    });
    if let Err(err) = written {
        gone(&err);
    }
}

/// The reader closed its end: nobody wants the rest of the output, so the
/// command is done, and done well.
fn gone(err: &io::Error) {
    if err.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
}

/// `println!` that ends the command quietly when standard output is closed.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::out_line(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics when standard error is closed.
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::err_text(format_args!($($arg)*), true) };
}

/// `eprint!` (a prompt, no newline) that never panics when standard error is closed.
#[macro_export]
macro_rules! err {
    ($($arg:tt)*) => { $crate::output::err_text(format_args!($($arg)*), false) };
}
