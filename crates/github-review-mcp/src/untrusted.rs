//! Text from GitHub is untrusted: it may hide instructions from a human reader with
//! invisible or bidirectional-control characters, or try to close the fence it is
//! quoted in. These helpers strip the first and measure the second. `github` cleans
//! every body, title, path and hunk it returns (so JSON and Markdown agree); `format`
//! fences them. A caller's text is untrusted too: [`echo`] bounds how much of it an
//! error message quotes. Depends on nothing.

use std::borrow::Cow;

/// How many characters of a caller's text an error message quotes at most.
pub const ECHO_CHARS: usize = 80;

/// A caller's text as an error message may quote it: quoted, control characters
/// escaped as Rust's `Debug` does, and cut at [`ECHO_CHARS`] characters of the escaped
/// text (then `...`), so no error echoes a long argument back, even one made of
/// characters that escape to ten.
pub fn echo(text: &str) -> String {
    let mut out = String::with_capacity(ECHO_CHARS + 8);
    out.push('"');
    let mut shown = 0;
    for c in text.chars() {
        let escaped = c.escape_debug();
        shown += escaped.len();
        if shown > ECHO_CHARS {
            out.push_str("\"...");
            return out;
        }
        out.extend(escaped);
    }
    out.push('"');
    out
}

/// Characters that change what a reader sees without being seen: bidirectional
/// controls (Trojan Source), zero-width spaces and marks, the BOM, the soft hyphen,
/// invisible operators and Unicode tag characters. ZWJ (U+200D) is judged by its
/// neighbours instead (see [`zwj_joins`]).
fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180E}' | '\u{200B}' | '\u{200C}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}')
        || (c.is_control() && c != '\n' && c != '\t')
}

const ZWJ: char = '\u{200D}';

/// Whether a ZWJ between `prev` and `next` joins something: emoji sequences
/// (👩‍💻) and the letters of scripts that use it (Devanagari, Sinhala, Arabic, ...)
/// have a visible non-ASCII character on both sides. Between ASCII letters
/// (`MARK-\u{200D}SMALL`), next to a space or at either end it only hides a
/// difference between two strings that look the same, so it goes.
fn zwj_joins(prev: Option<char>, next: Option<char>) -> bool {
    let joinable = |c: Option<char>| {
        c.is_some_and(|c| !c.is_ascii() && !c.is_whitespace() && !is_hidden(c) && c != ZWJ)
    };
    joinable(prev) && joinable(next)
}

/// `text` without hidden characters; borrowed when there were none (the usual case).
pub fn visible(text: &str) -> Cow<'_, str> {
    // Fast path: printable ASCII, newlines and tabs hide nothing.
    if text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t')
    {
        return Cow::Borrowed(text);
    }
    if !text.contains(ZWJ) && !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    // Neighbours are judged on the text as sent, before anything is removed.
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let keep = if c == ZWJ {
            zwj_joins(
                i.checked_sub(1).map(|p| chars[p]),
                chars.get(i + 1).copied(),
            )
        } else {
            !is_hidden(c)
        };
        if keep {
            out.push(c);
        }
    }
    // Only joining ZWJs: nothing was removed, so the text is kept as it came.
    if out.len() == text.len() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// `text` without hidden characters, reusing its buffer when there were none.
pub fn clean(text: String) -> String {
    match visible(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(cleaned) => cleaned,
    }
}

/// A single line of untrusted text (titles, paths, logins): hidden characters
/// and line breaks removed, so it cannot start a Markdown block of its own.
pub fn one_line(text: &str) -> Cow<'_, str> {
    let v = visible(text);
    if v.contains(['\n', '\r']) {
        Cow::Owned(v.replace(['\n', '\r'], " "))
    } else {
        v
    }
}

/// The backtick fence that `text` cannot close: one longer than its longest run.
pub fn fence_for(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for b in text.bytes() {
        if b == b'`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    (longest + 1).max(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_quotes_at_most_eighty_characters() {
        assert_eq!(echo("acme/widgets"), "\"acme/widgets\"");
        assert_eq!(echo("a\nb"), "\"a\\nb\"");
        let long = "é".repeat(1000);
        let shown = echo(&long);
        assert!(
            shown.ends_with("\"...") && shown.chars().count() == 80 + 5,
            "{shown}"
        );
        // Found by the pr_ref fuzzer in CI: 120 control characters, each escaped to
        // `\u{14}`, came back as 640 bytes when the cut counted input characters.
        let controls = "\u{14}".repeat(120);
        let shown = echo(&controls);
        assert!(shown.len() <= 80 + 5, "{} bytes: {shown}", shown.len());
        assert!(shown.starts_with("\"\\u{14}\\u{14}"), "{shown}");
    }

    #[test]
    fn bidi_and_zero_width_characters_are_removed_visible_text_kept() {
        let hostile =
            "ok\u{202E}evil\u{202C} \u{200B}x\u{2066}y\u{2069} é 日本 👩\u{200D}💻 \u{E0041}";
        assert_eq!(visible(hostile), "okevil xy é 日本 👩\u{200D}💻 ");
        assert!(matches!(
            visible("plain text\nline 2\ttab"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn zwj_stays_where_it_joins_and_goes_where_it_only_hides() {
        // Emoji sequences and Indic conjuncts keep it, unchanged and borrowed.
        for joined in [
            "👩\u{200D}💻",
            "👨\u{200D}👩\u{200D}👧",
            "क्\u{200D}ष",
            "ශ්\u{200D}රී",
        ] {
            assert!(matches!(visible(joined), Cow::Borrowed(_)), "{joined:?}");
        }
        // Between ASCII letters, beside a space, at the ends: stripped.
        assert_eq!(visible("MARK-\u{200D}SMALL"), "MARK-SMALL");
        assert_eq!(visible("ad\u{200D}min"), "admin");
        assert_eq!(visible("\u{200D}👩 x\u{200D} 日本\u{200D}"), "👩 x 日本");
        assert_eq!(visible("é\u{200D}\u{200B}é"), "éé");
    }

    #[test]
    fn fences_outgrow_the_longest_backtick_run() {
        assert_eq!(fence_for("no ticks"), 3);
        assert_eq!(fence_for("```rust\nx\n```"), 4);
        assert_eq!(fence_for("a `````` b"), 7);
    }

    #[test]
    fn clean_keeps_the_buffer_when_nothing_is_hidden() {
        let text = String::from("plain");
        let ptr = text.as_ptr();
        let cleaned = clean(text);
        assert_eq!(cleaned.as_ptr(), ptr);
        assert_eq!(clean("a\u{200B}b".to_owned()), "ab");
    }

    #[test]
    fn one_line_flattens_breaks() {
        assert_eq!(one_line("a\nb\r\nc"), "a b c");
    }
}
