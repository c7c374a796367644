//! The host's log (`tracing` events of `cache_host` and its storages) as records
//! of Python's `logging`, logger `gromozeka_cache`: write-back failures, dropped
//! changes and reconnections reach the application's own log.
//!
//! Events at INFO and above are forwarded (the others are never built). A
//! record is emitted with the GIL taken for it, from whichever thread logged;
//! no thread holding the GIL waits for the host's locks (calls release it
//! first), so taking it cannot deadlock. When the interpreter cannot be
//! attached (not yet initialized, or finalizing) the line goes to stderr.

use std::fmt::Write as _;

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The logger's name, shared with the Python package's own records.
const LOGGER: &str = "gromozeka_cache";

/// Installs the bridge as the process's tracing subscriber, unless the
/// embedding application installed one first (then its choice stands).
pub fn install() {
    let subscriber = tracing_subscriber::registry().with(PythonLogging);
    let _already_set = tracing::subscriber::set_global_default(subscriber);
}

/// Forwards events to `logging.getLogger("gromozeka_cache")`.
struct PythonLogging;

impl<S: Subscriber> Layer<S> for PythonLogging {
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        *metadata.level() <= Level::INFO
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = Line::default();
        event.record(&mut line);
        let text = line.text();
        let level = match *event.metadata().level() {
            Level::ERROR => 40,
            Level::WARN => 30,
            _ => 20,
        };
        let logged = Python::try_attach(|py| {
            py.import("logging")
                .and_then(|m| m.call_method1("getLogger", (LOGGER,)))
                .and_then(|logger| logger.call_method1("log", (level, text.as_str())))
                .is_ok()
        });
        if logged != Some(true) {
            eprintln!("{LOGGER}: {text}");
        }
    }
}

/// An event as one line: its message, then its fields as `name=value`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn text(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else {
            format!("{} ({})", self.message, self.fields.trim_start())
        }
    }
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}
