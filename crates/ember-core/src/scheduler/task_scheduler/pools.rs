//! Job-level scheduling: in which order task sets are offered free slots (Spark's `Pool` and
//! its `FIFOSchedulingAlgorithm` and `FairSchedulingAlgorithm`).
//!
//! With `ember.scheduler.mode=FIFO` (the default) the oldest job's task sets go first, and
//! within a job the earliest stage's. With `FAIR`, jobs run in *pools*, named by the thread's
//! local property `ember.scheduler.pool` (`default` when unset). Pools are ordered at each
//! round of offers:
//! 1. a pool running fewer tasks than its `minShare` comes before one that does not, the
//!    neediest (running / minShare) first;
//! 2. otherwise the pool with the fewest running tasks per unit of `weight` comes first.
//!
//! Within a pool, task sets go FIFO or FAIR (each task set weight 1) as the pool's
//! `schedulingMode` says. Pools are declared in `ember.scheduler.allocation.file`, Spark's
//! `fairscheduler.xml` format:
//!
//! ```xml
//! <allocations>
//!   <pool name="production">
//!     <schedulingMode>FAIR</schedulingMode>
//!     <weight>3</weight>
//!     <minShare>2</minShare>
//!   </pool>
//! </allocations>
//! ```
//!
//! A pool the file does not declare is made when a job first names it: FIFO, weight 1,
//! minShare 0, as in Spark. Since each round sorts once and then fills every free slot, a pool
//! gets its share as slots free up over time, not all at once.

use crate::conf::{keys, EmberConf};
use crate::error::{Error, Result};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

/// The pool jobs run in when their thread names none.
pub(crate) const DEFAULT_POOL: &str = "default";

/// How a pool orders what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchedulingMode {
    Fifo,
    Fair,
}

impl SchedulingMode {
    fn parse(text: &str, what: &str) -> Result<Self> {
        match text.trim().to_ascii_uppercase().as_str() {
            "FIFO" => Ok(SchedulingMode::Fifo),
            "FAIR" => Ok(SchedulingMode::Fair),
            other => Err(Error::Input(format!(
                "{what} is {other:?}; it must be FIFO or FAIR"
            ))),
        }
    }
}

/// One pool's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PoolConfig {
    pub mode: SchedulingMode,
    pub weight: f64,
    pub min_share: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            mode: SchedulingMode::Fifo,
            weight: 1.0,
            min_share: 0,
        }
    }
}

/// A task set as the order sees it.
#[derive(Debug, Clone)]
pub(crate) struct SetInfo {
    /// The job that submitted it: lower runs first under FIFO.
    pub job: usize,
    pub stage: usize,
    pub pool: Arc<str>,
    /// Its attempts running now.
    pub running: usize,
}

/// The application's scheduling mode and pools.
#[derive(Debug, Clone)]
pub(crate) struct Pools {
    mode: SchedulingMode,
    declared: HashMap<String, PoolConfig>,
}

impl Default for Pools {
    fn default() -> Self {
        Pools {
            mode: SchedulingMode::Fifo,
            declared: HashMap::new(),
        }
    }
}

impl Pools {
    /// The mode and pools `conf` gives.
    ///
    /// # Errors
    /// A mode other than FIFO or FAIR, or an allocation file that cannot be read or parsed.
    pub(crate) fn from_conf(conf: &EmberConf) -> Result<Self> {
        let mode = SchedulingMode::parse(
            &conf.require(&keys::SCHEDULER_MODE)?,
            keys::SCHEDULER_MODE.key,
        )?;
        let declared = match conf.get(&keys::SCHEDULER_ALLOCATION_FILE)? {
            Some(path) => {
                let xml = std::fs::read_to_string(&path).map_err(|e| {
                    Error::Input(format!(
                        "cannot read {} {path}: {e}",
                        keys::SCHEDULER_ALLOCATION_FILE.key
                    ))
                })?;
                parse_allocations(&xml).map_err(|e| {
                    Error::Input(format!(
                        "{} {path} is not a pool allocation file: {e}",
                        keys::SCHEDULER_ALLOCATION_FILE.key
                    ))
                })?
            }
            None => HashMap::new(),
        };
        Ok(Pools { mode, declared })
    }

    /// The settings of pool `name`.
    pub(crate) fn config(&self, name: &str) -> PoolConfig {
        self.declared.get(name).copied().unwrap_or_default()
    }

    /// Whether the order depends on the attempts each set runs (it does under FAIR).
    pub(crate) fn counts_running(&self) -> bool {
        self.mode == SchedulingMode::Fair
    }

    /// The order in which `sets` are offered slots, as indexes into `sets`.
    pub(crate) fn order(&self, sets: &[SetInfo]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..sets.len()).collect();
        if self.mode == SchedulingMode::Fifo {
            order.sort_by_key(|&i| (sets[i].job, sets[i].stage));
            return order;
        }
        let mut running_per_pool: HashMap<&str, usize> = HashMap::new();
        for set in sets {
            *running_per_pool.entry(&*set.pool).or_default() += set.running;
        }
        let pool_of = |i: usize| {
            let name: &str = &sets[i].pool;
            (name, running_per_pool[name], self.config(name))
        };
        order.sort_by(|&a, &b| {
            let (pa, ra, ca) = pool_of(a);
            let (pb, rb, cb) = pool_of(b);
            fair_order(
                (ra, ca.min_share, ca.weight, pa),
                (rb, cb.min_share, cb.weight, pb),
            )
            .then_with(|| match ca.mode {
                _ if pa != pb => Ordering::Equal,
                SchedulingMode::Fifo => {
                    (sets[a].job, sets[a].stage).cmp(&(sets[b].job, sets[b].stage))
                }
                SchedulingMode::Fair => {
                    fair_order((sets[a].running, 0, 1.0, ""), (sets[b].running, 0, 1.0, ""))
                        .then_with(|| sets[a].stage.cmp(&sets[b].stage))
                }
            })
        });
        order
    }
}

/// Spark's fair comparison of two schedulables given as (running tasks, minShare, weight,
/// name): the needy one first, then the lower share.
fn fair_order(a: (usize, usize, f64, &str), b: (usize, usize, f64, &str)) -> Ordering {
    let needy = |(running, min_share, ..): (usize, usize, f64, &str)| running < min_share;
    let min_share_ratio = |(running, min_share, ..): (usize, usize, f64, &str)| {
        running as f64 / min_share.max(1) as f64
    };
    let weight_ratio = |(running, _, weight, _): (usize, usize, f64, &str)| running as f64 / weight;
    let by_ratio = match (needy(a), needy(b)) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (true, true) => min_share_ratio(a).total_cmp(&min_share_ratio(b)),
        (false, false) => weight_ratio(a).total_cmp(&weight_ratio(b)),
    };
    by_ratio.then_with(|| a.3.cmp(b.3))
}

/// The pools of an allocation file, by name.
fn parse_allocations(xml: &str) -> std::result::Result<HashMap<String, PoolConfig>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut pools = HashMap::new();
    let mut pool: Option<(String, PoolConfig)> = None;
    let mut field: Option<String> = None;
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(tag) if tag.name().as_ref() == b"pool" => {
                let name = tag
                    .try_get_attribute("name")
                    .map_err(|e| e.to_string())?
                    .ok_or("a <pool> has no name attribute")?;
                let name = name.unescape_value().map_err(|e| e.to_string())?;
                pool = Some((name.into_owned(), PoolConfig::default()));
            }
            Event::Start(tag) => {
                field = Some(String::from_utf8_lossy(tag.name().as_ref()).into_owned());
            }
            Event::Text(text) => {
                let value = text.decode().map_err(|e| e.to_string())?;
                if let (Some((name, config)), Some(field)) = (&mut pool, &field) {
                    set_field(config, field, &value, name)?;
                }
            }
            Event::End(tag) if tag.name().as_ref() == b"pool" => {
                if let Some((name, config)) = pool.take() {
                    pools.insert(name, config);
                }
            }
            Event::End(_) => field = None,
            Event::Eof => return Ok(pools),
            _ => {}
        }
    }
}

fn set_field(
    config: &mut PoolConfig,
    field: &str,
    value: &str,
    pool: &str,
) -> std::result::Result<(), String> {
    let what = format!("pool {pool:?}'s {field}");
    let value = value.trim();
    match field {
        "schedulingMode" => {
            config.mode = SchedulingMode::parse(value, &what).map_err(|e| e.to_string())?
        }
        "weight" => {
            config.weight = value
                .parse::<f64>()
                .ok()
                .filter(|w| *w > 0.0)
                .ok_or_else(|| format!("{what} is {value:?}; it must be a positive number"))?
        }
        "minShare" => {
            config.min_share = value
                .parse()
                .map_err(|_| format!("{what} is {value:?}; it must be a whole number"))?
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(job: usize, stage: usize, pool: &str, running: usize) -> SetInfo {
        SetInfo {
            job,
            stage,
            pool: pool.into(),
            running,
        }
    }

    #[test]
    fn fifo_offers_the_oldest_job_first() {
        let sets = [set(2, 5, "a", 0), set(1, 9, "b", 4), set(1, 3, "b", 0)];
        assert_eq!(Pools::default().order(&sets), vec![2, 1, 0]);
    }

    #[test]
    fn the_allocation_file_declares_pools() {
        let xml = r#"<?xml version="1.0"?>
            <allocations>
              <pool name="production">
                <schedulingMode>FAIR</schedulingMode>
                <weight>3</weight>
                <minShare>2</minShare>
              </pool>
              <pool name="test"><weight>1</weight></pool>
            </allocations>"#;
        let pools = parse_allocations(xml).unwrap();
        let production = pools["production"];
        assert_eq!(production.mode, SchedulingMode::Fair);
        assert_eq!((production.weight, production.min_share), (3.0, 2));
        assert_eq!(pools["test"], PoolConfig::default());
        let bad = parse_allocations(
            r#"<allocations><pool name="p"><weight>-1</weight></pool></allocations>"#,
        );
        assert!(bad.unwrap_err().contains("pool \"p\"'s weight is \"-1\""));
    }

    #[test]
    fn fair_pools_are_needy_first_then_by_running_tasks_per_weight() {
        let mut declared = HashMap::new();
        let weighted = |weight, min_share| PoolConfig {
            mode: SchedulingMode::Fifo,
            weight,
            min_share,
        };
        declared.insert("heavy".to_string(), weighted(3.0, 0));
        declared.insert("needy".to_string(), weighted(1.0, 4));
        let pools = Pools {
            mode: SchedulingMode::Fair,
            declared,
        };
        // needy runs 2 < minShare 4: first. heavy runs 3 of weight 3 (1.0); light runs 2 of
        // weight 1 (2.0).
        let sets = [
            set(0, 0, "light", 2),
            set(1, 1, "heavy", 3),
            set(2, 2, "needy", 2),
        ];
        assert_eq!(pools.order(&sets), vec![2, 1, 0]);
        // Within a FIFO pool, the older job's set first.
        let sets = [set(7, 8, "heavy", 1), set(3, 4, "heavy", 2)];
        assert_eq!(pools.order(&sets), vec![1, 0]);
    }
}
