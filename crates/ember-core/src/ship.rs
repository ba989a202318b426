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

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A decoder: rebuilds a value of a known concrete type from bytes and returns it as `Arc<D>`.
pub(crate) type Decoder<D> = fn(&[u8]) -> Result<Arc<D>>;

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

impl Shipped {
    /// Serializes `value`, to be rebuilt by `decoder`.
    pub(crate) fn new<D: ?Sized, V: Serialize>(decoder: Decoder<D>, value: &V) -> Result<Self> {
        Ok(Shipped {
            decoder: decoder as usize as i64 - anchor_address(),
            bytes: bincode::serialize(value)?,
        })
    }

    /// Rebuilds the trait object.
    ///
    /// The caller names the trait object type `D`; it must be the one the decoder was made for.
    /// That holds by construction: every `Shipped` is decoded where the matching wrapper type
    /// (such as `RddRef<T>`) is deserialized, and both sides run the same build.
    pub(crate) fn open<D: ?Sized>(&self) -> Result<Arc<D>> {
        let address = (anchor_address() + self.decoder) as usize;
        // SAFETY: `address` is the address of a `Decoder<D>` in this same binary: it was
        // computed from one in `Shipped::new` in a process running this build, relative to the
        // same anchor, and the wrapper types only ever decode as the type they encoded.
        let decoder: Decoder<D> = unsafe { std::mem::transmute::<usize, Decoder<D>>(address) };
        decoder(&self.bytes)
    }
}

/// Decodes a concrete `V` and erases it to the trait object `D` with `erase`.
pub(crate) fn decode_as<D: ?Sized, V: DeserializeOwned>(
    bytes: &[u8],
    erase: fn(V) -> Arc<D>,
) -> Result<Arc<D>> {
    let value: V = bincode::deserialize(bytes)?;
    Ok(erase(value))
}

/// Identifies this build of the binary; processes refuse tasks from a different one.
///
/// It is derived from the executable's size and the anchor's offset within it, which is enough to
/// tell two builds apart in practice and cheap to compute.
pub fn build_id() -> Result<String> {
    let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    let len = std::fs::metadata(&exe)
        .map_err(|e| Error::io(&exe, e))?
        .len();
    Ok(format!("{len:x}-{:x}", anchor_address() & 0xffff_ffff))
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
}
