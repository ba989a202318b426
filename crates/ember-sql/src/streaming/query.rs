//! A running streaming query ([`StreamingQuery`]) and the loop behind it (Spark's
//! `MicroBatchExecution`).
//!
//! Each trigger asks every source for its latest offset. If any moved (or the watermark moved
//! and state may be evicted), the batch's offsets are written to `<checkpoint>/offsets/<id>`
//! first; then the rows between the last committed offsets and these are read, the query's plan
//! runs over them (each streaming source replaced by its rows, each aggregation merged with its
//! state), the sink takes the result, the state is saved as a new version, and
//! `<checkpoint>/commits/<id>` marks the batch done. A query that starts on a checkpoint whose
//! last batch has offsets but no commit redoes that batch with the same offsets, so a sink that
//! skips batches it has (files, Kafka transactions) holds every row exactly once.
//!
//! A source that can give a batch as a plan ([`Source::plan_batch`], Kafka's) is not read
//! first: its plan takes the place of its scan, so the operators that keep no state run in the
//! tasks that read the rows, and only their output reaches the driver. A stateful operator
//! gathers its input onto the driver. A source the query reads twice is read once, first.

use super::checks::StatefulNode;
use super::join::JoinInput;
use super::log::MetadataLog;
use super::progress::{
    iso_time, SinkProgress, SourceProgress, StateOperatorProgress, StreamingQueryProgress,
};
use super::source::{Offset, ReadLimit, Sink, Source, StreamingTable};
use super::state::StoreLayout;
use super::stateful::{two_phase_planner, EventTimeWatermark, StatefulOperator, StreamDeduplicate};
use super::window::event_millis;
use super::{OutputMode, Trigger};
use crate::dataframe::DataFrame;
use crate::error::{Error, Result};
use crate::session::SqlSession;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchemaRef};
use datafusion::datasource::{provider_as_source, source_as_provider, MemTable, TableProvider};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{
    utils::conjunction, Expr, Join, LogicalPlan, LogicalPlanBuilder, TableScan, TableScanBuilder,
};
use datafusion::prelude::col;
use ember_core::Context;
use parking_lot::{Condvar, Mutex};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many progress reports a query keeps (Spark's
/// `spark.sql.streaming.numRecentProgressUpdates`).
const RECENT_PROGRESS: usize = 100;

/// How long the default trigger waits before asking the sources again when they had nothing
/// new (Spark's `spark.sql.streaming.pollingDelay`).
const POLLING_DELAY: Duration = Duration::from_millis(10);

/// The provider of a scan of a streaming source, if `scan` is one.
pub(crate) fn streaming_table(scan: &TableScan) -> Option<Arc<dyn TableProvider>> {
    let provider = source_as_provider(&scan.source).ok()?;
    let any: &dyn std::any::Any = provider.as_ref();
    any.downcast_ref::<StreamingTable>()?;
    Some(provider)
}

/// Identity of a source in a plan: one source however often the plan reads it.
fn table_key(provider: &Arc<dyn TableProvider>) -> usize {
    Arc::as_ptr(provider) as *const () as usize
}

/// `plan` with every view that reads a stream replaced by the view's plan, so that SQL over
/// a temporary view of a streaming DataFrame streams too.
pub(crate) fn inline_streaming_views(plan: LogicalPlan) -> Result<LogicalPlan> {
    let inlined = plan.transform_up(|node| {
        let LogicalPlan::TableScan(scan) = &node else {
            return Ok(Transformed::no(node));
        };
        let Some(view) = scan.source.get_logical_plan() else {
            return Ok(Transformed::no(node));
        };
        let view = inline_streaming_views(view.into_owned())
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        if !reads_stream(&view) {
            return Ok(Transformed::no(node));
        }
        let aliased = LogicalPlanBuilder::from(view)
            .alias(scan.table_name.clone())?
            .build()?;
        Ok(Transformed::yes(aliased))
    })?;
    Ok(inlined.data)
}

/// Whether `plan` reads a streaming source (Spark's `isStreaming`).
pub(crate) fn reads_stream(plan: &LogicalPlan) -> bool {
    let mut found = false;
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            if streaming_table(scan).is_some()
                || scan
                    .source
                    .get_logical_plan()
                    .is_some_and(|v| reads_stream(&v))
            {
                found = true;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// What the query's status shares between its thread and its handle.
struct Status {
    active: bool,
    error: Option<String>,
    progress: VecDeque<StreamingQueryProgress>,
    /// Triggers begun so far.
    triggers: u64,
    /// The last trigger that found nothing new to read.
    last_idle_trigger: u64,
}

pub(crate) struct Shared {
    id: String,
    run_id: String,
    name: Option<String>,
    stop: AtomicBool,
    status: Mutex<Status>,
    changed: Condvar,
}

impl Shared {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Waits up to `timeout` or until the query is told to stop.
    fn pause(&self, timeout: Duration) {
        let mut status = self.status.lock();
        if !self.stopped() {
            self.changed.wait_for(&mut status, timeout);
        }
    }

    fn describe(&self) -> String {
        format!(
            "Query {} [id = {}, runId = {}]",
            self.name.as_deref().unwrap_or("<no name>"),
            self.id,
            self.run_id
        )
    }
}

/// A streaming query running on its own thread (Spark's `StreamingQuery`).
pub struct StreamingQuery {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for StreamingQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shared.describe())
    }
}

impl StreamingQuery {
    /// The query's id: the same across restarts from one checkpoint.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// This run's id.
    pub fn run_id(&self) -> &str {
        &self.shared.run_id
    }

    /// The name `query_name` gave it.
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Whether it still runs.
    pub fn is_active(&self) -> bool {
        self.shared.status.lock().active
    }

    /// Why it failed, if it did.
    pub fn exception(&self) -> Option<String> {
        self.shared.status.lock().error.clone()
    }

    /// The progress of its last batch.
    pub fn last_progress(&self) -> Option<StreamingQueryProgress> {
        self.shared.status.lock().progress.back().cloned()
    }

    /// The progress of its recent batches, oldest first (at most 100).
    pub fn recent_progress(&self) -> Vec<StreamingQueryProgress> {
        self.shared.status.lock().progress.iter().cloned().collect()
    }

    fn failure(&self, status: &Status) -> Result<()> {
        match &status.error {
            Some(e) => Err(Error::Query(format!(
                "{} terminated with exception: {e}",
                self.shared.describe()
            ))),
            None => Ok(()),
        }
    }

    /// Waits until the query ends: stopped, or failed (then its error).
    ///
    /// # Errors
    /// The query failed.
    pub fn await_termination(&self) -> Result<()> {
        let mut status = self.shared.status.lock();
        while status.active {
            self.shared.changed.wait(&mut status);
        }
        self.failure(&status)
    }

    /// Waits up to `timeout` for the query to end; whether it did.
    ///
    /// # Errors
    /// The query failed.
    pub fn await_termination_timeout(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut status = self.shared.status.lock();
        while status.active {
            if self
                .shared
                .changed
                .wait_until(&mut status, deadline)
                .timed_out()
            {
                break;
            }
        }
        self.failure(&status)?;
        Ok(!status.active)
    }

    /// Waits until everything the sources hold now has gone through the query (Spark's
    /// `processAllAvailable`): a trigger that began after this call found nothing new.
    ///
    /// # Errors
    /// The query failed, or had stopped.
    pub fn process_all_available(&self) -> Result<()> {
        let mut status = self.shared.status.lock();
        let asked_at = status.triggers;
        while status.active && status.last_idle_trigger <= asked_at {
            self.shared.changed.wait(&mut status);
        }
        self.failure(&status)?;
        if status.last_idle_trigger <= asked_at {
            return Err(Error::Input(format!(
                "{} is not active",
                self.shared.describe()
            )));
        }
        Ok(())
    }

    /// Stops the query once its running batch is done, and waits for it.
    ///
    /// # Errors
    /// The query had failed.
    pub fn stop(&self) -> Result<()> {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.lock().take() {
            let _ = thread.join();
        }
        let status = self.shared.status.lock();
        self.failure(&status)
    }
}

impl Drop for StreamingQuery {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// What a query runs: from the writer.
pub(crate) struct QuerySpec {
    pub(crate) ctx: Context,
    pub(crate) df: DataFrame,
    pub(crate) sink: Arc<dyn Sink>,
    pub(crate) mode: OutputMode,
    pub(crate) trigger: Trigger,
    pub(crate) name: Option<String>,
    pub(crate) checkpoint: String,
    /// A checkpoint the query made for itself, deleted when it stops.
    pub(crate) temporary_checkpoint: bool,
    pub(crate) id: String,
}

/// Starts the query's thread.
pub(crate) fn start(spec: QuerySpec) -> Result<StreamingQuery> {
    let shared = Arc::new(Shared {
        id: spec.id.clone(),
        run_id: uuid::Uuid::new_v4().to_string(),
        name: spec.name.clone(),
        stop: AtomicBool::new(false),
        status: Mutex::new(Status {
            active: true,
            error: None,
            progress: VecDeque::new(),
            triggers: 0,
            last_idle_trigger: 0,
        }),
        changed: Condvar::new(),
    });
    let temporary = spec
        .temporary_checkpoint
        .then(|| (spec.ctx.clone(), spec.checkpoint.clone()));
    let mut execution = MicroBatchExecution::new(spec, shared.clone())?;
    let thread_shared = shared.clone();
    let thread = std::thread::Builder::new()
        .name(format!(
            "ember-stream-{}",
            shared.name.as_deref().unwrap_or("query")
        ))
        .spawn(move || {
            let outcome = execution.run();
            drop(execution);
            if let Some((ctx, dir)) = &temporary {
                if let Err(e) = ctx.env().delete_dir(dir) {
                    tracing::warn!("cannot delete the temporary checkpoint {dir}: {e}");
                }
            }
            let mut status = thread_shared.status.lock();
            status.active = false;
            if let Err(e) = outcome {
                tracing::error!("{} failed: {e}", thread_shared.describe());
                status.error = Some(e.to_string());
            }
            thread_shared.changed.notify_all();
        })
        .map_err(|e| Error::Input(format!("cannot start the query's thread: {e}")))?;
    Ok(StreamingQuery {
        shared,
        thread: Mutex::new(Some(thread)),
    })
}

/// A watermark node's event times so far.
struct WatermarkNode {
    delay_ms: i64,
    max_event_ms: Option<i64>,
}

/// Event-time statistics of one batch.
#[derive(Default)]
struct EventTimes {
    min: Option<i64>,
    max: Option<i64>,
    sum: f64,
    count: u64,
}

/// One row of the offset log's first line (Spark's `OffsetSeqMetadata`).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchMetadata {
    batch_watermark_ms: i64,
    batch_timestamp_ms: i64,
    #[serde(default)]
    conf: BTreeMap<String, String>,
}

/// The commit log's line (Spark's `CommitMetadata`).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommitMetadata {
    next_batch_watermark_ms: i64,
}

struct MicroBatchExecution {
    ctx: Context,
    session: Arc<SqlSession>,
    plan: LogicalPlan,
    /// Each source, by the identity of its table in the plan.
    sources: Vec<(usize, Arc<dyn Source>)>,
    /// The sources the plan reads once: a batch may read them in its tasks. One read twice
    /// (a stream joined with itself) is read once, on the driver, for both sides.
    scanned_once: BTreeSet<usize>,
    sink: Arc<dyn Sink>,
    mode: OutputMode,
    trigger: Trigger,
    offsets: MetadataLog,
    commits: MetadataLog,
    checkpoint: String,
    /// The plan's stateful operators, with their state.
    operators: Vec<StatefulOperator>,
    /// What the analysis found of them at the start.
    stateful: Vec<StatefulNode>,
    planner: SessionState,
    watermarks: Vec<WatermarkNode>,
    /// The watermark of the batch that runs next.
    watermark_ms: i64,
    /// The watermark the last batch ran with.
    last_batch_watermark_ms: i64,
    shared: Arc<Shared>,
    retain: i64,
    state_partitions: usize,
    snapshot_every: i64,
    last_trigger: Option<Instant>,
}

impl MicroBatchExecution {
    fn new(spec: QuerySpec, shared: Arc<Shared>) -> Result<Self> {
        let session = spec.df.session().clone();
        let plan = inline_streaming_views(spec.df.inner().logical_plan().clone())?;
        let checkpoint = spec.checkpoint.trim_end_matches('/').to_string();
        let mut sources: Vec<(usize, Arc<dyn Source>)> = Vec::new();
        let mut tables = Vec::new();
        let mut scans: BTreeMap<usize, usize> = BTreeMap::new();
        plan.apply(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                if let Some(provider) = streaming_table(scan) {
                    let key = table_key(&provider);
                    *scans.entry(key).or_default() += 1;
                    if !tables.iter().any(|(k, _)| *k == key) {
                        tables.push((key, provider));
                    }
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        for (n, (key, provider)) in tables.iter().enumerate() {
            let any: &dyn std::any::Any = provider.as_ref();
            let table = any
                .downcast_ref::<StreamingTable>()
                .expect("found as a streaming table");
            let metadata = format!("{checkpoint}/sources/{n}");
            sources.push((
                *key,
                table
                    .spec
                    .instantiate(&spec.ctx, &table.schema, &metadata)?,
            ));
        }
        let analysis = super::checks::analyze(&plan, spec.mode)?;
        let conf = spec.ctx.conf();
        let retain = conf.require(&super::MIN_BATCHES_TO_RETAIN)? as i64;
        let snapshot_every = conf.require(&super::MIN_DELTAS_FOR_SNAPSHOT)? as i64;
        let state_partitions = conf.require(&super::STATE_PARTITIONS)?;
        Ok(MicroBatchExecution {
            ctx: spec.ctx.clone(),
            planner: two_phase_planner(&session),
            session,
            watermarks: analysis
                .watermark_delays
                .iter()
                .map(|d| WatermarkNode {
                    delay_ms: *d,
                    max_event_ms: None,
                })
                .collect(),
            operators: Vec::new(),
            stateful: analysis.operators,
            plan,
            sources,
            scanned_once: scans
                .into_iter()
                .filter_map(|(key, n)| (n == 1).then_some(key))
                .collect(),
            sink: spec.sink,
            mode: spec.mode,
            trigger: spec.trigger,
            offsets: MetadataLog::new(&spec.ctx, &format!("{checkpoint}/offsets"))?,
            commits: MetadataLog::new(&spec.ctx, &format!("{checkpoint}/commits"))?,
            checkpoint,
            watermark_ms: 0,
            last_batch_watermark_ms: 0,
            shared,
            retain: retain.max(1),
            state_partitions,
            snapshot_every: snapshot_every.max(1),
            last_trigger: None,
        })
    }
}

/// What one batch did, for its progress report.
#[derive(Default)]
struct BatchReport {
    rows: Vec<u64>,
    event_times: EventTimes,
    durations: BTreeMap<String, u64>,
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

impl MicroBatchExecution {
    fn run(&mut self) -> Result<()> {
        self.write_metadata()?;
        let mut committed = self.recover()?;
        if self.trigger == Trigger::AvailableNow {
            for (_, source) in &self.sources {
                source.prepare_for_available_now()?;
            }
        }
        while !self.shared.stopped() {
            let began = Instant::now();
            let trigger = {
                let mut status = self.shared.status.lock();
                status.triggers += 1;
                status.triggers
            };
            let ran = self.run_trigger(&mut committed, began)?;
            if !ran {
                let mut status = self.shared.status.lock();
                status.last_idle_trigger = trigger;
                self.shared.changed.notify_all();
            }
            match self.trigger {
                Trigger::Once => break,
                Trigger::AvailableNow if !ran => break,
                Trigger::AvailableNow => {}
                Trigger::ProcessingTime(interval) => {
                    let spent = began.elapsed();
                    if spent < interval {
                        self.shared.pause(interval - spent);
                    }
                }
                Trigger::Default if !ran => self.shared.pause(POLLING_DELAY),
                Trigger::Default => {}
            }
        }
        Ok(())
    }

    /// Writes `<checkpoint>/metadata` (the query's id) the first time.
    fn write_metadata(&self) -> Result<()> {
        let path = format!("{}/metadata", self.checkpoint);
        if self.ctx.env().read_file(&path).is_err() {
            let line = serde_json::json!({ "id": self.shared.id }).to_string();
            self.ctx.env().write_file(&path, line.as_bytes())?;
        }
        Ok(())
    }

    /// Where the checkpoint leaves off: the offsets committed so far, after redoing the last
    /// batch if it has offsets but no commit.
    fn recover(&mut self) -> Result<Vec<Option<Offset>>> {
        let none = vec![None; self.sources.len()];
        let Some((id, lines)) = self.offsets.latest()? else {
            self.make_operators(0);
            return Ok(none);
        };
        let (metadata, ends) = self.parse_offsets(id, &lines)?;
        if let Some(conf) = metadata.conf.get(super::STATE_PARTITIONS.key) {
            // The state's layout is the checkpoint's, whatever the setting says now.
            self.state_partitions = conf.parse().unwrap_or(self.state_partitions);
        }
        if let Some(commit) = self.commits.get(id)? {
            let commit: CommitMetadata = parse_line(&commit, &self.commits, id)?;
            self.watermark_ms = commit.next_batch_watermark_ms;
            self.last_batch_watermark_ms = metadata.batch_watermark_ms;
            self.make_operators(id + 1);
            return Ok(ends);
        }
        let starts = match id {
            0 => none,
            _ => {
                let lines = self.offsets.get(id - 1)?.ok_or_else(|| {
                    Error::Input(format!(
                        "the offset log {} has batch {id} but not {}: the checkpoint is \
                         damaged; start the query with a new checkpointLocation",
                        self.offsets.dir(),
                        id - 1
                    ))
                })?;
                self.parse_offsets(id - 1, &lines)?.1
            }
        };
        tracing::info!(
            "{}: redoing batch {id}, which did not commit",
            self.shared.describe()
        );
        self.watermark_ms = metadata.batch_watermark_ms;
        self.make_operators(id);
        self.run_batch_reporting(id, &starts, &ends, Instant::now(), BTreeMap::new())?;
        Ok(ends)
    }

    fn make_operators(&mut self, load_version: i64) {
        self.operators = self
            .stateful
            .iter()
            .enumerate()
            .map(|(n, node)| {
                let layout = StoreLayout {
                    dir: format!("{}/state/{n}", self.checkpoint),
                    partitions: self.state_partitions,
                    snapshot_every: self.snapshot_every,
                    retain: self.retain,
                };
                StatefulOperator::new(node.clone(), layout, load_version, self.mode)
            })
            .collect();
    }

    fn parse_offsets(
        &self,
        id: i64,
        lines: &[String],
    ) -> Result<(BatchMetadata, Vec<Option<Offset>>)> {
        let damaged = |why: &str| {
            Error::Input(format!(
                "offset log entry {} {why}; start the query with a new checkpointLocation",
                self.offsets.path(&id.to_string())
            ))
        };
        let (first, rest) = lines.split_first().ok_or_else(|| damaged("is empty"))?;
        let metadata: BatchMetadata =
            serde_json::from_str(first).map_err(|e| damaged(&format!("is damaged ({e})")))?;
        if rest.len() != self.sources.len() {
            return Err(damaged(&format!(
                "has {} sources where this query reads {}: the query changed",
                rest.len(),
                self.sources.len()
            )));
        }
        let offsets = rest
            .iter()
            .map(|line| match line.as_str() {
                "-" => Ok(None),
                json => serde_json::from_str(json)
                    .map(|v| Some(Offset(v)))
                    .map_err(|e| damaged(&format!("is damaged ({e})"))),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((metadata, offsets))
    }

    /// One trigger: a batch if there is new data (or state to evict); whether one ran.
    fn run_trigger(&mut self, committed: &mut Vec<Option<Offset>>, began: Instant) -> Result<bool> {
        let limit = match self.trigger {
            Trigger::Once => ReadLimit::All,
            _ => ReadLimit::Configured,
        };
        let asked = Instant::now();
        let latest = self
            .sources
            .iter()
            .zip(committed.iter())
            .map(|((_, source), start)| source.latest_offset(start.as_ref(), limit))
            .collect::<Result<Vec<_>>>()?;
        let latest_offset_ms = millis(asked);
        let new_data = latest
            .iter()
            .zip(committed.iter())
            .any(|(latest, start)| latest.is_some() && latest != start);
        let evicts = self.stateful.iter().any(|o| o.event_key.is_some())
            && self.watermark_ms > self.last_batch_watermark_ms;
        if !new_data && !evicts {
            return Ok(false);
        }
        let ends: Vec<Option<Offset>> = latest
            .into_iter()
            .zip(committed.iter())
            .map(|(latest, start)| latest.or_else(|| start.clone()))
            .collect();
        let id = self.offsets.latest_id()?.map_or(0, |id| id + 1);
        let wal = Instant::now();
        let metadata = BatchMetadata {
            batch_watermark_ms: self.watermark_ms,
            batch_timestamp_ms: super::sources::now_ms(),
            conf: BTreeMap::from([(
                super::STATE_PARTITIONS.key.to_string(),
                self.state_partitions.to_string(),
            )]),
        };
        let mut lines = vec![serde_json::to_string(&metadata).expect("metadata is JSON")];
        lines.extend(ends.iter().map(|o| match o {
            Some(o) => o.to_string(),
            None => "-".into(),
        }));
        self.offsets.add(id, &lines)?;
        let mut report_base = BTreeMap::new();
        report_base.insert("latestOffset".to_string(), latest_offset_ms);
        report_base.insert("walCommit".to_string(), millis(wal));
        self.run_batch_reporting(id, committed, &ends, began, report_base)?;
        *committed = ends;
        Ok(true)
    }

    fn run_batch_reporting(
        &mut self,
        id: i64,
        starts: &[Option<Offset>],
        ends: &[Option<Offset>],
        began: Instant,
        durations: BTreeMap<String, u64>,
    ) -> Result<()> {
        let mut report = self.run_batch(id, starts, ends)?;
        report.durations.extend(durations);
        report
            .durations
            .insert("triggerExecution".into(), millis(began));
        self.report(id, starts, ends, began, report);
        Ok(())
    }

    /// Runs batch `id` over the rows between `starts` and `ends` and commits it.
    fn run_batch(
        &mut self,
        id: i64,
        starts: &[Option<Offset>],
        ends: &[Option<Offset>],
    ) -> Result<BatchReport> {
        let mut report = BatchReport::default();
        let batch_watermark = self.watermark_ms;
        let reading = Instant::now();
        let mut tables = BTreeMap::new();
        let mut counts = Vec::new();
        for (((key, source), start), end) in self.sources.iter().zip(starts).zip(ends) {
            let (rows, count) = match end {
                Some(end) if Some(end) != start.as_ref() => {
                    self.read_source(*key, source.as_ref(), start.as_ref(), end)?
                }
                _ => (
                    BatchRows::Read(source.schema(), Vec::new()),
                    Box::new(|| 0u64) as RowCount,
                ),
            };
            tables.insert(*key, rows);
            counts.push(count);
        }
        report.durations.insert("getBatch".into(), millis(reading));
        let planning = Instant::now();
        let watermark =
            (!self.watermarks.is_empty() && batch_watermark > 0).then_some(batch_watermark);
        let original = self.plan.clone();
        let mut rewriter = Rewriter {
            execution: self,
            tables,
            watermark,
            batch: id,
            operator: 0,
            watermark_node: 0,
            event_times: EventTimes::default(),
        };
        let (plan, _) = rewriter.rewrite(&original)?;
        let event_times = std::mem::take(&mut rewriter.event_times);
        report
            .durations
            .insert("queryPlanning".into(), millis(planning));
        let adding = Instant::now();
        let state = self.session.datafusion.state();
        let df = datafusion::dataframe::DataFrame::new(state, plan);
        self.sink
            .add_batch(id, DataFrame::new(df, self.session.clone()))?;
        report.durations.insert("addBatch".into(), millis(adding));
        report.rows = counts.iter().map(|count| count()).collect();
        let committing = Instant::now();
        for operator in &mut self.operators {
            operator.commit(id + 1)?;
        }
        for ((_, source), end) in self.sources.iter().zip(ends) {
            if let Some(end) = end {
                if let Err(e) = source.commit(end) {
                    tracing::warn!("{}: {e}", source.description());
                }
            }
        }
        self.last_batch_watermark_ms = batch_watermark;
        self.advance_watermark();
        let commit = CommitMetadata {
            next_batch_watermark_ms: self.watermark_ms,
        };
        self.commits.add(
            id,
            &[serde_json::to_string(&commit).expect("a commit is JSON")],
        )?;
        self.offsets.purge_before(id + 1 - self.retain);
        self.commits.purge_before(id + 1 - self.retain);
        report
            .durations
            .insert("commitOffsets".into(), millis(committing));
        report.event_times = event_times;
        Ok(report)
    }

    /// A source's rows between `start` and `end`: a plan for the batch's tasks when the source
    /// gives one and the query reads it once, else its rows read now.
    fn read_source(
        &self,
        key: usize,
        source: &dyn Source,
        start: Option<&Offset>,
        end: &Offset,
    ) -> Result<(BatchRows, RowCount)> {
        let schema = source.schema();
        if self.scanned_once.contains(&key) {
            if let Some(planned) = source.plan_batch(start, end)? {
                let plan = planned.rows.inner().logical_plan().clone();
                let types = |s: &Schema| -> Vec<DataType> {
                    s.fields().iter().map(|f| f.data_type().clone()).collect()
                };
                if types(plan.schema().as_arrow()) != types(&schema) {
                    return Err(Error::Input(format!(
                        "{} planned rows of {} where its schema is {schema}",
                        source.description(),
                        plan.schema().as_arrow()
                    )));
                }
                return Ok((BatchRows::Planned(plan), planned.rows_read));
            }
        }
        let batches = source
            .get_batch(start, end)?
            .collect()?
            .iter()
            .map(|b| conform(b, &schema))
            .collect::<Result<Vec<_>>>()?;
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        Ok((BatchRows::Read(schema, batches), Box::new(move || rows)))
    }

    /// The watermark after a batch: the least over the watermark nodes of their largest event
    /// time less their delay; it never goes back.
    fn advance_watermark(&mut self) {
        let candidate = self
            .watermarks
            .iter()
            .filter_map(|w| w.max_event_ms.map(|max| max - w.delay_ms))
            .min();
        if let Some(candidate) = candidate {
            self.watermark_ms = self.watermark_ms.max(candidate);
        }
    }

    fn report(
        &mut self,
        id: i64,
        starts: &[Option<Offset>],
        ends: &[Option<Offset>],
        began: Instant,
        report: BatchReport,
    ) {
        let since_last = self
            .last_trigger
            .map(|t| t.elapsed())
            .unwrap_or_else(|| began.elapsed())
            .as_secs_f64();
        self.last_trigger = Some(began);
        let took = began.elapsed().as_secs_f64();
        let rate = |rows: u64, secs: f64| if secs > 0.0 { rows as f64 / secs } else { 0.0 };
        let total: u64 = report.rows.iter().sum();
        let sources = self
            .sources
            .iter()
            .enumerate()
            .map(|(i, (_, source))| {
                let rows = report.rows.get(i).copied().unwrap_or(0);
                SourceProgress {
                    description: source.description(),
                    start_offset: starts[i].as_ref().map(|o| o.0.clone()),
                    end_offset: ends[i].as_ref().map(|o| o.0.clone()),
                    latest_offset: ends[i].as_ref().map(|o| o.0.clone()),
                    num_input_rows: rows,
                    input_rows_per_second: rate(rows, since_last),
                    processed_rows_per_second: rate(rows, took),
                }
            })
            .collect();
        let mut event_time = BTreeMap::new();
        if !self.watermarks.is_empty() {
            let times = &report.event_times;
            if let (Some(min), Some(max)) = (times.min, times.max) {
                event_time.insert("min".to_string(), iso_time(min));
                event_time.insert("max".to_string(), iso_time(max));
                event_time.insert(
                    "avg".to_string(),
                    iso_time((times.sum / times.count.max(1) as f64) as i64),
                );
            }
            event_time.insert(
                "watermark".to_string(),
                iso_time(self.last_batch_watermark_ms),
            );
        }
        let state_operators = self
            .operators
            .iter()
            .map(|o| {
                let m = o.metrics();
                StateOperatorProgress {
                    operator_name: o.name().into(),
                    num_rows_total: m.rows_total as u64,
                    num_rows_updated: m.rows_updated as u64,
                    num_rows_removed: m.rows_removed as u64,
                    num_rows_dropped_by_watermark: m.rows_dropped_by_watermark as u64,
                    memory_used_bytes: m.memory_used_bytes as u64,
                    num_shuffle_partitions: m.partitions as u64,
                }
            })
            .collect();
        let progress = StreamingQueryProgress {
            id: self.shared.id.clone(),
            run_id: self.shared.run_id.clone(),
            name: self.shared.name.clone(),
            timestamp: iso_time(super::sources::now_ms() - (took * 1000.0) as i64),
            batch_id: id,
            num_input_rows: total,
            input_rows_per_second: rate(total, since_last),
            processed_rows_per_second: rate(total, took),
            duration_ms: report.durations,
            event_time,
            state_operators,
            sources,
            sink: SinkProgress {
                description: self.sink.description(),
                num_output_rows: -1,
            },
        };
        tracing::info!("streaming query made progress: {}", progress.json());
        let mut status = self.shared.status.lock();
        status.progress.push_back(progress);
        if status.progress.len() > RECENT_PROGRESS {
            status.progress.pop_front();
        }
        self.shared.changed.notify_all();
    }
}

fn parse_line<T: serde::de::DeserializeOwned>(
    lines: &[String],
    log: &MetadataLog,
    id: i64,
) -> Result<T> {
    lines
        .first()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            Error::Input(format!(
                "{} is damaged; start the query with a new checkpointLocation",
                log.path(&id.to_string())
            ))
        })
}

/// `batches` cut into slices of at most `rows` rows, in at most `parts` partitions of
/// consecutive slices, so that the operators over a source's rows run on as many threads and
/// each works on batches of the session's size (a source may give one batch a partition; an
/// operator such as `from_json` then builds its output for all those rows at once, in buffers
/// too large to reuse).
fn spread(batches: Vec<RecordBatch>, parts: usize, rows: usize) -> Vec<Vec<RecordBatch>> {
    let rows = rows.max(1);
    let slices: Vec<RecordBatch> = batches
        .iter()
        .flat_map(|b| {
            (0..b.num_rows())
                .step_by(rows)
                .map(move |at| b.slice(at, rows.min(b.num_rows() - at)))
        })
        .collect();
    let per_part = slices.len().div_ceil(parts.max(1)).max(1);
    let partitions: Vec<Vec<RecordBatch>> = slices.chunks(per_part).map(<[_]>::to_vec).collect();
    if partitions.is_empty() {
        return vec![Vec::new()];
    }
    partitions
}

/// A source's rows for one batch: read already, or a plan the batch's tasks run.
#[derive(Clone)]
enum BatchRows {
    Read(Arc<Schema>, Vec<RecordBatch>),
    Planned(LogicalPlan),
}

/// How many rows a source gave a batch, known once the batch ran.
type RowCount = Box<dyn Fn() -> u64 + Send>;

/// `scan` of a source whose batch is the plan `rows`: its rows under the scan's name, with
/// the scan's filters, columns and limit.
fn planned_scan(scan: &TableScan, rows: LogicalPlan) -> Result<LogicalPlan> {
    let mut builder = LogicalPlanBuilder::from(rows).alias(scan.table_name.clone())?;
    if let Some(predicate) = conjunction(scan.filters.clone()) {
        builder = builder.filter(predicate)?;
    }
    if let Some(columns) = &scan.projection {
        let schema = builder.schema().clone();
        let columns = columns
            .iter()
            .map(|i| Expr::Column(Column::from(schema.qualified_field(*i))));
        builder = builder.project(columns)?;
    }
    if let Some(fetch) = scan.fetch {
        builder = builder.limit(0, Some(fetch))?;
    }
    Ok(builder.build()?)
}

/// Replaces a plan's streaming parts for one batch: each source by its rows, each watermark
/// node by its input's rows (noting their event times), each aggregation by its output.
struct Rewriter<'a> {
    execution: &'a mut MicroBatchExecution,
    tables: BTreeMap<usize, BatchRows>,
    watermark: Option<i64>,
    /// The batch's id.
    batch: i64,
    operator: usize,
    watermark_node: usize,
    event_times: EventTimes,
}

impl Rewriter<'_> {
    /// `plan` for this batch, and whether it read a stream.
    fn rewrite(&mut self, plan: &LogicalPlan) -> Result<(LogicalPlan, bool)> {
        if let LogicalPlan::TableScan(scan) = plan {
            if let Some(provider) = streaming_table(scan) {
                let rows = self
                    .tables
                    .get(&table_key(&provider))
                    .cloned()
                    .expect("every source of the plan was read");
                let (schema, batches) = match rows {
                    BatchRows::Read(schema, batches) => (schema, batches),
                    BatchRows::Planned(rows) => return Ok((planned_scan(scan, rows)?, true)),
                };
                let config = self.execution.session.datafusion.copied_config();
                let parts = spread(batches, config.target_partitions(), config.batch_size());
                let table = MemTable::try_new(schema, parts)?;
                let replaced = TableScanBuilder::new(
                    scan.table_name.clone(),
                    provider_as_source(Arc::new(table)),
                )
                .with_projection(scan.projection.clone())
                .with_filters(scan.filters.clone())
                .with_fetch(scan.fetch)
                .build()?;
                return Ok((LogicalPlan::TableScan(replaced), true));
            }
        }
        let mut reads = Vec::new();
        let mut inputs = Vec::new();
        for input in plan.inputs() {
            let (input, streaming) = self.rewrite(input)?;
            reads.push(streaming);
            inputs.push(input);
        }
        if !reads.contains(&true) {
            return Ok((plan.clone(), false));
        }
        if let (LogicalPlan::Join(join), [true, true]) = (plan, reads.as_slice()) {
            return Ok((self.stream_stream_join(join, &inputs)?, true));
        }
        let plan = plan.with_new_exprs(plan.expressions(), inputs)?;
        if let LogicalPlan::Extension(extension) = &plan {
            let node = extension.node.as_any();
            if let Some(node) = node.downcast_ref::<EventTimeWatermark>() {
                return Ok((self.watermark(node)?, true));
            }
            if let Some(node) = node.downcast_ref::<StreamDeduplicate>() {
                let input = self.collect(&node.input)?;
                let (watermark, ctx) = (self.watermark, self.execution.ctx.clone());
                let rows = self
                    .next_operator()
                    .deduplicate(&ctx, node, input, watermark)?;
                return Ok((rows_as_plan(rows, plan.schema())?, true));
            }
        }
        if let LogicalPlan::Aggregate(aggregate) = &plan {
            // The state's aggregation runs on the driver, over rows there: rows that tasks
            // would read are gathered first.
            let plan = if self.reads_in_tasks() {
                let rows = self.collect(&aggregate.input)?;
                let input = rows_as_plan(rows, aggregate.input.schema())?;
                plan.with_new_exprs(plan.expressions(), vec![input])?
            } else {
                plan
            };
            let n = self.operator;
            self.operator += 1;
            let execution = &mut *self.execution;
            let rows = execution.operators[n].aggregate(
                &execution.ctx,
                &execution.session,
                &execution.planner,
                &plan,
                self.watermark,
            )?;
            return Ok((rows_as_plan(rows, plan.schema())?, true));
        }
        Ok((plan, true))
    }

    /// Whether a source of this batch is read by its tasks.
    fn reads_in_tasks(&self) -> bool {
        self.tables
            .values()
            .any(|rows| matches!(rows, BatchRows::Planned(_)))
    }

    /// The operator the plan meets next.
    fn next_operator(&mut self) -> &mut StatefulOperator {
        let n = self.operator;
        self.operator += 1;
        &mut self.execution.operators[n]
    }

    /// The rows of `plan`, run now.
    fn collect(&self, plan: &LogicalPlan) -> Result<Vec<RecordBatch>> {
        collect_plan(&self.execution.session, plan)
    }

    /// The output of a join of two streams for this batch, whose sides' rows `inputs` give.
    fn stream_stream_join(&mut self, join: &Join, inputs: &[LogicalPlan]) -> Result<LogicalPlan> {
        let rows = [self.collect(&inputs[0])?, self.collect(&inputs[1])?];
        let input = JoinInput {
            join,
            rows,
            watermark_ms: self.watermark,
            batch: self.batch,
        };
        let (ctx, session) = (self.execution.ctx.clone(), self.execution.session.clone());
        let run = |plan: &LogicalPlan| collect_plan(&session, plan);
        let rows = self.next_operator().join(&ctx, input, &run)?;
        rows_as_plan(rows, &join.schema)
    }

    /// The rows of a watermark node's input, its event times noted.
    fn watermark(&mut self, node: &EventTimeWatermark) -> Result<LogicalPlan> {
        let rows = self.collect(&node.input)?;
        let index = node
            .input
            .schema()
            .index_of_column_by_name(None, &node.column)
            .ok_or_else(|| Error::Input(format!("no column {} to watermark", node.column)))?;
        let slot = self.watermark_node;
        self.watermark_node += 1;
        for batch in &rows {
            let times = event_millis(batch.column(index))?;
            for t in times.iter().flatten() {
                let stats = &mut self.event_times;
                stats.min = Some(stats.min.map_or(t, |m| m.min(t)));
                stats.max = Some(stats.max.map_or(t, |m| m.max(t)));
                stats.sum += t as f64;
                stats.count += 1;
                let node = &mut self.execution.watermarks[slot];
                node.max_event_ms = Some(node.max_event_ms.map_or(t, |m| m.max(t)));
            }
        }
        rows_as_plan(rows, node.input.schema())
    }
}

/// The rows of `plan`, run now.
fn collect_plan(session: &Arc<SqlSession>, plan: &LogicalPlan) -> Result<Vec<RecordBatch>> {
    let state = session.datafusion.state();
    let df = datafusion::dataframe::DataFrame::new(state, plan.clone());
    DataFrame::new(df, session.clone()).collect()
}

/// `batch` with the columns of `schema`: a source's rows as its schema says, whatever string
/// or nullability layout its reader gave them.
fn conform(batch: &RecordBatch, schema: &Arc<Schema>) -> Result<RecordBatch> {
    if batch.schema().fields() == schema.fields() {
        return Ok(batch.clone());
    }
    if batch.num_columns() != schema.fields().len() {
        return Err(Error::Input(format!(
            "a source gave rows of {} where its schema is {schema}",
            batch.schema()
        )));
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| datafusion::arrow::compute::cast(column, field.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// A plan of `rows` with the columns (and qualifiers) of `schema`.
pub(crate) fn rows_as_plan(rows: Vec<RecordBatch>, schema: &DFSchemaRef) -> Result<LogicalPlan> {
    // Positional names: a plan's columns may share a name under different qualifiers.
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| Field::new(format!("c{i}"), f.data_type().clone(), true))
        .collect();
    let positional = Arc::new(Schema::new(fields));
    let rows = rows
        .into_iter()
        .filter(|b| b.num_rows() > 0)
        .map(|b| RecordBatch::try_new(positional.clone(), b.columns().to_vec()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let table = MemTable::try_new(positional, vec![rows])?;
    let columns = schema
        .iter()
        .enumerate()
        .map(|(i, (qualifier, field))| {
            col(Column::new(Some("__batch"), format!("c{i}")))
                .alias_qualified(qualifier.cloned(), field.name())
        })
        .collect::<Vec<_>>();
    Ok(
        LogicalPlanBuilder::scan("__batch", provider_as_source(Arc::new(table)), None)?
            .project(columns)?
            .build()?,
    )
}
