//! Hadoop's compression codecs, as sequence files name and use them (Hadoop's
//! `org.apache.hadoop.io.compress.CompressionCodec` classes).
//!
//! A sequence file names its codec by Java class and compresses each value (RECORD) or each
//! buffer of a block (BLOCK) as one independent stream of that codec:
//!
//! - `DefaultCodec`: a zlib stream (RFC 1950).
//! - `GzipCodec`: a gzip member (RFC 1952).
//! - `BZip2Codec`: a bzip2 stream (Hadoop's built-in compressor writes `BZh9`; ember sizes the
//!   block to the data, which every bzip2 reader accepts).
//! - `SnappyCodec` and `Lz4Codec`: Hadoop's block framing, not the codecs' own stream formats.
//!   The stream is a run of blocks, each a 4-byte big-endian uncompressed length followed by
//!   one or more chunks, each a 4-byte big-endian compressed length and one raw Snappy or LZ4
//!   block; the chunks of a block decompress, concatenated, to its uncompressed length. A block
//!   whose uncompressed length is 0 ends the stream.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Uncompressed bytes per block of the Snappy and LZ4 framing ember writes: well under the
/// 256 KiB buffers Hadoop's decompressors allocate by default.
const FRAMED_BLOCK_BYTES: usize = 64 << 10;

/// A Hadoop compression codec for sequence files (Hadoop's `CompressionCodec` classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CompressionCodec {
    /// `org.apache.hadoop.io.compress.DefaultCodec`: zlib.
    Default,
    /// `org.apache.hadoop.io.compress.GzipCodec`: gzip.
    Gzip,
    /// `org.apache.hadoop.io.compress.BZip2Codec`: bzip2.
    BZip2,
    /// `org.apache.hadoop.io.compress.SnappyCodec`: Snappy in Hadoop's block framing.
    Snappy,
    /// `org.apache.hadoop.io.compress.Lz4Codec`: LZ4 in Hadoop's block framing.
    Lz4,
}

impl CompressionCodec {
    /// Every codec ember reads and writes.
    pub const ALL: [CompressionCodec; 5] = [
        CompressionCodec::Default,
        CompressionCodec::Gzip,
        CompressionCodec::BZip2,
        CompressionCodec::Snappy,
        CompressionCodec::Lz4,
    ];

    /// The Java class that names this codec in a sequence file header.
    pub fn class_name(self) -> &'static str {
        match self {
            CompressionCodec::Default => "org.apache.hadoop.io.compress.DefaultCodec",
            CompressionCodec::Gzip => "org.apache.hadoop.io.compress.GzipCodec",
            CompressionCodec::BZip2 => "org.apache.hadoop.io.compress.BZip2Codec",
            CompressionCodec::Snappy => "org.apache.hadoop.io.compress.SnappyCodec",
            CompressionCodec::Lz4 => "org.apache.hadoop.io.compress.Lz4Codec",
        }
    }

    /// The codec named by Java class `class`.
    ///
    /// # Errors
    /// A class ember has no codec for; the message lists those it has.
    pub fn from_class_name(class: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.class_name() == class)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|c| c.class_name()).collect();
                Error::Input(format!(
                    "unsupported compression codec {class}: ember reads and writes {}; rewrite \
                     the data with one of those (for example with Hadoop's SequenceFile writer)",
                    known.join(", ")
                ))
            })
    }

    /// `data` as one stream of this codec.
    pub(crate) fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            CompressionCodec::Default => {
                let mut out = flate2::write::ZlibEncoder::new(Vec::new(), Default::default());
                // Writing into a Vec cannot fail.
                let _ = out.write_all(data);
                out.finish().unwrap_or_default()
            }
            CompressionCodec::Gzip => {
                let mut out = flate2::write::GzEncoder::new(Vec::new(), Default::default());
                let _ = out.write_all(data);
                out.finish().unwrap_or_default()
            }
            CompressionCodec::BZip2 => {
                // The level is bzip2's block size in units of 100 kB; a larger block than the
                // data only costs memory (megabytes per stream, for every RECORD value).
                let level = data.len().div_ceil(100_000).clamp(1, 9) as u32;
                let mut out =
                    bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(level));
                let _ = out.write_all(data);
                out.finish().unwrap_or_default()
            }
            CompressionCodec::Snappy => framed(data, |block| {
                snap::raw::Encoder::new()
                    .compress_vec(block)
                    .unwrap_or_default()
            }),
            CompressionCodec::Lz4 => framed(data, lz4_flex::block::compress),
        }
    }

    /// The bytes of one stream of this codec.
    ///
    /// # Errors
    /// The stream is corrupt or truncated.
    pub(crate) fn decompress(self, data: &[u8]) -> Result<Vec<u8>> {
        let corrupt = |e: &dyn std::fmt::Display| {
            Error::Input(format!("corrupt {} data: {e}", self.class_name()))
        };
        let mut out = Vec::new();
        match self {
            CompressionCodec::Default => {
                flate2::read::ZlibDecoder::new(data)
                    .read_to_end(&mut out)
                    .map_err(|e| corrupt(&e))?;
            }
            CompressionCodec::Gzip => {
                flate2::read::MultiGzDecoder::new(data)
                    .read_to_end(&mut out)
                    .map_err(|e| corrupt(&e))?;
            }
            CompressionCodec::BZip2 => {
                bzip2::read::MultiBzDecoder::new(data)
                    .read_to_end(&mut out)
                    .map_err(|e| corrupt(&e))?;
            }
            CompressionCodec::Snappy => unframe(data, &mut out, |chunk, room| {
                // Checked first: a corrupt length must not allocate gigabytes.
                let len = snap::raw::decompress_len(chunk).map_err(|e| e.to_string())?;
                if len > room {
                    return Err(format!("a chunk claims {len} bytes where {room} are left"));
                }
                snap::raw::Decoder::new()
                    .decompress_vec(chunk)
                    .map_err(|e| e.to_string())
            })
            .map_err(|e| corrupt(&e))?,
            CompressionCodec::Lz4 => unframe(data, &mut out, |chunk, room| {
                // LZ4 expands at most 255 times; a corrupt block length must not allocate more.
                let room = room.min(chunk.len().saturating_mul(255) + 64);
                lz4_flex::block::decompress(chunk, room).map_err(|e| e.to_string())
            })
            .map_err(|e| corrupt(&e))?,
        }
        Ok(out)
    }
}

impl std::fmt::Display for CompressionCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.class_name())
    }
}

/// Hadoop's block framing of `data`, one chunk per block.
fn framed(data: &[u8], compress: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 16);
    for block in data.chunks(FRAMED_BLOCK_BYTES) {
        let chunk = compress(block);
        out.extend_from_slice(&(block.len() as u32).to_be_bytes());
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        out.extend_from_slice(&chunk);
    }
    out
}

fn read_u32(input: &mut &[u8]) -> std::result::Result<usize, String> {
    let bytes = crate::writable::take(input, 4, "block length").map_err(|e| e.to_string())?;
    let n = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= i32::MAX as usize)
        .ok_or_else(|| format!("block length {n} out of range"))
}

/// Undoes Hadoop's block framing: `decompress` gives one chunk's bytes, told how many its
/// block has left.
fn unframe(
    data: &[u8],
    out: &mut Vec<u8>,
    decompress: impl Fn(&[u8], usize) -> std::result::Result<Vec<u8>, String>,
) -> std::result::Result<(), String> {
    let mut input = data;
    while !input.is_empty() {
        let original = read_u32(&mut input)?;
        if original == 0 {
            break;
        }
        let mut produced = 0;
        while produced < original {
            let len = read_u32(&mut input)?;
            let chunk = crate::writable::take(&mut input, len, "compressed chunk")
                .map_err(|e| e.to_string())?;
            let bytes = decompress(chunk, original - produced)?;
            if bytes.is_empty() || bytes.len() > original - produced {
                return Err(format!(
                    "a chunk of a {original}-byte block decompressed to {} bytes",
                    bytes.len()
                ));
            }
            produced += bytes.len();
            out.extend_from_slice(&bytes);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_codec_round_trips_small_empty_and_multi_block_data() {
        let big: Vec<u8> = (0..300_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 977) as u8)
            .collect();
        for codec in CompressionCodec::ALL {
            for data in [&b""[..], b"x", &big] {
                let packed = codec.compress(data);
                assert_eq!(codec.decompress(&packed).unwrap(), data, "{codec}");
            }
            assert_eq!(
                CompressionCodec::from_class_name(codec.class_name()).unwrap(),
                codec
            );
        }
    }

    #[test]
    fn hadoops_framing_with_several_chunks_per_block_and_an_empty_end_block_is_read() {
        // One block of 6 bytes in two chunks, then a 0-length block and a chunk after it (as
        // Hadoop's compressor writes for an empty finish): the stream ends at the 0.
        let mut data = Vec::new();
        data.extend_from_slice(&6u32.to_be_bytes());
        for part in [&b"abc"[..], b"def"] {
            let chunk = snap::raw::Encoder::new().compress_vec(part).unwrap();
            data.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
            data.extend_from_slice(&chunk);
        }
        data.extend_from_slice(&0u32.to_be_bytes());
        data.extend_from_slice(&1u32.to_be_bytes());
        data.push(0);
        assert_eq!(
            CompressionCodec::Snappy.decompress(&data).unwrap(),
            b"abcdef"
        );
    }

    #[test]
    fn corrupt_streams_are_errors_naming_the_codec() {
        for codec in CompressionCodec::ALL {
            let packed = codec.compress(&[7u8; 10_000]);
            let cut = &packed[..packed.len() / 2];
            let err = codec.decompress(cut).unwrap_err().to_string();
            assert!(err.contains(codec.class_name()), "{err}");
        }
        let err = CompressionCodec::from_class_name("com.hadoop.compression.lzo.LzoCodec")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LzoCodec") && err.contains("GzipCodec"),
            "{err}"
        );
    }
}
