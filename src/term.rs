//! How the CLI's human output fits the terminal it goes to: whether status
//! words are coloured (only on a terminal, never with `NO_COLOR`; forced
//! with `CLICOLOR_FORCE`, see no-color.org and bixense.com/clicolors) and
//! how wide a line may be (the terminal's width, or `COLUMNS` when set;
//! unlimited for pipes, so scripts see whole lines).

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};
use switchboard::ConnectorStatus;

/// The place stdout's human output goes to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Term {
    colour: bool,
    width: Option<usize>,
}

impl Term {
    /// stdout as it is now; `wide` lifts the width limit.
    pub fn stdout(wide: bool) -> Term {
        let tty = std::io::stdout().is_terminal();
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        let colour = !set("NO_COLOR") && (tty || set("CLICOLOR_FORCE"));
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0);
        let width = match (wide, columns) {
            (true, _) => None,
            (false, Some(columns)) => Some(columns),
            (false, None) if tty => console::Term::stdout()
                .size_checked()
                .map(|(_, cols)| usize::from(cols)),
            (false, None) => None,
        };
        Term { colour, width }
    }

    /// A status word, coloured when colour is on.
    pub fn status(&self, status: ConnectorStatus) -> String {
        let word = status.as_str();
        if !self.colour {
            return word.to_string();
        }
        let colour = match status {
            ConnectorStatus::Connected => AnsiColor::Green,
            ConnectorStatus::Error => AnsiColor::Red,
            ConnectorStatus::Configuring => AnsiColor::Yellow,
            ConnectorStatus::Disconnected => AnsiColor::BrightBlack,
        };
        let style = Style::new().fg_color(Some(colour.into()));
        format!("{style}{word}{style:#}")
    }

    /// `text` cut to what is left of the line after `used` columns, with
    /// `…` where it was cut; whole when there is no limit.
    pub fn fit(&self, text: &str, used: usize) -> String {
        let Some(width) = self.width else {
            return text.to_string();
        };
        let room = width.saturating_sub(used);
        if text.chars().count() <= room {
            return text.to_string();
        }
        let mut cut: String = text.chars().take(room.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_cuts_at_the_width_and_marks_it() {
        let term = Term {
            colour: false,
            width: Some(20),
        };
        assert_eq!(term.fit("0123456789abcdef", 10), "012345678…");
        assert_eq!(term.fit("short", 10), "short");
        assert_eq!(
            Term::default().fit("0123456789abcdef", 10),
            "0123456789abcdef"
        );
    }
}
