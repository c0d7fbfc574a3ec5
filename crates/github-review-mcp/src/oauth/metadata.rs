//! RFC 8414 authorization-server metadata, and the RFC 9728 protected-resource
//! metadata that names this server as the authorization server.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::{Oauth, AUTHORIZE_PATH, REGISTER_PATH, REVOKE_PATH, TOKEN_PATH};
use crate::tools::catalog;

pub const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

impl Oauth {
    pub fn authorization_server_metadata(&self) -> Value {
        json!({
            "issuer": self.issuer(),
            "authorization_endpoint": self.url(AUTHORIZE_PATH),
            "token_endpoint": self.url(TOKEN_PATH),
            "registration_endpoint": self.url(REGISTER_PATH),
            "revocation_endpoint": self.url(REVOKE_PATH),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "revocation_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": catalog::scopes(),
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "service_documentation": "https://github.com/github-review-mcp/github-review-mcp#sign-in-with-github",
        })
    }

    /// RFC 9728 metadata of `/mcp`: this server is its authorization server.
    pub fn protected_resource_metadata(&self) -> Value {
        json!({
            "resource": self.resource(),
            "authorization_servers": [self.issuer()],
            "bearer_methods_supported": ["header"],
            "scopes_supported": catalog::scopes(),
            "resource_name": format!("github-review-mcp ({})", self.host.display_name()),
        })
    }
}

pub(super) async fn authorization_server(State(oauth): State<Arc<Oauth>>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(oauth.authorization_server_metadata()),
    )
}
