//! Where log events go: stderr, through `tracing`, in every role of an application.

/// Sends log events to stderr, filtered by `EMBER_LOG` (the usual `tracing` directives, such as
/// `EMBER_LOG=debug` or `EMBER_LOG=ember_core=warn`) or else by `default_filter`. Later calls
/// do nothing.
pub fn init(default_filter: &str) {
    let filter = std::env::var("EMBER_LOG").unwrap_or_else(|_| default_filter.into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
