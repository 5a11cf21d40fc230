//! `switchboard completions SHELL` prints a script the shell accepts, and
//! bash completes the verbs with it (a real bash, sourcing the script).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Sandbox;

#[test]
fn bash_completes_the_verbs_with_the_printed_script() {
    let sb = Sandbox::new();
    let script = sb.ok(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.bash");
    std::fs::write(&path, &script).unwrap();
    // What bash does on `switchboard res<TAB>`.
    let probe = format!(
        "source {}; COMP_WORDS=(switchboard res); COMP_CWORD=1; _switchboard switchboard res switchboard; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &probe])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offered = String::from_utf8_lossy(&out.stdout);
    assert!(offered.lines().any(|l| l == "restart"), "{offered}");
    for shell in ["zsh", "fish"] {
        assert!(!sb.ok(&["completions", shell]).trim().is_empty());
    }
}
