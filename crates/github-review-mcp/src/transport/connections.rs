//! Accepts TCP connections and serves each with hyper's HTTP/1, in place of
//! `axum::serve`, for one setting axum does not expose: the largest request head a
//! connection buffers (`--max-header-bytes`).
//!
//! hyper's default lets a connection's read buffer grow to about 400 KiB, and a
//! keep-alive connection keeps the largest buffer it ever grew. With 200 tenants
//! each holding a POST connection and a GET stream, the grown buffers were 6.4 MiB of
//! the heap's peak; bounded, the 400 connections hold 3.2 MiB. Bodies are streamed in
//! buffer-sized pieces, so the bound only limits the head (request line and headers):
//! a longer head is answered 431 by hyper.
//!
//! hyper parses a request's URI and header values as slices of that read buffer,
//! so whatever keeps them keeps the whole buffer, and the connection allocates
//! another for its next read (rmcp keeps a session's `initialize` request). Each
//! request's URI and header values are therefore copied out of the buffer before the
//! application sees them: with 50 sessions, their connections held 99 buffers at the
//! peak instead of 135.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use bytes::Bytes;
use http::{HeaderValue, Request, Uri};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Serves `app` on `listener` until `stop` resolves, then stops accepting, asks
/// every open connection to close once its current request is answered, and waits
/// for them. `max_head_bytes` is validated by `config` (at least 8 KiB: hyper
/// panics on less).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    max_head_bytes: usize,
    stop: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder.max_buf_size(max_head_bytes).keep_alive(true);
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let service = TowerToHyperService::new(app.clone().map_request(detach_from_read_buffer));
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The request with its URI and header values in their own allocations instead of
/// slices of the connection's read buffer (see the module's documentation).
fn detach_from_read_buffer<B>(mut request: Request<B>) -> Request<B> {
    for value in request.headers_mut().values_mut() {
        let sensitive = value.is_sensitive();
        // The bytes were valid as a header value a moment ago, so this cannot fail.
        if let Ok(mut copy) =
            HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value.as_bytes()))
        {
            copy.set_sensitive(sensitive);
            *value = copy;
        }
    }
    if let Ok(uri) = Uri::from_maybe_shared(Bytes::from(request.uri().to_string())) {
        *request.uri_mut() = uri;
    }
    request
}

/// A connection that failed before it was accepted only costs that connection; any
/// other error (too many open files) is logged and waited out, as `axum::serve` does.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detached_requests_no_longer_share_the_buffer_they_were_parsed_from() {
        let buffer = Bytes::from_static(b"/mcp?x=1 ghp_token value");
        let mut request = Request::builder()
            .uri(Uri::from_maybe_shared(buffer.slice(0..8)).unwrap())
            .header(
                "x-github-token",
                HeaderValue::from_maybe_shared(buffer.slice(9..18)).unwrap(),
            )
            .body(())
            .unwrap();
        request
            .headers_mut()
            .get_mut("x-github-token")
            .unwrap()
            .set_sensitive(true);
        let within = |p: *const u8| buffer.as_ptr_range().contains(&p);
        assert!(within(
            request.headers()["x-github-token"].as_bytes().as_ptr()
        ));

        let request = detach_from_read_buffer(request);
        let value = &request.headers()["x-github-token"];
        assert_eq!(value.as_bytes(), b"ghp_token");
        assert!(value.is_sensitive(), "sensitivity is kept");
        assert!(!within(value.as_bytes().as_ptr()));
        assert_eq!(request.uri(), "/mcp?x=1");
        assert!(!within(request.uri().path().as_ptr()));
    }
}
