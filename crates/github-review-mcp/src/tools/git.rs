//! The git repository the server runs in (stdio only): origin remote and current
//! branch, for `resolve_open_pr_url` defaults.

use std::time::Duration;

use tokio::process::Command;

async fn git(args: &[&str]) -> Option<String> {
    let output = tokio::time::timeout(
        Duration::from_secs(5),
        Command::new("git")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output(),
    )
    .await
    .ok()?
    .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// `(host, owner, repo)` of a remote URL: `git@host:o/r.git`, `ssh://git@host[:port]/o/r.git`,
/// `https://host/o/r(.git)`.
pub fn parse_remote(remote: &str) -> Option<(String, String, String)> {
    let remote = remote.trim();
    let (host, path) = if let Some(rest) = remote
        .strip_prefix("ssh://")
        .or_else(|| remote.strip_prefix("git+ssh://"))
    {
        let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/')?;
        (host.split(':').next()?.to_owned(), path)
    } else if remote.contains("://") {
        let url = url::Url::parse(remote).ok()?;
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str()?),
            None => url.host_str()?.to_owned(),
        };
        return split_path(url.path()).map(|(o, r)| (host, o, r));
    } else {
        // scp-style: [user@]host:owner/repo.git
        let rest = remote.split_once('@').map_or(remote, |(_, r)| r);
        let (host, path) = rest.split_once(':')?;
        (host.to_owned(), path)
    };
    split_path(path).map(|(o, r)| (host.to_ascii_lowercase(), o, r))
}

fn split_path(path: &str) -> Option<(String, String)> {
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let mut parts = path.rsplitn(2, '/');
    let repo = parts.next()?;
    let owner = parts.next()?.rsplit('/').next()?;
    (!owner.is_empty() && !repo.is_empty()).then(|| (owner.to_owned(), repo.to_owned()))
}

/// Origin remote and current branch of the working directory's repository.
pub async fn local_repository() -> Result<((String, String, String), String), String> {
    let remote = git(&["remote", "get-url", "origin"])
        .await
        .ok_or("the server's working directory is not a git repository with an `origin` remote: pass owner, repo and branch")?;
    let parsed = parse_remote(&remote)
        .ok_or_else(|| format!("cannot read owner/repo from the origin remote {remote:?}"))?;
    let branch = git(&["rev-parse", "--abbrev-ref", "HEAD"])
        .await
        .filter(|b| b != "HEAD")
        .ok_or("no current branch (detached HEAD?): pass branch")?;
    Ok((parsed, branch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_in_every_form() {
        let want = Some((
            "github.com".to_owned(),
            "octo".to_owned(),
            "hello".to_owned(),
        ));
        assert_eq!(parse_remote("git@github.com:octo/hello.git"), want);
        assert_eq!(parse_remote("github.com:octo/hello"), want);
        assert_eq!(parse_remote("ssh://git@github.com/octo/hello.git"), want);
        assert_eq!(parse_remote("ssh://git@github.com:22/octo/hello.git"), want);
        assert_eq!(parse_remote("https://github.com/octo/hello.git"), want);
        assert_eq!(parse_remote("https://github.com/octo/hello/"), want);
        assert_eq!(
            parse_remote("https://ghes.example:8443/team/app.git"),
            Some((
                "ghes.example:8443".to_owned(),
                "team".to_owned(),
                "app".to_owned()
            ))
        );
        assert_eq!(parse_remote("not a remote"), None);
    }
}
