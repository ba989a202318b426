//! `--master yarn` on the driver's side (Spark's `YarnClusterManager` with the driver half of
//! its `YarnSchedulerBackend`): the cluster manager that ember-core's
//! [`Context`](ember_core::Context) finds for the master URL `yarn`.
//!
//! A YARN driver does not start executors itself: the application's ApplicationMaster ([`am`])
//! asks the ResourceManager for containers and launches them. So starting one is:
//!
//! 1. Size: the application asks for `ember.executor.instances` executors of
//!    `ember.executor.cores` task slots; their product is its default parallelism.
//! 2. Serve executors on a host they can reach: `ember.driver.host`, else the NodeManager's
//!    host when the driver runs in the ApplicationMaster's container (cluster mode), else this
//!    machine's name (client mode).
//! 3. [Announce](crate::driver_file) the address to whoever launched the driver, which starts
//!    (or has the ApplicationMaster start) executors that connect back to it.
//! 4. Hold scheduling, as Spark on YARN does, until `ember.scheduler.minRegisteredResourcesRatio`
//!    of the executors registered or `ember.scheduler.maxRegisteredResourcesWaitingTime`
//!    passed. Unlike Spark, the application goes on meanwhile: its first tasks queue, and the
//!    ApplicationMaster asks for containers on the hosts they want to run on
//!    ([`pending_tasks`](ember_core::deploy::pending_tasks)).
//!
//! Lost executors and the end of the application need nothing from the driver: the
//! ApplicationMaster sees its containers end, replaces them, and sees the driver go.
//!
//! [`am`]: crate::am

use crate::driver_file;
use crate::keys;
use ember_core::conf::keys as core_keys;
use ember_core::deploy::{DriverEndpointRef, ExecutorLauncher, Executors, ExternalClusterManager};
use ember_core::{EmberConf, Result};

/// The cluster manager of the master URL `yarn` (Spark's `YarnClusterManager`).
#[derive(Debug, Clone, Copy, Default)]
pub struct YarnClusterManager;

ember_core::register_cluster_manager!(YarnClusterManager);

impl ExternalClusterManager for YarnClusterManager {
    fn name(&self) -> &'static str {
        "yarn"
    }

    fn master_urls(&self) -> &'static [&'static str] {
        &["yarn"]
    }

    fn can_create(&self, master_url: &str) -> bool {
        master_url == "yarn"
    }

    fn executors(&self, _master_url: &str, conf: &EmberConf) -> Result<Executors> {
        Ok(Executors {
            instances: conf.require(&core_keys::EXECUTOR_INSTANCES)?,
            cores: conf.require(&core_keys::EXECUTOR_CORES)?,
        })
    }

    fn driver_host(&self, _master_url: &str, conf: &EmberConf) -> Result<String> {
        if let Some(host) = conf.get(&keys::DRIVER_HOST)? {
            return Ok(host);
        }
        let from_env = std::env::var("NM_HOST").ok().filter(|h| !h.is_empty());
        Ok(from_env
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
                    .filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "127.0.0.1".into()))
    }

    fn start(
        &self,
        master_url: &str,
        conf: &EmberConf,
        driver: DriverEndpointRef,
    ) -> Result<Box<dyn ExecutorLauncher>> {
        driver_file::announce(driver.address())?;
        let total = self.executors(master_url, conf)?.instances;
        let ratio = conf.require(&keys::MIN_REGISTERED_RESOURCES_RATIO)?;
        let wait = conf.require(&keys::MAX_REGISTERED_RESOURCES_WAITING_TIME)?;
        driver.hold_scheduling(registration_hold(total, ratio), total, wait);
        Ok(Box::new(ApplicationMasterExecutors))
    }
}

/// Executors that must register before scheduling starts: `ratio` of `total`, rounded up.
fn registration_hold(total: usize, ratio: f64) -> usize {
    (total as f64 * ratio).ceil() as usize
}

/// A YARN application's executors as the driver sees them: the ApplicationMaster, in its own
/// container, watches and replaces them and ends with the driver, so nothing is done here.
struct ApplicationMasterExecutors;

impl ExecutorLauncher for ApplicationMasterExecutors {}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_core::Master;

    #[test]
    fn yarn_is_a_master_once_this_crate_is_linked() {
        assert!(ember_core::deploy::available_masters().contains(&"yarn"));
        let conf = EmberConf::empty()
            .set(core_keys::EXECUTOR_INSTANCES.key, "3")
            .set(core_keys::EXECUTOR_CORES.key, "4");
        let master = Master::parse_with("yarn", &conf).unwrap();
        assert_eq!(
            master,
            Master::External {
                manager: "yarn",
                executors: Executors {
                    instances: 3,
                    cores: 4
                }
            }
        );
        assert_eq!(master.total_cores(), 12);
        // Spark 3 dropped the deploy mode from the URL; so does ember.
        let err = Master::parse("yarn-cluster").unwrap_err().to_string();
        assert!(err.contains("local[N]") && err.contains("yarn"), "{err}");
    }

    #[test]
    fn the_hold_rounds_the_share_of_executors_up() {
        assert_eq!(registration_hold(10, 0.8), 8);
        assert_eq!(registration_hold(3, 0.8), 3);
        assert_eq!(registration_hold(5, 0.0), 0);
        assert_eq!(registration_hold(2, 1.0), 2);
    }

    #[test]
    fn the_driver_host_setting_wins() {
        let conf = EmberConf::empty().set(keys::DRIVER_HOST.key, "driver.example");
        let host = YarnClusterManager.driver_host("yarn", &conf).unwrap();
        assert_eq!(host, "driver.example");
    }
}
