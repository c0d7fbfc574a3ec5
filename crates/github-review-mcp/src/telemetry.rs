//! Logging to stderr (stdout belongs to the stdio transport), text or JSON.
//! Spans carry request id and token facts; no field ever carries a token. Panics are
//! logged by [`install_panic_hook`], which never prints request data.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}

/// Replaces the default panic message (which prints the panic's payload, and a
/// formatted payload can carry request data, even a token) by one log line with the
/// thread and location. A payload is kept only when it is a string literal
/// (`&'static str`), which cannot hold anything from a request.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(report_panic));
}

fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    let location = info
        .location()
        .map(|l| format!("{}:{}", l.file(), l.line()))
        .unwrap_or_else(|| "unknown".to_owned());
    let message = info
        .payload()
        .downcast_ref::<&'static str>()
        .copied()
        .unwrap_or("(message withheld: it may contain request data)");
    let thread = std::thread::current();
    tracing::error!(
        thread = thread.name().unwrap_or("unnamed"),
        location,
        message,
        "panic"
    );
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_panic_is_logged_with_its_location_and_never_its_formatted_message() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        super::install_panic_hook();
        let token = String::from("ghp_0123456789abcdefPANICKEDWITHTHIS0000");
        tracing::subscriber::with_default(subscriber, || {
            let formatted = std::panic::catch_unwind(|| panic!("bad request {token}"));
            let literal = std::panic::catch_unwind(|| panic!("a fixed message"));
            assert!(formatted.is_err() && literal.is_err());
        });
        let _ = std::panic::take_hook();
        let logged = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("telemetry.rs"), "{logged}");
        assert!(logged.contains("message withheld"), "{logged}");
        assert!(logged.contains("a fixed message"), "{logged}");
        assert!(!logged.contains("PANICKED"), "{logged}");
        assert!(!logged.contains("bad request"), "{logged}");
    }
}
