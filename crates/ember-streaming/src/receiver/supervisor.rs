//! The task a receiver runs in (Spark's `ReceiverSupervisor`): starts the receiver, cuts what
//! it stores into blocks, reports them to the driver, and stops or restarts it when asked.

use super::block_rdd::ReceivedBlock;
use super::tracker::{Report, TrackerReply, TrackerRequest};
use super::{Receiver, ReceiverContext, Request};
use ember_core::rdd::{BoxIter, Dependency, RddBase, RddCompute, RddCore};
use ember_core::storage::BlockId;
use ember_core::{Data, Env, Error, Result, TaskContext};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a receiver's task runs, from the application's settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SupervisorSettings {
    /// The driver endpoint of the receiver tracker.
    pub(crate) endpoint: String,
    /// `ember.streaming.blockInterval`.
    pub(crate) block_interval: Duration,
    /// `ember.streaming.receiver.maxRate`; 0 for no limit.
    pub(crate) max_rate: u64,
    /// `ember.streaming.receiverRestartDelay`.
    pub(crate) restart_delay: Duration,
    /// The directory of the write-ahead log, when `ember.streaming.receiver.writeAheadLog.enable`
    /// is set: blocks are written there before they are reported.
    pub(crate) write_ahead_log: Option<String>,
}

/// The one-partition RDD whose task runs receiver `receiver` of stream `stream`.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub(crate) struct ReceiverRdd<T: Data, R: Receiver<T>> {
    core: RddCore,
    stream: usize,
    receiver: R,
    settings: SupervisorSettings,
    #[serde(skip)]
    records: PhantomData<fn() -> T>,
}

impl<T: Data, R: Receiver<T>> ReceiverRdd<T, R> {
    pub(crate) fn new(
        core: RddCore,
        stream: usize,
        receiver: R,
        settings: SupervisorSettings,
    ) -> Self {
        ReceiverRdd {
            core,
            stream,
            receiver,
            settings,
            records: PhantomData,
        }
    }
}

impl<T: Data, R: Receiver<T>> RddBase for ReceiverRdd<T, R> {
    fn core(&self) -> &RddCore {
        &self.core
    }

    fn num_partitions(&self) -> usize {
        1
    }

    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }

    fn preferred_locations(&self, _partition: usize) -> Vec<String> {
        self.receiver.preferred_location().into_iter().collect()
    }
}

impl<T: Data, R: Receiver<T>> RddCompute<()> for ReceiverRdd<T, R> {
    fn compute(&self, _partition: usize, tc: &Arc<TaskContext>) -> Result<BoxIter<()>> {
        Supervisor {
            stream: self.stream,
            receiver: &self.receiver,
            settings: &self.settings,
            tc,
            next_block: 0,
            unreported: Vec::new(),
            records: PhantomData,
        }
        .run()?;
        Ok(Box::new(std::iter::empty()))
    }
}

struct Supervisor<'a, T: Data, R: Receiver<T>> {
    stream: usize,
    receiver: &'a R,
    settings: &'a SupervisorSettings,
    tc: &'a Arc<TaskContext>,
    next_block: u64,
    /// Blocks stored but not yet reported (the driver could not be reached).
    unreported: Vec<ReceivedBlock>,
    records: PhantomData<fn() -> T>,
}

impl<T: Data, R: Receiver<T>> Supervisor<'_, T, R> {
    fn env(&self) -> &Arc<Env> {
        self.tc.env()
    }

    fn ask(&self, request: &TrackerRequest) -> Result<TrackerReply> {
        self.env().ask_driver(&self.settings.endpoint, request)
    }

    /// Runs the receiver until the driver or the receiver stops it.
    fn run(mut self) -> Result<()> {
        let registered = self.ask(&TrackerRequest::Register {
            stream: self.stream,
        })?;
        if registered.stop {
            return Ok(());
        }
        self.next_block = registered.first_block;
        let mut context = ReceiverContext::new(self.stream, self.settings.max_rate);
        if let Some(rate) = registered.rate {
            context.set_rate(rate);
        }
        tracing::info!("receiver of stream {} started", self.stream);
        self.receiver.on_start(&context);
        let mut next_block_at = Instant::now() + self.settings.block_interval;
        loop {
            context.wait_for_request(next_block_at.saturating_duration_since(Instant::now()));
            if Instant::now() >= next_block_at {
                next_block_at = (next_block_at + self.settings.block_interval).max(Instant::now());
                // The reply may ask the receiver to stop.
                self.report(&context, None)?;
            }
            if self.tc.is_interrupted() {
                context.stop("its task was killed");
            }
            match context.wait_for_request(Duration::ZERO) {
                None => {}
                Some(Request::Stop(message)) => {
                    self.receiver.on_stop();
                    self.report(&context, Some(message))?;
                    return Ok(());
                }
                Some(Request::Restart(message)) => {
                    self.receiver.on_stop();
                    context.report_error(format!("restarting: {message}"));
                    self.report(&context, None)?;
                    context = context.restarted();
                    if self.pause_before_restart() {
                        self.report(&context, Some("stopped while restarting".into()))?;
                        return Ok(());
                    }
                    self.receiver.on_start(&context);
                }
            }
        }
    }

    /// Waits out the restart delay; true when the driver asked to stop meanwhile.
    fn pause_before_restart(&mut self) -> bool {
        let until = Instant::now() + self.settings.restart_delay;
        while Instant::now() < until {
            std::thread::sleep(self.settings.block_interval.min(until - Instant::now()));
            match self.ask(&TrackerRequest::Report(self.empty_report(None))) {
                Ok(reply) if reply.stop => return true,
                _ if self.tc.is_interrupted() => return true,
                _ => {}
            }
        }
        false
    }

    fn empty_report(&self, stopped: Option<String>) -> Report {
        Report {
            stream: self.stream,
            blocks: Vec::new(),
            errors: Vec::new(),
            stopped,
        }
    }

    /// Stores what was received since the last block as a block and reports it, with any
    /// errors; `stopped` says the receiver has stopped, and why. Applies the reply.
    fn report(&mut self, context: &ReceiverContext<T>, stopped: Option<String>) -> Result<()> {
        let records = context.take_records();
        if !records.is_empty() {
            let block = self.store(records)?;
            self.unreported.push(block);
        }
        let last = stopped.is_some();
        let report = Report {
            stream: self.stream,
            blocks: std::mem::take(&mut self.unreported),
            errors: context.take_errors(),
            stopped,
        };
        match self.ask(&TrackerRequest::Report(report.clone())) {
            Ok(reply) => {
                if let Some(rate) = reply.rate {
                    context.set_rate(rate);
                }
                if reply.stop {
                    context.stop("the streaming context is stopping");
                }
                Ok(())
            }
            // The last report must arrive, or its blocks are lost.
            Err(e) if last => Err(e),
            Err(e) => {
                tracing::warn!(
                    "receiver of stream {} could not report to the driver (will retry): {e}",
                    self.stream
                );
                self.unreported = report.blocks;
                Ok(())
            }
        }
    }

    fn store(&mut self, records: Vec<T>) -> Result<ReceivedBlock> {
        let id = BlockId::Stream {
            stream: self.stream,
            id: self.next_block,
        };
        self.next_block += 1;
        let count = records.len() as u64;
        let env = self.env();
        let log = self.write_ahead(id, &records)?;
        if !env
            .block_manager
            .put(id, Arc::new(records), self.receiver.storage_level())?
        {
            return Err(Error::Input(format!(
                "receiver of stream {} could not store block {} of {count} records: no room in \
                 memory and its storage level does not allow disk; give the receiver a level \
                 with disk or the executors more memory",
                self.stream,
                id.name()
            )));
        }
        Ok(ReceivedBlock {
            id,
            executor: env.executor_id.clone(),
            address: env.block_address(),
            records: count,
            log,
        })
    }

    /// Writes block `id` to the write-ahead log, if there is one, and says where.
    fn write_ahead(&self, id: BlockId, records: &Vec<T>) -> Result<Option<String>> {
        let Some(dir) = &self.settings.write_ahead_log else {
            return Ok(None);
        };
        let env = self.env();
        let path = format!("{dir}/{}/{}", self.stream, id.name());
        env.write_file(&path, &env.block_manager.encode_values(records)?)?;
        Ok(Some(path))
    }
}
