//! Text that came from people, made safe for the places it is shown: HTML
//! the framework does not escape for us (the document title, mail bodies),
//! and single-line places such as mail headers.

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The text on one line: every control character (CR and LF included)
/// becomes a space, so it cannot start a new header line.
pub fn one_line(input: &str) -> String {
    input
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Whether the text holds characters that reorder what follows them
/// (bidirectional overrides and isolates), with which a name can be made to
/// look like another one ("Invoice\u{202e}fdp.exe").
pub fn has_direction_controls(input: &str) -> bool {
    input
        .chars()
        .any(|c| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'))
}

/// Percent-encodes a value for a query string.
pub fn query_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_becomes_text() {
        assert_eq!(
            escape_html(r#"</title><a href="x" title='y'>&"#),
            "&lt;/title&gt;&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;"
        );
    }

    #[test]
    fn header_text_stays_on_one_line() {
        assert_eq!(one_line("Acme\r\nBcc: x@y\t!"), "Acme  Bcc: x@y !");
    }

    #[test]
    fn direction_overrides_are_found() {
        assert!(has_direction_controls("abc\u{202e}def"));
        assert!(has_direction_controls("\u{2067}x"));
        assert!(!has_direction_controls("Zoë Åström, 株式会社, שלום"));
    }
}
