package org.ember.integration;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.BlockLocation;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Prints the blocks of an HDFS file as Hadoop's own client sees them, one line each:
 * {@code <offset> <length> <host>,<host>,...}. The oracle for ember's block locations.
 *
 * <p>Usage: {@code BlockHosts <path>}, with the cluster's configuration on the classpath.
 */
public final class BlockHosts {
  private BlockHosts() {}

  public static void main(String[] args) throws Exception {
    Path path = new Path(args[0]);
    FileSystem fs = path.getFileSystem(new Configuration());
    FileStatus status = fs.getFileStatus(path);
    for (BlockLocation block : fs.getFileBlockLocations(status, 0, status.getLen())) {
      System.out.println(block.getOffset() + " " + block.getLength() + " "
          + String.join(",", block.getHosts()));
    }
  }
}
