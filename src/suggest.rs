//! "Did you mean …?" for a name typed wrong: the closest known names by
//! Jaro-Winkler similarity (`strsim`), which favours a shared prefix —
//! the usual shape of a typo in a tool or connector name.

/// Names this close or closer are offered; below it a guess is noise.
const THRESHOLD: f64 = 0.8;
/// At most this many suggestions.
const MAX: usize = 3;

/// The known names closest to `typed`, best first.
pub fn closest<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = known
        .into_iter()
        .map(|name| (strsim::jaro_winkler(typed, name), name))
        .filter(|(score, _)| *score >= THRESHOLD)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(MAX)
        .map(|(_, name)| name.to_string())
        .collect()
}

/// `; did you mean `a` or `b`?` (empty when nothing is close), to append
/// to an error message.
pub fn did_you_mean<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let found = closest(typed, known);
    if found.is_empty() {
        return String::new();
    }
    let quoted: Vec<String> = found.iter().map(|n| format!("`{n}`")).collect();
    format!("; did you mean {}?", quoted.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_the_name_and_noise_finds_nothing() {
        let known = ["echo", "get-env", "add", "longRunningOperation"];
        assert_eq!(closest("ecoh", known), vec!["echo"]);
        assert_eq!(closest("get_env", known), vec!["get-env"]);
        assert!(closest("zzzzzz", known).is_empty());
        assert_eq!(did_you_mean("ech", known), "; did you mean `echo`?");
        assert_eq!(did_you_mean("qqq", known), "");
    }
}
