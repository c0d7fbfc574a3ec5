//! Review bots' comments, trimmed for a model: CodeRabbit, Copilot and Gemini Code
//! Assist fold most of a comment into `<details>` blocks (walkthroughs, tool
//! output, committable copies of the suggestion) and HTML comments (fingerprints),
//! and put what an agent should do in a "Prompt for AI Agents" block. The Markdown
//! keeps the prose, surfaces that prompt, and drops the rest; the JSON keeps the
//! whole body.

use std::borrow::Cow;

/// Bots whose comments have that shape (logins without `[bot]`).
const REVIEW_BOTS: &[&str] = &[
    "coderabbitai",
    "copilot-pull-request-reviewer",
    "copilot",
    "gemini-code-assist",
    "sourcery-ai",
    "qodo-merge-pro",
    "greptile-apps",
    "cursor",
];

/// Whether `login` is one of the review bots this module knows.
pub fn is_review_bot(login: &str) -> bool {
    let bare = login.strip_suffix("[bot]").unwrap_or(login);
    REVIEW_BOTS.iter().any(|b| b.eq_ignore_ascii_case(bare))
}

/// The body as the model should read it: the prompt for AI agents first (when the
/// bot wrote one), then the prose without folded blocks or HTML comments.
pub fn for_model(body: &str) -> Cow<'_, str> {
    let lower = body.to_ascii_lowercase();
    if !lower.contains("<details") && !lower.contains("<!--") && !lower.contains("codereviewagent")
    {
        return Cow::Borrowed(body);
    }
    let mut prompts = Vec::new();
    let mut kept = String::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let rest = &lower[i..];
        if rest.starts_with("<!--") {
            i += rest.find("-->").map_or(rest.len(), |end| end + 3);
            continue;
        }
        if rest.starts_with("<details") {
            let end = details_end(&lower, i);
            let block = &body[i..end];
            if let Some(prompt) = prompt_of(block) {
                prompts.push(prompt);
            }
            i = end;
            continue;
        }
        let next = rest
            .find(['<'])
            .map(|n| if n == 0 { 1 } else { n })
            .unwrap_or(rest.len());
        kept.push_str(&body[i..i + next]);
        i += next;
    }
    let kept = priority_badges(&kept);
    let prose = squeeze_blank_lines(kept.trim());
    let mut out = String::new();
    for p in &prompts {
        out.push_str("Prompt for AI agents: ");
        out.push_str(p);
        out.push_str("\n\n");
    }
    out.push_str(&prose);
    Cow::Owned(out.trim_end().to_owned())
}

/// Where the `<details>` block starting at `start` ends (after its matching
/// `</details>`; nested blocks counted), or the end of the text.
fn details_end(lower: &str, start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < lower.len() {
        let rest = &lower[i..];
        if rest.starts_with("<details") {
            depth += 1;
            i += "<details".len();
        } else if rest.starts_with("</details>") {
            depth -= 1;
            i += "</details>".len();
            if depth == 0 {
                return i;
            }
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    lower.len()
}

/// The text of a "Prompt for AI Agents" block, without its summary and fences.
fn prompt_of(block: &str) -> Option<String> {
    let lower = block.to_ascii_lowercase();
    let summary_end = lower.find("</summary>")?;
    let summary = &lower[..summary_end];
    if !summary.contains("prompt for ai agent") {
        return None;
    }
    let inner = &block[summary_end + "</summary>".len()..];
    let inner = inner
        .rfind("</details>")
        .map_or(inner, |end| &inner[..end])
        .trim();
    let text: Vec<&str> = inner
        .lines()
        .filter(|l| !l.trim_start().starts_with("```"))
        .collect();
    let text = text.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Gemini Code Assist's `![high](.../high-priority.svg)` badge, as words.
fn priority_badges(text: &str) -> Cow<'_, str> {
    if !text.contains("codereviewagent/") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim();
        let badge = trimmed
            .strip_prefix("![")
            .and_then(|r| r.split_once("]("))
            .filter(|(_, url)| url.contains("codereviewagent/") && url.ends_with(".svg)"));
        match badge {
            Some((level, _)) => {
                out.push_str("Priority: ");
                out.push_str(level);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    Cow::Owned(out)
}

fn squeeze_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODERABBIT: &str = "_⚠️ Potential issue_\n\n**Off-by-one in the loop bound.**\n\nThe loop reads one past the end.\n\n<details>\n<summary>📝 Committable suggestion</summary>\n\n> ‼️ **IMPORTANT**\n> Carefully review the code before committing.\n\n```suggestion\nfor i in 0..n {\n```\n\n</details>\n\n<details>\n<summary>🧰 Tools</summary>\n\n<details>\n<summary>🪛 Ruff (0.8.0)</summary>\n\nE501 line too long\n\n</details>\n\n</details>\n\n<details>\n<summary>🤖 Prompt for AI Agents</summary>\n\n```\nIn src/parser.rs around lines 10 to 14, the loop bound uses <= n; change it to < n.\n```\n\n</details>\n\n<!-- fingerprinting:phantom:medusa:falcon -->\n\n<!-- This is an auto-generated comment by CodeRabbit -->";

    #[test]
    fn coderabbits_prompt_is_surfaced_and_its_folded_noise_dropped() {
        let out = for_model(CODERABBIT);
        assert!(
            out.starts_with("Prompt for AI agents: In src/parser.rs around lines 10 to 14"),
            "{out}"
        );
        assert!(out.contains("**Off-by-one in the loop bound.**"), "{out}");
        for gone in [
            "<details",
            "Committable",
            "Ruff",
            "fingerprinting",
            "auto-generated",
            "IMPORTANT",
            "```",
        ] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
    }

    #[test]
    fn gemini_badges_become_words_and_plain_bodies_are_untouched() {
        let gemini = "![medium](https://www.gstatic.com/codereviewagent/medium-priority.svg)\n\nThis clones on every call.\n\n```suggestion\nlet v = &x;\n```";
        let out = for_model(gemini);
        assert!(out.starts_with("Priority: medium\n"), "{out}");
        assert!(
            out.contains("```suggestion\nlet v = &x;\n```"),
            "a top-level suggestion stays: {out}"
        );
        let plain = "Use `<` here, not `<=`: a < b.";
        assert!(matches!(for_model(plain), Cow::Borrowed(_)));
        assert_eq!(for_model("a <b> c <!-- x"), "a <b> c");
    }

    #[test]
    fn only_known_review_bots_are_trimmed() {
        assert!(is_review_bot("coderabbitai[bot]"));
        assert!(is_review_bot("gemini-code-assist"));
        assert!(!is_review_bot("dependabot[bot]"));
        assert!(!is_review_bot("alice"));
    }
}
