//! Redirect URIs: which a client may register, and when a requested one matches.
//!
//! Matching is exact (RFC 9700), with one exception from RFC 8252 §7.3: a loopback
//! redirect (`http://127.0.0.1`, `http://[::1]`, `http://localhost`) matches on any
//! port, because native clients pick a free port per sign-in. Nothing else is
//! normalised: a near miss is a miss, and a miss is never redirected to.

use url::Url;

/// Schemes a redirect may never use: they run or read things in the browser.
const FORBIDDEN_SCHEMES: [&str; 6] = ["javascript", "data", "file", "vbscript", "blob", "about"];

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether `text` may be registered as a redirect URI: `https`, `http` on loopback
/// only, or a native app's private scheme; absolute, without a fragment.
pub fn check_registrable(text: &str) -> Result<Url, String> {
    if text.len() > 2000 {
        return Err("a redirect_uri is longer than 2000 characters".into());
    }
    let url =
        Url::parse(text).map_err(|_| format!("redirect_uri {text:?} is not an absolute URL"))?;
    if url.fragment().is_some() {
        return Err("a redirect_uri must not have a fragment".into());
    }
    match url.scheme() {
        "https" if url.host_str().is_none_or(str::is_empty) => {
            return Err("an https redirect_uri needs a host".into());
        }
        "http" if !is_loopback_host(&url) => {
            return Err(format!(
                "redirect_uri {text:?}: http is allowed only on loopback (127.0.0.1, [::1], localhost); use https"
            ));
        }
        scheme if FORBIDDEN_SCHEMES.contains(&scheme) => {
            return Err(format!("redirect_uri scheme {scheme}: is not allowed"));
        }
        _ => {}
    }
    Ok(url)
}

/// Whether a requested redirect URI matches a registered one.
pub fn matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(reg), Ok(req)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    reg.scheme() == "http"
        && req.scheme() == "http"
        && is_loopback_host(&reg)
        && reg.host() == req.host()
        && reg.path() == req.path()
        && reg.query() == req.query()
        && req.fragment().is_none()
        && req.username().is_empty()
        && req.password().is_none()
        // The raw text too: `Url` normalises, and we compare what the browser gets.
        && without_port(registered) == without_port(requested)
}

/// `requested` minus its loopback port, for the exact comparison of the rest.
fn without_port(text: &str) -> Option<String> {
    let mut url = Url::parse(text).ok()?;
    url.set_port(None).ok()?;
    Some(url.to_string())
}

/// What the consent page says the redirect goes to: the host, or the app scheme.
pub fn describe(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => match url.host_str() {
            Some(host) if is_loopback_host(&url) => format!("this computer ({host})"),
            Some(host) => host.to_owned(),
            None => format!("the app behind {}:", url.scheme()),
        },
        Err(_) => "an unknown place".into(),
    }
}

/// What CSP `form-action` must allow for a redirect to `text`: its origin, or its scheme.
pub fn csp_source(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url.origin().ascii_serialization(),
        Ok(url) => format!("{}:", url.scheme()),
        Err(_) => "'none'".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_may_be_registered() {
        for ok in [
            "https://app.example.com/callback",
            "http://127.0.0.1:33418/",
            "http://localhost:6274/oauth/callback",
            "http://[::1]/cb",
            "cursor://anysphere.cursor-retrieval/oauth/callback",
            "vscode://vscode.github-authentication/did-authenticate",
        ] {
            assert!(check_registrable(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example.com/callback",
            "https://app.example.com/cb#frag",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "/relative",
            "https://",
        ] {
            assert!(check_registrable(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_is_exact_except_the_loopback_port() {
        let reg = "http://127.0.0.1:5000/callback";
        assert!(matches(reg, reg));
        assert!(matches(reg, "http://127.0.0.1:61234/callback"));
        assert!(matches("http://localhost/cb", "http://localhost:9/cb"));
        for miss in [
            "http://127.0.0.1:5000/callback/",
            "http://127.0.0.1:5000/callback?x=1",
            "http://127.0.0.1:5000/Callback",
            "http://localhost:5000/callback",
            "http://127.0.0.2:5000/callback",
            "http://user@127.0.0.1:5000/callback",
            "https://127.0.0.1:5000/callback",
        ] {
            assert!(!matches(reg, miss), "{miss}");
        }
        let https = "https://app.example.com/cb";
        for miss in [
            "https://app.example.com:444/cb",
            "https://app.example.com/cb/",
            "https://app.example.com/cb?next=https://evil.example",
            "https://app.example.com.evil.example/cb",
            "https://evil.example/cb",
            "https://APP.example.com/cb",
        ] {
            assert!(!matches(https, miss), "{miss}");
        }
    }
}
