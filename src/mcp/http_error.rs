//! A reqwest error as a person reads it, for every HTTP client of ours
//! (Streamable HTTP and SSE servers, sign-in): its causes on one line,
//! each once, without the URL (its query may hold a credential; the
//! caller names the place once) and without any header.

/// An error and its causes, outermost first.
pub(super) fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(error), |e| e.source())
}

/// The causes of `error` on one line; reqwest's own text would name the
/// URL again, so its causes stand in.
pub(super) fn describe(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in causes(error).skip(1) {
        let text = cause.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        parts.push(if error.is_connect() {
            "could not connect".into()
        } else {
            "the request failed".into()
        });
    }
    parts.join(": ")
}
