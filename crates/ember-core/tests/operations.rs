//! Every RDD transformation and action, checked against a plain Rust computation of the same
//! result (the oracle), on fixed inputs and on random inputs with random partition counts.
//!
//! Where Spark guarantees an order (parallelize, narrow transformations, `collect`, sorts) the
//! order is compared exactly; elsewhere both sides are sorted and compared as multisets.

use ember_core::conf::keys;
use ember_core::{
    BoxIter, Context, EmberConf, Fn, HashPartitioner, Partitioner, RangePartitioner, Rdd,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// A fresh `local[2]` application.
fn context() -> Context {
    Context::new(
        EmberConf::empty()
            .set_master("local[2]")
            .set(keys::SHOW_CONSOLE_PROGRESS.key, "false"),
    )
    .expect("a local context starts")
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// How Spark slices a collection: partition `p` of `slices` holds `p*n/slices..(p+1)*n/slices`.
fn slice_oracle<T: Clone>(values: &[T], slices: usize) -> Vec<Vec<T>> {
    let n = values.len();
    (0..slices)
        .map(|p| values[p * n / slices..(p + 1) * n / slices].to_vec())
        .collect()
}

/// Values grouped by key, each group sorted: a canonical form for grouping operations.
fn groups<K: Ord + Clone, V: Ord + Clone>(pairs: &[(K, V)]) -> BTreeMap<K, Vec<V>> {
    let mut m: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (k, v) in pairs {
        m.entry(k.clone()).or_default().push(v.clone());
    }
    m.values_mut().for_each(|vs| vs.sort());
    m
}

fn inner_join_oracle(l: &[(u8, i32)], r: &[(u8, i32)]) -> Vec<(u8, (i32, i32))> {
    let mut out = Vec::new();
    for (k, v) in l {
        for (k2, w) in r {
            if k == k2 {
                out.push((*k, (*v, *w)));
            }
        }
    }
    sorted(out)
}

fn left_outer_oracle(l: &[(u8, i32)], r: &[(u8, i32)]) -> Vec<(u8, (i32, Option<i32>))> {
    let mut out = Vec::new();
    for (k, v) in l {
        let matches: Vec<i32> = r.iter().filter(|(k2, _)| k2 == k).map(|p| p.1).collect();
        if matches.is_empty() {
            out.push((*k, (*v, None)));
        }
        out.extend(matches.into_iter().map(|w| (*k, (*v, Some(w)))));
    }
    sorted(out)
}

fn swap_sides<A, B>(pairs: Vec<(u8, (A, B))>) -> Vec<(u8, (B, A))> {
    pairs.into_iter().map(|(k, (a, b))| (k, (b, a))).collect()
}

fn small_ints() -> impl Strategy<Value = Vec<i32>> {
    prop::collection::vec(-1000i32..1000, 0..120)
}

fn pairs() -> impl Strategy<Value = Vec<(u8, i32)>> {
    prop::collection::vec((0u8..12, -100i32..100), 0..120)
}

const CASES: u32 = 24;

// ---------------------------------------------------------------------------------------------
// Sources
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn parallelize_keeps_the_input_order_in_contiguous_even_slices(
        input in small_ints(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        prop_assert_eq!(rdd.num_partitions(), slices);
        prop_assert_eq!(rdd.collect().unwrap(), input.clone());
        prop_assert_eq!(rdd.glom().collect().unwrap(), slice_oracle(&input, slices));
        prop_assert_eq!(rdd.count().unwrap(), input.len() as u64);
    }

    #[test]
    fn range_matches_a_stepped_rust_range(
        start in -200i64..200,
        end in -200i64..200,
        step in prop_oneof![-7i64..0, 1i64..8],
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.range(start, end, step, slices).unwrap();
        let mut expected = Vec::new();
        let mut x = start;
        while (step > 0 && x < end) || (step < 0 && x > end) {
            expected.push(x);
            x += step;
        }
        prop_assert_eq!(rdd.num_partitions(), slices);
        prop_assert_eq!(rdd.collect().unwrap(), expected.clone());
        prop_assert_eq!(rdd.count().unwrap(), expected.len() as u64);
        prop_assert_eq!(rdd.glom().collect().unwrap(), slice_oracle(&expected, slices));
    }

    #[test]
    fn range_is_exact_even_when_its_span_exceeds_i64(
        start in any::<i64>(),
        end in any::<i64>(),
        steps in 1u32..40,
        upward in any::<bool>(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        // A step that crosses the span in about `steps` steps (when it points the right way).
        let span = (i128::from(end) - i128::from(start)).unsigned_abs();
        let magnitude = (span / u128::from(steps)).clamp(1, i64::MAX as u128) as i64;
        let step = if upward { magnitude } else { -magnitude };
        let mut expected = Vec::new();
        let (mut x, step_wide, end_wide) = (i128::from(start), i128::from(step), i128::from(end));
        while (step > 0 && x < end_wide) || (step < 0 && x > end_wide) {
            expected.push(x as i64);
            x += step_wide;
        }
        let rdd = ctx.range(start, end, step, slices).unwrap();
        prop_assert_eq!(rdd.collect().unwrap(), expected.clone());
        prop_assert_eq!(rdd.count().unwrap(), expected.len() as u64);
    }

    #[test]
    fn context_union_concatenates_its_inputs_partition_by_partition(
        inputs in prop::collection::vec((small_ints(), 1usize..5), 0..5),
    ) {
        let ctx = context();
        let rdds: Vec<Rdd<i32>> = inputs
            .iter()
            .map(|(v, s)| ctx.parallelize(v.clone(), *s))
            .collect();
        let union = ctx.union(&rdds);
        let expected: Vec<i32> = inputs.iter().flat_map(|(v, _)| v.clone()).collect();
        let partitions: usize = inputs.iter().map(|(_, s)| s).sum();
        prop_assert_eq!(union.num_partitions(), partitions);
        prop_assert_eq!(union.collect().unwrap(), expected);
    }

    #[test]
    fn rdd_union_appends_the_other_rdd_and_keeps_duplicates(
        a in small_ints(),
        b in small_ints(),
        sa in 1usize..8,
        sb in 1usize..8,
    ) {
        let ctx = context();
        let union = ctx.parallelize(a.clone(), sa).union(&ctx.parallelize(b.clone(), sb));
        prop_assert_eq!(union.num_partitions(), sa + sb);
        let expected: Vec<i32> = a.iter().chain(&b).copied().collect();
        prop_assert_eq!(union.collect().unwrap(), expected);
    }
}

#[test]
fn range_with_a_zero_step_is_an_error() {
    let ctx = context();
    assert!(ctx.range(0, 10, 0, 2).is_err());
}

#[test]
fn range_uses_the_default_parallelism_when_given_no_slices() {
    let ctx = context();
    let rdd = ctx.range(0, 10, 1, 0).unwrap();
    assert_eq!(rdd.num_partitions(), ctx.default_parallelism());
    assert_eq!(rdd.collect().unwrap(), (0..10).collect::<Vec<i64>>());
}

#[test]
fn empty_has_no_partitions_and_no_elements() {
    let ctx = context();
    let empty: Rdd<i32> = ctx.empty();
    assert_eq!(empty.num_partitions(), 0);
    assert_eq!(empty.count().unwrap(), 0);
    assert_eq!(empty.collect().unwrap(), Vec::<i32>::new());
    assert_eq!(
        empty.map(Fn!(|x: i32| x + 1)).collect().unwrap(),
        Vec::<i32>::new()
    );
    assert_eq!(empty.take(3).unwrap(), Vec::<i32>::new());
    assert_eq!(empty.distinct(0).collect().unwrap(), Vec::<i32>::new());
    assert_eq!(empty.zip_with_index().unwrap().count().unwrap(), 0);
    assert_eq!(
        empty
            .union(&ctx.parallelize(vec![1, 2], 2))
            .collect()
            .unwrap(),
        vec![1, 2]
    );
    assert!(empty.first().is_err());
    assert!(empty.reduce(Fn!(|a: i32, b: i32| a + b)).is_err());
    assert_eq!(empty.fold(0, Fn!(|a: i32, b: i32| a + b)).unwrap(), 0);
    assert_eq!(empty.sum().unwrap(), 0.0);
    assert!(empty.mean().unwrap().is_nan());
    assert_eq!(ctx.union::<i32>(&[]).count().unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// Narrow transformations
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn map_keeps_order_like_iterator_map(input in small_ints(), slices in 1usize..8) {
        let ctx = context();
        let k = 3i32;
        let got = ctx
            .parallelize(input.clone(), slices)
            .map(Fn!(move |x: i32| (x * k, x.to_string())))
            .collect()
            .unwrap();
        let expected: Vec<(i32, String)> = input.iter().map(|x| (x * 3, x.to_string())).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn filter_keeps_order_like_iterator_filter(
        input in small_ints(),
        slices in 1usize..8,
        modulus in 1i32..5,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(input.clone(), slices)
            .filter(Fn!(move |x: &i32| x.rem_euclid(modulus) == 0))
            .collect()
            .unwrap();
        let expected: Vec<i32> =
            input.iter().copied().filter(|x| x.rem_euclid(modulus) == 0).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn flat_map_keeps_order_like_iterator_flat_map(input in small_ints(), slices in 1usize..8) {
        let ctx = context();
        let got = ctx
            .parallelize(input.clone(), slices)
            .flat_map(Fn!(|x: i32| (0..x.rem_euclid(4)).map(move |i| x + i).collect::<Vec<_>>()))
            .collect()
            .unwrap();
        let expected: Vec<i32> = input
            .iter()
            .flat_map(|&x| (0..x.rem_euclid(4)).map(move |i| x + i))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn map_partitions_runs_once_per_partition_on_its_slice(
        input in small_ints(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        let sums = rdd
            .map_partitions(Fn!(|it: BoxIter<i32>| vec![it.map(i64::from).sum::<i64>()]))
            .collect()
            .unwrap();
        let expected: Vec<i64> = slice_oracle(&input, slices)
            .iter()
            .map(|s| s.iter().map(|&x| i64::from(x)).sum())
            .collect();
        prop_assert_eq!(sums, expected);
        let doubled = rdd
            .map_partitions(Fn!(|it: BoxIter<i32>| it.map(|x| x * 2).collect::<Vec<_>>()))
            .collect()
            .unwrap();
        prop_assert_eq!(doubled, input.iter().map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn map_partitions_with_index_is_given_each_partitions_own_index(
        input in small_ints(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(input.clone(), slices)
            .map_partitions_with_index(Fn!(|p: usize, it: BoxIter<i32>| it
                .map(move |x| (p, x))
                .collect::<Vec<_>>()))
            .collect()
            .unwrap();
        let expected: Vec<(usize, i32)> = slice_oracle(&input, slices)
            .into_iter()
            .enumerate()
            .flat_map(|(p, s)| s.into_iter().map(move |x| (p, x)))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn sample_without_replacement_is_an_ordered_subset_repeatable_by_seed(
        n in 0usize..300,
        slices in 1usize..8,
        fraction in 0.0f64..1.0,
        seed in any::<u64>(),
    ) {
        let ctx = context();
        let input: Vec<usize> = (0..n).collect();
        let rdd = ctx.parallelize(input.clone(), slices);
        let sample = rdd.sample(false, fraction, seed).collect().unwrap();
        // Distinct inputs in increasing order: a subset in the same order is strictly increasing.
        prop_assert!(sample.windows(2).all(|w| w[0] < w[1]), "not an ordered subset: {:?}", sample);
        prop_assert!(sample.iter().all(|x| *x < n));
        prop_assert_eq!(rdd.sample(false, fraction, seed).collect().unwrap(), sample);
    }

    #[test]
    fn sample_with_replacement_draws_only_input_elements_repeatably_by_seed(
        input in small_ints(),
        slices in 1usize..8,
        fraction in 0.0f64..3.0,
        seed in any::<u64>(),
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        let sample = rdd.sample(true, fraction, seed).collect().unwrap();
        let members: HashSet<i32> = input.iter().copied().collect();
        prop_assert!(sample.iter().all(|x| members.contains(x)));
        prop_assert_eq!(rdd.sample(true, fraction, seed).collect().unwrap(), sample);
    }

    #[test]
    fn zip_pairs_the_elements_of_two_rdds_position_by_position(
        input in small_ints(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let a = ctx.parallelize(input.clone(), slices);
        let b = a.map(Fn!(|x: i32| i64::from(x) * 10));
        let got = a.zip(&b).unwrap().collect().unwrap();
        let expected: Vec<(i32, i64)> = input.iter().map(|&x| (x, i64::from(x) * 10)).collect();
        prop_assert_eq!(got, expected);
        // Two parallelized collections of equal length slice alike.
        let c = ctx.parallelize(input.iter().map(|x| x.to_string()).collect(), slices);
        let got = a.zip(&c).unwrap().collect().unwrap();
        prop_assert_eq!(got, input.iter().map(|x| (*x, x.to_string())).collect::<Vec<_>>());
    }

    #[test]
    fn zip_with_index_numbers_the_elements_in_collect_order(
        input in small_ints(),
        slices in 1usize..8,
        keep in 1i32..4,
    ) {
        let ctx = context();
        // A filter leaves partitions of uneven (sometimes zero) size.
        let rdd = ctx
            .parallelize(input.clone(), slices)
            .filter(Fn!(move |x: &i32| x.rem_euclid(keep) == 0));
        let got = rdd.zip_with_index().unwrap().collect().unwrap();
        let expected: Vec<(i32, u64)> = input
            .iter()
            .copied()
            .filter(|x| x.rem_euclid(keep) == 0)
            .zip(0u64..)
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn glom_gives_one_vector_per_partition_that_concatenate_to_collect(
        input in small_ints(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx
            .parallelize(input.clone(), slices)
            .filter(Fn!(|x: &i32| x % 3 != 0));
        let glommed = rdd.glom().collect().unwrap();
        prop_assert_eq!(glommed.len(), slices);
        prop_assert_eq!(glommed.concat(), rdd.collect().unwrap());
        let expected: Vec<Vec<i32>> = slice_oracle(&input, slices)
            .into_iter()
            .map(|s| s.into_iter().filter(|x| x % 3 != 0).collect())
            .collect();
        prop_assert_eq!(glommed, expected);
    }

    #[test]
    fn coalesce_without_shuffle_merges_neighbouring_partitions_in_order(
        input in small_ints(),
        slices in 1usize..8,
        target in 1usize..10,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices).coalesce(target, false);
        prop_assert_eq!(rdd.num_partitions(), target.min(slices));
        prop_assert_eq!(rdd.collect().unwrap(), input.clone());
        prop_assert_eq!(rdd.glom().collect().unwrap().concat(), input);
    }

    #[test]
    fn coalesce_with_shuffle_gives_exactly_the_partitions_asked_for(
        input in small_ints(),
        slices in 1usize..8,
        target in 1usize..10,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices).coalesce(target, true);
        prop_assert_eq!(rdd.num_partitions(), target);
        prop_assert_eq!(rdd.glom().collect().unwrap().len(), target);
        prop_assert_eq!(sorted(rdd.collect().unwrap()), sorted(input));
    }

    #[test]
    fn repartition_gives_exactly_the_partitions_asked_for_with_the_same_elements(
        input in small_ints(),
        slices in 1usize..8,
        target in 1usize..10,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices).repartition(target);
        prop_assert_eq!(rdd.num_partitions(), target);
        let parts = rdd.glom().collect().unwrap();
        prop_assert_eq!(parts.len(), target);
        prop_assert_eq!(sorted(parts.concat()), sorted(input.clone()));
        prop_assert_eq!(rdd.count().unwrap(), input.len() as u64);
    }

    #[test]
    fn key_by_pairs_each_element_with_its_key_in_order(input in small_ints(), slices in 1usize..8) {
        let ctx = context();
        let got = ctx
            .parallelize(input.clone(), slices)
            .key_by(Fn!(|x: &i32| x.rem_euclid(7)))
            .collect()
            .unwrap();
        prop_assert_eq!(got, input.iter().map(|&x| (x.rem_euclid(7), x)).collect::<Vec<_>>());
    }

    #[test]
    fn group_by_matches_a_btree_map_of_groups(input in small_ints(), slices in 1usize..8) {
        let ctx = context();
        let got = ctx
            .parallelize(input.clone(), slices)
            .group_by(Fn!(|x: &i32| x.rem_euclid(5)))
            .collect()
            .unwrap();
        let keys: Vec<i32> = got.iter().map(|g| g.0).collect();
        prop_assert_eq!(keys.len(), keys.iter().collect::<HashSet<_>>().len(), "a key is repeated");
        let got: BTreeMap<i32, Vec<i32>> = got.into_iter().map(|(k, vs)| (k, sorted(vs))).collect();
        let keyed: Vec<(i32, i32)> = input.iter().map(|&x| (x.rem_euclid(5), x)).collect();
        prop_assert_eq!(got, groups(&keyed));
    }

    #[test]
    fn sort_by_orders_elements_by_their_key_across_partitions(
        input in small_ints(),
        slices in 1usize..8,
        target in 0usize..8,
        ascending in any::<bool>(),
    ) {
        let ctx = context();
        let rdd = ctx
            .parallelize(input.clone(), slices)
            .sort_by(Fn!(|x: &i32| -x), ascending, target)
            .unwrap();
        let mut expected = input.clone();
        // Ascending by -x is descending by x.
        if ascending {
            expected.sort_by(|a, b| b.cmp(a));
        } else {
            expected.sort();
        }
        prop_assert_eq!(rdd.collect().unwrap(), expected);
        let wanted = if target == 0 { slices } else { target };
        prop_assert!(rdd.num_partitions() >= 1 && rdd.num_partitions() <= wanted);
    }
}

#[test]
fn zip_refuses_rdds_with_different_partition_counts() {
    let ctx = context();
    let a = ctx.parallelize(vec![1, 2, 3, 4], 2);
    let b = ctx.parallelize(vec![1, 2, 3, 4], 3);
    assert!(a.zip(&b).is_err());
}

#[test]
fn zip_fails_the_job_when_partitions_differ_in_length() {
    let ctx = context();
    let a = ctx.parallelize(vec![1, 2, 3, 4], 2);
    let b = ctx.parallelize(vec![1, 2, 3], 2);
    let zipped = a.zip(&b).unwrap();
    assert!(zipped.collect().is_err());
}

#[test]
fn sample_keeps_roughly_the_requested_fraction_of_a_large_input() {
    let ctx = context();
    let rdd = ctx.range(0, 100_000, 1, 4).unwrap();
    // Binomial(100000, 0.1) and Poisson(10000) both have a standard deviation near 100.
    for seed in [1, 2, 3] {
        let without = rdd.sample(false, 0.1, seed).count().unwrap();
        assert!(
            (9_400..=10_600).contains(&without),
            "without replacement kept {without}"
        );
        let with = rdd.sample(true, 0.1, seed).count().unwrap();
        assert!(
            (9_400..=10_600).contains(&with),
            "with replacement drew {with}"
        );
    }
    let half = rdd.sample(true, 2.0, 9).count().unwrap();
    assert!(
        (198_000..=202_000).contains(&half),
        "fraction 2.0 drew {half}"
    );
    assert_ne!(
        rdd.sample(false, 0.1, 1).collect().unwrap(),
        rdd.sample(false, 0.1, 2).collect().unwrap(),
        "different seeds should give different samples"
    );
}

#[test]
fn sample_with_fraction_zero_is_empty_and_fraction_one_without_replacement_is_everything() {
    let ctx = context();
    let rdd = ctx.parallelize((0..500).collect::<Vec<i32>>(), 3);
    assert_eq!(rdd.sample(false, 0.0, 7).count().unwrap(), 0);
    assert_eq!(rdd.sample(true, 0.0, 7).count().unwrap(), 0);
    assert_eq!(
        rdd.sample(false, 1.0, 7).collect().unwrap(),
        (0..500).collect::<Vec<i32>>()
    );
}

#[test]
fn repartition_spreads_a_large_input_evenly() {
    let ctx = context();
    let n = 20_000usize;
    let parts = ctx
        .range(0, n as i64, 1, 3)
        .unwrap()
        .repartition(5)
        .glom()
        .collect()
        .unwrap();
    assert_eq!(parts.len(), 5);
    for part in &parts {
        let share = part.len() as f64 / (n / 5) as f64;
        assert!(
            (0.5..=1.5).contains(&share),
            "partition sizes {:?}",
            parts.iter().map(Vec::len).collect::<Vec<_>>()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Set-like transformations
// ---------------------------------------------------------------------------------------------

fn tiny_ints() -> impl Strategy<Value = Vec<i32>> {
    prop::collection::vec(-20i32..20, 0..80)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn distinct_matches_a_btree_set(
        input in tiny_ints(),
        slices in 1usize..8,
        target in 0usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices).distinct(target);
        let mut expected = sorted(input);
        expected.dedup();
        prop_assert_eq!(sorted(rdd.collect().unwrap()), expected);
        prop_assert_eq!(rdd.num_partitions(), if target == 0 { slices } else { target });
    }

    #[test]
    fn intersection_matches_a_set_intersection_without_duplicates(
        a in tiny_ints(),
        b in tiny_ints(),
        sa in 1usize..8,
        sb in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(a.clone(), sa)
            .intersection(&ctx.parallelize(b.clone(), sb))
            .collect()
            .unwrap();
        let a: BTreeSet<i32> = a.into_iter().collect();
        let b: BTreeSet<i32> = b.into_iter().collect();
        prop_assert_eq!(sorted(got), a.intersection(&b).copied().collect::<Vec<_>>());
    }

    #[test]
    fn subtract_keeps_every_left_element_absent_from_the_right(
        a in tiny_ints(),
        b in tiny_ints(),
        sa in 1usize..8,
        sb in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(a.clone(), sa)
            .subtract(&ctx.parallelize(b.clone(), sb))
            .collect()
            .unwrap();
        let right: HashSet<i32> = b.into_iter().collect();
        let expected: Vec<i32> = a.into_iter().filter(|x| !right.contains(x)).collect();
        prop_assert_eq!(sorted(got), sorted(expected));
    }

    #[test]
    fn cartesian_matches_nested_loops(
        a in prop::collection::vec(-50i32..50, 0..20),
        b in prop::collection::vec("[a-c]{0,2}", 0..20),
        sa in 1usize..5,
        sb in 1usize..5,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(a.clone(), sa).cartesian(&ctx.parallelize(b.clone(), sb));
        prop_assert_eq!(rdd.num_partitions(), sa * sb);
        let mut expected = Vec::new();
        for x in &a {
            for y in &b {
                expected.push((*x, y.clone()));
            }
        }
        prop_assert_eq!(sorted(rdd.collect().unwrap()), sorted(expected));
    }
}

// ---------------------------------------------------------------------------------------------
// Pair transformations
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn map_values_flat_map_values_keys_and_values_keep_order(
        input in pairs(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        prop_assert_eq!(
            rdd.map_values(Fn!(|v: i32| i64::from(v) - 1)).collect().unwrap(),
            input.iter().map(|&(k, v)| (k, i64::from(v) - 1)).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            rdd.flat_map_values(Fn!(|v: i32| std::iter::repeat_n(v, v.rem_euclid(3) as usize)
                .collect::<Vec<_>>()))
                .collect()
                .unwrap(),
            input
                .iter()
                .flat_map(|&(k, v)| std::iter::repeat_n((k, v), v.rem_euclid(3) as usize))
                .collect::<Vec<_>>()
        );
        let (keys, values): (Vec<u8>, Vec<i32>) = input.iter().copied().unzip();
        prop_assert_eq!(rdd.keys().collect().unwrap(), keys);
        prop_assert_eq!(rdd.values().collect().unwrap(), values);
    }

    #[test]
    fn group_by_key_gathers_every_value_of_each_key_once(input in pairs(), slices in 1usize..8) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices).group_by_key();
        prop_assert_eq!(rdd.num_partitions(), slices);
        let got = rdd.collect().unwrap();
        prop_assert_eq!(got.len(), groups(&input).len(), "each key appears once");
        let got: BTreeMap<u8, Vec<i32>> = got.into_iter().map(|(k, vs)| (k, sorted(vs))).collect();
        prop_assert_eq!(got, groups(&input));
    }

    #[test]
    fn reduce_by_key_matches_a_hash_map_fold(input in pairs(), slices in 1usize..8) {
        let ctx = context();
        let rdd = ctx
            .parallelize(input.clone(), slices)
            .map_values(Fn!(|v: i32| i64::from(v)))
            .reduce_by_key(Fn!(|a: i64, b: i64| a + b));
        let got = rdd.collect().unwrap();
        let mut expected: HashMap<u8, i64> = HashMap::new();
        for &(k, v) in &input {
            *expected.entry(k).or_default() += i64::from(v);
        }
        prop_assert_eq!(got.len(), expected.len(), "each key appears once");
        prop_assert_eq!(got.into_iter().collect::<HashMap<_, _>>(), expected);
        let maxima: BTreeMap<u8, i32> = ctx
            .parallelize(input.clone(), slices)
            .reduce_by_key(Fn!(|a: i32, b: i32| a.max(b)))
            .collect()
            .unwrap()
            .into_iter()
            .collect();
        let expected_max: BTreeMap<u8, i32> = groups(&input)
            .into_iter()
            .map(|(k, vs)| (k, *vs.iter().max().unwrap()))
            .collect();
        prop_assert_eq!(maxima, expected_max);
    }

    #[test]
    fn fold_by_key_with_a_neutral_zero_matches_a_hash_map_fold(
        input in pairs(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        let sums: BTreeMap<u8, i32> = rdd
            .fold_by_key(0, Fn!(|a: i32, b: i32| a + b))
            .collect()
            .unwrap()
            .into_iter()
            .collect();
        let minima: BTreeMap<u8, i32> = rdd
            .fold_by_key(i32::MAX, Fn!(|a: i32, b: i32| a.min(b)))
            .collect()
            .unwrap()
            .into_iter()
            .collect();
        let g = groups(&input);
        let expected_sums: BTreeMap<u8, i32> =
            g.iter().map(|(k, vs)| (*k, vs.iter().sum())).collect();
        let expected_minima: BTreeMap<u8, i32> = g.iter().map(|(k, vs)| (*k, vs[0])).collect();
        prop_assert_eq!(sums, expected_sums);
        prop_assert_eq!(minima, expected_minima);
    }

    #[test]
    fn aggregate_by_key_computes_sum_and_count_per_key(input in pairs(), slices in 1usize..8) {
        let ctx = context();
        let got = ctx
            .parallelize(input.clone(), slices)
            .aggregate_by_key(
                (0i64, 0u32),
                Fn!(|(s, n): (i64, u32), v: i32| (s + i64::from(v), n + 1)),
                Fn!(|a: (i64, u32), b: (i64, u32)| (a.0 + b.0, a.1 + b.1)),
            )
            .collect()
            .unwrap();
        prop_assert_eq!(got.len(), groups(&input).len());
        let got: BTreeMap<u8, (i64, u32)> = got.into_iter().collect();
        let expected: BTreeMap<u8, (i64, u32)> = groups(&input)
            .into_iter()
            .map(|(k, vs)| (k, (vs.iter().map(|&v| i64::from(v)).sum(), vs.len() as u32)))
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn combine_by_key_builds_each_keys_value_list(input in pairs(), slices in 1usize..8) {
        let ctx = context();
        let got = ctx
            .parallelize(input.clone(), slices)
            .combine_by_key(
                Fn!(|v: i32| vec![v]),
                Fn!(|mut c: Vec<i32>, v: i32| {
                    c.push(v);
                    c
                }),
                Fn!(|mut a: Vec<i32>, b: Vec<i32>| {
                    a.extend(b);
                    a
                }),
            )
            .collect()
            .unwrap();
        prop_assert_eq!(got.len(), groups(&input).len());
        let got: BTreeMap<u8, Vec<i32>> = got.into_iter().map(|(k, c)| (k, sorted(c))).collect();
        prop_assert_eq!(got, groups(&input));
    }

    #[test]
    fn sort_by_key_orders_globally_and_range_partitions(
        input in prop::collection::vec((0i32..60, any::<u8>()), 0..150),
        slices in 1usize..8,
        target in 1usize..8,
        ascending in any::<bool>(),
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices).sort_by_key(ascending, target).unwrap();
        prop_assert!(rdd.num_partitions() >= 1 && rdd.num_partitions() <= target);
        let out = rdd.collect().unwrap();
        let mut expected_keys: Vec<i32> = sorted(input.iter().map(|p| p.0).collect());
        if !ascending {
            expected_keys.reverse();
        }
        prop_assert_eq!(out.iter().map(|p| p.0).collect::<Vec<_>>(), expected_keys);
        prop_assert_eq!(sorted(out), sorted(input.clone()));
        let in_order = |a: i32, b: i32| if ascending { a <= b } else { a >= b };
        let parts = rdd.glom().collect().unwrap();
        prop_assert_eq!(parts.len(), rdd.num_partitions());
        for part in &parts {
            let ordered = part.windows(2).all(|w| in_order(w[0].0, w[1].0));
            prop_assert!(ordered, "unsorted partition {:?}", part);
        }
        // Equal keys share a partition, so non-empty partitions hold strictly ordered ranges.
        let nonempty: Vec<&Vec<(i32, u8)>> = parts.iter().filter(|p| !p.is_empty()).collect();
        for w in nonempty.windows(2) {
            let (last, first) = (w[0].last().unwrap().0, w[1][0].0);
            prop_assert!(in_order(last, first) && last != first, "ranges overlap: {:?}", parts);
        }
    }

    #[test]
    fn partition_by_a_hash_partitioner_puts_every_key_where_it_says(
        input in pairs(),
        slices in 1usize..8,
        target in 1usize..8,
    ) {
        let ctx = context();
        let partitioner = HashPartitioner::new(target);
        let rdd = ctx.parallelize(input.clone(), slices).partition_by(partitioner);
        prop_assert_eq!(rdd.num_partitions(), target);
        let parts = rdd.glom().collect().unwrap();
        prop_assert_eq!(parts.len(), target);
        for (i, part) in parts.iter().enumerate() {
            for (k, _) in part {
                prop_assert_eq!(Partitioner::<u8>::partition(&partitioner, k), i);
            }
        }
        prop_assert_eq!(sorted(parts.concat()), sorted(input));
    }

    #[test]
    fn partition_by_a_range_partitioner_puts_every_key_where_it_says(
        input in pairs(),
        slices in 1usize..8,
        bounds in prop::collection::vec(0u8..12, 0..6),
        ascending in any::<bool>(),
    ) {
        let ctx = context();
        let partitioner = RangePartitioner::from_bounds(bounds.clone(), ascending);
        let distinct_bounds = bounds.iter().collect::<BTreeSet<_>>().len();
        prop_assert_eq!(partitioner.num_partitions(), distinct_bounds + 1);
        let rdd = ctx.parallelize(input.clone(), slices).partition_by(partitioner.clone());
        let parts = rdd.glom().collect().unwrap();
        prop_assert_eq!(parts.len(), distinct_bounds + 1);
        let sorted_bounds: Vec<u8> = bounds.iter().copied().collect::<BTreeSet<_>>().into_iter()
            .collect();
        for (i, part) in parts.iter().enumerate() {
            for (k, _) in part {
                prop_assert_eq!(partitioner.partition(k), i);
                // The oracle: how many (distinct) bounds lie below the key, mirrored if descending.
                let below = sorted_bounds.iter().filter(|b| *b < k).count();
                let expected = if ascending { below } else { distinct_bounds - below };
                prop_assert_eq!(i, expected);
            }
        }
        prop_assert_eq!(sorted(parts.concat()), sorted(input));
    }

    #[test]
    fn join_matches_a_nested_loop_join(
        l in pairs(),
        r in pairs(),
        sl in 1usize..8,
        sr in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(l.clone(), sl)
            .join(&ctx.parallelize(r.clone(), sr))
            .collect()
            .unwrap();
        prop_assert_eq!(sorted(got), inner_join_oracle(&l, &r));
    }

    #[test]
    fn left_outer_join_keeps_every_left_value(
        l in pairs(),
        r in pairs(),
        sl in 1usize..8,
        sr in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(l.clone(), sl)
            .left_outer_join(&ctx.parallelize(r.clone(), sr))
            .collect()
            .unwrap();
        prop_assert_eq!(sorted(got), left_outer_oracle(&l, &r));
    }

    #[test]
    fn right_outer_join_keeps_every_right_value(
        l in pairs(),
        r in pairs(),
        sl in 1usize..8,
        sr in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(l.clone(), sl)
            .right_outer_join(&ctx.parallelize(r.clone(), sr))
            .collect()
            .unwrap();
        prop_assert_eq!(sorted(got), sorted(swap_sides(left_outer_oracle(&r, &l))));
    }

    #[test]
    fn full_outer_join_keeps_every_value_of_both_sides(
        l in pairs(),
        r in pairs(),
        sl in 1usize..8,
        sr in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(l.clone(), sl)
            .full_outer_join(&ctx.parallelize(r.clone(), sr))
            .collect()
            .unwrap();
        let mut expected: Vec<_> = left_outer_oracle(&l, &r)
            .into_iter()
            .map(|(k, (v, w))| (k, (Some(v), w)))
            .collect();
        let left_keys: HashSet<u8> = l.iter().map(|p| p.0).collect();
        let right_only = r.iter().filter(|(k, _)| !left_keys.contains(k));
        expected.extend(right_only.map(|&(k, w)| (k, (None, Some(w)))));
        prop_assert_eq!(sorted(got), sorted(expected));
    }

    #[test]
    fn cogroup_lists_each_keys_values_from_both_sides(
        l in pairs(),
        r in prop::collection::vec((0u8..12, "[xyz]{1,3}"), 0..60),
        sl in 1usize..8,
        sr in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(l.clone(), sl).cogroup(&ctx.parallelize(r.clone(), sr));
        prop_assert_eq!(rdd.num_partitions(), sl.max(sr));
        let got = rdd.collect().unwrap();
        let (gl, gr) = (groups(&l), groups(&r));
        let keys: BTreeSet<u8> = gl.keys().chain(gr.keys()).copied().collect();
        prop_assert_eq!(got.len(), keys.len(), "each key appears once");
        let got: BTreeMap<u8, (Vec<i32>, Vec<String>)> =
            got.into_iter().map(|(k, (vs, ws))| (k, (sorted(vs), sorted(ws)))).collect();
        let expected: BTreeMap<u8, (Vec<i32>, Vec<String>)> = keys
            .into_iter()
            .map(|k| {
                let vs = gl.get(&k).cloned().unwrap_or_default();
                (k, (vs, gr.get(&k).cloned().unwrap_or_default()))
            })
            .collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn subtract_by_key_drops_the_pairs_whose_key_is_on_the_right(
        l in pairs(),
        r in pairs(),
        sl in 1usize..8,
        sr in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx
            .parallelize(l.clone(), sl)
            .subtract_by_key(&ctx.parallelize(r.clone(), sr))
            .collect()
            .unwrap();
        let right: HashSet<u8> = r.iter().map(|p| p.0).collect();
        let expected: Vec<(u8, i32)> = l.into_iter().filter(|(k, _)| !right.contains(k)).collect();
        prop_assert_eq!(sorted(got), sorted(expected));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn a_chain_of_shuffles_matches_the_same_chain_on_collections(
        words in prop::collection::vec("[a-e]{1,2}", 0..150),
        weights in prop::collection::vec(("[a-e]{1,2}", 1u32..5), 0..30),
        slices in 1usize..8,
        target in 1usize..6,
    ) {
        let ctx = context();
        // Word counts, joined with weights, re-keyed by weighted count, sorted descending.
        let counts = ctx
            .parallelize(words.clone(), slices)
            .map(Fn!(|w: String| (w, 1u64)))
            .reduce_by_key(Fn!(|a: u64, b: u64| a + b));
        let ranked = counts
            .join(&ctx.parallelize(weights.clone(), target))
            .map(Fn!(|(w, (n, weight)): (String, (u64, u32))| (n * u64::from(weight), w)))
            .sort_by_key(false, target)
            .unwrap();
        let mut count_oracle: HashMap<String, u64> = HashMap::new();
        for w in &words {
            *count_oracle.entry(w.clone()).or_default() += 1;
        }
        let mut expected: Vec<(u64, String)> = Vec::new();
        for (w, weight) in &weights {
            if let Some(n) = count_oracle.get(w) {
                expected.push((n * u64::from(*weight), w.clone()));
            }
        }
        let got = ranked.collect().unwrap();
        let mut expected_keys: Vec<u64> = sorted(expected.iter().map(|p| p.0).collect());
        expected_keys.reverse();
        prop_assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), expected_keys.clone());
        prop_assert_eq!(sorted(got), sorted(expected));
        // A partial job over the last shuffle: the first elements in sorted order.
        let head: Vec<u64> = ranked.take(3).unwrap().into_iter().map(|p| p.0).collect();
        prop_assert_eq!(head, expected_keys.iter().take(3).copied().collect::<Vec<_>>());
        prop_assert_eq!(counts.count().unwrap(), count_oracle.len() as u64);
    }
}

#[test]
fn sort_by_key_uses_the_current_partition_count_when_given_none() {
    let ctx = context();
    let input: Vec<(i32, ())> = (0..200).rev().map(|k| (k, ())).collect();
    let rdd = ctx.parallelize(input, 3).sort_by_key(true, 0).unwrap();
    assert!(rdd.num_partitions() <= 3);
    assert_eq!(rdd.keys().collect().unwrap(), (0..200).collect::<Vec<_>>());
}

#[test]
fn sort_by_key_spreads_a_large_input_over_every_partition() {
    let ctx = context();
    let n = 10_000i64;
    // Descending input, so the sort has to move everything.
    let rdd = ctx
        .range(n - 1, -1, -1, 3)
        .unwrap()
        .map(Fn!(|x: i64| (x, x % 7)))
        .sort_by_key(true, 4)
        .unwrap();
    assert_eq!(rdd.num_partitions(), 4);
    let sizes: Vec<usize> = rdd.glom().collect().unwrap().iter().map(Vec::len).collect();
    for &size in &sizes {
        assert!((1_000..=4_000).contains(&size), "partition sizes {sizes:?}");
    }
    assert_eq!(rdd.keys().collect().unwrap(), (0..n).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn take_returns_the_first_n_elements_in_order(
        input in small_ints(),
        slices in 1usize..8,
        extra in 0usize..10,
        keep in 1i32..4,
    ) {
        let ctx = context();
        let rdd = ctx
            .parallelize(input.clone(), slices)
            .filter(Fn!(move |x: &i32| x.rem_euclid(keep) == 0));
        let expected: Vec<i32> =
            input.iter().copied().filter(|x| x.rem_euclid(keep) == 0).collect();
        for n in [0, 1, expected.len() / 2, expected.len(), expected.len() + extra] {
            let head = expected[..n.min(expected.len())].to_vec();
            prop_assert_eq!(rdd.take(n).unwrap(), head, "take({})", n);
        }
        match expected.first() {
            Some(x) => prop_assert_eq!(rdd.first().unwrap(), *x),
            None => prop_assert!(rdd.first().is_err()),
        }
    }

    #[test]
    fn take_ordered_and_top_match_a_sort(
        input in small_ints(),
        slices in 1usize..8,
        n in 0usize..150,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        let ascending = sorted(input.clone());
        let mut descending = ascending.clone();
        descending.reverse();
        prop_assert_eq!(rdd.take_ordered(n).unwrap(), ascending[..n.min(input.len())].to_vec());
        prop_assert_eq!(rdd.top(n).unwrap(), descending[..n.min(input.len())].to_vec());
    }

    #[test]
    fn take_sample_has_the_right_size_draws_from_the_input_and_repeats_by_seed(
        n in 0usize..200,
        slices in 1usize..8,
        num in 0usize..250,
        with_replacement in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let ctx = context();
        let input: Vec<usize> = (0..n).collect();
        let rdd = ctx.parallelize(input, slices);
        let sample = rdd.take_sample(with_replacement, num, seed).unwrap();
        let size = if n == 0 { 0 } else if with_replacement { num } else { num.min(n) };
        prop_assert_eq!(sample.len(), size);
        prop_assert!(sample.iter().all(|x| *x < n));
        if !with_replacement {
            let distinct = sample.iter().collect::<HashSet<_>>().len();
            prop_assert_eq!(distinct, sample.len(), "a repeat without replacement");
        }
        prop_assert_eq!(rdd.take_sample(with_replacement, num, seed).unwrap(), sample);
    }

    #[test]
    fn reduce_fold_and_aggregate_match_iterator_folds(input in small_ints(), slices in 1usize..8) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        match input.iter().copied().reduce(|a, b| a.max(b)) {
            Some(m) => prop_assert_eq!(rdd.reduce(Fn!(|a: i32, b: i32| a.max(b))).unwrap(), m),
            None => prop_assert!(rdd.reduce(Fn!(|a: i32, b: i32| a.max(b))).is_err()),
        }
        let total = rdd.fold(0, Fn!(|a: i32, b: i32| a + b)).unwrap();
        prop_assert_eq!(total, input.iter().sum::<i32>());
        let (sum, count) = rdd
            .aggregate(
                (0i64, 0u64),
                Fn!(|(s, c): (i64, u64), x: i32| (s + i64::from(x), c + 1)),
                Fn!(|a: (i64, u64), b: (i64, u64)| (a.0 + b.0, a.1 + b.1)),
            )
            .unwrap();
        prop_assert_eq!(sum, input.iter().map(|&x| i64::from(x)).sum::<i64>());
        prop_assert_eq!(count, input.len() as u64);
        // A non-commutative but associative merge: concatenation keeps partition order.
        let concatenated = rdd
            .map(Fn!(|x: i32| vec![x]))
            .fold(Vec::new(), Fn!(|mut a: Vec<i32>, b: Vec<i32>| {
                a.extend(b);
                a
            }))
            .unwrap();
        prop_assert_eq!(concatenated, input);
    }

    #[test]
    fn count_by_key_and_count_by_value_match_hash_map_counts(
        input in pairs(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        let mut by_key: HashMap<u8, u64> = HashMap::new();
        let mut by_value: HashMap<(u8, i32), u64> = HashMap::new();
        for &(k, v) in &input {
            *by_key.entry(k).or_default() += 1;
            *by_value.entry((k, v)).or_default() += 1;
        }
        prop_assert_eq!(rdd.count_by_key().unwrap(), by_key);
        prop_assert_eq!(rdd.count_by_value().unwrap(), by_value);
    }

    #[test]
    fn lookup_returns_every_value_of_a_key_in_order(
        input in pairs(),
        slices in 1usize..8,
        key in 0u8..14,
    ) {
        let ctx = context();
        let got = ctx.parallelize(input.clone(), slices).lookup(key).unwrap();
        let expected: Vec<i32> = input.iter().filter(|p| p.0 == key).map(|p| p.1).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn foreach_and_foreach_partition_run_on_every_element_and_partition(
        input in small_ints(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        let sum = ctx.long_accumulator();
        let acc = sum.clone();
        rdd.foreach(Fn!(move |x: i32| acc.add(i64::from(x)))).unwrap();
        prop_assert_eq!(sum.value(), input.iter().map(|&x| i64::from(x)).sum::<i64>());

        let partitions = ctx.long_accumulator();
        let elements = ctx.long_accumulator();
        let (p, e) = (partitions.clone(), elements.clone());
        rdd.foreach_partition(Fn!(move |it: BoxIter<i32>| {
            p.add(1);
            e.add(it.count() as i64);
        }))
        .unwrap();
        prop_assert_eq!(partitions.value(), slices as i64);
        prop_assert_eq!(elements.value(), input.len() as i64);
    }

    #[test]
    fn min_max_sum_mean_and_stats_match_a_plain_computation(
        input in prop::collection::vec(-1.0e6f64..1.0e6, 0..150),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        let n = input.len() as f64;
        let sum: f64 = input.iter().sum();
        let mean = sum / n;
        let variance = input.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * (1.0 + b.abs());
        let stats = rdd.stats().unwrap();
        prop_assert_eq!(stats.count(), input.len() as u64);
        prop_assert!(close(rdd.sum().unwrap(), sum), "sum {} vs {}", rdd.sum().unwrap(), sum);
        if input.is_empty() {
            prop_assert!(rdd.mean().unwrap().is_nan());
            prop_assert!(stats.mean().is_nan());
        } else {
            prop_assert!(close(rdd.mean().unwrap(), mean));
            prop_assert!(close(stats.mean(), mean), "mean {} vs {}", stats.mean(), mean);
            prop_assert!(close(stats.sum(), sum));
            let stdev = variance.sqrt();
            prop_assert!(close(stats.stdev(), stdev), "stdev {} vs {}", stats.stdev(), stdev);
            prop_assert!(close(stats.variance(), variance));
            let fmin = input.iter().copied().fold(f64::INFINITY, f64::min);
            let fmax = input.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert_eq!((stats.min(), stats.max()), (fmin, fmax));
        }
        if input.len() >= 2 {
            let sample = (variance * n / (n - 1.0)).sqrt();
            prop_assert!(close(stats.sample_stdev(), sample));
        }
    }

    #[test]
    fn min_and_max_of_integers_match_iterator_min_and_max(
        input in small_ints(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let rdd = ctx.parallelize(input.clone(), slices);
        match (input.iter().min(), input.iter().max()) {
            (Some(lo), Some(hi)) => {
                prop_assert_eq!(rdd.min().unwrap(), *lo);
                prop_assert_eq!(rdd.max().unwrap(), *hi);
            }
            _ => {
                prop_assert!(rdd.min().is_err());
                prop_assert!(rdd.max().is_err());
            }
        }
        prop_assert_eq!(rdd.sum().unwrap(), input.iter().map(|&x| f64::from(x)).sum::<f64>());
    }

    #[test]
    fn collect_as_map_keeps_the_last_value_of_a_repeated_key(
        input in pairs(),
        slices in 1usize..8,
    ) {
        let ctx = context();
        let got = ctx.parallelize(input.clone(), slices).collect_as_map().unwrap();
        let expected: HashMap<u8, i32> = input.into_iter().collect();
        prop_assert_eq!(got, expected);
    }
}

#[test]
fn first_finds_an_element_behind_empty_partitions_and_fails_on_an_empty_rdd() {
    let ctx = context();
    // One element over eight slices: only the last slice holds it.
    let rdd = ctx.parallelize(vec![42], 8);
    assert_eq!(rdd.first().unwrap(), 42);
    assert_eq!(rdd.take(5).unwrap(), vec![42]);
    let none = rdd.filter(Fn!(|x: &i32| *x < 0));
    let err = none.first().unwrap_err();
    assert!(err.to_string().contains("empty"), "unexpected error: {err}");
    assert!(none.reduce(Fn!(|a: i32, b: i32| a + b)).is_err());
    assert!(none.min().is_err());
    assert!(none.max().is_err());
}

#[test]
fn take_ordered_and_top_accept_an_n_far_beyond_the_count() {
    let ctx = context();
    let rdd = ctx.parallelize(vec![3, 1, 2, 5, 4], 2);
    assert_eq!(rdd.take_ordered(usize::MAX).unwrap(), vec![1, 2, 3, 4, 5]);
    assert_eq!(rdd.top(usize::MAX).unwrap(), vec![5, 4, 3, 2, 1]);
    assert_eq!(rdd.take(usize::MAX).unwrap(), vec![3, 1, 2, 5, 4]);
    assert_eq!(rdd.take_ordered(0).unwrap(), Vec::<i32>::new());
    assert_eq!(rdd.top(0).unwrap(), Vec::<i32>::new());
}

#[test]
fn take_sample_of_everything_without_replacement_is_a_permutation() {
    let ctx = context();
    let rdd = ctx.parallelize((0..50).collect::<Vec<i32>>(), 3);
    let sample = rdd.take_sample(false, 80, 11).unwrap();
    assert_eq!(sorted(sample), (0..50).collect::<Vec<i32>>());
    assert_ne!(
        rdd.take_sample(false, 20, 1).unwrap(),
        rdd.take_sample(false, 20, 2).unwrap(),
        "different seeds should give different samples"
    );
}

#[test]
fn stats_of_a_known_series_match_hand_computed_values() {
    let ctx = context();
    let stats = ctx
        .parallelize(vec![2, 4, 4, 4, 5, 5, 7, 9], 3)
        .stats()
        .unwrap();
    assert_eq!(stats.count(), 8);
    assert!((stats.mean() - 5.0).abs() < 1e-12);
    assert!((stats.stdev() - 2.0).abs() < 1e-12);
    assert_eq!((stats.min(), stats.max()), (2.0, 9.0));
    assert!((stats.sum() - 40.0).abs() < 1e-9);
}

#[test]
fn a_union_of_rdds_partitioned_alike_keeps_their_partitioner_and_needs_no_shuffle() {
    let ctx = context();
    let by_key = |values: Vec<(u32, u64)>| {
        ctx.parallelize(values, 4)
            .reduce_by_key_in(Fn!(|a: u64, b: u64| a + b), HashPartitioner::new(3))
    };
    let a = by_key((0..40).map(|i| (i % 7, 1)).collect());
    let b = by_key((0..30).map(|i| (i % 5, 10)).collect());
    let union = a.union(&b);
    assert_eq!(union.num_partitions(), 3, "partition i of each, together");
    assert_eq!(union.partitioner(), a.partitioner());
    // Partition i holds exactly the keys the partitioner sends to i.
    let parts = union.glom().collect().unwrap();
    let partitioner = HashPartitioner::new(3);
    for (i, part) in parts.iter().enumerate() {
        assert!(
            part.iter().all(|(k, _)| partitioner.partition(k) == i),
            "{parts:?}"
        );
    }
    let mut sums = union
        .reduce_by_key_in(Fn!(|a: u64, b: u64| a + b), HashPartitioner::new(3))
        .collect()
        .unwrap();
    sums.sort();
    let mut want = BTreeMap::<u32, u64>::new();
    for i in 0..40 {
        *want.entry(i % 7).or_default() += 1;
    }
    for i in 0..30 {
        *want.entry(i % 5).or_default() += 10;
    }
    assert_eq!(sums, want.into_iter().collect::<Vec<_>>());
    // The parents' shuffles ran for `glom` above; reducing the union by the same partitioner
    // adds no shuffle: one stage, reading partition i of each parent.
    assert_eq!(ctx.last_job_summary().unwrap().stages, 1);
    // Partitioned differently, the partitions follow one another and no partitioner is kept.
    let c = ctx
        .parallelize(vec![(1u32, 1u64)], 1)
        .reduce_by_key_in(Fn!(|a: u64, b: u64| a + b), HashPartitioner::new(2));
    let mixed = a.union(&c);
    assert_eq!(mixed.num_partitions(), 5);
    assert_eq!(mixed.partitioner(), None);
}
