//! The entry point of a streaming application (Spark's `StreamingContext`).

use crate::checkpoint::{self, Checkpoint, Checkpointer};
use crate::clock::{Clock, SystemClock};
use crate::dstream::{union_of, DStream, Node};
use crate::file_stream::FileSelector;
use crate::listener::StreamingListener;
use crate::output::OutputOp;
use crate::queue::RddQueue;
use crate::receiver::{
    BlockRdd, RateController, ReceivedBlocks, Receiver, ReceiverLauncher, SocketReceiver,
    SupervisorSettings,
};
use crate::scheduler::{self, Receivers, Running, Shared};
use ember_core::{Context, Data, Error, Master, Rdd, Result};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Makes streams from sources and runs them, a batch every batch interval, as jobs of the
/// [`Context`] it was made with (Spark's `StreamingContext`). Cheap to clone: clones are the
/// same context.
///
/// # Lifecycle
///
/// ```text
///   new ──> Initialized ──start──> Active ──stop──> Stopped
///              │ define streams      │ batches run     │ cannot start again
///              │ and outputs         │                 │
/// ```
///
/// Streams and outputs are defined before `start`; a stopped context cannot be started again
/// (make a new one; with `stop(false, ..)` the [`Context`] goes on).
///
/// # Example
///
/// ```
/// use ember_core::{Context, Fn};
/// use ember_streaming::{ManualClock, RddQueue, StreamingContext, Time};
/// use std::time::Duration;
///
/// let ctx = Context::with_master("local[2]").unwrap();
/// let clock = ManualClock::new(Time::from_millis(0));
/// let ssc = StreamingContext::with_clock(&ctx, Duration::from_secs(1), clock.clone()).unwrap();
/// let queue = RddQueue::new();
/// queue.push(ctx.parallelize(vec!["a b".to_string(), "b".to_string()], 2));
/// let counts = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
/// let seen = counts.clone();
/// ssc.queue_stream(&queue, true)
///     .flat_map(Fn!(|l: String| l.split(' ').map(String::from).collect::<Vec<_>>()))
///     .map(Fn!(|w: String| (w, 1u64)))
///     .reduce_by_key(Fn!(|a: u64, b: u64| a + b))
///     .foreach_rdd(move |rdd, _| {
///         let mut batch = rdd.collect()?;
///         batch.sort();
///         seen.lock().unwrap().push(batch);
///         Ok(())
///     });
/// ssc.start().unwrap();
/// clock.advance(Duration::from_secs(1));
/// ssc.stop(false, true);
/// assert_eq!(counts.lock().unwrap()[0], vec![("a".to_string(), 1), ("b".to_string(), 2)]);
/// ```
#[derive(Clone)]
pub struct StreamingContext {
    inner: Arc<Inner>,
}

struct Inner {
    /// Unique in the process: names the context's driver endpoint.
    id: usize,
    ctx: Context,
    batch: Duration,
    clock: Arc<dyn Clock>,
    outputs: Mutex<Vec<Arc<OutputOp>>>,
    /// The receivers of receiver streams, launched at start.
    receivers: Mutex<Vec<Arc<ReceiverLauncher>>>,
    /// What receivers reported, shared with their streams.
    received: Arc<ReceivedBlocks>,
    /// Where metadata checkpoints go, as the application gave it.
    checkpoint_dir: Mutex<Option<String>>,
    /// The checkpoint `get_or_create` found, taken over at start.
    recovered: Mutex<Option<Checkpoint>>,
    next_stream: AtomicUsize,
    listeners: Arc<Mutex<Vec<Arc<dyn StreamingListener>>>>,
    state: Mutex<State>,
    /// Signalled when the state changes or a job fails.
    changed: Condvar,
    /// The first job error not yet handed to `await_termination`.
    error: Arc<Mutex<Option<Error>>>,
}

static NEXT_CONTEXT: AtomicUsize = AtomicUsize::new(0);

/// Where a context is in its lifecycle (see [`StreamingContext`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamingContextState {
    /// Made; streams and outputs may be defined.
    Initialized,
    /// Started: batches run.
    Active,
    /// Stopped; it cannot start again.
    Stopped,
}

enum State {
    Initialized,
    Active(Running),
    Stopped,
}

impl StreamingContext {
    /// A context running a batch every `batch_interval` on `ctx`, timed by the system clock.
    ///
    /// # Errors
    /// The interval is under a millisecond.
    pub fn new(ctx: &Context, batch_interval: Duration) -> Result<StreamingContext> {
        StreamingContext::with_clock(ctx, batch_interval, SystemClock)
    }

    /// A context timed by `clock`: a [`ManualClock`](crate::ManualClock) lets tests say when
    /// each batch is due.
    ///
    /// # Errors
    /// The interval is under a millisecond.
    pub fn with_clock(
        ctx: &Context,
        batch_interval: Duration,
        clock: impl Clock,
    ) -> Result<StreamingContext> {
        if batch_interval.as_millis() == 0 {
            return Err(Error::Input(format!(
                "the batch interval must be at least 1 ms, not {batch_interval:?}: give \
                 StreamingContext::new a Duration such as Duration::from_secs(1)"
            )));
        }
        let listeners: Arc<Mutex<Vec<Arc<dyn StreamingListener>>>> = Arc::default();
        if ctx
            .conf()
            .require(&ember_core::conf::keys::EVENT_LOG_ENABLED)?
        {
            let writer = crate::event_log::EventLogListener { ctx: ctx.clone() };
            listeners.lock().push(Arc::new(writer));
        }
        Ok(StreamingContext {
            inner: Arc::new(Inner {
                id: NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed),
                ctx: ctx.clone(),
                batch: batch_interval,
                clock: Arc::new(clock),
                outputs: Mutex::new(Vec::new()),
                receivers: Mutex::new(Vec::new()),
                received: Arc::new(ReceivedBlocks::new(Arc::clone(&listeners))),
                checkpoint_dir: Mutex::new(None),
                recovered: Mutex::new(None),
                next_stream: AtomicUsize::new(0),
                listeners,
                state: Mutex::new(State::Initialized),
                changed: Condvar::new(),
                error: Arc::default(),
            }),
        })
    }

    /// The [`Context`] batches run on.
    pub fn context(&self) -> &Context {
        &self.inner.ctx
    }

    /// The batch interval.
    pub fn batch_duration(&self) -> Duration {
        self.inner.batch
    }

    /// Where the context is in its lifecycle.
    pub fn state(&self) -> StreamingContextState {
        match *self.inner.state.lock() {
            State::Initialized => StreamingContextState::Initialized,
            State::Active(_) => StreamingContextState::Active,
            State::Stopped => StreamingContextState::Stopped,
        }
    }

    /// Checkpoints under `directory` (local, `hdfs://` or `s3a://`; on a cluster, one every
    /// executor reaches): stateful streams' RDDs, which stateful and incremental windowed
    /// streams need, and after every batch the metadata a restarted driver recovers from (see
    /// [`get_or_create`](Self::get_or_create)).
    ///
    /// # Errors
    /// The directory cannot be used.
    pub fn checkpoint(&self, directory: &str) -> Result<()> {
        self.inner.ctx.set_checkpoint_dir(directory)?;
        *self.inner.checkpoint_dir.lock() = Some(directory.to_string());
        Ok(())
    }

    /// The context recovered from the checkpoint in `directory`, or a new one when there is
    /// none (Spark's `StreamingContext.getOrCreate`).
    ///
    /// `create` builds the context and its streams and outputs either way, since closures
    /// cannot be read back from a checkpoint: it must build the same streams, in the same
    /// order, as the run that wrote the checkpoint. When `directory` holds a checkpoint, the
    /// context then takes up where that run stopped: once started, it runs again the batches
    /// that had not completed and those due while no driver ran, from the state of the last
    /// checkpoint (the `checkpoint` module's docs say what comes back). `create` need not call
    /// [`checkpoint`](Self::checkpoint): the context checkpoints to `directory` unless it
    /// does.
    ///
    /// # Errors
    /// `create` failed; or the checkpoint was written by another application (other streams),
    /// with another batch interval, or by an ember whose checkpoints this one cannot read: the
    /// message names the difference and the fix.
    pub fn get_or_create(
        directory: &str,
        create: impl FnOnce() -> Result<StreamingContext>,
    ) -> Result<StreamingContext> {
        let ssc = create()?;
        if ssc.inner.checkpoint_dir.lock().is_none() {
            ssc.checkpoint(directory)?;
        }
        let dir = ssc.inner.checkpoint_dir.lock().clone().unwrap_or_default();
        if let Some(found) = checkpoint::read_latest(&ssc.inner.ctx, &dir)? {
            let nodes = checkpoint::graph_nodes(&ssc.inner.outputs.lock());
            found.check(&dir, ssc.inner.batch, &nodes)?;
            tracing::info!(
                "recovering the streams from the checkpoint of batch {} in {dir}",
                crate::time::Time::from_millis(found.time_ms)
            );
            *ssc.inner.recovered.lock() = Some(found);
        }
        Ok(ssc)
    }

    /// Tells `listener` of each completed batch.
    pub fn add_streaming_listener(&self, listener: impl StreamingListener) {
        self.inner.listeners.lock().push(Arc::new(listener));
    }

    /// A stream of the RDDs pushed onto `queue`: one per batch with `one_at_a_time`, else all
    /// those queued at the batch's time; an empty batch when there is none (Spark's
    /// `queueStream`). Its batches cannot be recovered after a driver failure.
    pub fn queue_stream<T: Data>(&self, queue: &RddQueue<T>, one_at_a_time: bool) -> DStream<T> {
        let queue = queue.clone();
        let ctx = self.inner.ctx.clone();
        let node = Node::new("queue_stream", self.inner.batch, vec![], Duration::ZERO, {
            move |_, _| Ok(Some(union_of(&ctx, queue.take(one_at_a_time))))
        });
        DStream {
            node,
            ssc: self.clone(),
        }
    }

    /// A stream of what `source` reads in each batch (Spark's `InputDStream`), named `name` in
    /// logs and checkpoints: see [`InputSource`](crate::InputSource).
    pub fn input_stream<T: Data, S: crate::InputSource<T>>(
        &self,
        name: &str,
        source: S,
    ) -> DStream<T> {
        let source = Arc::new(source);
        let reading = source.clone();
        let node = Node::new(
            name,
            self.inner.batch,
            vec![],
            Duration::ZERO,
            move |_, t| reading.compute(t),
        );
        node.set_source(crate::input::SourceOf(source));
        DStream {
            node,
            ssc: self.clone(),
        }
    }

    /// A stream of the lines of the files that appear in `directory` (local, `hdfs://`,
    /// `s3a://`) after the stream starts, each file once (Spark's `textFileStream`; the rules
    /// are in the `file_stream` module's docs). Files must be moved in whole.
    ///
    /// # Errors
    /// The directory does not exist or cannot be listed.
    pub fn text_file_stream(&self, directory: &str) -> Result<DStream<String>> {
        self.inner.ctx.list_status(directory)?;
        let selector = Arc::new(Mutex::new(FileSelector::new(
            directory,
            self.inner.batch,
            self.inner.clock.now(),
        )));
        let (ctx, selecting) = (self.inner.ctx.clone(), selector.clone());
        let node = Node::new(
            "text_file_stream",
            self.inner.batch,
            vec![],
            Duration::ZERO,
            move |_, t| selecting.lock().batch(&ctx, t).map(Some),
        );
        node.set_source(selector);
        Ok(DStream {
            node,
            ssc: self.clone(),
        })
    }

    /// A stream of the lines a TCP server at `host:port` sends (Spark's `socketTextStream`),
    /// read by a [`SocketReceiver`]: a receiver that takes a task slot of its own while the
    /// stream runs (see the `receiver` module's docs), so the application needs at least one
    /// slot more. A server that is not there yet, or goes away, is retried every
    /// `ember.streaming.receiverRestartDelay`; listeners hear of each failed attempt. Lines
    /// a server sent are lost when the receiver's executor fails before their batch, unless
    /// `ember.streaming.receiver.writeAheadLog.enable` keeps them (see the `receiver` module).
    pub fn socket_text_stream(&self, host: &str, port: u16) -> DStream<String> {
        self.receiver_stream_named(
            format!("socket_text_stream {host}:{port}"),
            SocketReceiver::new(host, port),
        )
    }

    /// A stream of what `receiver` stores (Spark's `receiverStream`): see [`Receiver`].
    pub fn receiver_stream<T: Data, R: Receiver<T>>(&self, receiver: R) -> DStream<T> {
        let name = std::any::type_name::<R>();
        let name = name.rsplit("::").next().unwrap_or(name);
        self.receiver_stream_named(format!("receiver_stream {name}"), receiver)
    }

    fn receiver_stream_named<T: Data, R: Receiver<T>>(
        &self,
        name: String,
        receiver: R,
    ) -> DStream<T> {
        let stream = self.inner.next_stream.fetch_add(1, Ordering::Relaxed);
        let received = self.inner.received.clone();
        received.add_stream(stream, &name);
        let ctx = self.inner.ctx.clone();
        let node = Node::new(&name, self.inner.batch, vec![], Duration::ZERO, {
            let ctx = ctx.clone();
            move |_, t| {
                let blocks = received.blocks_of(stream, t);
                let rdd = BlockRdd::<T>::new(ctx.new_rdd_core("block_rdd"), blocks);
                Ok(Some(Rdd::from_compute(&ctx, rdd)))
            }
        });
        let make = move |settings: &SupervisorSettings| {
            let core = ctx.new_rdd_core("receiver");
            let rdd = crate::receiver::ReceiverRdd::new(core, stream, receiver, settings.clone());
            Rdd::from_compute(&ctx, rdd)
        };
        self.inner.receivers.lock().push(Arc::new(ReceiverLauncher {
            stream,
            name,
            node: node.clone(),
            make: Mutex::new(Some(Box::new(make))),
        }));
        DStream {
            node,
            ssc: self.clone(),
        }
    }

    /// # Panics
    /// The context was started: Spark refuses the same ("adding new inputs, transformations,
    /// and output operations after starting a context is not supported").
    pub(crate) fn register_output(&self, op: OutputOp) {
        assert!(
            matches!(*self.inner.state.lock(), State::Initialized),
            "output operations must be added before StreamingContext::start; a started or \
             stopped context cannot take new ones"
        );
        self.inner.outputs.lock().push(Arc::new(op));
    }

    /// Starts running batches: the first at the next multiple of the batch interval.
    ///
    /// # Errors
    /// The context was started or stopped before, it has no output operation, a stateful
    /// stream has no checkpoint directory, or a thread could not start.
    pub fn start(&self) -> Result<()> {
        let mut state = self.inner.state.lock();
        match *state {
            State::Initialized => {}
            State::Active(_) => {
                return Err(Error::Input(
                    "StreamingContext has already been started".into(),
                ))
            }
            State::Stopped => {
                return Err(Error::Input(
                    "StreamingContext has already been stopped: make a new one to run streams \
                     again"
                        .into(),
                ))
            }
        }
        let outputs = self.inner.outputs.lock().clone();
        self.validate(&outputs)?;
        let batch = self.inner.batch;
        let recovered = self.inner.recovered.lock().take();
        let (zero, start) = match &recovered {
            Some(found) => {
                let last = crate::time::Time::from_millis(found.time_ms);
                (crate::time::Time::from_millis(found.zero_ms), last + batch)
            }
            None => {
                let start = self.inner.clock.now().floor(batch) + batch;
                (start - batch, start)
            }
        };
        for output in &outputs {
            output.stream.base().initialize(zero);
        }
        for output in &outputs {
            output.stream.base().remember(Duration::ZERO);
        }
        let nodes = checkpoint::graph_nodes(&outputs);
        if let Some(found) = recovered {
            for (node, data) in nodes.iter().zip(&found.nodes) {
                node.restore(&self.inner.ctx, data)?;
            }
        }
        let checkpointer = self
            .inner
            .checkpoint_dir
            .lock()
            .clone()
            .map(|dir| Checkpointer {
                dir,
                nodes,
                batch,
                zero,
                named: Mutex::default(),
                kept: Mutex::default(),
            });
        let receivers = self.start_receivers()?;
        let (error, changed) = (self.inner.error.clone(), Arc::downgrade(&self.inner));
        let shared = Arc::new(Shared {
            ctx: self.inner.ctx.clone(),
            clock: self.inner.clock.clone(),
            batch,
            outputs,
            receivers,
            checkpointer,
            listeners: self.inner.listeners.clone(),
            report_error: Box::new(move |e| {
                error.lock().get_or_insert(e);
                if let Some(inner) = changed.upgrade() {
                    inner.changed.notify_all();
                }
            }),
        });
        shared.tell(|l| l.on_streaming_started(start));
        *state = State::Active(scheduler::start(shared, start)?);
        tracing::info!(
            "streaming started: a batch every {} ms from {start}",
            batch.as_millis()
        );
        Ok(())
    }

    /// Launches the receivers, if there are any.
    fn start_receivers(&self) -> Result<Option<Receivers>> {
        let launchers = self.inner.receivers.lock().clone();
        if launchers.is_empty() {
            return Ok(None);
        }
        let conf = self.inner.ctx.conf();
        let max_rate = conf.require(&crate::conf::RECEIVER_MAX_RATE)?;
        let settings = SupervisorSettings {
            endpoint: format!("ember-streaming-receiver-tracker-{}", self.inner.id),
            block_interval: conf.require(&crate::conf::BLOCK_INTERVAL)?,
            max_rate,
            restart_delay: conf.require(&crate::conf::RECEIVER_RESTART_DELAY)?,
            write_ahead_log: self.write_ahead_log()?,
        };
        let rate = if conf.require(&crate::conf::BACKPRESSURE_ENABLED)? {
            if let Some(initial) = conf.get(&crate::conf::BACKPRESSURE_INITIAL_RATE)? {
                self.inner.received.set_rate(initial);
            }
            Some(Mutex::new(RateController::new(self.inner.batch)))
        } else {
            None
        };
        let tracker = crate::receiver::ReceiverTracker::start(
            &self.inner.ctx,
            self.inner.received.clone(),
            &launchers,
            settings,
        )?;
        Ok(Some(Receivers {
            tracker: Mutex::new(Some(tracker)),
            received: self.inner.received.clone(),
            launchers,
            rate,
            max_rate,
        }))
    }

    /// The receivers' write-ahead log directory, `receivedData` in this application's
    /// checkpoint directory, when `ember.streaming.receiver.writeAheadLog.enable` is set.
    fn write_ahead_log(&self) -> Result<Option<String>> {
        let ctx = &self.inner.ctx;
        if !ctx.conf().require(&crate::conf::RECEIVER_WAL_ENABLE)? {
            return Ok(None);
        }
        match ctx.checkpoint_dir() {
            Some(dir) => Ok(Some(format!("{dir}/receivedData"))),
            None => Err(Error::Input(format!(
                "{} is set but the checkpoint directory is not: the log is written there; call \
                 StreamingContext::checkpoint(dir) before start",
                crate::conf::RECEIVER_WAL_ENABLE.key
            ))),
        }
    }

    fn validate(&self, outputs: &[Arc<OutputOp>]) -> Result<()> {
        let receivers = self.inner.receivers.lock().len();
        let slots = match self.inner.ctx.master() {
            Master::Local { threads, .. } => threads,
            Master::LocalCluster {
                executors, cores, ..
            } => executors * cores,
            Master::External { executors, .. } => executors.total_cores(),
            _ => usize::MAX,
        };
        if receivers > 0 && slots <= receivers {
            return Err(Error::Input(format!(
                "this application's {receivers} receiver(s) each take a task slot for as long \
                 as the stream runs, and its batches need at least one more, but the master \
                 gives {slots}: give it more slots, such as local[{}] or more executor cores",
                receivers + 1
            )));
        }
        if outputs.is_empty() {
            return Err(Error::Input(
                "no output operations registered, so nothing to execute: give a stream \
                 foreach_rdd, print or save_as_text_files before start"
                    .into(),
            ));
        }
        if self.inner.ctx.checkpoint_dir().is_none() {
            if let Some(name) = outputs
                .iter()
                .find_map(|o| o.stream.base().needing_checkpoint())
            {
                return Err(Error::Input(format!(
                    "the checkpoint directory has not been set, and {name} needs one: call \
                     StreamingContext::checkpoint(dir) before start"
                )));
            }
        }
        Ok(())
    }

    /// Stops running batches; with `stop_context`, stops the [`Context`] too. A `graceful`
    /// stop runs the batches already due; otherwise they are dropped and the running batch's
    /// jobs cancelled. Stopping a stopped context does nothing.
    pub fn stop(&self, stop_context: bool, graceful: bool) {
        let previous = std::mem::replace(&mut *self.inner.state.lock(), State::Stopped);
        if let State::Active(running) = previous {
            running.stop(graceful);
            tracing::info!("streaming stopped");
        }
        self.inner.changed.notify_all();
        if stop_context {
            self.inner.ctx.stop();
        }
    }

    /// Waits until the context is stopped.
    ///
    /// # Errors
    /// A batch's job failed (the context goes on running; call again to wait on).
    pub fn await_termination(&self) -> Result<()> {
        self.wait(None).map(|_| ())
    }

    /// Waits until the context is stopped or `timeout` has passed; true if it stopped.
    ///
    /// # Errors
    /// A batch's job failed (the context goes on running).
    pub fn await_termination_or_timeout(&self, timeout: Duration) -> Result<bool> {
        self.wait(Some(Instant::now() + timeout))
    }

    fn wait(&self, deadline: Option<Instant>) -> Result<bool> {
        let mut state = self.inner.state.lock();
        loop {
            if let Some(error) = self.inner.error.lock().take() {
                return Err(error);
            }
            if matches!(*state, State::Stopped) {
                return Ok(true);
            }
            match deadline {
                Some(deadline) => {
                    if self
                        .inner
                        .changed
                        .wait_until(&mut state, deadline)
                        .timed_out()
                    {
                        return Ok(matches!(*state, State::Stopped));
                    }
                }
                None => self.inner.changed.wait(&mut state),
            }
        }
    }
}
