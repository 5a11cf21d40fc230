//! `{FIELD}` placeholders in a definition's text — its arguments
//! (`{POSTGRES_URL}`) and its policy's hosts (`{MYSQL_HOST}:{MYSQL_PORT}`)
//! — filled from field values: one reading of the braces for both.

/// What a placeholder becomes.
pub enum Fill {
    /// This text.
    Value(String),
    /// Nothing can be made: the whole text is dropped.
    Missing,
    /// Not a placeholder of ours: the braces stay as they are.
    Literal,
}

/// `text` with each `{KEY}` replaced as `lookup` says; `None` when one is
/// `Missing`. A `{` with no `}` after it is text.
pub fn fill(text: &str, mut lookup: impl FnMut(&str) -> Fill) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let key = &rest[open + 1..open + close];
        out.push_str(&rest[..open]);
        match lookup(key) {
            Fill::Value(value) => out.push_str(&value),
            Fill::Missing => return None,
            Fill::Literal => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Some(out)
}
