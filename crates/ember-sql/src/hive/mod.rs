//! Tables of a Hive Metastore in SQL, as Spark's Hive support shows them.
//!
//! With `ember.hive.metastore.uris` set (or `hive.metastore.uris` in a `hive-site.xml` of the
//! Hadoop configuration directory), the session's catalog is the metastore's (`catalog`):
//! `SELECT ... FROM db.table`, `ctx.table("db.table")`, `SHOW DATABASES`, `SHOW TABLES IN db`,
//! `USE db` and `DESCRIBE db.table` see its databases and tables, and temporary views sit in
//! front of them. `CREATE TABLE ... STORED AS PARQUET|ORC|TEXTFILE [PARTITIONED BY (...)]
//! [AS SELECT ...]` and `INSERT INTO|OVERWRITE ... [PARTITION (...)]` write the metastore's
//! tables (`write`). Without it, the session keeps DataFusion's in-memory catalog.
//!
//! | piece | owns |
//! |---|---|
//! | `client` | the Thrift client: calls, failover between metastores, errors |
//! | `catalog` | databases as DataFusion schemas, temporary views in front |
//! | `table` | a table's schema, storage and partitions; its scan |
//! | `filter` | WHERE predicates as the metastore's partition filters |
//! | `text` | Hive's delimited text fields read and written as expressions |
//! | `ddl` | reading `CREATE TABLE` and `INSERT` |
//! | `write` | creating and filling tables: staged files, partitions registered, then moved in |
//! | [`arrow_type`] | Hive type names into Arrow types |
//!
//! A metastore describes each column by a Hive type name (`int`, `decimal(10,2)`,
//! `map<string,array<int>>`); [`arrow_type`] reads one into the Arrow type ember's scans
//! produce for it, as Spark's Hive support reads the same column.

mod catalog;
mod client;
mod ddl;
mod filter;
mod table;
mod text;
mod types;
mod write;

pub(crate) use catalog::HiveCatalog;
pub(crate) use client::Metastore;
pub(crate) use ddl::{CreateTable, Ddl, Insert};
use ember_core::conf::ConfigEntry;
use ember_core::Context;
use std::sync::atomic::{AtomicU64, Ordering};
pub(crate) use table::HiveTable;
pub use types::arrow_type;
pub(crate) use types::hive_type;
pub(crate) use write::{create_table, insert, run_ddl};

ember_core::config_keys! {
    area: "SQL";
    /// The metastores of the session's catalog (`ember.hive.metastore.uris`, Spark's
    /// `spark.hadoop.hive.metastore.uris`): `thrift://host:port`, several separated by commas.
    pub const METASTORE_URIS: ConfigEntry<String> = ConfigEntry::text(
        "ember.hive.metastore.uris",
        None,
        "the Hive Metastores whose databases and tables SQL sees, thrift://host:port separated by commas; default hive.metastore.uris of hive-site.xml",
        "0.1.0",
    );
}

/// The value Hive stores for a null partition value, and names its directory by.
pub(crate) const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The name Spark gives the metastore's catalog, and so the session's default catalog.
pub(crate) const CATALOG: &str = "spark_catalog";

/// How much the scans of a session's metastore tables asked for (Spark's
/// `HiveCatalogMetrics`): partition pruning shows as fewer of both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CatalogMetrics {
    /// Partitions the metastore returned.
    pub partitions_fetched: u64,
    /// Files found in the partitions' (or tables') directories.
    pub files_discovered: u64,
}

impl CatalogMetrics {
    /// What the scans of `ctx`'s session asked for so far; `None` without a metastore.
    pub fn of(ctx: &Context) -> Option<CatalogMetrics> {
        let session = crate::session::SqlSession::of(ctx);
        let counters = &session.metastore()?.metrics;
        Some(CatalogMetrics {
            partitions_fetched: counters.partitions.load(Ordering::Relaxed),
            files_discovered: counters.files.load(Ordering::Relaxed),
        })
    }
}

/// The running counts behind [`CatalogMetrics`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    partitions: AtomicU64,
    files: AtomicU64,
}

impl Counters {
    pub(crate) fn count_partitions(&self, n: usize) {
        self.partitions.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_files(&self, n: usize) {
        self.files.fetch_add(n as u64, Ordering::Relaxed);
    }
}
