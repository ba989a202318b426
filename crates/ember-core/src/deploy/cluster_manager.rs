//! Cluster managers from other crates (Spark's `ExternalClusterManager`): how a master URL that
//! ember-core does not know itself finds the code that brings the application's executors.
//!
//! # The split
//! ember-core runs the driver's side of every cluster the same way: one
//! [`ClusterBackend`](crate::scheduler) serves executors over RPC, registers them and hands
//! them tasks. What differs between clusters is who starts the executor processes and how
//! they learn where the driver is. `local[N]` needs no executors and `local-cluster[E,C,M]`
//! starts them as child processes; both are built in, as in Spark. Every other master is a
//! cluster manager that another crate provides (ember-yarn's `yarn`), so that a new kind of
//! cluster is an added crate, not an edit to this one.
//!
//! # How a Context starts on a cluster manager
//! 1. [`Master::parse`](crate::Master::parse) asks each registered manager whether it
//!    [`can_create`](ExternalClusterManager::can_create) the URL. None: the URL is refused with
//!    the list of [every master this program knows](available_masters). More than one: refused
//!    too, naming them (Spark's "multiple external cluster managers" error), since picking one
//!    would depend on the order the linker laid them out in.
//! 2. The manager says how many [`Executors`] the application asks for; their cores are the
//!    application's task slots, and its default parallelism when `ember.default.parallelism`
//!    is unset.
//! 3. The driver starts serving executors on the manager's
//!    [`driver_host`](ExternalClusterManager::driver_host), on a free port.
//! 4. The manager is [started](ExternalClusterManager::start) with a [`DriverEndpointRef`]: the
//!    driver's address for executors to connect to, and the few calls a manager makes into the
//!    driver (hold scheduling until enough executors registered, report an executor that
//!    exited, report that no more will come). It returns an [`ExecutorLauncher`], which the
//!    driver tells of executors it lost and stops with the application.
//!
//! Executors themselves are always this binary in executor role, started with the variables
//! of [`ExecutorArgs`](crate::ExecutorArgs) by whatever the manager drives (a NodeManager, a
//! pod, a child process); they register with the driver and are scheduled like any other.
//!
//! # Why managers register through the linker
//! A manager is added with [`register_cluster_manager!`](crate::register_cluster_manager),
//! which puts it in a slice the linker assembles, as configuration keys are
//! ([`conf::registry`](crate::conf::registry) explains the mechanism). An explicit
//! `register()` call was the alternative, and would be forgotten: an application calls
//! [`Context::new`](crate::Context::new) with the master URL `ember submit` hands it, and it
//! cannot know which cluster that will be. With the slice, a manager is there whenever its
//! crate is linked, from the first instruction of the process, with no lock and no order.
//!
//! The one duty this leaves: the crate must be linked. Rust links a dependency only when code
//! names it, so the `ember` facade names every manager crate ember ships; an application that
//! depends on `ember` runs on all of them. A program built on ember-core alone knows only the
//! built-in masters, and the unknown-master error says so.
//!
//! # Guarantees
//! - A URL is taken by at most one manager; the built-in forms (`local…`, `local-cluster[…]`)
//!   are parsed before any manager is asked, so no manager can take them.
//! - A [`DriverEndpointRef`] does not keep the driver alive: once the application has stopped,
//!   its calls do nothing (and waiting for executors fails).

use crate::conf::EmberConf;
use crate::error::{Error, Result};
use crate::scheduler::ClusterBackend;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Weak;
use std::time::Duration;

/// A kind of cluster that starts an application's executors (Spark's `ExternalClusterManager`).
///
/// Implemented by a crate outside ember-core and added to the registry with
/// [`register_cluster_manager!`](crate::register_cluster_manager). Every method is called on
/// the driver, from [`Context::new`](crate::Context::new), in the order of the module's steps.
///
/// ```
/// use ember_core::conf::EmberConf;
/// use ember_core::deploy::{DriverEndpointRef, Executors, ExecutorLauncher, ExternalClusterManager};
///
/// /// `nowhere`: a cluster that never starts an executor.
/// struct Nowhere;
/// struct NoLauncher;
/// impl ExecutorLauncher for NoLauncher {}
///
/// impl ExternalClusterManager for Nowhere {
///     fn name(&self) -> &'static str { "nowhere" }
///     fn master_urls(&self) -> &'static [&'static str] { &["nowhere"] }
///     fn can_create(&self, master_url: &str) -> bool { master_url == "nowhere" }
///     fn executors(&self, _: &str, _: &EmberConf) -> ember_core::Result<Executors> {
///         Ok(Executors { instances: 1, cores: 1 })
///     }
///     fn driver_host(&self, _: &str, _: &EmberConf) -> ember_core::Result<String> {
///         Ok("127.0.0.1".into())
///     }
///     fn start(
///         &self, _: &str, _: &EmberConf, _driver: DriverEndpointRef,
///     ) -> ember_core::Result<Box<dyn ExecutorLauncher>> {
///         Ok(Box::new(NoLauncher))
///     }
/// }
/// ember_core::register_cluster_manager!(Nowhere);
///
/// let master = ember_core::Master::parse("nowhere").unwrap();
/// assert_eq!(master.total_cores(), 1);
/// ```
pub trait ExternalClusterManager: Sync {
    /// The manager's short name, for logs and errors.
    fn name(&self) -> &'static str;

    /// The master URL forms it accepts, as the unknown-master error lists them (a bare name, or
    /// a pattern such as `<scheme>://<host>:<port>`).
    fn master_urls(&self) -> &'static [&'static str];

    /// Whether it runs applications with master URL `master_url` (Spark's `canCreate`).
    /// Decided on the URL's shape alone: settings and the cluster itself are checked later.
    fn can_create(&self, master_url: &str) -> bool;

    /// The executors an application with `conf` asks for: sizes its task slots before any
    /// executor has registered.
    ///
    /// # Errors
    /// A URL of an accepted shape that is malformed, or a bad setting.
    fn executors(&self, master_url: &str, conf: &EmberConf) -> Result<Executors>;

    /// The host name or address the driver serves executors on: one the executors that this
    /// manager starts can reach.
    ///
    /// # Errors
    /// A bad setting.
    fn driver_host(&self, master_url: &str, conf: &EmberConf) -> Result<String>;

    /// Starts bringing executors to the driver at [`driver.address()`](DriverEndpointRef::address)
    /// (Spark's `createSchedulerBackend` and `initialize`). Blocking until executors register
    /// is allowed (`local-cluster` waits for all of them); returning at once with scheduling
    /// held ([`DriverEndpointRef::hold_scheduling`]) lets the application go on meanwhile.
    ///
    /// # Errors
    /// The application cannot run on this cluster; the message says why and what to do.
    fn start(
        &self,
        master_url: &str,
        conf: &EmberConf,
        driver: DriverEndpointRef,
    ) -> Result<Box<dyn ExecutorLauncher>>;
}

/// What a cluster manager runs for one application, as the driver sees it: told of executors
/// the driver lost, and stopped with the application. Both do nothing unless implemented, for
/// managers whose executors are watched elsewhere (by an agent of the cluster that sees them
/// end, replaces them, and sees the driver go).
pub trait ExecutorLauncher: Send + Sync {
    /// The driver lost executor `executor_id` (its connection closed or its heartbeats
    /// stopped): make sure its process is gone, and start a replacement if the manager does.
    fn executor_lost(&self, _executor_id: &str) {}

    /// The application ended: executors were told to shut down; end what is left of them.
    fn stop(&self) {}
}

/// How many executors an application asks for, and the task slots of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executors {
    /// Executors (`ember.executor.instances`).
    pub instances: usize,
    /// Task slots of each (`ember.executor.cores`).
    pub cores: usize,
}

impl Executors {
    /// Task slots across the application.
    pub fn total_cores(&self) -> usize {
        self.instances * self.cores
    }
}

/// A cluster manager's handle onto the driver's executor endpoint (Spark's `driverEndpoint`
/// reference): where executors connect, and what the manager may tell the driver.
///
/// It does not keep the driver alive: after the application stopped, every call does nothing.
#[derive(Clone)]
pub struct DriverEndpointRef {
    backend: Weak<ClusterBackend>,
    address: SocketAddr,
}

impl fmt::Debug for DriverEndpointRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DriverEndpointRef")
            .field("address", &self.address)
            .field("stopped", &(self.backend.strong_count() == 0))
            .finish()
    }
}

impl DriverEndpointRef {
    pub(crate) fn new(backend: Weak<ClusterBackend>, address: SocketAddr) -> Self {
        DriverEndpointRef { backend, address }
    }

    /// Where executors reach the driver: what [`ExecutorArgs::driver_address`] must say.
    ///
    /// [`ExecutorArgs::driver_address`]: crate::ExecutorArgs::driver_address
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Runs no task until `registered` of the `total` executors asked for have registered, or
    /// `wait` has passed (Spark's `minRegisteredResourcesRatio` and
    /// `maxRegisteredResourcesWaitingTime`). Jobs may start meanwhile: their tasks queue, and
    /// what they prefer is known to [`pending_tasks`](super::pending_tasks), for a manager that
    /// asks its cluster for executors near the data.
    pub fn hold_scheduling(&self, registered: usize, total: usize, wait: Duration) {
        if let Some(backend) = self.backend.upgrade() {
            backend.hold_scheduling(registered, total, wait);
        }
    }

    /// Waits until `count` executors have registered.
    ///
    /// # Errors
    /// An executor was refused (another build of the application) or
    /// [exited](Self::executor_exited) before registering, `timeout` passed (the message names
    /// `ember.executor.registrationTimeout`), or the application stopped.
    pub fn wait_for_executors(&self, count: usize, timeout: Duration) -> Result<()> {
        match self.backend.upgrade() {
            Some(backend) => backend.wait_for_executors(count, timeout),
            None => Err(Error::Input(
                "the application stopped before its executors registered".into(),
            )),
        }
    }

    /// The process of executor `executor_id` ended for `reason`: a registered executor is lost
    /// (its tasks are retried elsewhere, its shuffle outputs computed again); one that never
    /// registered could not start, and the application fails with `reason`.
    pub fn executor_exited(&self, executor_id: &str, reason: &str) {
        if let Some(backend) = self.backend.upgrade() {
            backend.executor_exited(executor_id, reason);
        }
    }

    /// No executor is left and the manager will start none: waiting and future tasks fail
    /// with `reason`, which should say what to change.
    pub fn no_more_executors(&self, reason: String) {
        if let Some(backend) = self.backend.upgrade() {
            backend.no_more_executors(reason);
        }
    }
}

/// Every cluster manager linked into this program, in no particular order.
#[linkme::distributed_slice]
pub static CLUSTER_MANAGERS: [&'static dyn ExternalClusterManager];

/// Adds a cluster manager to the registry: `register_cluster_manager!(MyClusterManager)`
/// with a constant expression of a type that implements
/// [`ExternalClusterManager`](crate::deploy::ExternalClusterManager). Crates use it without
/// depending on `linkme` themselves.
#[macro_export]
macro_rules! register_cluster_manager {
    ($manager:expr) => {
        const _: () = {
            #[$crate::conf::registry::__linkme::distributed_slice(
                $crate::deploy::cluster_manager::CLUSTER_MANAGERS
            )]
            #[linkme(crate = $crate::conf::registry::__linkme)]
            static MANAGER: &'static dyn $crate::deploy::ExternalClusterManager = &$manager;
        };
    };
}

/// The master URL forms ember-core parses itself.
pub const BUILT_IN_MASTERS: &[&str] = &[
    "local",
    "local[N]",
    "local[N,F]",
    "local[*]",
    "local-cluster[E,C,M]",
];

/// Every master URL form this program accepts: the built-in ones, then each registered
/// manager's, sorted by manager name.
pub fn available_masters() -> Vec<&'static str> {
    let mut managers: Vec<&'static dyn ExternalClusterManager> = CLUSTER_MANAGERS.to_vec();
    managers.sort_by_key(|m| m.name());
    BUILT_IN_MASTERS
        .iter()
        .copied()
        .chain(
            managers
                .iter()
                .flat_map(|m| m.master_urls().iter().copied()),
        )
        .collect()
}

/// The registered manager that accepts `master_url`, if one does.
///
/// # Errors
/// More than one accepts it.
pub fn for_url(master_url: &str) -> Result<Option<&'static dyn ExternalClusterManager>> {
    let mut accepting: Vec<&'static dyn ExternalClusterManager> = CLUSTER_MANAGERS
        .iter()
        .copied()
        .filter(|m| m.can_create(master_url))
        .collect();
    match accepting.len() {
        0 => Ok(None),
        1 => Ok(accepting.pop()),
        _ => {
            let mut names: Vec<&str> = accepting.iter().map(|m| m.name()).collect();
            names.sort_unstable();
            Err(Error::Master {
                url: master_url.to_string(),
                reason: format!(
                    "the cluster managers {} all accept it; link only one of their crates \
                     into the application",
                    names.join(", ")
                ),
                available: available_masters().join(", "),
            })
        }
    }
}
