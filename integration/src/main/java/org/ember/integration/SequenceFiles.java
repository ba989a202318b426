package org.ember.integration;

import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.BooleanWritable;
import org.apache.hadoop.io.BytesWritable;
import org.apache.hadoop.io.DoubleWritable;
import org.apache.hadoop.io.FloatWritable;
import org.apache.hadoop.io.IntWritable;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.NullWritable;
import org.apache.hadoop.io.SequenceFile;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.io.Writable;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.util.ReflectionUtils;

/**
 * Hadoop's own SequenceFile writer and reader, the oracle for ember's sequence files.
 *
 * <p>{@code write <path> <keyClass> <valueClass> <NONE|RECORD|BLOCK> <codecClass|none> <n>}
 * writes records 0..n, each made from its index by {@link #make} (ember's tests compute the same
 * records). Blocks of BLOCK compression hold 32 KiB of keys and values, so that a few thousand
 * records make several blocks.
 *
 * <p>{@code read <path>} reads a file, or the files of a directory whose names do not start
 * with {@code _} or {@code .} (part files), in name order. For each file it prints a header line {@code # <keyClass> <valueClass> <compressed>
 * <blockCompressed> <codecClass|none>}, then one line per record, {@code key<TAB>value}, each in
 * the form {@link #show} gives.
 */
public final class SequenceFiles {
  private SequenceFiles() {}

  /** Where records go: stdout as it was, before Hadoop's logging is pointed at stderr. */
  private static final PrintStream RECORDS = System.out;

  public static void main(String[] args) throws Exception {
    // Before any Hadoop class logs: its console logging must not mix with the records.
    System.setOut(System.err);
    Configuration conf = new Configuration();
    switch (args[0]) {
      case "write" -> write(conf, args);
      case "read" -> readAll(conf, new Path(args[1]));
      default -> throw new IllegalArgumentException("usage: write ... | read <path>");
    }
  }

  private static void write(Configuration conf, String[] args) throws Exception {
    Path path = new Path(args[1]);
    Class<?> keyClass = Class.forName(args[2]);
    Class<?> valueClass = Class.forName(args[3]);
    SequenceFile.CompressionType type = SequenceFile.CompressionType.valueOf(args[4]);
    int n = Integer.parseInt(args[6]);
    conf.setInt("io.seqfile.compress.blocksize", 32 * 1024);
    SequenceFile.Writer.Option compression;
    if (args[5].equals("none")) {
      compression = SequenceFile.Writer.compression(type);
    } else {
      CompressionCodec codec = (CompressionCodec)
          ReflectionUtils.newInstance(Class.forName(args[5]), conf);
      compression = SequenceFile.Writer.compression(type, codec);
    }
    try (SequenceFile.Writer writer = SequenceFile.createWriter(conf,
        SequenceFile.Writer.file(path), SequenceFile.Writer.keyClass(keyClass),
        SequenceFile.Writer.valueClass(valueClass), compression)) {
      for (int i = 0; i < n; i++) {
        writer.append(make(keyClass, i, true), make(valueClass, i, false));
      }
    }
  }

  /** Record i's key or value of class c. ember's tests mirror this function. */
  static Writable make(Class<?> c, int i, boolean key) {
    if (c == Text.class) {
      return new Text(key ? "k" + i : "v" + i + " é日本".repeat(i % 5) + "x".repeat(i % 97));
    } else if (c == IntWritable.class) {
      return new IntWritable(key ? i : i * 7919 - 1_000_000);
    } else if (c == LongWritable.class) {
      return new LongWritable(key ? i : (long) i * 1_000_000_007L * (i % 2 == 0 ? 1 : -1));
    } else if (c == BytesWritable.class) {
      byte[] bytes = new byte[key ? 4 : i % 61];
      for (int j = 0; j < bytes.length; j++) {
        bytes[j] = (byte) (i * 31 + j);
      }
      return new BytesWritable(bytes);
    } else if (c == NullWritable.class) {
      return NullWritable.get();
    } else if (c == BooleanWritable.class) {
      return new BooleanWritable(i % 3 == 0);
    } else if (c == FloatWritable.class) {
      return new FloatWritable(i * 0.25f - 3.5f);
    } else if (c == DoubleWritable.class) {
      return new DoubleWritable(i / 3.0 - 7.0);
    }
    throw new IllegalArgumentException("no test records for " + c.getName());
  }

  private static void readAll(Configuration conf, Path path) throws Exception {
    BufferedWriter out = new BufferedWriter(
        new OutputStreamWriter(RECORDS, StandardCharsets.UTF_8), 1 << 16);
    FileSystem fs = path.getFileSystem(conf);
    if (fs.getFileStatus(path).isDirectory()) {
      FileStatus[] files = fs.listStatus(path, p ->
          !p.getName().startsWith("_") && !p.getName().startsWith("."));
      Arrays.sort(files);
      for (FileStatus file : files) {
        read(conf, file.getPath(), out);
      }
    } else {
      read(conf, path, out);
    }
    out.flush();
  }

  private static void read(Configuration conf, Path path, BufferedWriter out) throws Exception {
    try (SequenceFile.Reader reader =
        new SequenceFile.Reader(conf, SequenceFile.Reader.file(path))) {
      CompressionCodec codec = reader.getCompressionCodec();
      out.write("# " + reader.getKeyClassName() + " " + reader.getValueClassName() + " "
          + reader.isCompressed() + " " + reader.isBlockCompressed() + " "
          + (codec == null ? "none" : codec.getClass().getName()) + "\n");
      Writable key = (Writable) ReflectionUtils.newInstance(reader.getKeyClass(), conf);
      Writable value = (Writable) ReflectionUtils.newInstance(reader.getValueClass(), conf);
      while (reader.next(key, value)) {
        out.write(show(key) + "\t" + show(value) + "\n");
      }
    }
  }

  /**
   * A writable as one line: text with tabs, newlines and backslashes escaped; bytes in hex;
   * floats and doubles as the decimal of their bits (exact, whatever the language prints).
   */
  static String show(Writable w) {
    if (w instanceof Text t) {
      return t.toString().replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n");
    } else if (w instanceof BytesWritable b) {
      StringBuilder hex = new StringBuilder();
      for (int j = 0; j < b.getLength(); j++) {
        hex.append(String.format("%02x", b.getBytes()[j]));
      }
      return hex.toString();
    } else if (w instanceof NullWritable) {
      return "(null)";
    } else if (w instanceof FloatWritable f) {
      return Integer.toString(Float.floatToIntBits(f.get()));
    } else if (w instanceof DoubleWritable d) {
      return Long.toString(Double.doubleToLongBits(d.get()));
    }
    return w.toString();
  }
}
