//! `switchboard completions SHELL` prints a script the shell accepts, and
//! a real bash, sourcing it, completes the verbs, the connector names (from
//! the running service) and a connector's tool names with it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Sandbox;

/// What bash offers for `words` (the last one being completed), through
/// the function the printed script registers for `switchboard`.
fn offered(sb: &Sandbox, script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let array = words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let probe = format!(
        "source {script}
         f=$(complete -p switchboard | sed 's/.*-F \\([^ ]*\\).*/\\1/')
         COMP_WORDS=({array}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={point}
         COMP_TYPE=9
         \"$f\" switchboard '{last}' '{prev}'
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script = script.display(),
        cword = words.len() - 1,
        point = line.len(),
        last = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &probe])
        .env("SWITCHBOARD_HOME", sb.home())
        .env("SWITCHBOARD_SETTINGS", sb.settings())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_verbs_connectors_and_tools_with_the_printed_script() {
    let sb = Sandbox::new();
    let everything = common::server_everything();
    sb.ok(&["add", "ev", "--command", "node", &everything, "stdio"]);
    sb.ok(&["connect", "ev"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.bash");
    std::fs::write(&path, sb.ok(&["completions", "bash"])).unwrap();

    let verbs = offered(&sb, &path, &["switchboard", "res"]);
    assert!(verbs.iter().any(|v| v == "restart"), "{verbs:?}");
    let names = offered(&sb, &path, &["switchboard", "connect", "e"]);
    assert!(names.iter().any(|v| v == "ev"), "{names:?}");
    assert!(
        !names.iter().any(|v| v == "github"),
        "only names starting with e: {names:?}"
    );
    let tools = offered(&sb, &path, &["switchboard", "call", "ev", "ge"]);
    assert!(tools.iter().any(|v| v == "get-env"), "{tools:?}");
    assert!(!tools.iter().any(|v| v == "echo"), "{tools:?}");

    for shell in ["zsh", "fish"] {
        assert!(sb.ok(&["completions", shell]).contains("COMPLETE"));
    }
}
