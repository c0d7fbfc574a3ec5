//! What a call's GitHub requests did (each answer, a retry, a rate-limit wait), for
//! an MCP client that asked for logs. The tool layer opens a [`scope`] around one
//! call; the client [`report`]s into it. Outside a scope nothing is sent, and an
//! event never carries a token or a request body: the API, a status, a duration.

use std::future::Future;

use tokio::sync::mpsc::UnboundedSender;

/// One thing a GitHub request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// GitHub answered (`status` `None`: no answer) after `ms`.
    Answered {
        api: &'static str,
        status: Option<u16>,
        ms: u64,
    },
    /// The request is sent again (`why`: a network error, a server error, a broken answer).
    Retry { attempt: u32, why: &'static str },
    /// Waiting `ms` before sending: a secondary rate limit (this call's, or another's).
    Wait { ms: u64 },
}

tokio::task_local! {
    static SINK: UnboundedSender<Event>;
}

/// Runs `f` with its GitHub events sent to `sink`.
pub async fn scope<F: Future>(sink: UnboundedSender<Event>, f: F) -> F::Output {
    SINK.scope(sink, f).await
}

/// Reports `event` to the current call's scope, if any.
pub fn report(event: Event) {
    let _ = SINK.try_with(|sink| sink.send(event));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_reach_only_their_scope() {
        report(Event::Wait { ms: 1 }); // no scope: dropped, no panic
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        scope(tx, async {
            report(Event::Retry {
                attempt: 1,
                why: "a server error",
            });
        })
        .await;
        assert_eq!(
            rx.recv().await,
            Some(Event::Retry {
                attempt: 1,
                why: "a server error"
            })
        );
        assert_eq!(rx.recv().await, None);
    }
}
