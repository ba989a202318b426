//! The RDD methods Spark users reach for, each against a plain Rust computation on `local[2]` and
//! on `local-cluster`, with empty partitions and skewed keys: orders that take floats, numeric
//! statistics and histograms, where operations by key put their output, cogroups of up to four,
//! and the smaller methods (`is_empty`, `random_split`, tree aggregation, lineage, ...).

use ember_core::conf::keys;
use ember_core::order::{FloatOrder, Order, TotalOrder};
use ember_core::{BoxIter, Context, EmberConf, Fn, HashPartitioner, Partitioner, RangePartitioner};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2,1,512]"];

fn context(master: &str) -> Context {
    Context::new(
        EmberConf::empty()
            .set_master(master)
            .set(keys::SHOW_CONSOLE_PROGRESS.key, "false"),
    )
    .unwrap()
}

/// Floats with duplicates, both zeros, infinities and NaNs of both signs.
fn floats() -> Vec<f64> {
    let mut xs: Vec<f64> = (0..200)
        .map(|i| ((i * 37) % 101) as f64 / 7.0 - 5.0)
        .collect();
    xs.extend([
        f64::NAN,
        -f64::NAN,
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ]);
    xs
}

/// Pairs with one heavy key (0) and a long tail.
fn skewed() -> Vec<(u32, i64)> {
    (0..600)
        .map(|i| {
            if i % 3 == 0 {
                (0, i)
            } else {
                (i as u32 % 47, i)
            }
        })
        .collect()
}

fn same_floats(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| FloatOrder.compare(x, y) == Ordering::Equal)
}

#[test]
fn floats_order_as_spark_orders_them() {
    let xs = floats();
    let mut oracle = xs.clone();
    oracle.sort_by(|a, b| FloatOrder.compare(a, b));
    for master in MASTERS {
        let ctx = context(master);
        // More slices than some partitions can fill: empty partitions take part too.
        let rdd = ctx
            .parallelize(xs.clone(), 9)
            .union(&ctx.parallelize(vec![], 3));
        assert!(rdd.max_by(FloatOrder).unwrap().is_nan(), "{master}");
        assert_eq!(rdd.min_by(FloatOrder).unwrap(), f64::NEG_INFINITY);
        let smallest = rdd.take_ordered_by(5, FloatOrder).unwrap();
        assert!(
            same_floats(&smallest, &oracle[..5]),
            "{master}: {smallest:?}"
        );
        let top = rdd.top_by(4, FloatOrder).unwrap();
        let want: Vec<f64> = oracle.iter().rev().take(4).copied().collect();
        assert!(same_floats(&top, &want), "{master}: {top:?}");
        let sorted = rdd
            .sort_by(Fn!(|x: &f64| TotalOrder(*x)), true, 4)
            .unwrap()
            .collect()
            .unwrap();
        assert!(same_floats(&sorted, &oracle), "{master}");
        let descending = rdd
            .sort_by(Fn!(|x: &f64| TotalOrder(*x)), false, 3)
            .unwrap()
            .collect()
            .unwrap();
        let mut reversed = oracle.clone();
        reversed.reverse();
        assert!(same_floats(&descending, &reversed), "{master}");

        let words = ctx.parallelize(
            vec!["pear", "fig", "banana", "kiwi", "apple"]
                .into_iter()
                .map(String::from)
                .collect(),
            2,
        );
        let by_length = Fn!(|a: &String, b: &String| a.len().cmp(&b.len()).then(a.cmp(b)));
        assert_eq!(words.max_by(by_length).unwrap(), "banana");
        assert_eq!(
            words.take_ordered_by(2, by_length).unwrap(),
            ["fig", "kiwi"]
        );
        let empty = ctx.parallelize(Vec::<f64>::new(), 2);
        let err = empty.max_by(FloatOrder).unwrap_err().to_string();
        assert!(err.contains("empty collection"), "{err}");
    }
}

#[test]
fn numeric_statistics_and_histograms_agree_with_plain_rust() {
    let xs: Vec<f64> = (0..500)
        .map(|i| ((i * 7919) % 1000) as f64 / 10.0)
        .collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let m2: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    for master in MASTERS {
        let ctx = context(master);
        let rdd = ctx.parallelize(xs.clone(), 7);
        assert!(close(rdd.variance().unwrap(), m2 / n), "{master}");
        assert!(close(rdd.stdev().unwrap(), (m2 / n).sqrt()));
        assert!(close(rdd.sample_variance().unwrap(), m2 / (n - 1.0)));
        assert!(close(rdd.sample_stdev().unwrap(), (m2 / (n - 1.0)).sqrt()));
        assert!(close(
            rdd.stats().unwrap().sample_variance(),
            m2 / (n - 1.0)
        ));

        let bounds = [0.0, 10.0, 25.5, 50.0, 99.9];
        let mut want = vec![0u64; 4];
        for &x in &xs {
            if x == 99.9 {
                want[3] += 1;
            } else if let Some(i) = bounds.windows(2).position(|w| w[0] <= x && x < w[1]) {
                want[i] += 1;
            }
        }
        assert_eq!(
            rdd.histogram_with_buckets(&bounds).unwrap(),
            want,
            "{master}"
        );

        let (edges, counts) = rdd.histogram(4).unwrap();
        let want_edges: Vec<f64> = (0..4)
            .map(|i| i as f64 * 99.9 / 4.0)
            .chain([99.9])
            .collect();
        assert_eq!(edges, want_edges);
        let mut want = vec![0u64; 4];
        for &x in &xs {
            want[(((x / 99.9) * 4.0) as usize).min(3)] += 1;
        }
        assert_eq!(counts, want, "{master}");
        assert_eq!(counts.iter().sum::<u64>(), 500);

        let same = ctx.parallelize(vec![3u8; 10], 3);
        assert_eq!(same.histogram(5).unwrap(), (vec![3.0, 3.0], vec![10]));
        let ints = ctx.parallelize(vec![-1i32, 0, 1, 1, 2], 2);
        assert_eq!(
            ints.histogram_with_buckets(&[0.0, 1.0, 2.0]).unwrap(),
            [1, 3]
        );

        let with_nan = ctx.parallelize(vec![1.0, f64::NAN], 2);
        let err = with_nan.histogram(2).unwrap_err().to_string();
        assert!(err.contains("NaN"), "{err}");
        let err = rdd.histogram_with_buckets(&[1.0]).unwrap_err().to_string();
        assert!(err.contains("at least two"), "{err}");
        let err = rdd
            .histogram_with_buckets(&[2.0, 1.0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("sorted"), "{err}");
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn grouped(pairs: &[(u32, i64)]) -> BTreeMap<u32, Vec<i64>> {
    let mut groups = BTreeMap::<u32, Vec<i64>>::new();
    for (k, v) in pairs {
        groups.entry(*k).or_default().push(*v);
    }
    groups
}

#[test]
fn operations_by_key_go_where_they_are_told() {
    let pairs = skewed();
    let sums: Vec<(u32, i64)> = grouped(&pairs)
        .into_iter()
        .map(|(k, vs)| (k, vs.iter().sum()))
        .collect();
    for master in MASTERS {
        let ctx = context(master);
        let rdd = ctx.parallelize(pairs.clone(), 6);
        assert_eq!(rdd.partitioner(), None);
        let add = Fn!(|a: i64, b: i64| a + b);

        let in_five = rdd.reduce_by_key_in(add, 5);
        assert_eq!(in_five.num_partitions(), 5);
        assert_eq!(in_five.partitioner().unwrap().num_partitions(), 5);
        assert_eq!(sorted(in_five.collect().unwrap()), sums, "{master}");

        let hash = HashPartitioner::new(3);
        let counts = rdd.map_values(Fn!(|_v: i64| 1u64)).combine_by_key_in(
            Fn!(|v: u64| v),
            Fn!(|c: u64, v: u64| c + v),
            Fn!(|a: u64, b: u64| a + b),
            hash,
        );
        assert_eq!(counts.num_partitions(), 3);
        for (p, part) in counts.glom().collect().unwrap().into_iter().enumerate() {
            assert!(part.iter().all(|(k, _)| hash.partition(k) == p), "{master}");
        }
        let want: Vec<(u32, u64)> = grouped(&pairs)
            .into_iter()
            .map(|(k, vs)| (k, vs.len() as u64))
            .collect();
        assert_eq!(sorted(counts.collect().unwrap()), want);

        let folded = rdd.fold_by_key_in(0, add, 4).collect().unwrap();
        assert_eq!(sorted(folded), sums);
        let by_tens = ByTens;
        let aggregated = rdd.aggregate_by_key_in(0, add, add, &by_tens);
        assert_eq!(aggregated.num_partitions(), 5);
        for (p, part) in aggregated.glom().collect().unwrap().into_iter().enumerate() {
            assert!(
                part.iter().all(|(k, _)| (*k as usize / 10) == p),
                "{master}"
            );
        }
        assert_eq!(sorted(aggregated.collect().unwrap()), sums);
        let groups = rdd
            .group_by_key_in(2)
            .map_values(Fn!(|v: Vec<i64>| sorted(v)));
        assert_eq!(groups.num_partitions(), 2);
        let want: Vec<(u32, Vec<i64>)> = grouped(&pairs).into_iter().collect();
        assert_eq!(sorted(groups.collect().unwrap()), want);
        let by_parity = ctx
            .parallelize((0..50).collect::<Vec<i32>>(), 3)
            .group_by_in(Fn!(|x: &i32| x % 2), 7);
        assert_eq!(by_parity.num_partitions(), 7);
        assert_eq!(by_parity.count().unwrap(), 2);
        assert_eq!(
            rdd.keys()
                .distinct(HashPartitioner::new(4))
                .num_partitions(),
            4
        );
        assert_eq!(rdd.keys().distinct(0).count().unwrap(), 47);
    }
}

#[test]
fn a_laid_out_rdd_is_combined_without_another_shuffle() {
    for master in MASTERS {
        let ctx = context(master);
        let placed = ctx
            .parallelize(skewed(), 5)
            .partition_by(HashPartitioner::new(4))
            .cache();
        let info = placed.partitioner().unwrap();
        assert!(info.is::<HashPartitioner>());
        assert_eq!(
            placed.filter(Fn!(|p: &(u32, i64)| p.1 > 3)).partitioner(),
            Some(info.clone())
        );
        assert_eq!(placed.map(Fn!(|p: (u32, i64)| p)).partitioner(), None);

        placed.count().unwrap();
        let before = ctx.job_summaries().len();
        let sums = placed.reduce_by_key(Fn!(|a: i64, b: i64| a + b));
        assert_eq!(sums.partitioner(), Some(info.clone()), "{master}");
        let want: Vec<(u32, i64)> = grouped(&skewed())
            .into_iter()
            .map(|(k, vs)| (k, vs.iter().sum()))
            .collect();
        assert_eq!(sorted(sums.collect().unwrap()), want);
        // One stage: the cached partitions, combined where they are.
        assert_eq!(ctx.job_summaries()[before].stages, 1, "{master}");
        let elsewhere = placed.reduce_by_key_in(Fn!(|a: i64, b: i64| a + b), 3);
        assert_ne!(elsewhere.partitioner(), Some(info), "{master}");
        assert_eq!(sorted(elsewhere.collect().unwrap()), want);
    }
}

/// A user's own partitioner: keys 0-9 in partition 0, 10-19 in 1, ...
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct ByTens;

impl Partitioner<u32> for ByTens {
    fn num_partitions(&self) -> usize {
        5
    }
    fn partition(&self, key: &u32) -> usize {
        (*key as usize / 10).min(4)
    }
}

type Four = (Vec<i64>, Vec<char>, Vec<String>, Vec<u8>);

#[test]
fn cogroups_of_two_three_and_four_agree_with_plain_rust() {
    let a = skewed();
    let b: Vec<(u32, char)> = (0..40)
        .map(|i| (i % 13, (b'a' + (i % 26) as u8) as char))
        .collect();
    let c: Vec<(u32, String)> = (0..30).map(|i| (i * 2, format!("c{i}"))).collect();
    let d: Vec<(u32, u8)> = vec![(5, 1), (5, 2), (999, 3)];
    let keys: BTreeSet<u32> = a
        .iter()
        .map(|p| p.0)
        .chain(b.iter().map(|p| p.0))
        .chain(c.iter().map(|p| p.0))
        .chain(d.iter().map(|p| p.0))
        .collect();
    let side = |k: u32| -> Four {
        let pick = |k2: u32| k2 == k;
        (
            sorted(a.iter().filter(|p| pick(p.0)).map(|p| p.1).collect()),
            sorted(b.iter().filter(|p| pick(p.0)).map(|p| p.1).collect()),
            sorted(
                c.iter()
                    .filter(|p| pick(p.0))
                    .map(|p| p.1.clone())
                    .collect(),
            ),
            sorted(d.iter().filter(|p| pick(p.0)).map(|p| p.1).collect()),
        )
    };
    let want: Vec<(u32, Four)> = keys.iter().map(|&k| (k, side(k))).collect();
    for master in MASTERS {
        let ctx = context(master);
        let (ra, rb) = (ctx.parallelize(a.clone(), 4), ctx.parallelize(b.clone(), 3));
        let (rc, rd) = (ctx.parallelize(c.clone(), 2), ctx.parallelize(d.clone(), 5));
        let four = ra.cogroup_in((&rb, &rc, &rd), 6);
        assert_eq!(four.num_partitions(), 6);
        let mut got: Vec<(u32, Four)> = four
            .map_values(Fn!(|(w, x, y, z): Four| (
                sorted(w),
                sorted(x),
                sorted(y),
                sorted(z)
            )))
            .collect()
            .unwrap();
        got.sort_by_key(|g| g.0);
        assert_eq!(got, want, "{master}");

        let three = ra.group_with((&rb, &rc)).collect().unwrap();
        let keys3: BTreeSet<u32> = keys.iter().copied().filter(|k| *k != 999).collect();
        assert_eq!(three.len(), keys3.len(), "{master}");
        for (k, (w, x, y)) in three {
            let (sw, sx, sy, _) = side(k);
            assert_eq!((sorted(w), sorted(x), sorted(y)), (sw, sx, sy), "key {k}");
        }

        let joined = ra.join_in(&rb, HashPartitioner::new(2));
        assert_eq!(joined.num_partitions(), 2);
        let want_join: usize = b
            .iter()
            .map(|(k, _)| a.iter().filter(|p| p.0 == *k).count())
            .sum();
        assert_eq!(joined.count().unwrap() as usize, want_join, "{master}");
        let left = ra.left_outer_join_in(&rd, 3);
        assert_eq!(left.num_partitions(), 3);
        let unmatched = a.iter().filter(|p| p.0 != 5).count();
        let matched = 2 * a.iter().filter(|p| p.0 == 5).count();
        assert_eq!(left.count().unwrap() as usize, unmatched + matched);
        let right = ra.right_outer_join_in(&rd, 2).collect().unwrap();
        assert!(right.contains(&(999, (None, 3))), "{master}");
        let full = ra.full_outer_join_in(&rd, 2).count().unwrap() as usize;
        assert_eq!(full, unmatched + matched + 1);
        let rest = ra.subtract_by_key_in(&rd, 4);
        assert_eq!(
            (rest.num_partitions(), rest.count().unwrap() as usize),
            (4, unmatched)
        );

        let evens = ctx.parallelize((0..100).collect::<Vec<i32>>(), 3);
        let threes = ctx.parallelize((0..100).step_by(3).collect::<Vec<i32>>(), 2);
        let both = evens
            .filter(Fn!(|x: &i32| x % 2 == 0))
            .intersection_in(&threes, 5);
        assert_eq!(both.num_partitions(), 5);
        let want: Vec<i32> = (0..100).filter(|x| x % 6 == 0).collect();
        assert_eq!(sorted(both.collect().unwrap()), want);
        let left_over = evens.subtract_in(&threes, 2);
        assert_eq!(left_over.num_partitions(), 2);
        assert_eq!(left_over.count().unwrap(), 100 - 34);
    }
}

#[test]
fn the_smaller_methods_agree_with_plain_rust() {
    for master in MASTERS {
        let ctx = context(master);
        let xs: Vec<i64> = (0..1000).collect();
        let rdd = ctx.parallelize(xs.clone(), 11);

        assert!(!rdd.is_empty().unwrap());
        assert!(ctx.parallelize(Vec::<i64>::new(), 4).is_empty().unwrap());
        assert!(rdd.filter(Fn!(|x: &i64| *x < 0)).is_empty().unwrap());

        let parts = rdd.random_split(&[2.0, 1.0, 1.0], 42).unwrap();
        let mut all: Vec<i64> = parts.iter().flat_map(|p| p.collect().unwrap()).collect();
        all.sort();
        assert_eq!(
            all, xs,
            "{master}: the parts are disjoint and cover the RDD"
        );
        let first = parts[0].count().unwrap();
        assert!((400..600).contains(&first), "{master}: {first}");
        let again = rdd.random_split(&[2.0, 1.0, 1.0], 42).unwrap();
        assert_eq!(again[1].collect().unwrap(), parts[1].collect().unwrap());
        assert!(rdd.random_split(&[1.0, -1.0], 1).is_err());
        assert!(rdd.random_split(&[0.0], 1).is_err());

        let ids = rdd.zip_with_unique_id().collect().unwrap();
        let unique: BTreeSet<u64> = ids.iter().map(|p| p.1).collect();
        assert_eq!(unique.len(), 1000);
        assert!(ids.iter().all(|(_, id)| *id < 11 * 1000));

        let add = Fn!(|a: i64, b: i64| a + b);
        for depth in 1..=4 {
            assert_eq!(
                rdd.tree_reduce(add, depth).unwrap(),
                499_500,
                "depth {depth}"
            );
            let agg = rdd.tree_aggregate(0, add, add, depth).unwrap();
            assert_eq!(agg, 499_500, "{master} depth {depth}");
        }
        let wide = ctx.parallelize(xs.clone(), 64);
        assert_eq!(wide.tree_aggregate(0, add, add, 2).unwrap(), 499_500);
        assert!(rdd.tree_reduce(add, 0).is_err());
        let empty = ctx.parallelize(Vec::<i64>::new(), 3);
        let err = empty.tree_reduce(add, 2).unwrap_err().to_string();
        assert!(err.contains("empty collection"), "{err}");
        assert_eq!(empty.tree_aggregate(0, add, add, 2).unwrap(), 0);

        let streamed: Vec<i64> = rdd.to_local_iterator().map(Result::unwrap).collect();
        assert_eq!(streamed, xs);

        let named = rdd.set_name("numbers");
        assert_eq!(named.name().as_deref(), Some("numbers"));
        let lineage = rdd
            .map(Fn!(|x: i64| (x % 3, x)))
            .reduce_by_key_in(add, 2)
            .to_debug_string();
        let lines: Vec<&str> = lineage.lines().collect();
        assert_eq!(lines.len(), 3, "{lineage}");
        assert!(lines[0].starts_with("(2) ShuffledRdd["), "{lineage}");
        assert!(
            lines[1].starts_with(" +-(11) MapPartitionsRdd["),
            "{lineage}"
        );
        assert!(
            lines[2].starts_with("    |   numbers ParallelCollectionRdd["),
            "{lineage}"
        );

        let pairs = ctx.parallelize(skewed(), 4);
        let local = pairs.reduce_by_key_locally(add).unwrap();
        let want: BTreeMap<u32, i64> = grouped(&skewed())
            .into_iter()
            .map(|(k, vs)| (k, vs.iter().sum()))
            .collect();
        assert_eq!(local.into_iter().collect::<BTreeMap<_, _>>(), want);
        let ranged = pairs.filter_by_range(10, 12).collect().unwrap();
        let want: Vec<(u32, i64)> = skewed()
            .into_iter()
            .filter(|p| (10..=12).contains(&p.0))
            .collect();
        assert_eq!(sorted(ranged), sorted(want));

        let ranges = RangePartitioner::from_bounds(vec![10, 30], true);
        let laid = pairs.repartition_and_sort_within_partitions(ranges.clone());
        let parts = laid.glom().collect().unwrap();
        assert_eq!(parts.len(), 3);
        for (p, part) in parts.iter().enumerate() {
            assert!(
                part.windows(2).all(|w| w[0].0 <= w[1].0),
                "{master}: sorted"
            );
            assert!(part.iter().all(|(k, _)| ranges.partition(k) == p));
        }
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 600);
    }
}

#[test]
fn local_n_tries_a_task_once_unless_told_otherwise() {
    let fail = |ctx: &Context| {
        let result = ctx
            .parallelize(vec![1, 2, 3], 3)
            .map(Fn!(|x: i32| {
                assert!(x != 2, "bad record {x}");
                x
            }))
            .collect();
        assert!(result.is_err());
        ctx.job_summaries().last().unwrap().failed_tasks
    };
    assert_eq!(fail(&context("local[2]")), 1);
    assert_eq!(fail(&context("local[2,3]")), 3);
    let told = Context::new(
        EmberConf::empty()
            .set_master("local[2]")
            .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
            .set(keys::TASK_MAX_FAILURES.key, "2"),
    )
    .unwrap();
    assert_eq!(fail(&told), 2);
}

#[test]
fn zip_partitions_merges_partitions_alike() {
    for master in MASTERS {
        let ctx = context(master);
        let a = ctx.parallelize((0..100).collect::<Vec<i64>>(), 5);
        let b = ctx.parallelize((0..7).map(|i| i * 10).collect::<Vec<i64>>(), 5);
        let merged = a
            .zip_partitions(
                &b,
                Fn!(|xs: BoxIter<i64>, ys: BoxIter<i64>| {
                    let mut all: Vec<i64> = xs.chain(ys).collect();
                    all.sort();
                    all
                }),
            )
            .unwrap();
        let want: Vec<i64> = (0..100).chain((0..7).map(|i| i * 10)).collect();
        assert_eq!(sorted(merged.collect().unwrap()), sorted(want), "{master}");
        assert_eq!(merged.num_partitions(), 5);
        let other = ctx.parallelize(vec![1i64], 2);
        let err = a
            .zip_partitions(&other, Fn!(|xs: BoxIter<i64>, _ys: BoxIter<i64>| xs))
            .unwrap_err()
            .to_string();
        assert!(err.contains("same number of partitions"), "{err}");
    }
}

#[test]
fn stratified_samples_keep_each_key_at_its_rate() {
    let pairs: Vec<(u32, i64)> = (0..6000).map(|i| (i as u32 % 3, i)).collect();
    let fractions = HashMap::from([(0, 0.1), (1, 0.5), (2, 0.0)]);
    for master in MASTERS {
        let ctx = context(master);
        let rdd = ctx.parallelize(pairs.clone(), 6);

        let sample = rdd.sample_by_key(false, fractions.clone(), 3).unwrap();
        let counts = sample.count_by_key().unwrap();
        assert!((150..250).contains(&counts[&0]), "{master}: {counts:?}");
        assert!((900..1100).contains(&counts[&1]), "{master}: {counts:?}");
        assert!(!counts.contains_key(&2));
        assert_eq!(
            sample.collect().unwrap(),
            rdd.sample_by_key(false, fractions.clone(), 3)
                .unwrap()
                .collect()
                .unwrap(),
            "the same seed gives the same sample"
        );
        let doubled = HashMap::from([(0, 2.0), (1, 2.0), (2, 2.0)]);
        let with = rdd
            .sample_by_key(true, doubled, 5)
            .unwrap()
            .count()
            .unwrap();
        assert!((11_000..13_000).contains(&with), "{master}: {with}");

        let exact = rdd
            .sample_by_key_exact(false, fractions.clone(), 9)
            .unwrap();
        let got = exact.collect().unwrap();
        let counts = exact.count_by_key().unwrap();
        assert_eq!((counts[&0], counts[&1]), (200, 1000), "{master}");
        let distinct: BTreeSet<i64> = got.iter().map(|p| p.1).collect();
        assert_eq!(
            distinct.len(),
            got.len(),
            "no pair twice without replacement"
        );
        assert!(got.iter().all(|(k, v)| *v as u32 % 3 == *k));
        let repeated = HashMap::from([(0, 1.5), (1, 0.25), (2, 0.001)]);
        let with = rdd.sample_by_key_exact(true, repeated, 9).unwrap();
        let counts = with.count_by_key().unwrap();
        assert_eq!(
            (counts[&0], counts[&1], counts[&2]),
            (3000, 500, 2),
            "{master}"
        );

        let missing = HashMap::from([(0, 0.5)]);
        let err = rdd
            .sample_by_key(false, missing.clone(), 1)
            .unwrap()
            .count()
            .unwrap_err();
        assert!(err.to_string().contains("no fraction"), "{err}");
        let err = rdd.sample_by_key_exact(false, missing, 1).unwrap_err();
        assert!(err.to_string().contains("no fraction"), "{err}");
        let err = rdd
            .sample_by_key(false, HashMap::from([(0, 1.5)]), 1)
            .unwrap_err();
        assert!(err.to_string().contains("between 0 and 1"), "{err}");
    }
}

#[test]
fn an_unpersisted_broadcast_is_fetched_again_and_a_destroyed_one_fails_its_readers() {
    let ctx = context("local-cluster[2,1,512]");
    let table = ctx.broadcast((0..100u64).collect::<Vec<_>>());
    let read = |t: &ember_core::Broadcast<Vec<u64>>| {
        let t = t.clone();
        // A range, as parallelize's slices travel as broadcasts of their own.
        ctx.range(0, 100, 1, 1)
            .unwrap()
            .map(Fn!(move |i: i64| t.value()[i as usize]))
            .sum()
    };
    let before = ctx.broadcast_fetches();
    assert_eq!(read(&table).unwrap(), 4950.0);
    assert_eq!(read(&table).unwrap(), 4950.0);
    assert_eq!(ctx.broadcast_fetches() - before, 1);
    table.unpersist();
    assert_eq!(read(&table).unwrap(), 4950.0, "the driver keeps the value");
    assert_eq!(ctx.broadcast_fetches() - before, 2, "fetched again");
    table.destroy();
    let err = read(&table).unwrap_err().to_string();
    assert!(err.contains("destroyed"), "{err}");
}

#[test]
fn a_stopped_context_ends_its_application_and_refuses_jobs() {
    for master in MASTERS {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context::new(
            EmberConf::empty()
                .set_master(master)
                .set(keys::SHOW_CONSOLE_PROGRESS.key, "false")
                .set(keys::EVENT_LOG_ENABLED.key, "true")
                .set(keys::EVENT_LOG_DIR.key, dir.path().to_str().unwrap()),
        )
        .unwrap();
        let pids: Vec<u32> = ctx.executors().iter().map(|e| e.pid).collect();
        let numbers = ctx.parallelize((0..10).collect::<Vec<i32>>(), 2);
        assert_eq!(numbers.count().unwrap(), 10);
        let log = dir.path().join(ctx.application_id());
        assert!(!log.exists(), "in progress");
        assert!(!ctx.is_stopped());
        ctx.stop();
        ctx.stop();
        assert!(ctx.is_stopped());
        // The RDD still holds the Context, yet the application has ended.
        assert!(log.exists(), "{master}: the event log is closed");
        if master.starts_with("local-cluster") {
            let gone = |pid: &u32| {
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true)
            };
            assert!(
                pids.iter().all(gone),
                "{master}: executors exited: {pids:?}"
            );
        }
        let err = numbers.count().unwrap_err().to_string();
        assert!(err.contains("Context was stopped"), "{master}: {err}");
    }
}

#[test]
fn rdds_laid_out_alike_are_joined_without_a_shuffle() {
    let a = skewed();
    let b: Vec<(u32, char)> = (0..60)
        .map(|i| (i % 50, (b'a' + (i % 26) as u8) as char))
        .collect();
    let mut want: Vec<(u32, (i64, char))> = Vec::new();
    for (k, v) in &a {
        for (k2, w) in &b {
            if k == k2 {
                want.push((*k, (*v, *w)));
            }
        }
    }
    want.sort();
    for master in MASTERS {
        let ctx = context(master);
        let by4 = HashPartitioner::new(4);
        let left = ctx.parallelize(a.clone(), 3).partition_by(by4).cache();
        let right = ctx.parallelize(b.clone(), 5).partition_by(by4).cache();
        left.count().unwrap();
        right.count().unwrap();

        let before = ctx.job_summaries().len();
        let joined = left.join(&right);
        assert_eq!(joined.partitioner(), left.partitioner());
        assert_eq!(sorted(joined.collect().unwrap()), want, "{master}");
        assert_eq!(
            ctx.job_summaries()[before].stages,
            1,
            "{master}: no shuffle"
        );

        // One side laid out, the other not: only the other is shuffled.
        let loose = ctx.parallelize(b.clone(), 5);
        let before = ctx.job_summaries().len();
        assert_eq!(
            sorted(left.join(&loose).collect().unwrap()),
            want,
            "{master}"
        );
        assert_eq!(ctx.job_summaries()[before].stages, 2, "{master}");

        // Neither laid out: both shuffled, the answer the same.
        let plain = ctx.parallelize(a.clone(), 3);
        assert_eq!(sorted(plain.join_in(&loose, 6).collect().unwrap()), want);
    }
}

#[test]
fn filter_by_range_reads_only_the_ranges_it_needs() {
    let pairs = skewed();
    for master in MASTERS {
        let ctx = context(master);
        let rdd = ctx.parallelize(pairs.clone(), 4);
        for ascending in [true, false] {
            let sorted_rdd = rdd.sort_by_key(ascending, 8).unwrap();
            let some = sorted_rdd.filter_by_range(10, 20);
            assert!(
                some.num_partitions() < 8,
                "{master}: {}",
                some.num_partitions()
            );
            let want: Vec<(u32, i64)> = pairs
                .iter()
                .copied()
                .filter(|p| (10..=20).contains(&p.0))
                .collect();
            assert_eq!(sorted(some.collect().unwrap()), sorted(want), "{master}");
            let none = sorted_rdd.filter_by_range(1000, 2000);
            assert_eq!(none.count().unwrap(), 0);
        }
    }
}
