//! The Hadoop configuration that the mini cluster writes, as ember reads it.

use ember_hadoop::HadoopConf;
use std::process::Command;

#[test]
fn the_mini_cluster_configuration_reads_as_hadoop_writes_it() {
    let dir = ember_integration::conf_dir();
    let conf = HadoopConf::load_dir(&dir).unwrap();
    let fs = conf.default_fs();
    assert!(fs.starts_with("hdfs://"), "{fs}");
    let authority = fs.trim_start_matches("hdfs://").trim_end_matches('/');
    assert_eq!(conf.namenode_addresses(authority)[0].1, authority);
    assert_eq!(conf.get("dfs.replication").as_deref(), Some("3"));
    assert_eq!(
        conf.get("dfs.client.use.datanode.hostname").as_deref(),
        Some("true")
    );
    assert!(conf
        .get("yarn.resourcemanager.address")
        .is_some_and(|a| !a.ends_with(":0")));
    let s3 = conf.s3a();
    assert_eq!(
        s3.endpoint.as_deref(),
        Some(ember_integration::s3_endpoint().as_str())
    );
    assert!(s3.path_style_access);
    assert!(s3.access_key.is_some() && s3.secret_key.is_some());
}

#[test]
fn the_topology_script_puts_hosts_in_racks() {
    let conf = HadoopConf::load_dir(&ember_integration::conf_dir()).unwrap();
    let script = conf
        .topology_script()
        .expect("net.topology.script.file.name is set");
    let out = Command::new(&script)
        .args(["127.0.0.2", "127.0.0.3", "127.0.0.4", "10.9.9.9"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let racks: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(racks, ["/rack-0", "/rack-1", "/rack-0", "/default-rack"]);
}
