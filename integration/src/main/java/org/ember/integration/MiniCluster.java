package org.ember.integration;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.net.NetUtils;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;
import org.apache.hadoop.yarn.server.nodemanager.NodeManager;

/**
 * A real Hadoop for ember's integration tests: one NameNode, DataNodes and NodeManagers each on
 * its own loopback address (127.0.0.2, 127.0.0.3, ...) acting as distinct hosts in racks, and a
 * ResourceManager, all in this JVM.
 *
 * <p>Usage: {@code MiniCluster <work-dir> <datanodes> <nodemanagers> <racks> [<s3-endpoint>
 * <s3-access-key> <s3-secret-key>]}; with an S3 endpoint, core-site.xml also points the
 * {@code s3a} file system at it. Host {@code i}
 * (from 0) is {@code 127.0.0.(i + 2)} in rack {@code /rack-(i % racks)}; DataNode and
 * NodeManager {@code i} share host {@code i}. When everything is up it writes a complete Hadoop
 * configuration directory to {@code <work-dir>/conf} (core-site, hdfs-site, yarn-site and a
 * topology table with its script), then {@code <work-dir>/ready}, and serves until it is told to
 * stop (SIGTERM), shutting everything down in order. {@code EMBER_MINICLUSTER_RPC_PROTECTION}
 * sets {@code hadoop.rpc.protection} (authentication, integrity, privacy or a list).
 */
public final class MiniCluster {
  /** Names the cluster's {@code hadoop.rpc.protection} when set (default authentication). */
  static final String PROTECTION_ENV = "EMBER_MINICLUSTER_RPC_PROTECTION";

  static final String RPC_PROTECTION = "hadoop.rpc.protection";

  private MiniCluster() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 4 && args.length != 7) {
      System.err.println("usage: MiniCluster <work-dir> <datanodes> <nodemanagers> <racks>"
          + " [<s3-endpoint> <s3-access-key> <s3-secret-key>]");
      System.exit(2);
    }
    String[] s3 = args.length == 7 ? new String[] {args[4], args[5], args[6]} : null;
    File work = new File(args[0]).getAbsoluteFile();
    int dataNodes = Integer.parseInt(args[1]);
    int nodeManagers = Integer.parseInt(args[2]);
    int racks = Integer.parseInt(args[3]);
    Files.createDirectories(work.toPath());

    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, new File(work, "dfs").getPath());
    conf.setLong("dfs.blocksize", 1024 * 1024);
    conf.setBoolean("dfs.permissions.enabled", false);
    // Which SASL protection token connections (ApplicationMasters, NodeManagers) negotiate.
    String protection = System.getenv(PROTECTION_ENV);
    if (protection != null && !protection.isEmpty()) {
      conf.set(RPC_PROTECTION, protection);
    }
    MiniDFSCluster dfs = startDfs(conf, dataNodes, racks);

    YarnConfiguration yarnConf = new YarnConfiguration(dfs.getConfiguration(0));
    yarnConf.setInt("yarn.minicluster.yarn.nodemanager.resource.memory-mb", 4096);
    yarnConf.setInt(YarnConfiguration.NM_PMEM_MB, 4096);
    yarnConf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 64);
    yarnConf.setFloat(
        "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage", 100f);
    yarnConf.setFloat("yarn.scheduler.capacity.maximum-am-resource-percent", 1.0f);
    yarnConf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
    yarnConf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
    yarnConf.set(YarnConfiguration.RM_HOSTNAME, "127.0.0.1");
    // YARN's own state (node attributes, aggregated logs) stays on local disk; clients get HDFS
    // as their default file system from the core-site.xml written below.
    yarnConf.set("fs.defaultFS", "file:///");
    File topology = writeTopology(work, Math.max(dataNodes, nodeManagers), racks);
    yarnConf.set("net.topology.script.file.name", topology.getPath());
    yarnConf.unset("net.topology.node.switch.mapping.impl");

    MiniYARNCluster yarn = new MiniYARNCluster("ember", 1, 0, 1, 1);
    yarn.init(yarnConf);
    yarn.start();
    Configuration rmConf = yarn.getConfig();
    waitForRmAddress(rmConf);
    List<NodeManager> nms = new ArrayList<>();
    for (int i = 0; i < nodeManagers; i++) {
      nms.add(startNodeManager(rmConf, work, i));
    }
    waitForNodeManagers(yarn, nodeManagers);

    writeConf(work, dfs, rmConf, topology, Math.min(3, dataNodes), s3);
    Files.writeString(new File(work, "ready").toPath(), "ready\n");
    System.out.println("mini cluster ready: " + dfs.getURI() + ", " + dataNodes
        + " datanodes, " + nodeManagers + " nodemanagers, conf in " + new File(work, "conf"));
    System.out.flush();

    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (NodeManager nm : nms) {
        nm.stop();
      }
      yarn.stop();
      dfs.shutdown();
    }));
    // Serve until SIGTERM runs the shutdown hook.
    Thread.currentThread().join();
  }

  static String host(int i) {
    return "127.0.0." + (i + 2);
  }

  static String rack(int i, int racks) {
    return "/rack-" + (i % racks);
  }

  /**
   * A NameNode on 127.0.0.1 and DataNode i named host(i), in rack(i). DataNodes listen on all
   * addresses (each on its own ports), so a client reaches DataNode i at host(i), the name it
   * registered with (clients are told to connect by name).
   */
  static MiniDFSCluster startDfs(Configuration conf, int dataNodes, int racks) throws IOException {
    String[] hosts = new String[dataNodes];
    String[] rackOf = new String[dataNodes];
    for (int i = 0; i < dataNodes; i++) {
      hosts[i] = host(i);
      rackOf[i] = rack(i, racks);
    }
    conf.set("dfs.datanode.address", "0.0.0.0:0");
    conf.set("dfs.datanode.http.address", "0.0.0.0:0");
    conf.set("dfs.datanode.ipc.address", "0.0.0.0:0");
    MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf)
        .numDataNodes(dataNodes)
        .hosts(hosts)
        .racks(rackOf)
        .checkDataNodeAddrConfig(true)
        .checkDataNodeHostConfig(true)
        .build();
    dfs.waitActive();
    // MiniDFSCluster makes this JVM resolve each DataNode host name to localhost; the
    // ResourceManager, in this JVM too, would then reach NodeManagers on those addresses at
    // 127.0.0.1. Each address resolves to itself again.
    for (String host : hosts) {
      NetUtils.addStaticResolution(host, host);
    }
    return dfs;
  }

  /** NodeManager i on host(i), reporting to the ResourceManager of rmConf. */
  static NodeManager startNodeManager(Configuration rmConf, File work, int i) {
    YarnConfiguration conf = new YarnConfiguration(rmConf);
    String host = host(i);
    File dir = new File(work, "nm-" + i);
    conf.set("yarn.nodemanager.hostname", host);
    conf.set(YarnConfiguration.NM_ADDRESS, host + ":0");
    conf.set(YarnConfiguration.NM_LOCALIZER_ADDRESS, host + ":0");
    conf.set(YarnConfiguration.NM_WEBAPP_ADDRESS, host + ":0");
    conf.set(YarnConfiguration.NM_COLLECTOR_SERVICE_ADDRESS, host + ":0");
    conf.set(YarnConfiguration.NM_LOCAL_DIRS, new File(dir, "local").getPath());
    conf.set(YarnConfiguration.NM_LOG_DIRS, new File(dir, "logs").getPath());
    conf.set(YarnConfiguration.NM_REMOTE_APP_LOG_DIR, new File(work, "app-logs").getPath());
    conf.setInt(YarnConfiguration.NM_PMEM_MB, 4096);
    // Every test application ships its binaries: keep the NodeManager's cache of them small.
    conf.setLong(YarnConfiguration.NM_LOCALIZER_CACHE_TARGET_SIZE_MB, 512);
    conf.setLong(YarnConfiguration.NM_LOCALIZER_CACHE_CLEANUP_INTERVAL_MS, 30_000);
    NodeManager nm = new NodeManager();
    nm.init(conf);
    nm.start();
    return nm;
  }

  static void waitForRmAddress(Configuration conf) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 60_000;
    while (conf.get(YarnConfiguration.RM_ADDRESS, "").endsWith(":0")) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("the ResourceManager did not get a port in 60 s");
      }
      Thread.sleep(100);
    }
  }

  static void waitForNodeManagers(MiniYARNCluster yarn, int count) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 120_000;
    while (yarn.getResourceManager().getRMContext().getRMNodes().size() < count) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException(
            "only " + yarn.getResourceManager().getRMContext().getRMNodes().size() + " of "
                + count + " NodeManagers registered in 120 s");
      }
      Thread.sleep(100);
    }
  }

  /** A topology table (host rack) and the script that reads it, as Hadoop's table mapping. */
  static File writeTopology(File work, int hosts, int racks) throws IOException {
    File conf = new File(work, "conf");
    Files.createDirectories(conf.toPath());
    StringBuilder table = new StringBuilder();
    for (int i = 0; i < hosts; i++) {
      table.append(host(i)).append(' ').append(rack(i, racks)).append('\n');
    }
    File tableFile = new File(conf, "topology.table");
    Files.writeString(tableFile.toPath(), table.toString());
    File script = new File(conf, "topology.sh");
    Files.writeString(script.toPath(),
        "#!/bin/sh\n"
            + "# Prints the rack of each host argument; unknown hosts are in /default-rack.\n"
            + "for host in \"$@\"; do\n"
            + "  rack=$(awk -v h=\"$host\" '$1 == h { print $2 }' \"" + tableFile.getPath() + "\")\n"
            + "  echo \"${rack:-/default-rack}\"\n"
            + "done\n");
    if (!script.setExecutable(true)) {
      throw new IOException("cannot make " + script + " executable");
    }
    return script;
  }

  /** Writes the keys a client needs, with their values as the running cluster has them. */
  static void writeConf(
      File work, MiniDFSCluster dfs, Configuration rmConf, File topology, int replication,
      String[] s3) throws IOException {
    File dir = new File(work, "conf");
    Map<String, String> core = new TreeMap<>();
    core.put("fs.defaultFS", dfs.getURI().toString());
    core.put("net.topology.script.file.name", topology.getPath());
    core.put("hadoop.security.authentication", "simple");
    core.put(RPC_PROTECTION, rmConf.get(RPC_PROTECTION, "authentication"));
    if (s3 != null) {
      core.put("fs.s3a.endpoint", s3[0]);
      core.put("fs.s3a.access.key", s3[1]);
      core.put("fs.s3a.secret.key", s3[2]);
      core.put("fs.s3a.path.style.access", "true");
      core.put("fs.s3a.connection.ssl.enabled", "false");
      core.put("fs.s3a.endpoint.region", "us-east-1");
    }
    writeSite(new File(dir, "core-site.xml"), core);

    Map<String, String> hdfs = new TreeMap<>();
    for (String key : new String[] {"dfs.blocksize", "dfs.namenode.http-address"}) {
      String value = dfs.getConfiguration(0).get(key);
      if (value != null) {
        hdfs.put(key, value);
      }
    }
    hdfs.put("dfs.namenode.rpc-address",
        dfs.getNameNode().getNameNodeAddress().getHostString() + ":" + dfs.getNameNodePort());
    hdfs.put("dfs.permissions.enabled", "false");
    hdfs.put("dfs.replication", Integer.toString(replication));
    // Clients reach DataNodes by the hostname each registered with (127.0.0.x).
    hdfs.put("dfs.client.use.datanode.hostname", "true");
    writeSite(new File(dir, "hdfs-site.xml"), hdfs);

    Map<String, String> yarn = new TreeMap<>();
    for (String key : new String[] {YarnConfiguration.RM_ADDRESS,
        YarnConfiguration.RM_SCHEDULER_ADDRESS, YarnConfiguration.RM_RESOURCE_TRACKER_ADDRESS,
        YarnConfiguration.RM_ADMIN_ADDRESS, YarnConfiguration.RM_WEBAPP_ADDRESS,
        YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB,
        YarnConfiguration.RM_SCHEDULER_MAXIMUM_ALLOCATION_MB,
        YarnConfiguration.NM_REMOTE_APP_LOG_DIR, YarnConfiguration.LOG_AGGREGATION_ENABLED}) {
      String value = rmConf.get(key);
      if (value != null) {
        yarn.put(key, value);
      }
    }
    writeSite(new File(dir, "yarn-site.xml"), yarn);
  }

  static void writeSite(File file, Map<String, String> properties) throws IOException {
    StringBuilder xml = new StringBuilder();
    xml.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<configuration>\n");
    for (Map.Entry<String, String> e : properties.entrySet()) {
      xml.append("  <property>\n    <name>").append(escape(e.getKey()))
          .append("</name>\n    <value>").append(escape(e.getValue()))
          .append("</value>\n  </property>\n");
    }
    xml.append("</configuration>\n");
    try (OutputStream out = new FileOutputStream(file)) {
      out.write(xml.toString().getBytes(StandardCharsets.UTF_8));
    }
  }

  static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
