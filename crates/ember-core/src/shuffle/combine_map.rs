//! The hash map that merges values by key, on both sides of a shuffle.
//!
//! A merge function takes the old combined value by value (`(C, V) -> C`, like Spark's), so the
//! map must move the value out of its slot and put the result back. Holding `Option<C>` would make
//! that trivially safe but costs a tag in every entry, and on the hottest loop of every
//! aggregation the table's size is its speed. So [`CombineMap::upsert`] moves the value out
//! in place; if the user's function panics, the moved-out slot is removed and forgotten (never
//! dropped twice) before the panic continues, failing the task as usual.

use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Key to combined value, merged in place.
pub(crate) struct CombineMap<K, C> {
    map: FxHashMap<K, C>,
}

impl<K: Hash + Eq, C> CombineMap<K, C> {
    pub(crate) fn new() -> Self {
        CombineMap {
            map: FxHashMap::default(),
        }
    }

    /// Merges `value` into `key`'s combined value with `merge`, or starts one with `create`,
    /// then shows the entry to `observe` (whether the key was new, the key, the value) and
    /// returns what it returns.
    #[inline]
    pub(crate) fn upsert<X, R>(
        &mut self,
        key: K,
        value: X,
        create: impl FnOnce(X) -> C,
        merge: impl FnOnce(C, X) -> C,
        observe: impl FnOnce(bool, &K, &C) -> R,
    ) -> R {
        match self.map.entry(key) {
            Entry::Vacant(vacant) => {
                let entry = vacant.insert_entry(create(value));
                observe(true, entry.key(), entry.get())
            }
            Entry::Occupied(mut occupied) => {
                let slot: *mut C = occupied.get_mut();
                // SAFETY: `slot` points to the entry's value, which nothing else reads or writes
                // until it is written back. If `merge` panics, the value it was given is already
                // dropped by the unwinding, so the slot's bits must not be dropped again: the
                // entry is removed and forgotten before the panic resumes.
                unsafe {
                    let old = std::ptr::read(slot);
                    match catch_unwind(AssertUnwindSafe(|| merge(old, value))) {
                        Ok(new) => std::ptr::write(slot, new),
                        Err(payload) => {
                            std::mem::forget(occupied.remove_entry().1);
                            resume_unwind(payload)
                        }
                    }
                }
                observe(false, occupied.key(), occupied.get())
            }
        }
    }

    /// Removes and returns every entry.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (K, C)> + '_ {
        self.map.drain()
    }

    /// Every entry, consuming the map.
    pub(crate) fn into_entries(self) -> impl Iterator<Item = (K, C)> {
        self.map.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_in_place_and_survives_a_panicking_merge() {
        let mut m: CombineMap<String, Vec<u32>> = CombineMap::new();
        for i in 0..100u32 {
            let new = m.upsert(
                format!("k{}", i % 10),
                i,
                |i| vec![i],
                |mut v, i| {
                    v.push(i);
                    v
                },
                |new, k, v| {
                    assert_eq!(*k, format!("k{}", i % 10));
                    assert_eq!(v.last(), Some(&i));
                    new
                },
            );
            assert_eq!(new, i < 10);
        }
        let caught = catch_unwind(AssertUnwindSafe(|| {
            m.upsert(
                "k3".to_string(),
                0,
                |_| Vec::new(),
                |_, _| panic!("user merge failed"),
                |_, _, _| (),
            );
        }));
        assert!(caught.is_err());
        let mut entries: Vec<_> = m.into_entries().collect();
        entries.sort();
        assert_eq!(
            entries.len(),
            9,
            "the failed key's entry is gone, the rest intact"
        );
        assert_eq!(
            entries[0],
            ("k0".to_string(), (0..100).step_by(10).collect())
        );
    }
}
