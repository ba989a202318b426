//! Hadoop sequence files: `sequence_file` reads them and `save_as_sequence_file` writes them
//! (Spark's `sequenceFile` with Hadoop's `SequenceFileInputFormat`, and `saveAsSequenceFile`
//! with `SequenceFileOutputFormat`).
//!
//! # The format (version 6, what Hadoop has written since 0.20)
//!
//! ```text
//! header   "SEQ" 6 | key class | value class | compressed? | block compressed? | [codec class]
//!          | metadata: 4-byte count, then (Text, Text) pairs | sync: 16 random bytes
//! NONE     record*:   4-byte record length | 4-byte key length | key | value
//! RECORD   record*:   the same, each value compressed on its own
//! BLOCK    block*:    vint records | 4 buffers (key lengths, keys, value lengths, values),
//!                     each a vint length and one compressed stream
//! sync     4-byte -1 | the header's sync bytes: between records every 100 KiB or so, and
//!          before every block
//! ```
//!
//! Integers are big-endian; class names and lengths inside buffers are Hadoop vints (see
//! [`crate::writable`]); keys and values are their [`Writable`] encodings. Codecs are those of
//! [`CompressionCodec`].
//!
//! # Splits
//!
//! Files are split like text files, but no split is shorter than the sync interval (as
//! `SequenceFileInputFormat` sets `minSplitSize`). Sync markers decide which split reads a
//! record, as Hadoop's `SequenceFileRecordReader` does:
//!
//! 1. The split at offset 0 starts after the header. Any other split starts at the first sync
//!    marker whose escape (the -1) is at or after its start offset, found by scanning the bytes.
//! 2. A split reads records, and blocks, until it meets a sync marker whose escape lies at or
//!    past its end offset: that marker, and what follows, belong to the next split.
//!
//! So every record is read by exactly one split whatever the offsets, and a block is read whole
//! by the split in which its sync marker starts.
//!
//! # Output
//!
//! Part files go through the commit protocol of `save_as_text_file` (see `save`). With a codec,
//! `save_as_sequence_file` compresses BLOCKs, as Spark's `saveAsSequenceFile` sets
//! `mapreduce.output.fileoutputformat.compress.type=BLOCK`; RECORD compression is one
//! [`SequenceFileCompression`] away.

use super::compression_codec::CompressionCodec;
use super::remote_input::RangeReader;
use super::save::PartFormat;
use super::text_file::{list_input_files, open_from, split_files, FileSplit};
use super::{BoxIter, Dependency, Rdd, RddBase, RddCompute, RddCore};
use crate::conf::keys;
use crate::context::Context;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::task_context::{abort, TaskContext};
use crate::writable::{read_length, rust_type_of, take, write_vlong, Writable};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::marker::PhantomData;
use std::sync::Arc;

/// Bytes between sync markers of uncompressed and RECORD files (Hadoop's `SYNC_INTERVAL`, 5 KiB
/// times the 20 bytes of a marker), and the shortest split.
pub(crate) const SYNC_INTERVAL: u64 = 5 * 1024 * 20;

/// Uncompressed key and value bytes gathered into one BLOCK (Hadoop's
/// `io.seqfile.compress.blocksize` default).
const BLOCK_BYTES: usize = 1_000_000;

/// Bytes fetched at a time from a remote file whose header alone is wanted.
const HEADER_RANGE_BYTES: u64 = 16 << 10;

const SYNC_ESCAPE: i32 = -1;
const VERSION: u8 = 6;

/// How a sequence file is compressed (Hadoop's `SequenceFile.CompressionType` with its codec).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SequenceFileCompression {
    /// Keys and values as they are (`NONE`).
    None,
    /// Each value compressed on its own, keys as they are (`RECORD`).
    Record(CompressionCodec),
    /// Runs of records, keys and values apart, compressed together (`BLOCK`): smaller files.
    Block(CompressionCodec),
}

impl SequenceFileCompression {
    fn codec(self) -> Option<CompressionCodec> {
        match self {
            SequenceFileCompression::None => None,
            SequenceFileCompression::Record(c) | SequenceFileCompression::Block(c) => Some(c),
        }
    }
}

/// The header of a sequence file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub key_class: String,
    pub value_class: String,
    pub compression: SequenceFileCompression,
    pub metadata: Vec<(String, String)>,
    pub sync: [u8; 16],
    /// Where the records start.
    pub len: u64,
}

impl Header {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"SEQ");
        out.push(VERSION);
        self.key_class.write(out);
        self.value_class.write(out);
        let (compressed, block) = match self.compression {
            SequenceFileCompression::None => (false, false),
            SequenceFileCompression::Record(_) => (true, false),
            SequenceFileCompression::Block(_) => (true, true),
        };
        out.extend([u8::from(compressed), u8::from(block)]);
        if let Some(codec) = self.compression.codec() {
            codec.class_name().to_string().write(out);
        }
        out.extend_from_slice(&(self.metadata.len() as i32).to_be_bytes());
        for (k, v) in &self.metadata {
            k.write(out);
            v.write(out);
        }
        out.extend_from_slice(&self.sync);
    }

    fn read(input: &mut Input) -> Result<Header> {
        let magic: [u8; 4] = input.array("header")?;
        if &magic[..3] != b"SEQ" {
            return Err(Error::Input(format!(
                "{} is not a sequence file: it does not start with SEQ; read it with text_file \
                 or another reader",
                input.path
            )));
        }
        if magic[3] != VERSION {
            return Err(Error::Input(format!(
                "{} is a sequence file of version {}; ember reads version 6, which Hadoop has \
                 written since 0.20: rewrite it with a current Hadoop",
                input.path, magic[3]
            )));
        }
        let key_class = input.text("key class name")?;
        let value_class = input.text("value class name")?;
        let [compressed, block]: [u8; 2] = input.array("compression flags")?;
        let compression = match (compressed != 0, block != 0) {
            (false, false) => SequenceFileCompression::None,
            (false, true) => return Err(input.corrupt("block compression without compression")),
            (true, block) => {
                let class = input.text("codec class name")?;
                let codec = CompressionCodec::from_class_name(&class)
                    .map_err(|e| Error::Input(format!("{}: {e}", input.path)))?;
                if block {
                    SequenceFileCompression::Block(codec)
                } else {
                    SequenceFileCompression::Record(codec)
                }
            }
        };
        let entries = i32::from_be_bytes(input.array("metadata count")?);
        if !(0..=1 << 20).contains(&entries) {
            return Err(input.corrupt(&format!("metadata count {entries}")));
        }
        let mut metadata = Vec::new();
        for _ in 0..entries {
            metadata.push((input.text("metadata key")?, input.text("metadata value")?));
        }
        let sync = input.array("sync marker")?;
        Ok(Header {
            key_class,
            value_class,
            compression,
            metadata,
            sync,
            len: input.pos,
        })
    }

    /// Refuses a file whose classes are not those of `K` and `V`, naming the types that would
    /// read it.
    fn check<K: Writable, V: Writable>(&self, path: &str) -> Result<()> {
        if self.key_class == K::CLASS && self.value_class == V::CLASS {
            return Ok(());
        }
        let suggest = |class: &str| {
            rust_type_of(class).map(str::to_string).unwrap_or_else(|| {
                format!("a type of yours that implements Writable with CLASS = \"{class}\"")
            })
        };
        Err(Error::Input(format!(
            "sequence file {path} has keys of class {} and values of class {}, but \
             sequence_file::<{}, {}> reads {} and {}; read it as sequence_file::<{}, {}>",
            self.key_class,
            self.value_class,
            std::any::type_name::<K>(),
            std::any::type_name::<V>(),
            K::CLASS,
            V::CLASS,
            suggest(&self.key_class),
            suggest(&self.value_class),
        )))
    }
}

/// A byte stream of one file that knows its offset in the file.
struct Input {
    inner: BufReader<Box<dyn Read + Send>>,
    pos: u64,
    path: String,
}

impl Input {
    fn open(path: &str, from: u64, env: &Env) -> Result<Input> {
        Ok(Input {
            inner: BufReader::with_capacity(1 << 16, open_from(path, from, env)?),
            pos: from,
            path: path.to_string(),
        })
    }

    /// For reading the header only: a remote file is fetched in small ranges, not the few MiB
    /// a reader of records asks for at a time.
    fn open_for_header(path: &str, env: &Env) -> Result<Input> {
        if !path.contains("://") {
            return Input::open(path, 0, env);
        }
        let reader = RangeReader::open(env, path, 0)?.with_range_bytes(HEADER_RANGE_BYTES);
        Ok(Input {
            inner: BufReader::with_capacity(HEADER_RANGE_BYTES as usize, Box::new(reader)),
            pos: 0,
            path: path.to_string(),
        })
    }

    fn corrupt(&self, what: &str) -> Error {
        Error::Input(format!(
            "sequence file {} is corrupt at byte {}: {what}; was it written completely, by \
             Hadoop's SequenceFile writer?",
            self.path, self.pos
        ))
    }

    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<()> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Error::Input(format!(
                "sequence file {} is truncated: it ends inside the {what} at byte {}; was it \
                 written completely?",
                self.path, self.pos
            ))),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let mut array = [0; N];
        self.fill(&mut array, what)?;
        Ok(array)
    }

    fn int(&mut self, what: &str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    /// The next 4-byte integer, or `None` at the end of the file.
    fn int_or_end(&mut self) -> Result<Option<i32>> {
        let mut first = [0u8; 1];
        match self.inner.read(&mut first) {
            Ok(0) => return Ok(None),
            Ok(_) => self.pos += 1,
            Err(e) => return Err(Error::io(&self.path, e)),
        }
        let rest: [u8; 3] = self.array("record length")?;
        Ok(Some(i32::from_be_bytes([
            first[0], rest[0], rest[1], rest[2],
        ])))
    }

    fn bytes(&mut self, n: usize, what: &str) -> Result<Vec<u8>> {
        // Grown as bytes arrive: a corrupt length must not allocate gigabytes up front.
        let mut out = Vec::with_capacity(n.min(1 << 20));
        let got = (&mut self.inner)
            .take(n as u64)
            .read_to_end(&mut out)
            .map_err(|e| Error::io(&self.path, e))?;
        self.pos += got as u64;
        if got < n {
            return Err(Error::Input(format!(
                "sequence file {} is truncated: it ends inside a {what} of {n} bytes at byte \
                 {}; was it written completely?",
                self.path, self.pos
            )));
        }
        Ok(out)
    }

    fn vlong(&mut self, what: &str) -> Result<i64> {
        let [first]: [u8; 1] = self.array(what)?;
        let first = first as i8;
        if first >= -112 {
            return Ok(i64::from(first));
        }
        let extra = if first < -120 {
            -120 - i32::from(first)
        } else {
            -112 - i32::from(first)
        };
        let mut bytes = vec![first as u8];
        bytes.extend(self.bytes(extra as usize, what)?);
        crate::writable::read_vlong(&mut bytes.as_slice())
    }

    fn length(&mut self, what: &str) -> Result<usize> {
        let n = self.vlong(what)?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= i32::MAX as usize)
            .ok_or_else(|| self.corrupt(&format!("{what} {n}")))
    }

    fn text(&mut self, what: &str) -> Result<String> {
        let len = self.length(what)?;
        let bytes = self.bytes(len, what)?;
        String::from_utf8(bytes).map_err(|_| self.corrupt(&format!("{what} is not UTF-8")))
    }

    /// Skips to just after the first sync marker whose escape starts at or after the current
    /// offset; returns the escape's offset, or `None` when the file ends first.
    fn seek_sync(&mut self, sync: &[u8; 16]) -> Result<Option<u64>> {
        let mut marker = [0xff; 20];
        marker[4..].copy_from_slice(sync);
        // The bytes passed over that a marker may still start in, then what the reader holds.
        let mut window: Vec<u8> = Vec::with_capacity(1 << 17);
        loop {
            let held = self
                .inner
                .fill_buf()
                .map_err(|e| Error::io(&self.path, e))?;
            if held.is_empty() {
                return Ok(None);
            }
            let (carried, len) = (window.len(), held.len());
            window.extend_from_slice(held);
            if let Some(at) = window.windows(20).position(|w| w == marker) {
                // A marker wholly in the carried bytes would have been found before.
                let used = at + 20 - carried;
                self.inner.consume(used);
                self.pos += used as u64;
                return Ok(Some(self.pos - 20));
            }
            self.inner.consume(len);
            self.pos += len as u64;
            window.drain(..window.len().saturating_sub(19));
        }
    }
}

/// The raw records of one split: key and value bytes, values decompressed.
struct SplitRecords {
    input: Input,
    header: Header,
    /// A sync marker whose escape is at or past this offset belongs to the next split.
    end: u64,
    done: bool,
    /// The rest of the current block.
    block: VecDeque<(Vec<u8>, Vec<u8>)>,
}

impl SplitRecords {
    fn open(split: &FileSplit, env: &Env) -> Result<SplitRecords> {
        let end = split.start + split.length;
        if split.start == 0 {
            let mut input = Input::open(&split.path, 0, env)?;
            let header = Header::read(&mut input)?;
            return Ok(SplitRecords {
                input,
                header,
                end,
                done: false,
                block: VecDeque::new(),
            });
        }
        let header = Header::read(&mut Input::open_for_header(&split.path, env)?)?;
        let from = split.start.max(header.len);
        let mut input = Input::open(&split.path, from, env)?;
        let at = input.seek_sync(&header.sync)?;
        let mut records = SplitRecords {
            input,
            header,
            end,
            done: at.is_none_or(|at| at >= end),
            block: VecDeque::new(),
        };
        if !records.done && records.is_block() {
            records.read_block()?;
        }
        Ok(records)
    }

    fn is_block(&self) -> bool {
        matches!(self.header.compression, SequenceFileCompression::Block(_))
    }

    fn next_raw(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        loop {
            if let Some(record) = self.block.pop_front() {
                return Ok(Some(record));
            }
            if self.done {
                return Ok(None);
            }
            let at = self.input.pos;
            let Some(len) = self.input.int_or_end()? else {
                self.done = true;
                return Ok(None);
            };
            if len == SYNC_ESCAPE {
                let marker: [u8; 16] = self.input.array("sync marker")?;
                if marker != self.header.sync {
                    return Err(self
                        .input
                        .corrupt("a sync marker differs from the header's"));
                }
                if at >= self.end {
                    self.done = true;
                } else if self.is_block() {
                    self.read_block()?;
                }
                continue;
            }
            if self.is_block() {
                return Err(self
                    .input
                    .corrupt("a block does not start with a sync marker"));
            }
            let key_len = self.input.int("key length")?;
            if len < 0 || key_len < 0 || key_len > len {
                return Err(self
                    .input
                    .corrupt(&format!("record length {len} with key length {key_len}")));
            }
            let key = self.input.bytes(key_len as usize, "key")?;
            let value = self.input.bytes((len - key_len) as usize, "value")?;
            let value = match self.header.compression {
                SequenceFileCompression::Record(codec) => codec
                    .decompress(&value)
                    .map_err(|e| self.input.corrupt(&e.to_string()))?,
                _ => value,
            };
            return Ok(Some((key, value)));
        }
    }

    /// Reads the block after a sync marker into `self.block`.
    fn read_block(&mut self) -> Result<()> {
        let Some(codec) = self.header.compression.codec() else {
            return Ok(());
        };
        let records = self.input.length("record count of a block")?;
        let mut buffers = Vec::with_capacity(4);
        for what in ["key lengths", "keys", "value lengths", "values"] {
            let len = self.input.length(what)?;
            let packed = self.input.bytes(len, what)?;
            let bytes = codec
                .decompress(&packed)
                .map_err(|e| self.input.corrupt(&format!("{what} of a block: {e}")))?;
            buffers.push(bytes);
        }
        let [key_lens, keys, value_lens, values] = [0, 1, 2, 3].map(|i| buffers[i].as_slice());
        let (mut key_lens, mut keys, mut value_lens, mut values) =
            (key_lens, keys, value_lens, values);
        for _ in 0..records {
            let record = (|| {
                let key_len = read_length(&mut key_lens, "key length")?;
                let key = take(&mut keys, key_len, "key")?.to_vec();
                let value_len = read_length(&mut value_lens, "value length")?;
                let value = take(&mut values, value_len, "value")?.to_vec();
                Ok::<_, Error>((key, value))
            })()
            .map_err(|e| self.input.corrupt(&format!("a block's records: {e}")))?;
            self.block.push_back(record);
        }
        Ok(())
    }
}

/// The records of one split as `(K, V)`; a corrupt record ends the task with its error.
struct Records<K, V> {
    raw: SplitRecords,
    _kv: PhantomData<fn() -> (K, V)>,
}

impl<K: Writable, V: Writable> Records<K, V> {
    fn decode(&self, key: &[u8], value: &[u8]) -> Result<(K, V)> {
        let wrap = |e: Error| {
            Error::Input(format!(
                "sequence file {}: a record before byte {} does not decode: {e}",
                self.raw.input.path, self.raw.input.pos
            ))
        };
        let k = K::read(&mut &key[..]).map_err(wrap)?;
        let v = V::read(&mut &value[..]).map_err(wrap)?;
        Ok((k, v))
    }
}

impl<K: Writable, V: Writable> Iterator for Records<K, V> {
    type Item = (K, V);
    fn next(&mut self) -> Option<(K, V)> {
        let (key, value) = self.raw.next_raw().unwrap_or_else(|e| abort(e))?;
        Some(self.decode(&key, &value).unwrap_or_else(|e| abort(e)))
    }
}

/// The records of sequence files, one partition per split.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct SequenceFileRdd<K, V> {
    core: RddCore,
    splits: Vec<FileSplit>,
    #[serde(skip)]
    _kv: PhantomData<fn() -> (K, V)>,
}

impl<K: Writable, V: Writable> RddBase for SequenceFileRdd<K, V> {
    fn core(&self) -> &RddCore {
        &self.core
    }
    fn num_partitions(&self) -> usize {
        self.splits.len()
    }
    fn preferred_locations(&self, partition: usize) -> Vec<String> {
        self.splits[partition].hosts.clone()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<K: Writable, V: Writable> RddCompute<(K, V)> for SequenceFileRdd<K, V> {
    fn compute(&self, partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<(K, V)>> {
        let split = &self.splits[partition];
        if split.length == 0 {
            // An empty file: no header, no records.
            return Ok(Box::new(std::iter::empty()));
        }
        let raw = SplitRecords::open(split, tc.env())?;
        raw.header.check::<K, V>(&split.path)?;
        Ok(Box::new(Records::<K, V> {
            raw,
            _kv: PhantomData,
        }))
    }
}

impl Context {
    /// The `(key, value)` records of Hadoop sequence files: a file, a directory, a glob, or a
    /// comma-separated list of them, as [`Context::text_file`] takes them, in at least
    /// `min_partitions` partitions (Spark's `sequenceFile`). `K` and `V` name the files'
    /// Writable classes (`String` for `Text`, `i64` for `LongWritable`, ...; see [`Writable`]).
    /// Large files are split at their sync markers.
    ///
    /// ```
    /// use ember_core::{CompressionCodec, Context};
    /// let ctx = Context::with_master("local[2]").unwrap();
    /// let dir = tempfile::tempdir().unwrap();
    /// let out = format!("file://{}/counts", dir.path().display());
    /// let counts = vec![("spark".to_string(), 3i64), ("ember".to_string(), 5)];
    /// ctx.parallelize(counts.clone(), 2)
    ///     .save_as_sequence_file(&out, Some(CompressionCodec::Default))
    ///     .unwrap();
    /// let back = ctx.sequence_file::<String, i64>(&out, 0).unwrap();
    /// assert_eq!(back.collect().unwrap(), counts);
    /// // Asking for the wrong classes fails and says which ones the files hold.
    /// let err = ctx.sequence_file::<String, i32>(&out, 0).unwrap_err().to_string();
    /// assert!(err.contains("org.apache.hadoop.io.LongWritable"), "{err}");
    /// ```
    ///
    /// # Errors
    /// A path that matches nothing; a first file that is not a sequence file, or holds classes
    /// other than `K`'s and `V`'s, or an unsupported codec (other files are checked when their
    /// tasks read them: the job then fails with the same message).
    pub fn sequence_file<K: Writable, V: Writable>(
        &self,
        path: &str,
        min_partitions: usize,
    ) -> Result<Rdd<(K, V)>> {
        let env = self.env();
        let files = list_input_files(path, env)?;
        if let Some(first) = files.iter().find(|f| f.len > 0) {
            let header = Header::read(&mut Input::open_for_header(&first.path, env)?)?;
            header.check::<K, V>(&first.path)?;
        }
        let max_split_bytes = self.conf().require(&keys::FILES_MAX_PARTITION_BYTES)?;
        let splits = split_files(
            &files,
            self.min_partitions(min_partitions),
            max_split_bytes,
            SYNC_INTERVAL,
            false,
        );
        Ok(Rdd::from_impl(
            self,
            SequenceFileRdd::<K, V> {
                core: self.new_rdd_core("sequence_file"),
                splits,
                _kv: PhantomData,
            },
        ))
    }
}

/// Writes a sequence file to `out`: the header at once, then records.
pub(crate) struct SequenceFileWriter<'a> {
    out: &'a mut dyn Write,
    header: Header,
    pos: u64,
    last_sync: u64,
    block_bytes: usize,
    /// BLOCK: the records gathered for the next block, as its four buffers.
    records: usize,
    buffers: [Vec<u8>; 4],
    scratch: Vec<u8>,
}

impl<'a> SequenceFileWriter<'a> {
    pub(crate) fn new(
        out: &'a mut dyn Write,
        key_class: &str,
        value_class: &str,
        compression: SequenceFileCompression,
        block_bytes: usize,
    ) -> std::io::Result<Self> {
        let mut header = Header {
            key_class: key_class.to_string(),
            value_class: value_class.to_string(),
            compression,
            metadata: Vec::new(),
            sync: rand::random(),
            len: 0,
        };
        let mut bytes = Vec::new();
        header.write(&mut bytes);
        header.len = bytes.len() as u64;
        out.write_all(&bytes)?;
        Ok(SequenceFileWriter {
            out,
            pos: header.len,
            last_sync: header.len,
            header,
            block_bytes,
            records: 0,
            buffers: Default::default(),
            scratch: Vec::new(),
        })
    }

    fn emit(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        let mut marker = SYNC_ESCAPE.to_be_bytes().to_vec();
        marker.extend_from_slice(&self.header.sync);
        self.emit(&marker)?;
        self.last_sync = self.pos;
        Ok(())
    }

    /// Appends one record of encoded key and value.
    pub(crate) fn append(&mut self, key: &[u8], value: &[u8]) -> std::io::Result<()> {
        let codec = match self.header.compression {
            SequenceFileCompression::Block(_) => {
                let [key_lens, keys, value_lens, values] = &mut self.buffers;
                write_vlong(key_lens, key.len() as i64);
                keys.extend_from_slice(key);
                write_vlong(value_lens, value.len() as i64);
                values.extend_from_slice(value);
                self.records += 1;
                if keys.len() + values.len() >= self.block_bytes {
                    self.flush_block()?;
                }
                return Ok(());
            }
            SequenceFileCompression::Record(codec) => Some(codec),
            SequenceFileCompression::None => None,
        };
        if self.pos >= self.last_sync + SYNC_INTERVAL {
            self.sync()?;
        }
        let compressed;
        let value = match codec {
            Some(codec) => {
                compressed = codec.compress(value);
                &compressed[..]
            }
            None => value,
        };
        let mut record = std::mem::take(&mut self.scratch);
        record.clear();
        record.extend_from_slice(&((key.len() + value.len()) as i32).to_be_bytes());
        record.extend_from_slice(&(key.len() as i32).to_be_bytes());
        record.extend_from_slice(key);
        record.extend_from_slice(value);
        let written = self.emit(&record);
        self.scratch = record;
        written
    }

    fn flush_block(&mut self) -> std::io::Result<()> {
        let Some(codec) = self.header.compression.codec() else {
            return Ok(());
        };
        if self.records == 0 {
            return Ok(());
        }
        self.sync()?;
        let mut block = Vec::new();
        write_vlong(&mut block, self.records as i64);
        for buffer in &mut self.buffers {
            let packed = codec.compress(buffer);
            write_vlong(&mut block, packed.len() as i64);
            block.extend_from_slice(&packed);
            buffer.clear();
        }
        self.records = 0;
        self.emit(&block)
    }

    /// Writes what is buffered; the file is complete after it.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        self.flush_block()?;
        self.out.flush()
    }
}

/// Partitions as sequence files of `K` and `V`.
#[derive(Serialize, Deserialize)]
pub(crate) struct SequenceFileFormat {
    pub compression: SequenceFileCompression,
    pub block_bytes: usize,
}

impl<K: Writable, V: Writable> PartFormat<(K, V)> for SequenceFileFormat {
    fn write_part(&self, elements: BoxIter<(K, V)>, out: &mut dyn Write) -> std::io::Result<()> {
        let mut writer =
            SequenceFileWriter::new(out, K::CLASS, V::CLASS, self.compression, self.block_bytes)?;
        let (mut key, mut value) = (Vec::new(), Vec::new());
        for (k, v) in elements {
            key.clear();
            value.clear();
            k.write(&mut key);
            v.write(&mut value);
            writer.append(&key, &value)?;
        }
        writer.finish()
    }
}

impl<K: Writable, V: Writable> Rdd<(K, V)> {
    /// Writes the pairs as Hadoop sequence files, a directory of `part-NNNNN` files and
    /// `_SUCCESS` that Hadoop, Spark and [`Context::sequence_file`] read (Spark's
    /// `saveAsSequenceFile`). With a codec, blocks of records are compressed together, as Spark
    /// does; [`Rdd::save_as_sequence_file_with`] chooses RECORD compression instead.
    ///
    /// # Errors
    /// As [`Rdd::save_as_text_file`]: the directory exists already (remove it, choose another,
    /// or set `ember.hadoop.validateOutputSpecs=false`), or the job failed (then nothing of it
    /// is left at `path`).
    pub fn save_as_sequence_file(&self, path: &str, codec: Option<CompressionCodec>) -> Result<()> {
        let compression = codec.map_or(SequenceFileCompression::None, |c| {
            SequenceFileCompression::Block(c)
        });
        self.save_as_sequence_file_with(path, compression)
    }

    /// As [`Rdd::save_as_sequence_file`], compressed as `compression` says.
    ///
    /// # Errors
    /// As [`Rdd::save_as_sequence_file`].
    pub fn save_as_sequence_file_with(
        &self,
        path: &str,
        compression: SequenceFileCompression,
    ) -> Result<()> {
        self.save_parts(
            path,
            SequenceFileFormat {
                compression,
                block_bytes: BLOCK_BYTES,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::new(&crate::EmberConf::empty(), "driver", 1).unwrap()
    }

    /// Records with keys and values of varied sizes, the values hard to compress.
    fn records(n: usize) -> Vec<(String, Vec<u8>)> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|i| {
                let value = (0..i % 300)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state as u8
                    })
                    .collect();
                (format!("key-{i}"), value)
            })
            .collect()
    }

    fn write_file(
        path: &std::path::Path,
        records: &[(String, Vec<u8>)],
        compression: SequenceFileCompression,
        block_bytes: usize,
    ) {
        let mut file = std::fs::File::create(path).unwrap();
        let format = SequenceFileFormat {
            compression,
            block_bytes,
        };
        let owned: Vec<(String, Vec<u8>)> = records.to_vec();
        let elements: BoxIter<(String, Vec<u8>)> = Box::new(owned.into_iter());
        format.write_part(elements, &mut file).unwrap();
    }

    fn read_split(split: &FileSplit) -> Result<Vec<(String, Vec<u8>)>> {
        let mut raw = SplitRecords::open(split, &env())?;
        let mut out = Vec::new();
        while let Some((k, v)) = raw.next_raw()? {
            out.push((String::read(&mut &k[..])?, Vec::<u8>::read(&mut &v[..])?));
        }
        Ok(out)
    }

    fn split(path: &std::path::Path, start: u64, length: u64) -> FileSplit {
        FileSplit {
            path: path.to_string_lossy().into_owned(),
            start,
            length,
            gzip: false,
            hosts: Vec::new(),
        }
    }

    fn compressions() -> Vec<SequenceFileCompression> {
        let mut all = vec![SequenceFileCompression::None];
        for codec in CompressionCodec::ALL {
            all.push(SequenceFileCompression::Record(codec));
            all.push(SequenceFileCompression::Block(codec));
        }
        all
    }

    #[test]
    fn every_record_is_read_once_whatever_the_split_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let want = records(3000);
        for compression in compressions() {
            let path = dir.path().join("f.seq");
            write_file(&path, &want, compression, 16 << 10);
            let len = std::fs::metadata(&path).unwrap().len();
            let syncs = std::fs::read(&path)
                .unwrap()
                .windows(20)
                .filter(|w| w[..4] == [0xff; 4])
                .count();
            assert!(syncs >= 3, "{compression:?}: {syncs} sync markers");
            for parts in [1, 3, 50, 997] {
                let size = len.div_ceil(parts);
                let got: Vec<_> = (0..len.div_ceil(size))
                    .flat_map(|i| {
                        let start = i * size;
                        read_split(&split(&path, start, size.min(len - start))).unwrap()
                    })
                    .collect();
                assert_eq!(got.len(), want.len(), "{compression:?} in {parts} splits");
                assert!(got == want, "{compression:?} in {parts} splits");
            }
        }
    }

    #[test]
    fn truncated_and_corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        for compression in compressions() {
            let path = dir.path().join("f.seq");
            write_file(&path, &records(500), compression, 4 << 10);
            let bytes = std::fs::read(&path).unwrap();
            for cut in [3, 10, 60, bytes.len() / 2, bytes.len() - 1] {
                std::fs::write(&path, &bytes[..cut]).unwrap();
                match read_split(&split(&path, 0, cut as u64)) {
                    Err(e) => {
                        let err = e.to_string();
                        assert!(
                            err.contains("truncated") || err.contains("corrupt"),
                            "{compression:?} cut at {cut}: {err}"
                        );
                    }
                    // A cut between two records of a file without blocks looks like its end,
                    // as it does to Hadoop.
                    Ok(got) => assert!(
                        cut == bytes.len() / 2
                            && got.len() < 500
                            && !matches!(compression, SequenceFileCompression::Block(_)),
                        "{compression:?} cut at {cut} read {} records",
                        got.len()
                    ),
                }
            }
            let mut flipped = bytes.clone();
            for i in (bytes.len() / 2..bytes.len()).step_by(7) {
                flipped[i] ^= 0x5a;
            }
            std::fs::write(&path, &flipped).unwrap();
            // Value bytes of an uncompressed file are not checked by the format; anything
            // compressed or structural is.
            if compression != SequenceFileCompression::None {
                assert!(read_split(&split(&path, 0, bytes.len() as u64)).is_err());
            }
        }
        std::fs::write(dir.path().join("t"), "SEQ\x05abc").unwrap();
        let err = read_split(&split(&dir.path().join("t"), 0, 7))
            .unwrap_err()
            .to_string();
        assert!(err.contains("version 5"), "{err}");
    }

    #[test]
    fn the_header_round_trips_with_metadata() {
        let header = Header {
            key_class: "org.apache.hadoop.io.Text".into(),
            value_class: "org.apache.hadoop.io.LongWritable".into(),
            compression: SequenceFileCompression::Block(CompressionCodec::Gzip),
            metadata: vec![("a".into(), "b".into()), ("é".into(), String::new())],
            sync: [7; 16],
            len: 0,
        };
        let mut bytes = Vec::new();
        header.write(&mut bytes);
        let mut input = Input {
            inner: BufReader::new(Box::new(std::io::Cursor::new(bytes.clone()))),
            pos: 0,
            path: "mem".into(),
        };
        let back = Header::read(&mut input).unwrap();
        assert_eq!(back.len, bytes.len() as u64);
        assert_eq!(Header { len: 0, ..back }, header);
    }
}
