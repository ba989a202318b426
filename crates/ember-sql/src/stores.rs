//! Where DataFusion finds object stores: ember's own (`hdfs://`, `s3a://`, `file://`, with the
//! application's Hadoop settings), set up the first time a URL of theirs is read or written.
//!
//! The driver plans with it and every task runs with it, so a plan fragment naming
//! `hdfs://nn:8020/` finds its store on any executor without being told.

use datafusion::error::DataFusionError;
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use ember_core::Env;
use object_store::ObjectStore;
use std::sync::Arc;
use url::Url;

/// DataFusion's registry of object stores, falling back on ember's resolution.
pub(crate) struct EmberStores {
    env: Arc<Env>,
    known: DefaultObjectStoreRegistry,
}

impl EmberStores {
    pub(crate) fn new(env: Arc<Env>) -> Self {
        EmberStores {
            env,
            known: DefaultObjectStoreRegistry::new(),
        }
    }
}

impl std::fmt::Debug for EmberStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.known.fmt(f)
    }
}

impl ObjectStoreRegistry for EmberStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>, DataFusionError> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        let resolved = self
            .env
            .resolve(url.as_str())
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        self.known.register_store(url, resolved.store.clone());
        Ok(resolved.store)
    }
}
