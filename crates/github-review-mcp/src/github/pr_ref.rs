//! Pull-request references as users and agents write them: `owner/repo#123`, or a
//! URL of the pull request on the configured host (any tab, query or fragment).
//! A URL on any other host is refused before anything is sent anywhere.

use std::fmt;

use url::Url;

use super::host::GitHubHost;
use crate::untrusted::echo;

/// A validated reference to one pull request on the configured host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestRef {
    pub owner: String,
    pub repo: String,
    pub number: u32,
}

impl fmt::Display for PullRequestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}#{}", self.owner, self.repo, self.number)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrRefError {
    #[error("the pull request reference is empty")]
    Empty,
    #[error("the pull request reference is longer than 2048 characters")]
    TooLong,
    #[error("{input} is not a pull request reference: use `owner/repo#123` or a pull request URL such as https://{host}/owner/repo/pull/123", input = echo(.0), host = .1)]
    Unrecognised(String, String),
    #[error("refused: the URL is on {}, but this server is configured for {configured}; tokens are only sent to {configured}", echo(.found))]
    OtherHost { found: String, configured: String },
    #[error("the URL must not contain a user name or password")]
    UserInfo,
    #[error("{} is not a valid GitHub owner name", echo(.0))]
    BadOwner(String),
    #[error("{} is not a valid GitHub repository name", echo(.0))]
    BadRepo(String),
    #[error("{} is not a pull request number (a whole number from 1 to 2147483647)", echo(.0))]
    BadNumber(String),
}

impl PullRequestRef {
    /// The pull request's page on `host`.
    pub fn web_url(&self, host: &GitHubHost) -> String {
        format!(
            "{}{}/{}/pull/{}",
            host.web(),
            self.owner,
            self.repo,
            self.number
        )
    }

    /// GitHub's "not found" for this pull request (also what a private repository
    /// the token cannot read looks like).
    pub fn not_found(&self, host: &GitHubHost) -> super::GitHubError {
        super::GitHubError::NotFound(format!("pull request {self} on {}", host.display_name()))
    }

    /// Maps GitHub's `NotFound` (of a repository or a query) to this pull request's.
    pub fn naming_not_found<'a>(
        &'a self,
        host: &'a GitHubHost,
    ) -> impl Fn(super::GitHubError) -> super::GitHubError + 'a {
        move |e| match e {
            super::GitHubError::NotFound(_) => self.not_found(host),
            other => other,
        }
    }

    pub fn parse(input: &str, host: &GitHubHost) -> Result<Self, PrRefError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PrRefError::Empty);
        }
        if input.len() > 2048 {
            return Err(PrRefError::TooLong);
        }
        let unrecognised = || PrRefError::Unrecognised(shorten(input), host.display_name());
        if !input.contains("://") && !input.contains('/') {
            return Err(unrecognised());
        }
        // `owner/repo#123`: exactly one slash before the `#`.
        if let Some((path, number)) = input.split_once('#').filter(|_| !input.contains("://")) {
            if let Some((owner, repo)) = path.split_once('/').filter(|(_, r)| !r.contains('/')) {
                return Self::build(owner, repo, number);
            }
        }
        // A URL, with or without its scheme.
        let candidate = if input.contains("://") {
            input.to_owned()
        } else {
            format!("{}://{input}", host.web().scheme())
        };
        let url = Url::parse(&candidate).map_err(|_| unrecognised())?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(unrecognised());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PrRefError::UserInfo);
        }
        if !host.owns(&url) {
            let found = match (url.host_str(), url.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_owned(),
                (None, _) => return Err(unrecognised()),
            };
            return Err(PrRefError::OtherHost {
                found,
                configured: host.display_name(),
            });
        }
        // Paths are relative to the web origin or the REST base (GHES: /api/v3/).
        let path = url.path();
        let relative = [host.rest().path(), host.web().path()]
            .iter()
            .find_map(|base| path.strip_prefix(base))
            .unwrap_or(path);
        let segments: Vec<&str> = relative.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            // https://github.com/o/r/pull/1[/files|/commits|...]
            [owner, repo, "pull" | "pulls", number, ..] => Self::build(owner, repo, number),
            // https://api.github.com/repos/o/r/pulls/1
            ["repos", owner, repo, "pulls", number, ..] => Self::build(owner, repo, number),
            _ => Err(unrecognised()),
        }
    }

    fn build(owner: &str, repo: &str, number: &str) -> Result<Self, PrRefError> {
        if !valid_owner(owner) {
            return Err(PrRefError::BadOwner(shorten(owner)));
        }
        if !valid_repo(repo) {
            return Err(PrRefError::BadRepo(shorten(repo)));
        }
        let number = number.trim();
        let parsed = (!number.is_empty()
            && number.len() <= 10
            && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| number.parse::<u32>().ok())
        .flatten()
        .filter(|n| (1..=i32::MAX as u32).contains(n))
        .ok_or_else(|| PrRefError::BadNumber(shorten(number)))?;
        Ok(Self {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            number: parsed,
        })
    }
}

/// GitHub logins: 1–39 ASCII letters, digits and single inner hyphens.
fn valid_owner(owner: &str) -> bool {
    (1..=39).contains(&owner.len())
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !owner.starts_with('-')
}

/// Repository names: 1–100 of ASCII letters, digits, `.`, `-`, `_`; not `.` or `..`.
fn valid_repo(repo: &str) -> bool {
    (1..=100).contains(&repo.len())
        && repo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && repo != "."
        && repo != ".."
}

/// Inputs are echoed in errors only in part, and only after the token checks:
/// PR references are not secrets, but a 100 KB echo helps nobody.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(80).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<PullRequestRef, PrRefError> {
        PullRequestRef::parse(input, &GitHubHost::github_com())
    }

    /// Found by the `tool_args` fuzzer: a 900-character reference came back whole in
    /// the error (references up to 2048 characters are parsed).
    #[test]
    fn errors_quote_at_most_eighty_characters_of_the_reference() {
        for input in [
            "x".repeat(2000),
            format!("{}/repo#1", "o".repeat(2000)),
            format!("owner/{}#1", "r".repeat(2000)),
            format!("owner/repo#{}", "9".repeat(2000)),
            format!("https://{}.example/o/r/pull/1", "h".repeat(1900)),
        ] {
            let message = parse(&input).unwrap_err().to_string();
            assert!(
                message.len() < 300,
                "{} bytes: {message:.120}",
                message.len()
            );
        }
    }

    fn ok(input: &str) -> String {
        parse(input)
            .unwrap_or_else(|e| panic!("{input}: {e}"))
            .to_string()
    }

    #[test]
    fn accepts_shorthand_and_every_url_form() {
        assert_eq!(ok("octo/hello-world#42"), "octo/hello-world#42");
        assert_eq!(ok("  octo/hello.world_x#7 "), "octo/hello.world_x#7");
        for url in [
            "https://github.com/octo/repo/pull/42",
            "https://github.com/octo/repo/pull/42/",
            "https://github.com/octo/repo/pull/42/files",
            "https://github.com/octo/repo/pull/42/files?diff=split#r1234",
            "https://github.com/octo/repo/pull/42#discussion_r5",
            "https://github.com/octo/repo/pulls/42",
            "github.com/octo/repo/pull/42",
            "https://api.github.com/repos/octo/repo/pulls/42",
            "HTTPS://GITHUB.COM/octo/repo/pull/42",
        ] {
            assert_eq!(ok(url), "octo/repo#42", "{url}");
        }
    }

    #[test]
    fn enterprise_urls_on_the_configured_host() {
        let host = GitHubHost::parse("ghes.example.com").unwrap();
        let r = PullRequestRef::parse("https://ghes.example.com/team/app/pull/9", &host).unwrap();
        assert_eq!(r.to_string(), "team/app#9");
        let r = PullRequestRef::parse(
            "https://ghes.example.com/api/v3/repos/team/app/pulls/9",
            &host,
        )
        .unwrap();
        assert_eq!(r.to_string(), "team/app#9");
        let tenant = GitHubHost::parse("octo.ghe.com").unwrap();
        let r = PullRequestRef::parse("https://octo.ghe.com/a/b/pull/1", &tenant).unwrap();
        assert_eq!(r.to_string(), "a/b#1");
    }

    #[test]
    fn other_hosts_are_refused_naming_both() {
        let err = parse("https://gitlab.com/octo/repo/pull/1").unwrap_err();
        assert!(matches!(err, PrRefError::OtherHost { .. }));
        let msg = err.to_string();
        assert!(
            msg.contains("gitlab.com") && msg.contains("github.com"),
            "{msg}"
        );
        for url in [
            "https://github.com.evil.example/o/r/pull/1",
            "http://github.com/o/r/pull/1",
            "https://github.com:8443/o/r/pull/1",
            "https://ghes.example.com/o/r/pull/1",
        ] {
            assert!(
                matches!(parse(url), Err(PrRefError::OtherHost { .. })),
                "{url}"
            );
        }
        assert_eq!(
            parse("https://github.com@evil.example/o/r/pull/1").unwrap_err(),
            PrRefError::UserInfo
        );
        assert_eq!(
            parse("https://user:pw@github.com/o/r/pull/1").unwrap_err(),
            PrRefError::UserInfo
        );
    }

    #[test]
    fn rejects_what_is_not_a_pull_request() {
        for bad in [
            "",
            "   ",
            "42",
            "octo/repo",
            "octo/repo#",
            "octo/repo#0",
            "octo/repo#-1",
            "octo/repo#1.5",
            "octo/repo#99999999999999999999999",
            "octo/repo#2147483648",
            "octo/../repo#1",
            "octo/..#1",
            "-octo/repo#1",
            "javascript:alert(1)",
            "javascript://github.com/o/r/pull/1",
            "https://github.com/octo/repo/issues/42",
            "https://github.com/octo/repo/pull/abc",
            "https://github.com/octo/repo",
            "https://github.com/octo%2Frepo/x/pull/1",
            "https://github.com/octo/re%2Fpo/pull/1",
            "https://github.com/../octo/repo/pull/1/../../x",
        ] {
            assert!(
                parse(bad).is_err(),
                "{bad:?} was accepted as {:?}",
                parse(bad)
            );
        }
        assert_eq!(ok("octo/repo#2147483647"), "octo/repo#2147483647");
        assert_eq!(
            parse(&format!("https://github.com/{}", "a".repeat(100_000))).unwrap_err(),
            PrRefError::TooLong
        );
    }

    #[test]
    fn errors_echo_a_bounded_part_of_the_input() {
        let long = format!("x{}", "y".repeat(1000));
        let msg = parse(&long).unwrap_err().to_string();
        assert!(msg.len() < 300, "{msg}");
    }
}
