//! Record streams on disk: how shuffle segments and spill files encode records.
//!
//! A stream is a sequence of *chunks*; each chunk holds whole records, bincode-encoded back to
//! back, and is compressed on its own:
//!
//! ```text
//! chunk := codec:u8 (0 = none, 1 = lz4)  raw_len:u32le  stored_len:u32le  bytes[stored_len]
//! ```
//!
//! Because chunks are self-contained, streams concatenate: the segment of one reduce partition
//! in a map output file is simply the chunks of every spill followed by the chunks still in
//! memory, copied without decoding.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Read, Write};
use std::path::PathBuf;

/// Raw bytes gathered before a chunk is compressed and closed.
const CHUNK_BYTES: usize = 32 * 1024;
const HEADER: usize = 9;

/// The header of a chunk of `len` bytes stored as they are (codec 0, raw and stored lengths
/// equal).
fn stored_header(len: [u8; 4]) -> [u8; HEADER] {
    let mut header = [0u8; HEADER];
    header[1..5].copy_from_slice(&len);
    header[5..].copy_from_slice(&len);
    header
}

/// Encodes records into chunks written to `W`: held in memory (a `Vec`, the default) or
/// streamed to a file.
#[derive(Debug, Default)]
pub(crate) struct ChunkWriter<W = Vec<u8>> {
    raw: Vec<u8>,
    out: W,
    // A compressed chunk, header first, before it is written out; reused.
    packed: Vec<u8>,
    compress: bool,
    // Named in write errors.
    path: PathBuf,
}

impl ChunkWriter {
    pub(crate) fn new(compress: bool) -> Self {
        ChunkWriter::to(
            Vec::new(),
            compress,
            PathBuf::from("shuffle output in memory"),
        )
    }

    /// Bytes held, raw and closed.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.raw.capacity() + self.out.capacity() + self.packed.capacity()
    }

    /// Closes the open chunk and returns all chunks, leaving the writer empty.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        // Writing to a Vec cannot fail.
        let _ = self.close_chunk();
        std::mem::take(&mut self.out)
    }

    /// Closes the open chunk and writes all chunks to `out`; returns the bytes written.
    pub(crate) fn drain_to(&mut self, out: &mut (impl Write + ?Sized)) -> std::io::Result<u64> {
        let bytes = self.take();
        out.write_all(&bytes)?;
        Ok(bytes.len() as u64)
    }
}

impl<W: Write> ChunkWriter<W> {
    /// Chunks written to `out` (the file at `path`) as each one closes.
    pub(crate) fn to(out: W, compress: bool, path: PathBuf) -> Self {
        ChunkWriter {
            raw: Vec::new(),
            out,
            packed: Vec::new(),
            compress,
            path,
        }
    }

    /// Appends one record; returns its encoded size.
    pub(crate) fn write<R: Serialize + ?Sized>(&mut self, record: &R) -> Result<usize> {
        if !self.compress && self.raw.is_empty() {
            // A record that fills a chunk alone goes out without a copy in between.
            let size = bincode::serialized_size(record)? as usize;
            if size >= CHUNK_BYTES {
                self.out
                    .write_all(&stored_header(chunk_len(size)?))
                    .map_err(|e| Error::io(&self.path, e))?;
                bincode::serialize_into(&mut self.out, record)?;
                return Ok(size);
            }
        }
        let before = self.raw.len();
        bincode::serialize_into(&mut self.raw, record)?;
        let added = self.raw.len() - before;
        if self.raw.len() >= CHUNK_BYTES {
            self.close_chunk()?;
        }
        Ok(added)
    }

    fn close_chunk(&mut self) -> Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        let raw_len = chunk_len(self.raw.len())?;
        if self.compress {
            let bound = lz4_flex::block::get_maximum_output_size(self.raw.len());
            self.packed.resize(HEADER + bound, 0);
            let stored = lz4_flex::block::compress_into(&self.raw, &mut self.packed[HEADER..])
                .map_err(|e| Error::Serialization(format!("lz4: {e}")))?;
            self.packed[0] = 1;
            self.packed[1..5].copy_from_slice(&raw_len);
            self.packed[5..HEADER].copy_from_slice(&chunk_len(stored)?);
            let packed = &self.packed[..HEADER + stored];
            self.out
                .write_all(packed)
                .map_err(|e| Error::io(&self.path, e))?;
        } else {
            let out = &mut self.out;
            out.write_all(&stored_header(raw_len))
                .and_then(|()| out.write_all(&self.raw))
                .map_err(|e| Error::io(&self.path, e))?;
        }
        self.raw.clear();
        Ok(())
    }

    /// Closes the open chunk; returns where the chunks went.
    pub(crate) fn finish(mut self) -> Result<W> {
        self.close_chunk()?;
        Ok(self.out)
    }
}

/// A chunk length as its header holds it.
fn chunk_len(len: usize) -> Result<[u8; 4]> {
    u32::try_from(len)
        .map(u32::to_le_bytes)
        .map_err(|_| Error::Serialization(format!("a shuffle record of {len} bytes exceeds 4 GiB")))
}

/// Decodes the records of a chunk stream read from `S` (a segment in memory, a spill file).
pub(crate) struct ChunkReader<R, S> {
    source: S,
    chunk: Vec<u8>,
    stored: Vec<u8>,
    in_chunk: usize,
    _record: std::marker::PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> ChunkReader<R, bytes::buf::Reader<bytes::Bytes>> {
    /// Reads the records of a stream held in memory.
    #[cfg(test)]
    pub(crate) fn from_bytes(stream: impl Into<bytes::Bytes>) -> Self {
        ChunkReader::new(bytes::Buf::reader(stream.into()))
    }
}

impl<R: DeserializeOwned, S: Read> ChunkReader<R, S> {
    pub(crate) fn new(source: S) -> Self {
        ChunkReader {
            source,
            chunk: Vec::new(),
            stored: Vec::new(),
            in_chunk: 0,
            _record: std::marker::PhantomData,
        }
    }

    fn next_chunk(&mut self) -> Result<bool> {
        let corrupt =
            |what: &str| Error::Serialization(format!("corrupt shuffle or spill chunk: {what}"));
        let mut header = [0u8; HEADER];
        let mut filled = 0;
        while filled < HEADER {
            match self.source.read(&mut header[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => return Err(corrupt("the stream ends inside a chunk header")),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(corrupt(&e.to_string())),
            }
        }
        let raw_len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        let stored = u32::from_le_bytes([header[5], header[6], header[7], header[8]]) as usize;
        self.stored.resize(stored, 0);
        self.source
            .read_exact(&mut self.stored)
            .map_err(|e| corrupt(&e.to_string()))?;
        match header[0] {
            0 => std::mem::swap(&mut self.chunk, &mut self.stored),
            1 => {
                self.chunk.resize(raw_len, 0);
                let n = lz4_flex::decompress_into(&self.stored, &mut self.chunk)
                    .map_err(|e| corrupt(&e.to_string()))?;
                self.chunk.truncate(n);
            }
            codec => return Err(corrupt(&format!("unknown codec {codec}"))),
        }
        self.in_chunk = 0;
        Ok(true)
    }

    /// The next record, `None` at the end of the stream.
    pub(crate) fn next_record(&mut self) -> Result<Option<R>> {
        while self.in_chunk >= self.chunk.len() {
            if !self.next_chunk()? {
                return Ok(None);
            }
        }
        let mut rest = &self.chunk[self.in_chunk..];
        let before = rest.len();
        let record = bincode::deserialize_from(&mut rest)?;
        self.in_chunk += before - rest.len();
        Ok(Some(record))
    }
}

impl<R: DeserializeOwned, S: Read> Iterator for ChunkReader<R, S> {
    type Item = R;
    fn next(&mut self) -> Option<R> {
        self.next_record()
            .unwrap_or_else(|e| crate::task_context::abort(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_truncated_stream_is_an_error_not_an_early_end() {
        let mut w = ChunkWriter::new(true);
        for i in 0..100u64 {
            w.write(&i).unwrap();
        }
        let mut stream = w.take();
        stream.extend_from_slice(&[1, 2, 3]);
        let mut r = ChunkReader::<u64, _>::from_bytes(stream);
        for i in 0..100u64 {
            assert_eq!(r.next_record().unwrap(), Some(i));
        }
        assert!(r.next_record().is_err());
    }

    #[test]
    fn concatenated_streams_read_as_one() {
        for compress in [false, true] {
            let mut a = ChunkWriter::new(compress);
            let mut b = ChunkWriter::new(compress);
            for i in 0..10_000u64 {
                a.write(&(i, format!("a{i}"))).unwrap();
                b.write(&(i, format!("b{i}"))).unwrap();
            }
            let mut stream = a.take();
            stream.extend(b.take());
            let back: Vec<(u64, String)> = ChunkReader::from_bytes(stream).collect();
            assert_eq!(back.len(), 20_000);
            assert_eq!(back[10_000], (0, "b0".to_string()));
            assert_eq!(back[9_999], (9_999, "a9999".to_string()));
        }
    }

    #[test]
    fn records_larger_than_a_chunk_stream_between_small_ones() {
        for compress in [false, true] {
            let record = |i: usize| (i as u32, vec![i as u8; (i % 3) * CHUNK_BYTES + i]);
            let mut w = ChunkWriter::to(Vec::new(), compress, PathBuf::from("test"));
            for i in 0..12 {
                w.write(&record(i)).unwrap();
            }
            let stream = w.finish().unwrap();
            let back: Vec<(u32, Vec<u8>)> = ChunkReader::from_bytes(stream).collect();
            assert_eq!(back, (0..12).map(record).collect::<Vec<_>>());
        }
    }
}
