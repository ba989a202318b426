//! Shipping trait objects between processes of one binary.
//!
//! A task is a tree of trait objects (the RDD lineage of its stage, the function of its action)
//! whose concrete types were chosen by the user's generic code. To rebuild such a tree in another
//! process, each trait object travels as a [`Shipped`]: the serialized value, and a *decoder* that
//! knows its concrete type. The decoder is named by its code address relative to an anchor
//! function in this binary: every process started from the same executable lays its code out the
//! same way relative to itself, even under address-space randomization, so the offset means the
//! same function everywhere. Processes check that they run the same build before exchanging tasks
//! (see [`build_id`]); within one process the offset is trivially valid.
//!
//! Local mode ships every task through this module too, so the path that distributed execution
//! relies on is exercised by every job.
//!
//! A decoder offset read from bytes is only called if this process vouches for it: every
//! [`Shipped::new`] records its offset with the trait object type it decodes to, and
//! [`Shipped::open`] refuses anything else. Deserializing arbitrary bytes therefore yields an
//! error, never a jump to an arbitrary address. An executor, which made none of the values it
//! receives, accepts the offsets of a driver that proved at registration to run the same build.

use crate::error::{Error, Result};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// A decoder: rebuilds a value of a known concrete type from bytes and returns it as `Arc<D>`.
pub type Decoder<D> = fn(&[u8]) -> Result<Arc<D>>;

/// A trait object in transit: its decoder's code offset and its serialized value.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Shipped {
    decoder: i64,
    bytes: Vec<u8>,
}

// Never inlined and never folded with another function, so its address is a fixed point of the
// code section that every decoder can be measured from.
#[inline(never)]
fn anchor() -> u64 {
    std::hint::black_box(0x0065_6d62_6572)
}

fn anchor_address() -> i64 {
    anchor as fn() -> u64 as usize as i64
}

/// Set in an executor once its driver proved to run this very build: then every offset the
/// driver sends is one of this binary's decoders.
static TRUST_SAME_BUILD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Accepts decoder offsets this process did not make itself (an executor, after registering with
/// a driver of the same build).
pub(crate) fn trust_same_build() {
    TRUST_SAME_BUILD.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The decoder offsets this process vouches for, with the trait object type each one returns.
fn vouched() -> &'static Mutex<HashMap<i64, TypeId>> {
    static VOUCHED: OnceLock<Mutex<HashMap<i64, TypeId>>> = OnceLock::new();
    VOUCHED.get_or_init(Mutex::default)
}

impl Shipped {
    /// Serializes `value`, to be rebuilt by `decoder`.
    pub fn new<D: ?Sized + 'static, V: Serialize>(decoder: Decoder<D>, value: &V) -> Result<Self> {
        let offset = decoder as usize as i64 - anchor_address();
        vouched().lock().insert(offset, TypeId::of::<D>());
        Ok(Shipped {
            decoder: offset,
            bytes: bincode::serialize(value)?,
        })
    }

    /// Rebuilds the trait object.
    ///
    /// # Errors
    /// The offset is not one this process vouches for as a decoder to `D`: the bytes are
    /// corrupt, come from another build, or were made for another type.
    pub fn open<D: ?Sized + 'static>(&self) -> Result<Arc<D>> {
        let trusted = TRUST_SAME_BUILD.load(std::sync::atomic::Ordering::Relaxed);
        if !trusted && vouched().lock().get(&self.decoder) != Some(&TypeId::of::<D>()) {
            return Err(Error::Serialization(format!(
                "a shipped value names code ({:#x}) that this process does not know as a decoder \
                 of {}; was it made by another build of the application?",
                self.decoder,
                std::any::type_name::<D>()
            )));
        }
        let address = (anchor_address() + self.decoder) as usize;
        // SAFETY: the offset was vouched for above: `Shipped::new` in this process computed it
        // from a `Decoder<D>` of this binary, relative to the same anchor; or this is an
        // executor whose driver runs the same build and computed it the same way.
        let decoder: Decoder<D> = unsafe { std::mem::transmute::<usize, Decoder<D>>(address) };
        decoder(&self.bytes)
    }
}

/// Decodes a concrete `V` and erases it to the trait object `D` with `erase`.
pub fn decode_as<D: ?Sized, V: DeserializeOwned>(
    bytes: &[u8],
    erase: fn(V) -> Arc<D>,
) -> Result<Arc<D>> {
    let value: V = bincode::deserialize(bytes)?;
    Ok(erase(value))
}

/// Identifies this build of the binary; processes refuse tasks from a different one.
///
/// It is the executable's length and a hash of its bytes, computed once per process.
///
/// # Errors
/// The executable cannot be read.
pub fn build_id() -> Result<String> {
    static ID: OnceLock<String> = OnceLock::new();
    if let Some(id) = ID.get() {
        return Ok(id.clone());
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    let (len, hash) = hash_file(&exe).map_err(|e| Error::io(&exe, e))?;
    let id = format!("{len:x}-{hash:016x}");
    Ok(ID.get_or_init(|| id).clone())
}

/// The length and hash of a file, read a MiB at a time: an executable can be hundreds of
/// MiB, and every executor hashes its own at start.
fn hash_file(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::hash::Hasher;
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = rustc_hash::FxHasher::default();
    let mut chunk = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        // Whole chunks, whatever sizes reads return: the hash must not depend on them.
        let mut filled = 0;
        while filled < chunk.len() {
            match file.read(&mut chunk[filled..])? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            return Ok((len, hasher.finish()));
        }
        hasher.write(&chunk[..filled]);
        len += filled as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    trait Shape: Send + Sync {
        fn area(&self) -> f64;
    }
    #[derive(Serialize, Deserialize)]
    struct Square(f64);
    impl Shape for Square {
        fn area(&self) -> f64 {
            self.0 * self.0
        }
    }
    fn decode_square(bytes: &[u8]) -> Result<Arc<dyn Shape>> {
        decode_as::<dyn Shape, Square>(bytes, |s| Arc::new(s))
    }

    #[test]
    fn a_shipped_trait_object_comes_back_as_itself() {
        let shipped = Shipped::new(decode_square as Decoder<dyn Shape>, &Square(3.0)).unwrap();
        let wire = bincode::serialize(&shipped).unwrap();
        let back: Shipped = bincode::deserialize(&wire).unwrap();
        assert_eq!(back.open::<dyn Shape>().unwrap().area(), 9.0);
    }

    #[test]
    fn the_build_id_is_stable_within_a_process() {
        assert_eq!(build_id().unwrap(), build_id().unwrap());
    }

    #[test]
    fn unknown_or_mistyped_code_is_refused() {
        let forged = Shipped {
            decoder: 0x1234,
            bytes: vec![0; 8],
        };
        let err = forged.open::<dyn Shape>().err().unwrap();
        assert!(err.to_string().contains("does not know"), "{err}");
        let real = Shipped::new(decode_square as Decoder<dyn Shape>, &Square(1.0)).unwrap();
        assert!(real.open::<dyn Send + Sync>().is_err());
    }
}
