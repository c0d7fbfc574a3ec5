//! The double's side: its request log checked for requests made with the wrong
//! tenant's token.
//!
//! What the log offers (`GET /_double/requests`): `method`, `path`, `query`, `user`
//! (the login of the token's owner, null for no or an unknown token),
//! `token_fingerprint` (first 8 hex of the token's SHA-256, also for unknown
//! tokens), status, GraphQL `operationName`. It keeps no GraphQL variables.
//!
//! loadgen knows every tenant's token, so the fingerprint says which tenant's token
//! each request carried. Checks: a REST request naming `/repos/{owner}/...` must
//! carry the owner's token; every request must carry some tenant's token (the
//! server has no token of its own); and, since the GraphQL repository is not in the
//! log, each tenant's calls must account for exactly its share of the requests.

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::load::{token, SAMPLES_KEPT};

#[derive(Debug, Deserialize)]
struct Entry {
    seq: u64,
    method: String,
    path: String,
    token_fingerprint: Option<String>,
    status: u16,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct LogCheck {
    /// Entries read from the log.
    pub entries: u64,
    /// Requests the double handled in the phase (`/_double/stats`), when known.
    pub handled: Option<u64>,
    /// Requests whose token is not the one of the repository in their path, or
    /// that carried no tenant's token at all.
    pub wrong_token_requests: u64,
    /// REST requests naming a repository (`/repos/{owner}/{repo}/...`): checked.
    pub rest_with_repo: u64,
    /// Requests whose repository the log does not show (GraphQL).
    pub repo_not_in_log: u64,
    /// Non-2xx answers the double gave.
    pub non_2xx: u64,
    /// Double requests per tool call, when the same for every call.
    pub requests_per_call: Option<u64>,
    /// Tenants whose logged requests != their calls x `requests_per_call`.
    pub count_mismatch_tenants: u64,
    pub samples: Vec<String>,
}

pub struct Double<'a> {
    pub http: &'a reqwest::Client,
    pub url: &'a str,
}

impl Double<'_> {
    /// Clears the request log and the timing statistics.
    pub async fn reset(&self) -> Result<()> {
        for what in ["requests", "stats"] {
            self.http
                .delete(format!("{}/_double/{what}", self.url))
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .with_context(|| format!("DELETE /_double/{what}"))?;
        }
        Ok(())
    }

    /// The double's current configuration (`GET /_double/config`).
    pub async fn config(&self) -> Result<Value> {
        self.get("config").await
    }

    /// Applies a configuration patch (`POST /_double/config`); an answer other
    /// than 2xx is an error that quotes the double's body.
    pub async fn configure(&self, patch: &Value) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}/_double/config", self.url))
            .json(patch)
            .send()
            .await
            .context("POST /_double/config")?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!(
                "the double refused the configuration {patch} ({status}): {}",
                crate::check::clip(&body, 500)
            );
        }
        serde_json::from_str(&body).context("decoding the answer of POST /_double/config")
    }

    async fn get(&self, what: &str) -> Result<Value> {
        self.http
            .get(format!("{}/_double/{what}", self.url))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .with_context(|| format!("GET /_double/{what}"))?
            .json()
            .await
            .with_context(|| format!("decoding /_double/{what}"))
    }

    pub async fn check(
        &self,
        tenants: usize,
        calls_by_tenant: &HashMap<usize, u64>,
    ) -> Result<LogCheck> {
        let handled = self
            .get("stats")
            .await
            .ok()
            .and_then(|v| v["requests"].as_u64());
        let entries: Vec<Entry> =
            serde_json::from_value(self.get("requests").await?).context("decoding the log")?;
        let mut c = analyse(&entries, tenants, calls_by_tenant);
        c.handled = handled;
        Ok(c)
    }
}

/// Fingerprint (as the double computes it) → tenant number.
fn tenant_fingerprints(tenants: usize) -> HashMap<String, usize> {
    use sha2::{Digest, Sha256};
    (1..=tenants)
        .map(|i| (hex::encode(&Sha256::digest(token(i).as_bytes())[..4]), i))
        .collect()
}

/// `tenantN` → N.
fn tenant_number(login: &str) -> Option<usize> {
    login.strip_prefix("tenant")?.parse().ok()
}

fn analyse(entries: &[Entry], tenants: usize, calls_by_tenant: &HashMap<usize, u64>) -> LogCheck {
    let fingerprints = tenant_fingerprints(tenants);
    let mut c = LogCheck {
        entries: entries.len() as u64,
        ..LogCheck::default()
    };
    let mut by_tenant: HashMap<usize, u64> = HashMap::new();
    let wrong = |c: &mut LogCheck, e: &Entry, why: String| {
        c.wrong_token_requests += 1;
        if c.samples.len() < SAMPLES_KEPT {
            c.samples.push(format!(
                "#{} {} {} (status {}): {why}",
                e.seq, e.method, e.path, e.status
            ));
        }
    };
    for e in entries {
        if !(200..300).contains(&e.status) {
            c.non_2xx += 1;
        }
        let token_tenant = e
            .token_fingerprint
            .as_deref()
            .and_then(|f| fingerprints.get(f).copied());
        if let Some(n) = token_tenant {
            *by_tenant.entry(n).or_default() += 1;
        }
        let path = e.path.strip_prefix("/api/v3").unwrap_or(&e.path);
        let repo_owner = path
            .strip_prefix("/repos/")
            .and_then(|p| p.split('/').next())
            .filter(|o| !o.is_empty());
        match (token_tenant, repo_owner) {
            (None, _) => wrong(
                &mut c,
                e,
                match &e.token_fingerprint {
                    Some(_) => "a token that is no tenant's".to_owned(),
                    None => "no token".to_owned(),
                },
            ),
            (Some(n), Some(owner)) if tenant_number(owner) != Some(n) => wrong(
                &mut c,
                e,
                format!("tenant{n}'s token for {owner}'s repository"),
            ),
            _ => {}
        }
        match repo_owner {
            Some(_) => c.rest_with_repo += 1,
            None => c.repo_not_in_log += 1,
        }
    }
    let total_calls: u64 = calls_by_tenant.values().sum();
    let total_logged: u64 = by_tenant.values().sum();
    if total_calls > 0 && total_logged.is_multiple_of(total_calls) {
        let k = total_logged / total_calls;
        c.requests_per_call = Some(k);
        c.count_mismatch_tenants = calls_by_tenant
            .iter()
            .filter(|(i, calls)| by_tenant.get(i).copied().unwrap_or(0) != k * **calls)
            .count() as u64;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(path: &str, tenant: Option<usize>) -> Entry {
        Entry {
            seq: 1,
            method: "GET".into(),
            path: path.into(),
            token_fingerprint: tenant.map(|i| {
                tenant_fingerprints(9)
                    .into_iter()
                    .find(|(_, n)| *n == i)
                    .unwrap()
                    .0
            }),
            status: 200,
        }
    }

    #[test]
    fn fingerprints_match_the_doubles() {
        // sha256("ghp_tenant1") starts with these 4 bytes (computed independently).
        assert_eq!(tenant_fingerprints(1).get("d160928d"), Some(&1));
    }

    #[test]
    fn rest_paths_are_checked_against_the_token() {
        let calls = HashMap::from([(1, 1), (2, 1)]);
        let log = [
            e("/repos/tenant1/repo1/pulls/1", Some(1)),
            e("/api/v3/repos/tenant2/repo2/pulls/1", Some(1)),
            e("/api/graphql", Some(2)),
            e("/api/graphql", None),
            e("/api/graphql", Some(9)),
        ];
        let c = analyse(&log, 2, &calls);
        assert_eq!(c.rest_with_repo, 2);
        assert_eq!(c.repo_not_in_log, 3);
        assert_eq!(c.wrong_token_requests, 3);
    }

    #[test]
    fn per_tenant_counts_reveal_a_swapped_token() {
        let calls = HashMap::from([(1, 2), (2, 2)]);
        let g = |i| e("/api/graphql", Some(i));
        let c = analyse(&[g(1), g(1), g(2), g(2)], 2, &calls);
        assert_eq!(
            (c.requests_per_call, c.count_mismatch_tenants),
            (Some(1), 0)
        );
        let c = analyse(&[g(1), g(1), g(1), g(2)], 2, &calls);
        assert_eq!(
            (c.requests_per_call, c.count_mismatch_tenants),
            (Some(1), 2)
        );
    }
}
