//! Talking to a Hive Metastore: its Thrift API (the `hive_metastore` crate's client) behind
//! blocking calls that name what went wrong in Spark's words.
//!
//! DataFusion asks its catalog for schema names without `async`, and SQL statements are
//! planned inside the session's own runtime, so calls run on the process's I/O runtime
//! ([`ember_hadoop::io_runtime`]) and the caller waits: a call never needs a thread of the
//! runtime that waits for it. Nothing running on the I/O runtime calls the metastore, so the
//! wait never holds one of its own threads (see `docs/threads-and-runtimes.md`).
//!
//! `ember.hive.metastore.uris` may list several metastores (`thrift://a:9083,thrift://b:9083`);
//! a call that cannot reach one goes to the next, as Hive's client does.

use crate::error::{Error, Result};
use hive_metastore::{
    Database, Partition, Table, ThriftHiveMetastoreClient, ThriftHiveMetastoreClientBuilder,
};
use pilota::FastStr;
use std::future::Future;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::time::Duration;
use volo_thrift::{ClientError, MaybeException};

/// How long a metastore may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one call may take: listing many partitions is slow (Hive's client default, 600 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a metastore refused a call: the exception it threw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Refusal {
    /// The exception's Thrift name, such as `NoSuchObjectException`.
    pub(crate) kind: &'static str,
    /// Its message.
    pub(crate) message: String,
}

impl Refusal {
    /// Whether the metastore says the object does not exist.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(
            self.kind,
            "NoSuchObjectException" | "UnknownDBException" | "UnknownTableException"
        )
    }
}

/// An exception a metastore call may throw: every variant holds one of Hive's exception
/// structs, each with a message.
pub(crate) trait Exception {
    /// The exception as a [`Refusal`].
    fn refusal(&self) -> Refusal;
}

/// The Refusal of one of Hive's exception structs.
fn refusal_of<T>(_exception: &T, message: &Option<FastStr>) -> Refusal {
    let name = std::any::type_name::<T>();
    Refusal {
        kind: name.rsplit("::").next().unwrap_or(name),
        message: message.as_deref().unwrap_or_default().to_string(),
    }
}

macro_rules! exceptions {
    ($($name:ident { $($variant:ident),+ })+) => {
        $(impl Exception for hive_metastore::$name {
            fn refusal(&self) -> Refusal {
                match self {
                    $(hive_metastore::$name::$variant(e) => refusal_of(e, &e.message),)+
                }
            }
        })+
    };
}

exceptions! {
    ThriftHiveMetastoreGetAllDatabasesException { O1 }
    ThriftHiveMetastoreGetDatabaseException { O1, O2 }
    ThriftHiveMetastoreGetAllTablesException { O1 }
    ThriftHiveMetastoreGetTableException { O1, O2 }
    ThriftHiveMetastoreGetPartitionsException { O1, O2 }
    ThriftHiveMetastoreGetPartitionsByFilterException { O1, O2 }
    ThriftHiveMetastoreGetPartitionNamesException { O2 }
    ThriftHiveMetastoreCreateTableException { O1, O2, O3, O4 }
    ThriftHiveMetastoreCreateDatabaseException { O1, O2, O3 }
    ThriftHiveMetastoreDropTableException { O1, O3 }
    ThriftHiveMetastoreAddPartitionsException { O1, O2, O3 }
}

/// A refusal, or no answer at all.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The metastore answered with an exception.
    Refused(Refusal),
    /// No metastore could be reached, or none answered in Thrift.
    Unreachable(String),
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Refused(r) => Error::Metastore(format!("{}: {}", r.kind, r.message)),
            CallError::Unreachable(message) => Error::Metastore(message),
        }
    }
}

/// The application's metastore (Spark's `HiveClient`).
pub(crate) struct Metastore {
    /// `ember.hive.metastore.uris` as given, for messages.
    uris: String,
    /// `host:port` of each metastore, in order.
    addresses: Vec<String>,
    /// The process's I/O runtime, where the client's connection lives and its calls run.
    runtime: &'static tokio::runtime::Runtime,
    /// The client of the metastore last reached, by its index in `addresses`.
    client: Mutex<Option<(usize, ThriftHiveMetastoreClient)>>,
    /// What scans of its tables asked for.
    pub(crate) metrics: super::Counters,
}

impl std::fmt::Debug for Metastore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metastore")
            .field("uris", &self.uris)
            .finish()
    }
}

impl Metastore {
    /// A client of the metastores `uris` (`thrift://host:port`, separated by commas); it
    /// connects on its first call.
    ///
    /// # Errors
    /// A URI that is not `thrift://host:port`.
    pub(crate) fn new(uris: &str) -> Result<Self> {
        let addresses = uris
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|uri| {
                uri.strip_prefix("thrift://")
                    .map(|a| a.trim_end_matches('/'))
                    .filter(|a| {
                        a.rsplit_once(':').is_some_and(|(host, port)| {
                            !host.is_empty() && port.parse::<u16>().is_ok()
                        })
                    })
                    .map(str::to_string)
                    .ok_or_else(|| {
                        Error::Input(format!(
                            "{} names {uri:?}; a metastore is thrift://<host>:<port> (say \
                             thrift://metastore:9083), several separated by commas",
                            super::METASTORE_URIS.key
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        if addresses.is_empty() {
            return Err(Error::Input(format!(
                "{} is empty; set it to thrift://<host>:<port>",
                super::METASTORE_URIS.key
            )));
        }
        // Its calls are network I/O: they go where the process's other connections are.
        let runtime = ember_hadoop::io_runtime()
            .map_err(|e| Error::Metastore(format!("cannot start the metastore client: {e}")))?;
        Ok(Metastore {
            uris: uris.to_string(),
            addresses,
            runtime,
            client: Mutex::new(None),
            metrics: super::Counters::default(),
        })
    }

    /// The names of every database.
    pub(crate) fn databases(&self) -> Result<Vec<String>, CallError> {
        let names = self.call(|c| async move { c.get_all_databases().await })?;
        Ok(names.into_iter().map(|n| n.to_string()).collect())
    }

    /// Database `name`, if there is one.
    pub(crate) fn database(&self, name: &str) -> Result<Option<Database>, CallError> {
        let name = FastStr::new(name);
        found(self.call(move |c| {
            let name = name.clone();
            async move { c.get_database(name).await }
        }))
    }

    /// The names of the tables (and views) of database `db`.
    pub(crate) fn tables(&self, db: &str) -> Result<Vec<String>, CallError> {
        let db = FastStr::new(db);
        let names = self.call(move |c| {
            let db = db.clone();
            async move { c.get_all_tables(db).await }
        })?;
        Ok(names.into_iter().map(|n| n.to_string()).collect())
    }

    /// Table `db.name`, if there is one.
    pub(crate) fn table(&self, db: &str, name: &str) -> Result<Option<Table>, CallError> {
        let (db, name) = (FastStr::new(db), FastStr::new(name));
        found(self.call(move |c| {
            let (db, name) = (db.clone(), name.clone());
            async move { c.get_table(db, name).await }
        }))
    }

    /// The partitions of table `db.name`: every one, or those `filter` (Hive's partition
    /// filter language, `ds = "2024-01-01" and h > 3`) selects.
    pub(crate) fn partitions(
        &self,
        db: &str,
        name: &str,
        filter: Option<&str>,
    ) -> Result<Vec<Partition>, CallError> {
        let (db, name) = (FastStr::new(db), FastStr::new(name));
        // -1: no limit on how many come back.
        match filter {
            None => self.call(move |c| {
                let (db, name) = (db.clone(), name.clone());
                async move { c.get_partitions(db, name, -1).await }
            }),
            Some(filter) => {
                let filter = FastStr::new(filter);
                self.call(move |c| {
                    let (db, name, filter) = (db.clone(), name.clone(), filter.clone());
                    async move { c.get_partitions_by_filter(db, name, filter, -1).await }
                })
            }
        }
    }

    /// The names of table `db.name`'s partitions, as Hive writes them (`ds=2024-01-01/h=0`).
    pub(crate) fn partition_names(&self, db: &str, name: &str) -> Result<Vec<String>, CallError> {
        let (db, name) = (FastStr::new(db), FastStr::new(name));
        let names = self.call(move |c| {
            let (db, name) = (db.clone(), name.clone());
            async move { c.get_partition_names(db, name, -1).await }
        })?;
        Ok(names.into_iter().map(|n| n.to_string()).collect())
    }

    /// Creates `table`; the metastore gives a managed table without a location its directory
    /// in the warehouse.
    pub(crate) fn create_table(&self, table: Table) -> Result<(), CallError> {
        self.call(move |c| {
            let table = table.clone();
            async move { c.create_table(table).await }
        })
    }

    /// Creates database `name`; the metastore gives it its directory in the warehouse.
    pub(crate) fn create_database(&self, name: &str) -> Result<(), CallError> {
        let database = Database {
            name: Some(FastStr::new(name)),
            ..Database::default()
        };
        self.call(move |c| {
            let database = database.clone();
            async move { c.create_database(database).await }
        })
    }

    /// Drops table `db.name` and, for a managed table, its files.
    pub(crate) fn drop_table(&self, db: &str, name: &str) -> Result<(), CallError> {
        let (db, name) = (FastStr::new(db), FastStr::new(name));
        self.call(move |c| {
            let (db, name) = (db.clone(), name.clone());
            async move { c.drop_table(db, name, true).await }
        })
    }

    /// Registers `partitions`, all or none.
    pub(crate) fn add_partitions(&self, partitions: Vec<Partition>) -> Result<(), CallError> {
        self.call(move |c| {
            let partitions = partitions.clone();
            async move { c.add_partitions(partitions).await }
        })
        .map(|_| ())
    }

    /// Runs `call` with a client, trying each metastore in turn while none can be reached.
    fn call<T, E, F, Fut>(&self, call: F) -> Result<T, CallError>
    where
        T: Send + 'static,
        E: Exception + Send + 'static,
        F: Fn(ThriftHiveMetastoreClient) -> Fut,
        Fut: Future<Output = Result<MaybeException<T, E>, ClientError>> + Send + 'static,
    {
        let mut failures = Vec::new();
        let first = self.lock().as_ref().map_or(0, |(index, _)| *index);
        for attempt in 0..self.addresses.len() {
            let index = (first + attempt) % self.addresses.len();
            let client = match self.client_for(index) {
                Ok(client) => client,
                Err(reason) => {
                    failures.push(format!("{}: {reason}", self.addresses[index]));
                    continue;
                }
            };
            let answer = futures::executor::block_on(self.runtime.spawn(call(client)))
                .map_err(|e| CallError::Unreachable(format!("the metastore call failed: {e}")))?;
            match answer {
                Ok(MaybeException::Ok(value)) => return Ok(value),
                Ok(MaybeException::Exception(e)) => return Err(CallError::Refused(e.refusal())),
                Err(e) => {
                    // The next metastore is asked with a new connection; this one's is gone.
                    *self.lock() = None;
                    failures.push(format!("{}: {e}", self.addresses[index]));
                }
            }
        }
        Err(CallError::Unreachable(format!(
            "cannot reach the Hive Metastore at {} ({}); check that it runs and that {} (or \
             hive.metastore.uris in hive-site.xml) names it",
            self.uris,
            failures.join("; "),
            super::METASTORE_URIS.key
        )))
    }

    /// The client of metastore `index`, made unless it is the one last used.
    fn client_for(&self, index: usize) -> Result<ThriftHiveMetastoreClient, String> {
        let mut current = self.lock();
        if let Some((at, client)) = current.as_ref() {
            if *at == index {
                return Ok(client.clone());
            }
        }
        let address: SocketAddr = self.addresses[index]
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve the host: {e}"))?
            .next()
            .ok_or("the host has no address")?;
        // The client's transport belongs to the runtime it was made in.
        let _runtime = self.runtime.enter();
        let client = ThriftHiveMetastoreClientBuilder::new("hive-metastore")
            .address(address)
            .make_codec(volo_thrift::codec::default::DefaultMakeCodec::buffered())
            .connect_timeout(Some(CONNECT_TIMEOUT))
            .rpc_timeout(Some(CALL_TIMEOUT))
            .build();
        *current = Some((index, client.clone()));
        Ok(client)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(usize, ThriftHiveMetastoreClient)>> {
        // The guarded value is a cache: one a panicking thread left is as good as any.
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `None` for an object the metastore says does not exist.
fn found<T>(answer: Result<T, CallError>) -> Result<Option<T>, CallError> {
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(CallError::Refused(r)) if r.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_thrift_host_and_port() {
        let metastore = Metastore::new("thrift://a:9083, thrift://b:9084/").unwrap();
        assert_eq!(metastore.addresses, ["a:9083", "b:9084"]);
        for bad in ["http://a:9083", "thrift://a", "thrift://a:port", " , "] {
            let err = Metastore::new(bad).err().unwrap().to_string();
            assert!(
                err.contains(crate::hive::METASTORE_URIS.key),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn a_metastore_nobody_runs_is_named_with_the_key_to_fix() {
        // A port just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let metastore = Metastore::new(&format!("thrift://127.0.0.1:{port}")).unwrap();
        let err = Error::from(metastore.databases().unwrap_err()).to_string();
        assert!(
            err.contains(&format!(
                "cannot reach the Hive Metastore at thrift://127.0.0.1:{port}"
            )),
            "{err}"
        );
        assert!(err.contains(crate::hive::METASTORE_URIS.key), "{err}");
    }
}
