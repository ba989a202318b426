//! Hadoop's `Writable` encodings of keys and values, as sequence files hold them.
//!
//! Each Rust type stands for one Hadoop class and writes exactly the bytes that class's `write`
//! does, so Hadoop (and Spark) read what ember writes and the other way round:
//!
//! | Rust | Hadoop class | bytes |
//! |---|---|---|
//! | `String` | `org.apache.hadoop.io.Text` | vint length, then UTF-8 (read lossily, as Spark does) |
//! | `i32` | `org.apache.hadoop.io.IntWritable` | 4 bytes, big-endian |
//! | `i64` | `org.apache.hadoop.io.LongWritable` | 8 bytes, big-endian |
//! | `Vec<u8>` | `org.apache.hadoop.io.BytesWritable` | 4-byte big-endian length, then the bytes |
//! | `()` | `org.apache.hadoop.io.NullWritable` | nothing |
//! | `bool` | `org.apache.hadoop.io.BooleanWritable` | 1 byte, 0 or 1 |
//! | `f32` | `org.apache.hadoop.io.FloatWritable` | IEEE 754 bits, big-endian |
//! | `f64` | `org.apache.hadoop.io.DoubleWritable` | IEEE 754 bits, big-endian |
//!
//! A vint is Hadoop's variable-length integer (`WritableUtils.writeVLong`): values in
//! -112..=127 are one byte; otherwise a first byte says the sign and how many big-endian bytes
//! (one to eight) follow, negative values stored as their complement.

use crate::data::Data;
use crate::error::{Error, Result};

/// A type that is stored as a Hadoop `Writable` class (Hadoop's `org.apache.hadoop.io.Writable`).
///
/// [`Context::sequence_file`](crate::Context::sequence_file) reads keys and values through it
/// and [`Rdd::save_as_sequence_file`](crate::Rdd::save_as_sequence_file) writes them.
///
/// ```
/// use ember_core::Writable;
/// let mut bytes = Vec::new();
/// "héllo".to_string().write(&mut bytes);
/// assert_eq!(bytes, b"\x06h\xc3\xa9llo");
/// assert_eq!(String::read(&mut bytes.as_slice()).unwrap(), "héllo");
/// assert_eq!(<String as Writable>::CLASS, "org.apache.hadoop.io.Text");
/// ```
pub trait Writable: Data {
    /// The Hadoop class whose encoding this is, as sequence file headers name it.
    const CLASS: &'static str;

    /// Appends the encoding of `self` to `out`.
    fn write(&self, out: &mut Vec<u8>);

    /// Decodes one value from the front of `input` and advances it past the value.
    ///
    /// # Errors
    /// `input` ends inside the value, or holds bytes the class never writes.
    fn read(input: &mut &[u8]) -> Result<Self>;
}

/// The Rust type that reads `class`, for messages that suggest one.
pub(crate) fn rust_type_of(class: &str) -> Option<&'static str> {
    Some(match class {
        "org.apache.hadoop.io.Text" => "String",
        "org.apache.hadoop.io.IntWritable" => "i32",
        "org.apache.hadoop.io.LongWritable" => "i64",
        "org.apache.hadoop.io.BytesWritable" => "Vec<u8>",
        "org.apache.hadoop.io.NullWritable" => "()",
        "org.apache.hadoop.io.BooleanWritable" => "bool",
        "org.apache.hadoop.io.FloatWritable" => "f32",
        "org.apache.hadoop.io.DoubleWritable" => "f64",
        _ => return None,
    })
}

fn truncated(what: &str) -> Error {
    Error::Input(format!("truncated {what}: the data ends inside it"))
}

/// Takes `n` bytes from the front of `input`.
pub(crate) fn take<'a>(input: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
    if input.len() < n {
        return Err(truncated(what));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn take_array<const N: usize>(input: &mut &[u8], what: &str) -> Result<[u8; N]> {
    let mut array = [0; N];
    array.copy_from_slice(take(input, N, what)?);
    Ok(array)
}

/// Appends `value` as a Hadoop vint/vlong (`WritableUtils.writeVLong`).
pub(crate) fn write_vlong(out: &mut Vec<u8>, value: i64) {
    if (-112..=127).contains(&value) {
        out.push(value as u8);
        return;
    }
    let (magnitude, mut first) = if value < 0 {
        (!value, -120i32)
    } else {
        (value, -112i32)
    };
    let bytes = 8 - (magnitude.leading_zeros() / 8) as usize;
    first -= bytes as i32;
    out.push(first as u8);
    out.extend_from_slice(&magnitude.to_be_bytes()[8 - bytes..]);
}

/// Reads a Hadoop vint/vlong (`WritableUtils.readVLong`) from the front of `input`.
///
/// # Errors
/// `input` ends inside it.
pub(crate) fn read_vlong(input: &mut &[u8]) -> Result<i64> {
    let first = take(input, 1, "variable-length integer")?[0] as i8;
    if first >= -112 {
        return Ok(i64::from(first));
    }
    let (negative, bytes) = if first < -120 {
        (true, (-120 - i32::from(first)) as usize)
    } else {
        (false, (-112 - i32::from(first)) as usize)
    };
    let mut magnitude = 0i64;
    for &b in take(input, bytes, "variable-length integer")? {
        magnitude = (magnitude << 8) | i64::from(b);
    }
    Ok(if negative { !magnitude } else { magnitude })
}

/// Reads a vint that must be a length (0..=i32::MAX).
pub(crate) fn read_length(input: &mut &[u8], what: &str) -> Result<usize> {
    let n = read_vlong(input)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= i32::MAX as usize)
        .ok_or_else(|| Error::Input(format!("corrupt {what}: length {n}")))
}

impl Writable for String {
    const CLASS: &'static str = "org.apache.hadoop.io.Text";
    fn write(&self, out: &mut Vec<u8>) {
        write_vlong(out, self.len() as i64);
        out.extend_from_slice(self.as_bytes());
    }
    fn read(input: &mut &[u8]) -> Result<Self> {
        let len = read_length(input, "Text")?;
        // Bytes that are not UTF-8 become U+FFFD, as Hadoop's `Text.toString` (and so Spark)
        // decodes them.
        Ok(String::from_utf8_lossy(take(input, len, "Text")?).into_owned())
    }
}

impl Writable for i32 {
    const CLASS: &'static str = "org.apache.hadoop.io.IntWritable";
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(input: &mut &[u8]) -> Result<Self> {
        Ok(i32::from_be_bytes(take_array(input, "IntWritable")?))
    }
}

impl Writable for i64 {
    const CLASS: &'static str = "org.apache.hadoop.io.LongWritable";
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(input: &mut &[u8]) -> Result<Self> {
        Ok(i64::from_be_bytes(take_array(input, "LongWritable")?))
    }
}

impl Writable for Vec<u8> {
    const CLASS: &'static str = "org.apache.hadoop.io.BytesWritable";
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.len() as i32).to_be_bytes());
        out.extend_from_slice(self);
    }
    fn read(input: &mut &[u8]) -> Result<Self> {
        let len = i32::from_be_bytes(take_array(input, "BytesWritable")?);
        let len = usize::try_from(len)
            .map_err(|_| Error::Input(format!("corrupt BytesWritable: length {len}")))?;
        Ok(take(input, len, "BytesWritable")?.to_vec())
    }
}

impl Writable for () {
    const CLASS: &'static str = "org.apache.hadoop.io.NullWritable";
    fn write(&self, _out: &mut Vec<u8>) {}
    fn read(_input: &mut &[u8]) -> Result<Self> {
        Ok(())
    }
}

impl Writable for bool {
    const CLASS: &'static str = "org.apache.hadoop.io.BooleanWritable";
    fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn read(input: &mut &[u8]) -> Result<Self> {
        Ok(take(input, 1, "BooleanWritable")?[0] != 0)
    }
}

impl Writable for f32 {
    const CLASS: &'static str = "org.apache.hadoop.io.FloatWritable";
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bits().to_be_bytes());
    }
    fn read(input: &mut &[u8]) -> Result<Self> {
        Ok(f32::from_bits(u32::from_be_bytes(take_array(
            input,
            "FloatWritable",
        )?)))
    }
}

impl Writable for f64 {
    const CLASS: &'static str = "org.apache.hadoop.io.DoubleWritable";
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bits().to_be_bytes());
    }
    fn read(input: &mut &[u8]) -> Result<Self> {
        Ok(f64::from_bits(u64::from_be_bytes(take_array(
            input,
            "DoubleWritable",
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vlong(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        write_vlong(&mut out, v);
        out
    }

    #[test]
    fn vlongs_are_hadoops_bytes() {
        // Bytes as Hadoop's WritableUtils.writeVLong writes them.
        assert_eq!(vlong(0), [0x00]);
        assert_eq!(vlong(127), [0x7f]);
        assert_eq!(vlong(-112), [0x90]);
        assert_eq!(vlong(128), [0x8f, 0x80]);
        assert_eq!(vlong(255), [0x8f, 0xff]);
        assert_eq!(vlong(256), [0x8e, 0x01, 0x00]);
        assert_eq!(vlong(-113), [0x87, 0x70]);
        assert_eq!(vlong(-256), [0x87, 0xff]);
        assert_eq!(vlong(-257), [0x86, 0x01, 0x00]);
        assert_eq!(
            vlong(i64::MAX),
            [0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            vlong(i64::MIN),
            [0x80, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn vlongs_round_trip() {
        let mut values = vec![i64::MIN, i64::MAX, -1, 0, 1];
        for shift in 0..63 {
            for base in [1i64 << shift, (1i64 << shift) - 1] {
                values.extend([base, -base, base + 1, -base - 1]);
            }
        }
        for v in values {
            let bytes = vlong(v);
            let mut input = bytes.as_slice();
            assert_eq!(read_vlong(&mut input).unwrap(), v);
            assert!(input.is_empty(), "{v}");
        }
    }

    fn round_trip<W: Writable + PartialEq + std::fmt::Debug>(value: W) {
        let mut bytes = Vec::new();
        value.write(&mut bytes);
        let mut input = bytes.as_slice();
        assert_eq!(W::read(&mut input).unwrap(), value);
        assert!(input.is_empty());
        if !bytes.is_empty() {
            let cut = &bytes[..bytes.len() - 1];
            assert!(W::read(&mut &cut[..]).is_err(), "{value:?} cut short");
        }
    }

    #[test]
    fn every_writable_round_trips_and_reports_truncation() {
        round_trip(String::new());
        round_trip("é日本".repeat(50));
        round_trip(i32::MIN);
        round_trip(i64::MAX);
        round_trip(vec![0u8, 1, 255]);
        round_trip(());
        round_trip(true);
        round_trip(-0.25f32);
        round_trip(1e300f64);
        let mut bytes = Vec::new();
        (-2i32).write(&mut bytes);
        assert_eq!(bytes, [0xff, 0xff, 0xff, 0xfe]);
    }

    #[test]
    fn text_that_is_not_utf8_reads_with_replacement_characters_as_in_spark() {
        let bytes = [0x02, 0xff, b'a'];
        assert_eq!(String::read(&mut &bytes[..]).unwrap(), "\u{fffd}a");
    }
}
