//! Cluster managers from outside ember-core: a manager this test binary registers is found for
//! its master URL, sizes the application, starts its executors through the public handle
//! alone and hears what the driver has to tell it; a URL no one (or more than one) accepts is
//! refused with the masters there are.

use ember_core::conf::keys;
use ember_core::deploy::{DriverEndpointRef, ExecutorLauncher, Executors, ExternalClusterManager};
use ember_core::{Context, EmberConf, Error, ExecutorArgs, Fn, Master, TaskContext};
use parking_lot::Mutex;
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `test-spawn[E]`: E executor processes of this test binary, started the way a cluster's node
/// would start them, ids `spawned-0`, `spawned-1`, ...
struct SpawningManager;

ember_core::register_cluster_manager!(SpawningManager);

/// What the driver told the spawning manager's launcher.
static LOST: Mutex<Vec<String>> = Mutex::new(Vec::new());
static STOPPED: Mutex<bool> = Mutex::new(false);

fn spawn_count(master_url: &str) -> Option<usize> {
    master_url
        .strip_prefix("test-spawn[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

impl ExternalClusterManager for SpawningManager {
    fn name(&self) -> &'static str {
        "test-spawn"
    }

    fn master_urls(&self) -> &'static [&'static str] {
        &["test-spawn[E]"]
    }

    fn can_create(&self, master_url: &str) -> bool {
        master_url.starts_with("test-spawn[")
    }

    fn executors(&self, master_url: &str, conf: &EmberConf) -> ember_core::Result<Executors> {
        let instances = spawn_count(master_url)
            .ok_or_else(|| Error::Input(format!("{master_url}: expected test-spawn[E]")))?;
        Ok(Executors {
            instances,
            cores: conf.require(&keys::EXECUTOR_CORES)?,
        })
    }

    fn driver_host(&self, _: &str, _: &EmberConf) -> ember_core::Result<String> {
        Ok("127.0.0.1".into())
    }

    fn start(
        &self,
        master_url: &str,
        conf: &EmberConf,
        driver: DriverEndpointRef,
    ) -> ember_core::Result<Box<dyn ExecutorLauncher>> {
        let executors = self.executors(master_url, conf)?;
        let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
        let mut children = Vec::new();
        for i in 0..executors.instances {
            let mut command = Command::new(&exe);
            ExecutorArgs {
                driver_address: driver.address().to_string(),
                executor_id: format!("spawned-{i}"),
                host: "127.0.0.1".into(),
                cores: executors.cores,
            }
            .apply(&mut command);
            let child = command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| Error::io(&exe, e))?;
            children.push(child);
        }
        // Returns at once with scheduling held: the first tasks wait for every executor.
        driver.hold_scheduling(
            executors.instances,
            executors.instances,
            Duration::from_secs(60),
        );
        Ok(Box::new(SpawnedExecutors {
            children: Mutex::new(children),
        }))
    }
}

struct SpawnedExecutors {
    children: Mutex<Vec<Child>>,
}

impl ExecutorLauncher for SpawnedExecutors {
    fn executor_lost(&self, executor_id: &str) {
        LOST.lock().push(executor_id.to_string());
    }

    fn stop(&self) {
        *STOPPED.lock() = true;
        for mut child in self.children.lock().drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `test-broken`: its one executor ends before it registers.
struct BrokenManager;

ember_core::register_cluster_manager!(BrokenManager);

impl ExternalClusterManager for BrokenManager {
    fn name(&self) -> &'static str {
        "test-broken"
    }

    fn master_urls(&self) -> &'static [&'static str] {
        &["test-broken"]
    }

    fn can_create(&self, master_url: &str) -> bool {
        master_url == "test-broken"
    }

    fn executors(&self, _: &str, _: &EmberConf) -> ember_core::Result<Executors> {
        Ok(Executors {
            instances: 1,
            cores: 1,
        })
    }

    fn driver_host(&self, _: &str, _: &EmberConf) -> ember_core::Result<String> {
        Ok("127.0.0.1".into())
    }

    fn start(
        &self,
        _: &str,
        _: &EmberConf,
        driver: DriverEndpointRef,
    ) -> ember_core::Result<Box<dyn ExecutorLauncher>> {
        driver.executor_exited("0", "its container could not start (no such image)");
        driver.wait_for_executors(1, Duration::from_secs(30))?;
        unreachable!("an executor that exited before registering ends the wait")
    }
}

/// Two managers that both take `twin`.
struct Twin(&'static str);

ember_core::register_cluster_manager!(Twin("twin-a"));
ember_core::register_cluster_manager!(Twin("twin-b"));

impl ExternalClusterManager for Twin {
    fn name(&self) -> &'static str {
        self.0
    }

    fn master_urls(&self) -> &'static [&'static str] {
        &["twin"]
    }

    fn can_create(&self, master_url: &str) -> bool {
        master_url == "twin"
    }

    fn executors(&self, _: &str, _: &EmberConf) -> ember_core::Result<Executors> {
        unreachable!("an ambiguous URL is refused before either manager is asked")
    }

    fn driver_host(&self, _: &str, _: &EmberConf) -> ember_core::Result<String> {
        unreachable!("an ambiguous URL is refused before either manager is asked")
    }

    fn start(
        &self,
        _: &str,
        _: &EmberConf,
        _: DriverEndpointRef,
    ) -> ember_core::Result<Box<dyn ExecutorLauncher>> {
        unreachable!("an ambiguous URL is refused before either manager is asked")
    }
}

fn conf(master: &str) -> EmberConf {
    EmberConf::empty()
        .set_master(master)
        .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
        .set(keys::EXECUTOR_CORES.key, "2")
}

#[test]
fn a_registered_manager_is_picked_for_its_url_and_its_executors_run_the_tasks() {
    let ctx = Context::new(conf("test-spawn[2]")).unwrap();
    assert_eq!(
        ctx.master(),
        Master::External {
            manager: "test-spawn",
            executors: Executors {
                instances: 2,
                cores: 2
            }
        }
    );
    assert_eq!(ctx.default_parallelism(), 4, "2 executors of 2 cores");

    // Held until both registered, every task runs in the manager's executors, none in the
    // driver.
    let ran_on: BTreeSet<String> = ctx
        .parallelize((0..40).collect::<Vec<i32>>(), 8)
        .map(Fn!(|_: i32| TaskContext::get()
            .unwrap()
            .executor_id()
            .to_string()))
        .collect()
        .unwrap()
        .into_iter()
        .collect();
    let spawned: BTreeSet<String> = ["spawned-0", "spawned-1"].map(String::from).into();
    assert!(ran_on.is_subset(&spawned), "tasks ran on {ran_on:?}");
    let registered: BTreeSet<String> = ctx.executors().into_iter().map(|e| e.executor_id).collect();
    assert_eq!(registered, spawned);

    // The driver tells the launcher of an executor it lost...
    let victim = ctx
        .executors()
        .into_iter()
        .find(|e| e.executor_id == "spawned-1")
        .unwrap();
    let killed = Command::new("kill")
        .args(["-9", &victim.pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !LOST.lock().contains(&"spawned-1".to_string()) {
        assert!(
            Instant::now() < deadline,
            "the launcher never heard of the loss"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // ...jobs go on with the executor left...
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 3).count().unwrap(), 3);
    // ...and stops the launcher with the application.
    ctx.stop();
    assert!(
        *STOPPED.lock(),
        "the launcher was not stopped with the application"
    );
}

#[test]
fn an_executor_that_exits_before_registering_fails_the_start_with_its_reason() {
    let err = Context::new(conf("test-broken")).unwrap_err().to_string();
    assert!(
        err.contains("executor 0 ended before registering") && err.contains("no such image"),
        "{err}"
    );
}

#[test]
fn an_unknown_url_lists_the_built_in_masters_and_every_registered_manager() {
    let err = Context::new(conf("spark://master:7077"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid master URL 'spark://master:7077': no built-in master"),
        "{err}"
    );
    for form in [
        "local",
        "local[N]",
        "local[N,F]",
        "local[*]",
        "local-cluster[E,C,M]",
        "test-spawn[E]",
        "test-broken",
        "twin",
    ] {
        assert!(err.contains(form), "{form} missing from: {err}");
    }
    // The manager's own errors pass through for a URL of its shape.
    let err = Master::parse("test-spawn[many]").unwrap_err().to_string();
    assert!(err.contains("expected test-spawn[E]"), "{err}");
}

#[test]
fn a_url_two_managers_accept_is_refused_naming_both() {
    let err = Master::parse("twin").unwrap_err().to_string();
    assert!(err.contains("twin-a, twin-b all accept it"), "{err}");
}

#[test]
fn the_built_in_masters_are_never_asked_of_a_manager() {
    assert_eq!(Master::parse("local[2]").unwrap().total_cores(), 2);
    assert!(matches!(
        Master::parse("local-cluster[1,1,512]").unwrap(),
        Master::LocalCluster { .. }
    ));
}
