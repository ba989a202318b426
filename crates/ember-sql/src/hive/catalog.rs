//! The metastore as DataFusion's catalog: each database a schema, each table a [`HiveTable`],
//! and the session's temporary views in front of them all.
//!
//! Spark resolves a bare name to a temporary view first, then to a table of the current
//! database; here every database's schema looks in the one set of temporary views first, so
//! a view is found whichever database is current (`USE db`).

use super::client::Metastore;
use super::table::HiveTable;
use crate::error::Error;
use crate::statements::{schema_not_found, table_not_found};
use datafusion::catalog::{CatalogProvider, MemorySchemaProvider, SchemaProvider};
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result};
use ember_core::Env;
use std::sync::Arc;

/// The catalog Spark calls `spark_catalog`, over the metastore.
#[derive(Debug)]
pub(crate) struct HiveCatalog {
    metastore: Arc<Metastore>,
    env: Arc<Env>,
    views: Arc<MemorySchemaProvider>,
}

impl HiveCatalog {
    pub(crate) fn new(metastore: Arc<Metastore>, env: Arc<Env>) -> Self {
        HiveCatalog {
            metastore,
            env,
            views: Arc::new(MemorySchemaProvider::new()),
        }
    }

    pub(crate) fn metastore(&self) -> &Arc<Metastore> {
        &self.metastore
    }

    /// The names of the session's temporary views.
    pub(crate) fn views(&self) -> Vec<String> {
        self.views.table_names()
    }
}

/// A metastore failure as DataFusion carries errors: its message reaches the user whole.
pub(crate) fn external(e: impl Into<Error>) -> DataFusionError {
    DataFusionError::External(Box::new(e.into()))
}

impl CatalogProvider for HiveCatalog {
    fn schema_names(&self) -> Vec<String> {
        // Only listing needs them; a metastore that is down fails the statement that reads.
        self.metastore.databases().unwrap_or_else(|e| {
            tracing::warn!("cannot list the metastore's databases: {:?}", e);
            Vec::new()
        })
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        // Whether the database exists is asked when a table of it is.
        Some(Arc::new(HiveDatabase {
            name: name.to_string(),
            metastore: self.metastore.clone(),
            env: self.env.clone(),
            views: self.views.clone(),
        }))
    }
}

/// One database of the metastore.
#[derive(Debug)]
struct HiveDatabase {
    name: String,
    metastore: Arc<Metastore>,
    env: Arc<Env>,
    views: Arc<MemorySchemaProvider>,
}

#[async_trait::async_trait]
impl SchemaProvider for HiveDatabase {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.views.table_names();
        match self.metastore.tables(&self.name) {
            Ok(tables) => names.extend(tables),
            Err(e) => tracing::warn!("cannot list the tables of {}: {:?}", self.name, e),
        }
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(view) = self.views.table(name).await? {
            return Ok(Some(view));
        }
        let Some(table) = self.metastore.table(&self.name, name).map_err(external)? else {
            if self
                .metastore
                .database(&self.name)
                .map_err(external)?
                .is_none()
            {
                return Err(external(schema_not_found(&self.name)));
            }
            return Err(external(table_not_found(&self.name, name)));
        };
        let table =
            HiveTable::new(self.metastore.clone(), self.env.clone(), table).map_err(external)?;
        Ok(Some(Arc::new(table)))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        self.views.register_table(name, table)
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        self.views.deregister_table(name)
    }

    fn table_exist(&self, name: &str) -> bool {
        self.views.table_exist(name)
            || matches!(self.metastore.table(&self.name, name), Ok(Some(_)))
    }
}
