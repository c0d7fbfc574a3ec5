//! The GitHub deployment the server talks to: github.com, a GHE.com tenant or a
//! GitHub Enterprise Server. A parsed, validated value; the client can only be built
//! from one, and tokens are only ever sent to its API endpoints.

use std::net::IpAddr;

use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// github.com (API at api.github.com).
    DotCom,
    /// A GHE.com data-residency tenant, `NAME.ghe.com` (API at api.NAME.ghe.com).
    GheCom,
    /// GitHub Enterprise Server (API under /api/v3, GraphQL at /api/graphql).
    Server,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("GITHUB_HOST {0:?} is not a host name or URL")]
    Invalid(String),
    #[error(
        "GITHUB_HOST {0:?}: plain http:// is accepted only for loopback addresses; use https://"
    )]
    PlainHttp(String),
    #[error(
        "GITHUB_HOST {0:?}: give only the scheme, host and port (no path, query, user or password)"
    )]
    Extra(String),
}

/// A configured GitHub host with its web origin and API endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubHost {
    kind: HostKind,
    web: Url,
    rest: Url,
    graphql: Url,
}

impl GitHubHost {
    pub fn github_com() -> Self {
        Self::parse("github.com").expect("github.com is a valid host")
    }

    /// Accepts `github.com`, `NAME.ghe.com`, a GHES host name (with an optional
    /// port), or a full `https://` URL of one of those; `http://` only on loopback.
    pub fn parse(input: &str) -> Result<Self, HostError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(HostError::Invalid(input.to_owned()));
        }
        let with_scheme = if trimmed.contains("://") {
            trimmed.to_owned()
        } else {
            format!("https://{trimmed}")
        };
        let url = Url::parse(&with_scheme).map_err(|_| HostError::Invalid(input.to_owned()))?;
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || url.path() != "/"
        {
            return Err(HostError::Extra(input.to_owned()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| HostError::Invalid(input.to_owned()))?
            .to_ascii_lowercase();
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&host) => {}
            "http" => return Err(HostError::PlainHttp(input.to_owned())),
            _ => return Err(HostError::Invalid(input.to_owned())),
        }
        let origin = |h: &str| -> Result<Url, HostError> {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            Url::parse(&format!("{}://{h}{port}/", url.scheme()))
                .map_err(|_| HostError::Invalid(input.to_owned()))
        };
        let join = |base: &Url, path: &str| base.join(path).expect("static path joins");
        if host == "github.com" || host == "api.github.com" {
            let web = origin("github.com")?;
            let api = origin("api.github.com")?;
            return Ok(Self {
                kind: HostKind::DotCom,
                graphql: join(&api, "graphql"),
                rest: api,
                web,
            });
        }
        if let Some(tenant) = host.strip_suffix(".ghe.com") {
            let tenant = tenant.strip_prefix("api.").unwrap_or(tenant);
            if tenant.is_empty() || tenant.contains('.') {
                return Err(HostError::Invalid(input.to_owned()));
            }
            let web = origin(&format!("{tenant}.ghe.com"))?;
            let api = origin(&format!("api.{tenant}.ghe.com"))?;
            return Ok(Self {
                kind: HostKind::GheCom,
                graphql: join(&api, "graphql"),
                rest: api,
                web,
            });
        }
        let web = origin(url.host_str().expect("checked above"))?;
        Ok(Self {
            kind: HostKind::Server,
            rest: join(&web, "api/v3/"),
            graphql: join(&web, "api/graphql"),
            web,
        })
    }

    pub fn kind(&self) -> HostKind {
        self.kind
    }

    /// `github.com`, `octo.ghe.com`, `ghes.example:8443`: how users name the host.
    pub fn display_name(&self) -> String {
        let host = self.web.host_str().unwrap_or_default();
        match self.web.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The web origin pull-request URLs live on, with a trailing slash.
    pub fn web(&self) -> &Url {
        &self.web
    }

    /// The REST API base, with a trailing slash.
    pub fn rest(&self) -> &Url {
        &self.rest
    }

    pub fn graphql(&self) -> &Url {
        &self.graphql
    }

    /// The OAuth authorization server that issues tokens for this host (RFC 9728
    /// `authorization_servers`).
    pub fn oauth_authorization_server(&self) -> String {
        format!("{}login/oauth", self.web)
    }

    /// Whether `url` is on this host's web origin or one of its API endpoints:
    /// the only places a token may be sent or a pull request may live.
    pub fn owns(&self, url: &Url) -> bool {
        [&self.web, &self.rest].iter().any(|base| {
            base.scheme() == url.scheme()
                && base.host_str() == url.host_str().map(str::to_ascii_lowercase).as_deref()
                && base.port_or_known_default() == url.port_or_known_default()
        })
    }
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_com_in_any_spelling() {
        for input in [
            "github.com",
            "https://github.com",
            "https://api.github.com/",
            " GitHub.com ",
        ] {
            let host = GitHubHost::parse(input).unwrap();
            assert_eq!(host.kind(), HostKind::DotCom, "{input}");
            assert_eq!(host.rest().as_str(), "https://api.github.com/");
            assert_eq!(host.graphql().as_str(), "https://api.github.com/graphql");
            assert_eq!(
                host.oauth_authorization_server(),
                "https://github.com/login/oauth"
            );
        }
    }

    #[test]
    fn ghe_com_tenants_use_the_api_subdomain() {
        let host = GitHubHost::parse("octo.ghe.com").unwrap();
        assert_eq!(host.kind(), HostKind::GheCom);
        assert_eq!(host.rest().as_str(), "https://api.octo.ghe.com/");
        assert_eq!(host.graphql().as_str(), "https://api.octo.ghe.com/graphql");
        assert_eq!(host.web().as_str(), "https://octo.ghe.com/");
        assert_eq!(GitHubHost::parse("https://api.octo.ghe.com").unwrap(), host);
    }

    #[test]
    fn enterprise_server_uses_api_v3_and_api_graphql() {
        let host = GitHubHost::parse("ghes.example.com:8443").unwrap();
        assert_eq!(host.kind(), HostKind::Server);
        assert_eq!(
            host.rest().as_str(),
            "https://ghes.example.com:8443/api/v3/"
        );
        assert_eq!(
            host.graphql().as_str(),
            "https://ghes.example.com:8443/api/graphql"
        );
        assert_eq!(host.display_name(), "ghes.example.com:8443");
        assert_eq!(
            host.oauth_authorization_server(),
            "https://ghes.example.com:8443/login/oauth"
        );
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let host = GitHubHost::parse("http://127.0.0.1:9999").unwrap();
        assert_eq!(host.rest().as_str(), "http://127.0.0.1:9999/api/v3/");
        assert!(GitHubHost::parse("http://localhost:1").is_ok());
        assert!(GitHubHost::parse("http://[::1]:1").is_ok());
        assert!(matches!(
            GitHubHost::parse("http://ghes.example.com"),
            Err(HostError::PlainHttp(_))
        ));
        assert!(matches!(
            GitHubHost::parse("http://10.0.0.1"),
            Err(HostError::PlainHttp(_))
        ));
    }

    #[test]
    fn paths_users_and_junk_are_refused() {
        for bad in [
            "https://github.com/org",
            "https://u:p@ghes.example",
            "https://x?y=1",
            "",
            "ftp://x",
            "https://",
        ] {
            assert!(GitHubHost::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn owns_only_its_own_origins() {
        let host = GitHubHost::github_com();
        assert!(host.owns(&Url::parse("https://github.com/o/r/pull/1").unwrap()));
        assert!(host.owns(&Url::parse("https://api.github.com/repos/o/r").unwrap()));
        assert!(!host.owns(&Url::parse("http://github.com/o/r/pull/1").unwrap()));
        assert!(!host.owns(&Url::parse("https://github.com.evil.example/o").unwrap()));
        assert!(!host.owns(&Url::parse("https://github.com:444/o").unwrap()));
    }
}
