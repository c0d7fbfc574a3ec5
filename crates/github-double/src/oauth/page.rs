//! The HTML of the web flow: the authorize page and the error pages GitHub shows
//! instead of redirecting. Plain markup with stable ids (`#login`, `#approve`,
//! `#deny`) so a headless browser test can drive it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::seed::{AppKind, SeedOAuthApp};

/// What the authorize page shows and carries.
pub struct AuthorizeView<'a> {
    pub app: &'a SeedOAuthApp,
    /// The request's parameters, posted back unchanged as hidden inputs.
    pub hidden: Vec<(&'a str, &'a str)>,
    pub logins: Vec<&'a str>,
    pub selected: &'a str,
    pub scopes: &'a [String],
    pub redirect_uri: &'a str,
}

/// Escapes text for HTML content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let doc = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    );
    let mut r = (status, doc).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// A page that explains why the flow stops here (nothing is redirected).
pub fn error(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<h1 id=\"error\">{}</h1>\n<p>{}</p>\n",
        escape(title),
        escape(message)
    );
    html(status, title, &body)
}

/// "Authorize <app>": the hidden parameters, a user picker standing in for
/// signing in, and the two buttons.
pub fn authorize(v: &AuthorizeView) -> Response {
    let name = v.app.name.as_deref().unwrap_or(&v.app.client_id);
    let title = format!("Authorize {name}");
    let mut b = format!("<h1>{}</h1>\n", escape(&title));
    let kind = match v.app.kind {
        AppKind::OauthApp => "OAuth App",
        AppKind::GithubApp => "GitHub App",
    };
    let wants = match v.scopes {
        [] => String::new(),
        s => format!(
            " with scopes <code id=\"scopes\">{}</code>",
            escape(&s.join(" "))
        ),
    };
    b.push_str(&format!(
        "<p>{} ({kind}) wants to access your account{wants}.</p>\n<p>You will be redirected to <code id=\"redirect\">{}</code>.</p>\n",
        escape(name),
        escape(v.redirect_uri)
    ));
    b.push_str("<form method=\"post\" action=\"/login/oauth/authorize\">\n");
    for (k, val) in &v.hidden {
        b.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(k),
            escape(val)
        ));
    }
    b.push_str("<label for=\"login\">Sign in as</label>\n<select name=\"login\" id=\"login\">\n");
    for login in &v.logins {
        let sel = if login.eq_ignore_ascii_case(v.selected) {
            " selected"
        } else {
            ""
        };
        let l = escape(login);
        b.push_str(&format!("<option value=\"{l}\"{sel}>{l}</option>\n"));
    }
    b.push_str("</select>\n");
    b.push_str("<button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Authorize</button>\n");
    b.push_str(
        "<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Cancel</button>\n",
    );
    b.push_str("</form>\n");
    html(StatusCode::OK, &title, &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn text(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn the_page_carries_the_request_and_preselects_the_user() {
        let app = SeedOAuthApp::new("Iv1.x", "s", AppKind::OauthApp);
        let scopes = ["repo".to_string()];
        let r = authorize(&AuthorizeView {
            app: &app,
            hidden: vec![("client_id", "Iv1.x"), ("state", "a\"<b>")],
            logins: vec!["alice", "bob"],
            selected: "bob",
            scopes: &scopes,
            redirect_uri: "http://cb",
        });
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let t = text(r).await;
        assert!(t.contains("<title>Authorize Iv1.x</title>"));
        assert!(t.contains(r#"<input type="hidden" name="state" value="a&quot;&lt;b&gt;">"#));
        assert!(t.contains(r#"<option value="bob" selected>bob</option>"#));
        assert!(t.contains(r#"<option value="alice">alice</option>"#));
        assert!(t.contains(r#"id="approve""#) && t.contains(r#"id="deny""#));
        assert!(t.contains(r#"<form method="post" action="/login/oauth/authorize">"#));
    }
}
