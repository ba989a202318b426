//! `hadoop.rpc.protection` on a cluster of its own whose servers accept only integrity or
//! privacy on token connections: the ApplicationMaster's calls to the ResourceManager and the
//! NodeManagers then travel signed (integrity) or encrypted (privacy), chosen by the client's
//! own `hadoop.rpc.protection`; a client that accepts authentication only is refused with a
//! message naming the setting.

use ember_integration::{counts_under, ember_bin};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A mini cluster started for this test alone, stopped when dropped.
struct ProtectedCluster {
    dir: tempfile::TempDir,
}

fn minicluster(dir: &Path, action: &str) -> Command {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/minicluster");
    let mut command = Command::new(script);
    command.arg(action).env("EMBER_MINICLUSTER_DIR", dir);
    command
}

impl ProtectedCluster {
    fn up(protection: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let started = minicluster(dir.path(), "up")
            .env("EMBER_MINICLUSTER_RPC_PROTECTION", protection)
            .env("EMBER_MINICLUSTER_DATANODES", "1")
            .env("EMBER_MINICLUSTER_NODEMANAGERS", "1")
            .env("EMBER_MINICLUSTER_RACKS", "1")
            .output()
            .unwrap();
        assert!(started.status.success(), "{started:?}");
        ProtectedCluster { dir }
    }

    fn conf_dir(&self) -> PathBuf {
        self.dir.path().join("cluster/conf")
    }
}

impl Drop for ProtectedCluster {
    fn drop(&mut self) {
        let _ = minicluster(self.dir.path(), "down").output();
    }
}

/// Word count in cluster mode on `cluster` with `settings`, from and to local files (every
/// container runs on this machine).
fn wordcount(cluster: &ProtectedCluster, input: &Path, out: &Path, settings: &[&str]) -> Output {
    let mut command = Command::new(ember_bin());
    command
        .args(["submit", "--master", "yarn", "--deploy-mode", "cluster"])
        .args(["--num-executors", "1", "--executor-memory", "512m"])
        .args(["--driver-memory", "512m"])
        .args(["--conf", "ember.yarn.maxAppAttempts=1"]);
    for setting in settings {
        command.args(["--conf", setting]);
    }
    command
        .arg("wordcount")
        .arg(format!("file://{}", input.display()))
        .arg(format!("file://{}", out.display()))
        .env("HADOOP_CONF_DIR", cluster.conf_dir())
        .env_remove("EMBER_LOG")
        .output()
        .expect("ember runs")
}

#[test]
fn token_connections_are_signed_or_encrypted_as_the_cluster_demands() {
    let cluster = ProtectedCluster::up("privacy,integrity");
    let work = tempfile::tempdir().unwrap();
    let (text, want) = ember_integration::corpus();
    let input = work.path().join("in.txt");
    std::fs::write(&input, text).unwrap();

    // The cluster's own configuration asks for privacy first.
    let private = work.path().join("private");
    let output = wordcount(&cluster, &input, &private, &[]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert_eq!(counts_under(&format!("file://{}", private.display())), want);

    let signed = work.path().join("signed");
    let integrity = "ember.hadoop.hadoop.rpc.protection=integrity";
    let output = wordcount(&cluster, &input, &signed, &[integrity]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert_eq!(counts_under(&format!("file://{}", signed.display())), want);

    let plain = work.path().join("plain");
    let authentication = "ember.hadoop.hadoop.rpc.protection=authentication";
    let output = wordcount(&cluster, &input, &plain, &[authentication]);
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{said}");
    assert!(said.contains("hadoop.rpc.protection"), "{said}");
    assert!(!plain.join("_SUCCESS").exists());
}
