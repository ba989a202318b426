//! Named request handlers on the driver that tasks can ask: the small part of Spark's `RpcEnv`
//! that libraries above ember-core need, such as a streaming application's receiver tracker,
//! which receivers running as tasks report their stored blocks to.
//!
//! The driver sets a handler under a name with [`Context::set_endpoint`]; a task asks it with
//! [`Env::ask_driver`]: over its executor's connection to the driver, or by a direct call in
//! local mode, where tasks run in the driver. Requests and replies are serde types, encoded
//! with bincode on the way.
//!
//! A handler runs on a thread that may block briefly (a lock), never for long: every executor
//! of the application shares the driver's connection handling.
//!
//! [`Context::set_endpoint`]: crate::Context::set_endpoint
//! [`Env::ask_driver`]: crate::Env::ask_driver

use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// A handler: the asking executor's id and the encoded request, to the encoded reply.
pub(crate) type Handler = Arc<dyn Fn(&str, &[u8]) -> Result<Vec<u8>> + Send + Sync>;

/// The driver's endpoints, by name.
#[derive(Default)]
pub(crate) struct Endpoints {
    handlers: Mutex<HashMap<String, Handler>>,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<String> = self.handlers.lock().keys().cloned().collect();
        names.sort();
        f.debug_struct("Endpoints").field("names", &names).finish()
    }
}

impl Endpoints {
    /// Sets (or replaces) endpoint `name`.
    pub(crate) fn set(&self, name: &str, handler: Handler) {
        self.handlers.lock().insert(name.to_string(), handler);
    }

    /// Removes endpoint `name`; later requests to it fail.
    pub(crate) fn remove(&self, name: &str) {
        self.handlers.lock().remove(name);
    }

    /// Asks endpoint `name` on behalf of `executor`.
    ///
    /// # Errors
    /// There is no such endpoint (it was never set, or was removed), or its handler failed.
    pub(crate) fn ask(&self, name: &str, executor: &str, request: &[u8]) -> Result<Vec<u8>> {
        let handler = self.handlers.lock().get(name).cloned();
        let handler = handler.ok_or_else(|| {
            Error::Input(format!(
                "the driver has no endpoint named {name}: what served it has stopped"
            ))
        })?;
        handler(executor, request)
    }
}

/// Wraps a typed handler into one of bytes.
pub(crate) fn typed<Req, Rep, F>(handler: F) -> Handler
where
    Req: serde::de::DeserializeOwned,
    Rep: serde::Serialize,
    F: Fn(&str, Req) -> Result<Rep> + Send + Sync + 'static,
{
    Arc::new(move |executor: &str, bytes: &[u8]| {
        let request = bincode::deserialize(bytes)?;
        Ok(bincode::serialize(&handler(executor, request)?)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_endpoint_answers_by_name_and_a_removed_one_refuses() {
        let endpoints = Endpoints::default();
        endpoints.set(
            "doubler",
            typed(|executor: &str, n: u64| Ok(format!("{executor}:{}", n * 2))),
        );
        let request = bincode::serialize(&21u64).unwrap();
        let reply = endpoints.ask("doubler", "7", &request).unwrap();
        assert_eq!(bincode::deserialize::<String>(&reply).unwrap(), "7:42");
        endpoints.remove("doubler");
        let error = endpoints.ask("doubler", "7", &request).unwrap_err();
        assert!(
            error.to_string().contains("no endpoint named doubler"),
            "{error}"
        );
    }
}
